"""Dedup steps 3b and 3c: candidate pairs checked against the signatures, then the duplicate graph
resolved in input order.

Step 3b (`verify_pairs`, one task per table) keeps a candidate pair if the two signatures agree on
a whole band (what datasketch's LSH query requires: the 64-bit bucket hash of step 2 is only a
shortcut) and their estimated Jaccard similarity reaches the threshold. Memory: the signatures of
the table and of one earlier table at a time.

Step 3c (`resolve`, in one process) needs only the sparse graph of documents that have a duplicate
of some kind, never a signature. It walks those documents in input order, as the sequential
`Deduper` does: a document goes if its id is held by a kept document, else if a kept document has
its digest, else if a kept document is similar to it; otherwise it is kept. So in a chain A~B~C
with A!~C, A and C stay: the first document of each cluster is kept, and those it does not reach
are judged again, not dropped with the cluster."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import pyarrow as pa

from corpus_tools.dedup import DedupConfig
from corpus_tools.dedup_buckets import Layout, key_table, signature_matrix
from corpus_tools.shards import write_table
from schemas.validate import read_table


def _read_found(layout: Layout, kind: str, table: Optional[int] = None) -> Optional[pa.Table]:
    root = layout.found(kind, table) if table is not None else Path(layout.work) / kind
    files = sorted(root.rglob("*.arrow")) if root.exists() else []
    return pa.concat_tables([read_table(f) for f in files]).combine_chunks() if files else None


class _Signatures:
    """One table's signatures, looked up by row."""

    def __init__(self, path: str, num_perm: int):
        rows = read_table(path)
        present, self.matrix = signature_matrix(rows.column("signature"), num_perm, path)
        self.position = np.full(rows.num_rows, -1, dtype=np.int64)
        self.position[present] = np.arange(len(present))

    def of(self, keys: np.ndarray) -> np.ndarray:
        return self.matrix[self.position[(keys & np.uint64(0xFFFFFFFF)).astype(np.int64)]]


def verify_pairs(layout: Layout, config: DedupConfig, paths: tuple[str, ...], table: int) -> int:
    """Step 3b for the documents of one table: its verified edges to earlier documents."""
    found = _read_found(layout, "pairs", table)
    if found is None:
        return 0
    both = np.stack([found.column("later").to_numpy(), found.column("earlier").to_numpy()], axis=1)
    both, first = np.unique(both, axis=0, return_index=True)  # a pair found in several bands
    same = found.column("same").to_numpy(zero_copy_only=False)[first]
    later, earlier = both[:, 0], both[:, 1]
    similarity = np.ones(len(later))
    keep = same.copy()
    mine = _Signatures(paths[table], config.num_perm)
    other_tables = key_table(earlier)
    used = layout.bands * layout.rows
    for other in np.unique(other_tables[~same]):
        pick = np.flatnonzero((other_tables == other) & ~same)
        theirs = mine if other == table else _Signatures(paths[int(other)], config.num_perm)
        a, b = mine.of(later[pick]), theirs.of(earlier[pick])
        equal = a == b
        # the same float64 as datasketch's MinHash.jaccard, compared with >= as the Deduper does
        similarity[pick] = np.count_nonzero(equal, axis=1).astype(np.float64) / np.float64(config.num_perm)
        band = equal[:, :used].reshape(len(pick), layout.bands, layout.rows).all(axis=2).any(axis=1)
        keep[pick] = band & (similarity[pick] >= config.threshold)
    folder = Path(layout.work) / "edges"
    folder.mkdir(parents=True, exist_ok=True)
    write_table(folder / f"t{table:06d}.arrow",
                pa.table({"later": pa.array(later[keep]), "earlier": pa.array(earlier[keep]),
                          "similarity": pa.array(similarity[keep]), "same": pa.array(same[keep])}))
    return int(keep.sum())


@dataclass(frozen=True)
class Removal:
    reason: str  # duplicate_id | exact_duplicate | near_duplicate
    of: int  # key of the kept document
    similarity: Optional[float]


def _groups(layout: Layout, kind: str) -> dict[int, int]:
    found = _read_found(layout, kind)
    if found is None:
        return {}
    return dict(zip(found.column("key").to_numpy().tolist(), found.column("group").to_numpy().tolist()))


def resolve(layout: Layout, config: DedupConfig, earlier_tables: int) -> dict[int, Removal]:
    """Step 3c: the removed documents (by key), with the kept document each one duplicates."""
    ids = _groups(layout, "ids-groups")
    digests = _groups(layout, "digests-groups") if config.exact else {}
    head: dict[int, int] = {}  # a member of a class of identical signatures -> its first document
    near: dict[int, list[tuple[int, float]]] = {}  # class heads -> similar class heads
    edges = _read_found(layout, "edges") if config.near else None
    if edges is not None:
        columns = (edges.column(c).to_numpy(zero_copy_only=False).tolist()
                   for c in ("later", "earlier", "similarity", "same"))
        for later, earlier, similarity, same in zip(*columns):
            if same:
                head[later] = earlier
            else:
                near.setdefault(later, []).append((earlier, similarity))
                near.setdefault(earlier, []).append((later, similarity))
    first_earlier = earlier_tables << 32
    id_holder: dict[int, int] = {}  # id group -> the kept document holding the id
    digest_holder: dict[int, int] = {}
    kept_in_class: dict[int, int] = {}  # class head -> its first kept document that is in the LSH index
    removed: dict[int, Removal] = {}
    for key in sorted(set(ids) | set(digests) | set(head) | set(near)):
        group, digest, cls = ids.get(key), digests.get(key), head.get(key, key)
        if key < first_earlier:  # an earlier dataset's document: kept
            shadowed = group is not None and group in id_holder  # its id was seen: the index skips it
            if group is not None:
                id_holder.setdefault(group, key)
            if digest is not None:
                digest_holder.setdefault(digest, key)
            if not shadowed:
                kept_in_class.setdefault(cls, key)
            continue
        if group is not None and group in id_holder:
            removed[key] = Removal("duplicate_id", id_holder[group], None)
            continue
        if digest is not None and digest in digest_holder:
            removed[key] = Removal("exact_duplicate", digest_holder[digest], 1.0)
            continue
        best: Optional[tuple[float, int]] = None
        for other, similarity in [(cls, 1.0), *near.get(cls, ())]:
            kept = kept_in_class.get(other)
            # the most similar kept document; among equals the first (the Deduper takes any one)
            if kept is not None and (best is None or (similarity, -kept) > (best[0], -best[1])):
                best = (similarity, kept)
        if best is not None:
            removed[key] = Removal("near_duplicate", best[1], round(best[0], 4))
            continue
        if group is not None:
            id_holder[group] = key
        if digest is not None:
            digest_holder.setdefault(digest, key)
        kept_in_class.setdefault(cls, key)
    return removed
