"""Small helpers shared by the tests."""
from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa

from schemas.validate import read_table


def read_dataset(out: Path) -> pa.Table:
    """All shards of an ingest output, in manifest order."""
    manifest = json.loads((out / "manifest.json").read_text())
    return pa.concat_tables([read_table(out / e["name"]) for e in manifest["shards"]])


def stats(out: Path) -> dict:
    return json.loads((out / "stats.json").read_text())


def rejects(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "rejects.jsonl").read_text().splitlines()]


def shard_digests(out: Path) -> list[tuple[str, str]]:
    manifest = json.loads((out / "manifest.json").read_text())
    return [(e["name"], e["sha256"]) for e in manifest["shards"]]


def build_task(task: str, docs, vocab, out: Path, workers: int = 1, **settings) -> pa.Table:
    """Build one task into out/<task> and return all its rows (validated on write)."""
    from corpus_tools.build import build
    from task_builders.base import BuildSettings

    docs = docs if isinstance(docs, (list, tuple)) else [docs]
    build([task], list(docs), vocab, out, BuildSettings(**settings), workers=workers, overwrite=True)
    return read_dataset(out / task)


def task_meta(out: Path, task: str) -> dict:
    """The ernie.* metadata of a built task, JSON values decoded."""
    from schemas import metadata

    manifest = json.loads((out / task / "manifest.json").read_text())
    meta = metadata.decode(read_table(out / task / manifest["shards"][0]["name"]).schema)
    return {k: (json.loads(v) if v[:1] in "[{" else v) for k, v in meta.items()}


def label_histogram(out: Path, task: str) -> dict:
    """The ernie.label_histogram of every shard of a built task, summed."""
    from collections import Counter

    manifest = json.loads((out / task / "manifest.json").read_text())
    total: Counter = Counter()
    for entry in manifest["shards"]:
        raw = read_table(out / task / entry["name"]).schema.metadata[b"ernie.label_histogram"]
        total.update(json.loads(raw))
    return dict(total)
