"""Shards on disk: atomic writes (temp, fsync, rename), sha256, and the manifest."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Union

import pyarrow as pa

from schemas.errors import OutputError  # noqa: F401  (re-exported: corpus_tools.shards.OutputError)

MANIFEST = "manifest.json"
STATS = "stats.json"
REJECTS = "rejects.jsonl"
STATE_DIR = ".state"  # per-shard sidecars used by --resume




def shard_name(index: int) -> str:
    return f"part-{index:05d}.arrow"


def _fsync_rename(tmp: Path, path: Path) -> None:
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_table(path: Path, table: pa.Table) -> dict[str, Any]:
    """Write an Arrow IPC stream atomically; return its rows, bytes and sha256.

    The IPC stream format is what HF datasets memory-maps (Dataset.from_file), and what
    pa.ipc.open_stream and pl.read_ipc_stream read."""
    tmp = path.with_name(path.name + ".tmp")
    with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=4096)
    _fsync_rename(tmp, path)
    return {"name": path.name, "rows": table.num_rows, "bytes": path.stat().st_size, "sha256": sha256_file(path)}


def write_text(path: Path, text: str) -> None:
    """Write a text file atomically."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    _fsync_rename(tmp, path)


def write_json(path: Path, value: Any) -> None:
    write_text(path, json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False) + "\n")


def sha256_file(path: Union[str, Path]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_manifest(out: Path) -> dict[str, Any] | None:
    path = out / MANIFEST
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise OutputError(f"{path}: unreadable manifest ({exc}); use overwrite=True (--overwrite)") from None


def prepare_output(out: Path, overwrite: bool, resume: bool) -> dict[str, Any] | None:
    """Make `out` ready. Returns the existing manifest when resuming, else None.

    An existing output is replaced only with --overwrite, and only if it is an ernie-corpus output
    (has a manifest) or empty: a stray directory is never deleted. The output of a run that failed
    before its first shard (manifest with no shards, not complete) is replaced by a plain rerun."""
    if overwrite and resume:
        raise OutputError("overwrite (--overwrite) and resume (--resume) exclude each other")
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a directory")
    if out.exists() and any(out.iterdir()):
        manifest = load_manifest(out)
        if manifest is not None and unstarted(manifest):
            shutil.rmtree(out)  # a run that failed before its first shard: nothing in it to keep
            manifest = None
    if out.exists() and any(out.iterdir()):
        if resume:
            if manifest is None:
                raise OutputError(f"{out}: nothing to resume (no {MANIFEST}); drop resume=True (--resume)")
            return manifest
        if not overwrite:
            raise OutputError(f"{out}: already exists; pass overwrite=True (--overwrite) to replace it or resume=True (--resume) to continue it")
        if manifest is None:
            raise OutputError(f"{out}: not an ernie-corpus output (no {MANIFEST}); refusing to delete it")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / STATE_DIR).mkdir(exist_ok=True)
    return None


def unstarted(manifest: dict[str, Any]) -> bool:
    """A manifest written at the start of a run that never finished a shard."""
    return not manifest.get("complete") and not manifest.get("shards")


@contextmanager
def removed_if_unstarted(out: Path, manifest: dict[str, Any], fresh: bool = True) -> Iterator[None]:
    """On any failure before the first shard is recorded in `manifest`, remove `out` (which a `fresh`
    run, not a resumed one, created), so that nothing is left to block a plain rerun."""
    try:
        yield
    except BaseException:
        if fresh and unstarted(manifest):
            shutil.rmtree(out, ignore_errors=True)
        raise


def shard_is_done(out: Path, entry: dict[str, Any]) -> bool:
    """A manifest entry whose file exists with the recorded sha256."""
    path = out / entry["name"]
    return path.exists() and path.stat().st_size == entry["bytes"] and sha256_file(path) == entry["sha256"]
