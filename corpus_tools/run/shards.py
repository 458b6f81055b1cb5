"""Shards on disk or shared storage: atomic writes (temp, fsync, move), sha256, and the manifest."""
from __future__ import annotations

import hashlib
import json
import os
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Union

import pyarrow as pa
from pyarrow import fs

from schemas.digests import MANIFEST, sha256_file  # noqa: F401 - the manifest's name and digest, for the jobs
from schemas.validate import read_table

from schemas.errors import OutputError  # noqa: F401  (re-exported: corpus_tools.run.shards.OutputError)

STATS = "stats.json"
REJECTS = "rejects.jsonl"
STATE_DIR = ".state"  # per-shard sidecars used by --resume




class _HidePandas:
    """An import hook under which `import pandas` fails."""

    def find_spec(self, name, path=None, target=None):
        if name == "pandas" or name.startswith("pandas."):
            raise ImportError("pandas is hidden while pyarrow starts")
        return None


def arrow_without_pandas() -> None:
    """pyarrow imports pandas (about 0.2 s of CPU) on its first conversion from Python objects, only
    to ask whether they are pandas objects. A command that never gives it any (ingest) makes that
    first conversion with pandas hidden: pyarrow then takes lists as lists without importing pandas,
    and still imports it the first time something asks for pandas (to_pandas, from_pandas)."""
    if "pandas" in sys.modules:
        return
    hook = _HidePandas()
    sys.meta_path.insert(0, hook)
    try:
        pa.array([0])
    finally:
        sys.meta_path.remove(hook)


def shard_name(index: int) -> str:
    return f"part-{index:05d}.arrow"


def locate(path: Union[str, Path]) -> str:
    """A URI as given; a local path made absolute (workers may run in another directory)."""
    text = str(path)
    return text if "://" in text else str(Path(text).resolve())


