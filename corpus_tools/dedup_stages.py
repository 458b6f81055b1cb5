"""Deduplication over signature tables written by the workers (interim: sequential, one process).

Each table is an Arrow IPC file with columns `id` (string), `digest` (binary) and `signature`
(list<uint64>, null without a near-dedup signature), one row per cleaned document, tables in
global input order. The verdicts are those of feeding every row in order through `Deduper` after
a duplicate-id check against the ids kept so far: exactly today's single-process path. The
distributed version (band partitions, union-find) replaces this module with the same function."""
from __future__ import annotations

from typing import Iterator, Optional, Sequence

import numpy as np

from corpus_tools.dedup import DedupConfig, Deduper, Verdict, lean
from corpus_tools.shards import open_table


def _rows(table: str) -> Iterator[tuple[str, bytes, Optional[list[int]]]]:
    data = open_table(table)
    return zip(*(data.column(c).to_pylist() for c in ("id", "digest", "signature")))


def find_duplicates(tables: Sequence[str], config: DedupConfig, work_dir: str, workers: int = 1,
                    engine: str = "local", earlier: Sequence[str] = ()) -> list[dict[int, Verdict]]:
    """Per table, {row index: Verdict(keep=False, ...)} for the rows to remove; the first of each group
    of duplicates in input order is kept. Rows of `earlier` tables (datasets deduplicated before)
    are never removed and come first. `work_dir`, `workers` and `engine` are unused here."""
    deduper = Deduper(config)
    kept: set[str] = set()
    for table in earlier:
        for doc_id, digest, sig in _rows(table):
            kept.add(doc_id)
            deduper.remember(doc_id, digest, lean(np.array(sig, dtype=np.uint64)) if sig is not None else None)
    out: list[dict[int, Verdict]] = []
    for table in tables:
        removed: dict[int, Verdict] = {}
        for row, (doc_id, digest, sig) in enumerate(_rows(table)):
            if doc_id in kept:  # the same record twice (e.g. one article in two extracts)
                removed[row] = Verdict(False, "duplicate_id", doc_id, None)
                continue
            verdict = deduper.check(doc_id, digest, np.array(sig, dtype=np.uint64) if sig is not None else None)
            if verdict.keep:
                kept.add(doc_id)
            else:
                removed[row] = verdict
        out.append(removed)
    return out
