"""Reading a dataset directory: its shards in manifest order, validated, memory-mapped."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator, Sequence, Union

import pyarrow as pa

from corpus_tools.run.shards import MANIFEST, OutputError, sha256_file
from schemas.digests import check_sha256
from schemas.errors import InputError
from schemas import metadata
from schemas.validate import SchemaError, read_table, validate


def shard_paths(path: Union[str, Path]) -> list[Path]:
    """The shards of a dataset directory (from its manifest), or a single shard file."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise OutputError(f"{path}: no such dataset directory or shard file")
    manifest = path / MANIFEST
    if manifest.exists():
        names = [e["name"] for e in json.loads(manifest.read_text(encoding="utf-8")).get("shards", [])]
        paths = [path / n for n in names]
        for shard in paths:
            if not shard.exists():
                raise OutputError(f"{shard}: listed in the manifest but missing")
        return paths
    found = sorted(path.glob("*.arrow"))
    if not found:
        raise OutputError(f"{path}: no {MANIFEST} and no .arrow shards here")
    return found


def open_shard(shard: Path, expect: str | None = None, verify: bool = False,
               **checks) -> tuple[pa.Table, dict[str, str]]:
    """A memory-mapped, validated shard and its metadata; errors name the file. `verify` first checks
    the file's sha256 against its manifest (one read of the file)."""
    if verify:
        check_sha256(shard)
    table = read_table(shard)
    try:
        return table, validate(table, expect=expect, **checks)
    except SchemaError as exc:
        raise SchemaError(f"{shard}: {exc}") from None


def dataset_kind(path: Union[str, Path]) -> str:
    """documents, searchlog or a task name, from the first shard's metadata."""
    paths = shard_paths(path)
    if not paths:
        raise OutputError(f"{path}: the dataset has no shards")
    kind = metadata.decode(read_table(paths[0]).schema).get(metadata.SCHEMA)
    if kind is None:
        open_shard(paths[0])  # raises the one-line error naming what is missing
    return kind


def iter_sentences(path: Union[str, Path]) -> Iterator[str]:
    """Every sentence of a documents dataset (or query and title of a searchlog), in order."""
    for shard in shard_paths(path):
        table, meta = open_shard(shard)
        if meta[metadata.SCHEMA] == "searchlog":
            for query, title in zip(table.column("query").to_pylist(), table.column("title").to_pylist()):
                yield query
                yield title
            continue
        for batch in table.to_batches(1024):
            for paragraphs in batch.column(batch.schema.get_field_index("paragraphs")).to_pylist():
                for paragraph in paragraphs:
                    yield from paragraph


def documents_shards(datasets: Sequence[Union[str, Path]], role: str) -> list[dict[str, Any]]:
    """Path, rows and sha256 of every shard of documents datasets, in order (what a job records as
    its inputs); another kind of dataset is refused with `role` (the command) in the message."""
    found = []
    for dataset in datasets:
        for path in shard_paths(dataset):
            table, meta = open_shard(path)
            if meta.get(metadata.SCHEMA) != "documents":
                raise InputError(f"{path}: a {meta.get(metadata.SCHEMA)} dataset; {role} takes documents datasets")
            found.append({"path": str(path.resolve()), "rows": table.num_rows,
                          "sha256": check_sha256(path, sha256_file(path))})
    return found
