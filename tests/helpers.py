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
