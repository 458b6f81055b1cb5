"""The job skeleton that ingest and build share: one output directory (local or a filesystem URI).

The manifest marks the directory as ours from the start; an existing output is replaced only with
--overwrite and continued only with --resume from the same inputs and settings; finished shards
(present with their recorded sha256) are kept on resume; the manifest lists shards in order as
workers finish them; stats.json and `complete` are written last. All writes are atomic (Store)."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Union

from corpus_tools.run.shards import (MANIFEST, STATS, OutputError, Store, prepare_output, removed_if_unstarted,
                                 shard_is_done)

SAME = "was built from other inputs or settings; use overwrite=True (--overwrite) to rebuild"


class Job:
    def __init__(self, out: Union[str, Path, Store], header: dict[str, Any], overwrite: bool = False,
                 resume: bool = False, identity: tuple[str, ...] = (),
                 check: Optional[Callable[[dict[str, Any]], None]] = None):
        """`header`: the manifest's fields; on resume, its `identity` keys must equal the previous
        run's (`check` may refuse first with a more specific message)."""
        self.store = out if isinstance(out, Store) else Store(out)
        self.out = out
        previous = prepare_output(self.store, overwrite, resume)
        self.fresh = previous is None
        if previous is not None:
            if check is not None:
                check(previous)
            if any(previous.get(key) != header.get(key) for key in identity):
                raise OutputError(f"{out}: {SAME}")
        self.done: dict[str, dict] = {e["name"]: e for e in (previous or {}).get("shards", [])
                                      if shard_is_done(self.store, e)}
        self.manifest: dict[str, Any] = {**header, "complete": False, "shards": []}
        self._entries: dict[int, dict] = {}
        self.save()

    def save(self) -> None:
        self.store.write_json(MANIFEST, self.manifest)

    def started(self) -> None:
        """Some work is durable (a finished unit): a failure from now on leaves the output for --resume."""
        if not self.manifest.get("started"):
            self.manifest["started"] = True
            self.save()

    def add(self, index: int, entry: dict[str, Any]) -> None:
        """Record shard `index` (finished in any order); the manifest lists shards in index order."""
        self._entries[index] = entry
        self.manifest["shards"] = [self._entries[i] for i in sorted(self._entries)]
        self.save()

    @contextmanager
    def running(self) -> Iterator[None]:
        with removed_if_unstarted(self.store, self.manifest, fresh=self.fresh):
            yield

    def finish(self, stats: dict[str, Any], complete: bool = True) -> None:
        self.store.write_json(STATS, stats)
        self.manifest["complete"] = complete
        self.save()
