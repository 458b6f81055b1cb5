"""`inspect`: what a dataset holds: schema, metadata, counts by source and language, sample rows."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any, Union

import pyarrow as pa

from corpus_tools.run.dataset import open_shard, shard_paths
from corpus_tools.run.shards import STATS, OutputError
from schemas import metadata
from schemas.validate import read_table


def summarize(path: Union[str, Path], rows: int = 3, check: bool = True) -> dict[str, Any]:
    """A JSON-able summary; `check` runs schemas.validate on every shard."""
    paths = shard_paths(path)
    if not paths:
        raise OutputError(f"{path}: the manifest lists no shards")
    by_source: Counter = Counter()
    by_lang: Counter = Counter()
    total = 0
    samples: list[dict] = []
    meta: dict[str, str] = {}
    schema: pa.Schema | None = None
    for shard in paths:
        if check:
            table, meta = open_shard(shard, verify=True)
        else:
            table = read_table(shard)
            meta = metadata.decode(table.schema)
        schema = table.schema
        total += table.num_rows
        by_source.update(table.column("source").cast(pa.string()).to_pylist())
        by_lang.update(table.column("lang").cast(pa.string()).to_pylist())
        if len(samples) < rows:
            samples.extend(table.slice(0, rows - len(samples)).to_pylist())
    summary = {
        "path": str(path),
        "kind": meta.get(metadata.SCHEMA),
        "schema_version": meta.get(metadata.SCHEMA_VERSION),
        "shards": len(paths),
        "rows": total,
        "by_source": dict(by_source.most_common()),
        "by_lang": dict(by_lang.most_common()),
        "schema": [f"{f.name}: {f.type}" for f in schema] if schema is not None else [],
        "metadata": {k: (json.loads(v) if k == metadata.BUILD_CONFIG else v) for k, v in meta.items()},
        "samples": samples,
    }
    stats = Path(path) / STATS
    if stats.exists():
        summary["stats"] = json.loads(stats.read_text(encoding="utf-8"))
    return summary