class Store:
    """A directory on the local disk or on a pyarrow filesystem (s3://, gs://, hdfs://, file://).

    Every shard, sidecar, manifest and stats file goes through here, so that ingest and build on a
    cluster write to shared storage with the same code that tests run on the local disk. Writes are
    atomic: a temp name, then a move (on object stores the upload itself is atomic)."""

    def __init__(self, location: Union[str, Path]):
        self.location = locate(location)
        if "://" in self.location:
            self.fs, self.root = fs.FileSystem.from_uri(self.location)
        else:
            self.fs, self.root = fs.LocalFileSystem(), self.location
        self.root = self.root.rstrip("/")
        self.local = isinstance(self.fs, fs.LocalFileSystem)

    def __reduce__(self):  # workers get the location, not a live filesystem handle
        return Store, (self.location,)

    def __str__(self) -> str:
        return self.location

    def path(self, name: str) -> str:
        return f"{self.root}/{name}" if name else self.root

    def uri(self, name: str) -> str:
        """What another process passes back to Store/open_table to reach `name`."""
        return f"{self.location.rstrip('/')}/{name}"

    def sub(self, name: str) -> "Store":
        return Store(self.uri(name))

    def exists(self, name: str = "") -> bool:
        return self.fs.get_file_info(self.path(name)).type != fs.FileType.NotFound

    def is_dir(self, name: str = "") -> bool:
        return self.fs.get_file_info(self.path(name)).type == fs.FileType.Directory

    def size(self, name: str) -> int:
        return self.fs.get_file_info(self.path(name)).size

    def names(self) -> list[str]:
        if not self.is_dir():
            return []
        return sorted(i.base_name for i in self.fs.get_file_info(fs.FileSelector(self.root)))

    def mkdir(self, name: str = "") -> None:
        self.fs.create_dir(self.path(name), recursive=True)

    def delete(self, name: str) -> None:
        self.fs.delete_file(self.path(name))

    def remove_all(self) -> None:
        self.fs.delete_dir(self.root)

    def read_bytes(self, name: str) -> bytes:
        with self.fs.open_input_stream(self.path(name)) as fh:
            return fh.read()

    def read_text(self, name: str) -> str:
        return self.read_bytes(name).decode("utf-8")

    def read_json(self, name: str) -> Any:
        return json.loads(self.read_text(name))

    def read_table(self, name: str) -> pa.Table:
        return open_table(self.uri(name))

    def _temp(self, name: str) -> tuple[str, str]:
        path = self.path(name)
        parent = path.rpartition("/")[0]
        if parent:
            self.fs.create_dir(parent, recursive=True)
        return path, f"{path}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp"  # a retried unit may still have a writer

    def write_bytes(self, name: str, data: bytes) -> None:
        path, tmp = self._temp(name)
        with self.fs.open_output_stream(tmp) as out:
            out.write(data)
        if self.local:  # the rename must not land before the data does
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        self.fs.move(tmp, path)

    def write_scratch(self, name: str, table: pa.Table) -> None:
        """A working file of a stage that deletes it when it ends (dedup's steps): written whole then
        moved, so a task run again replaces it, but streamed, with no fsync and no checksum."""
        path, tmp = self._temp(name)
        with self.fs.open_output_stream(tmp) as out, pa.ipc.new_stream(out, table.schema) as writer:
            writer.write_table(table)
        self.fs.move(tmp, path)

    def write_text(self, name: str, text: str) -> None:
        self.write_bytes(name, text.encode("utf-8"))

    def write_json(self, name: str, value: Any) -> None:
        self.write_text(name, json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False) + "\n")

    def write_table(self, name: str, table: pa.Table) -> dict[str, Any]:
        """Write an Arrow IPC stream atomically; return its name, rows, bytes and sha256.

        The IPC stream format is what HF datasets memory-maps (Dataset.from_file), and what
        pa.ipc.open_stream and pl.read_ipc_stream read."""
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table, max_chunksize=4096)
        data = sink.getvalue().to_pybytes()
        self.write_bytes(name, data)
        return {"name": name.rpartition("/")[2], "rows": table.num_rows, "bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest()}

    def sha256(self, name: str) -> str:
        digest = hashlib.sha256()
        with self.fs.open_input_stream(self.path(name)) as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()


def open_table(location: Union[str, Path]) -> pa.Table:
    """An Arrow IPC file by local path (memory-mapped) or by filesystem URI."""
    text = str(location)
    if "://" not in text:
        return read_table(text)
    filesystem, path = fs.FileSystem.from_uri(text)
    with filesystem.open_input_file(path) as source:
        try:
            return pa.ipc.open_stream(source).read_all()
        except pa.ArrowInvalid:
            source.seek(0)
            return pa.ipc.open_file(source).read_all()


def write_table(path: Path, table: pa.Table) -> dict[str, Any]:
    """Write one shard atomically to a local path (see Store.write_table)."""
    path = Path(path)
    return Store(path.parent).write_table(path.name, table)


def write_text(path: Path, text: str) -> None:
    """Write a text file atomically."""
    path = Path(path)
    Store(path.parent).write_text(path.name, text)


def write_json(path: Path, value: Any) -> None:
    path = Path(path)
    Store(path.parent).write_json(path.name, value)


def load_manifest(out: Union[Path, str, Store]) -> dict[str, Any] | None:
    store = out if isinstance(out, Store) else Store(out)
    if not store.exists(MANIFEST):
        return None
    try:
        return json.loads(store.read_text(MANIFEST))
    except json.JSONDecodeError as exc:
        raise OutputError(f"{store.uri(MANIFEST)}: unreadable manifest ({exc}); use overwrite=True (--overwrite)") from None


def prepare_output(out: Union[Path, str, Store], overwrite: bool, resume: bool) -> dict[str, Any] | None:
    """Make `out` ready. Returns the existing manifest when resuming, else None.

    An existing output is replaced only with --overwrite, and only if it is an ernie-corpus output
    (has a manifest) or empty: a stray directory is never deleted. The output of a run that failed
    before any work was kept (manifest not started, not complete) is replaced by a plain rerun."""
    store = out if isinstance(out, Store) else Store(out)
    if overwrite and resume:
        raise OutputError("overwrite (--overwrite) and resume (--resume) exclude each other")
    if store.exists() and not store.is_dir():
        raise OutputError(f"{out}: exists and is not a directory")
    manifest = None
    if store.names():
        manifest = load_manifest(store)
        if manifest is not None and unstarted(manifest):
            store.remove_all()  # a run that failed before its first durable piece of work: nothing to keep
            manifest = None
    if store.names():
        if resume:
            if manifest is None:
                raise OutputError(f"{out}: nothing to resume (no {MANIFEST}); drop resume=True (--resume)")
            return manifest
        if not overwrite:
            raise OutputError(f"{out}: already exists; pass overwrite=True (--overwrite) to replace it or resume=True (--resume) to continue it")
        if manifest is None:
            raise OutputError(f"{out}: not an ernie-corpus output (no {MANIFEST}); refusing to delete it")
        store.remove_all()
    store.mkdir()
    store.mkdir(STATE_DIR)
    return None


def unstarted(manifest: dict[str, Any]) -> bool:
    """A manifest written at the start of a run that kept no work yet (no shard, no finished unit)."""
    return not manifest.get("complete") and not manifest.get("shards") and not manifest.get("started")


@contextmanager
def removed_if_unstarted(out: Union[Path, str, Store], manifest: dict[str, Any], fresh: bool = True) -> Iterator[None]:
    """On any failure before the first work is recorded in `manifest`, remove `out` (which a `fresh`
    run, not a resumed one, created), so that nothing is left to block a plain rerun."""
    try:
        yield
    except BaseException:
        if fresh and unstarted(manifest):
            store = out if isinstance(out, Store) else Store(out)
            if store.exists():
                store.remove_all()
        raise


def shard_is_done(out: Union[Path, str, Store], entry: dict[str, Any]) -> bool:
    """A manifest entry whose file exists with the recorded sha256."""
    store = out if isinstance(out, Store) else Store(out)
    name = entry["name"]
    return store.exists(name) and store.size(name) == entry["bytes"] and store.sha256(name) == entry["sha256"]
