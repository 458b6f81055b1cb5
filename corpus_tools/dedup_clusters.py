"""Dedup steps 3b and 3c: candidate pairs checked against the signatures, then the duplicate graph
resolved in input order.

Step 3b keeps a candidate pair if the two signatures agree on a whole band (what datasketch's LSH
query requires: the 64-bit bucket hash of step 2 is only a shortcut) and their estimated Jaccard
similarity reaches the threshold. The signatures meet by a join in two tasks per group of tables,
so that each table's signatures are read twice, not once per table it shares a pair with:
`attach_signatures` adds the earlier document's signature to the pairs of its group, and
`verify_pairs` compares them with the later document's. Memory: one group of tables and its pairs.

Step 3c (`resolve`, in one process) needs only the sparse graph of documents that have a duplicate
of some kind, never a signature. It walks those documents in input order, as the sequential
`Deduper` does: a document goes if its id is held by a kept document, else if a kept document has
its digest, else if a kept document is similar to it; otherwise it is kept. So in a chain A~B~C
with A!~C, A and C stay: the first document of each cluster is kept, and those it does not reach
are judged again, not dropped with the cluster."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import pyarrow as pa

from corpus_tools.dedup import DedupConfig
from corpus_tools.dedup_buckets import Layout, read_part, signature_matrix, write_by_part, write_scratch
from schemas.validate import read_table


class _Signatures:
    """The signatures of a group of tables, looked up by key."""

    def __init__(self, layout: Layout, paths: tuple[str, ...], group: int, num_perm: int):
        self.num_perm = num_perm
        self.tables: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for table in range(group * layout.tables_per_group, min(len(paths), (group + 1) * layout.tables_per_group)):
            rows = read_table(paths[table])
            present, matrix = signature_matrix(rows.column("signature"), num_perm, paths[table])
            position = np.full(rows.num_rows, -1, dtype=np.int64)
            position[present] = np.arange(len(present))
            self.tables[table] = (position, matrix)

    def of(self, keys: np.ndarray) -> np.ndarray:
        out = np.empty((len(keys), self.num_perm), dtype=np.uint64)
        tables = (keys >> np.uint64(32)).astype(np.int64)
        for table in np.unique(tables):
            pick = tables == table
            position, matrix = self.tables[int(table)]
            out[pick] = matrix[position[(keys[pick] & np.uint64(0xFFFFFFFF)).astype(np.int64)]]
        return out


def attach_signatures(layout: Layout, paths: tuple[str, ...], num_perm: int, group: int) -> int:
    """Step 3b, first half, for the candidates whose earlier document is in this group of tables:
    the earlier document's signature joined on (links between identical signatures need none and
    go straight to the edges). Written by the group of the later document."""
    found = read_part(layout.files("pairs"), group)
    if found is None:
        return 0
    both = np.stack([found.column("later").to_numpy(), found.column("earlier").to_numpy()], axis=1)
    both, first = np.unique(both, axis=0, return_index=True)  # a pair is found in several bands
    same = found.column("same").to_numpy(zero_copy_only=False)[first]
    links = both[same]
    write_scratch(layout.file("links", group), pa.table({"later": pa.array(links[:, 0]), "earlier": pa.array(links[:, 1])}))
    pairs = both[~same]
    theirs = _Signatures(layout, paths, group, num_perm).of(pairs[:, 1])
    return write_by_part(layout.file("joined", group), layout.group(pairs[:, 0]),
                         {"later": pa.array(pairs[:, 0]), "earlier": pa.array(pairs[:, 1]),
                          "signature": pa.FixedSizeListArray.from_arrays(pa.array(theirs.reshape(-1)), num_perm)})


def verify_pairs(layout: Layout, config: DedupConfig, paths: tuple[str, ...], group: int) -> int:
    """Step 3b, second half, for the candidates whose later document is in this group of tables."""
    found = read_part(layout.files("joined"), group)
    if found is None:
        return 0
    later, earlier = found.column("later").to_numpy(), found.column("earlier").to_numpy()
    theirs = found.column("signature").combine_chunks().flatten().to_numpy().reshape(-1, config.num_perm)
    equal = _Signatures(layout, paths, group, config.num_perm).of(later) == theirs
    # the same float64 as datasketch's MinHash.jaccard, compared with >= as the Deduper does
    similarity = np.count_nonzero(equal, axis=1).astype(np.float64) / np.float64(config.num_perm)
    used = layout.bands * layout.rows
    band = equal[:, :used].reshape(len(later), layout.bands, layout.rows).all(axis=2).any(axis=1)
    keep = band & (similarity >= config.threshold)
    write_scratch(layout.file("edges", group), pa.table({"later": pa.array(later[keep]), "earlier": pa.array(earlier[keep]),
                                                         "similarity": pa.array(similarity[keep])}))
    return int(keep.sum())


def _read_all(layout: Layout, kind: str) -> Optional[pa.Table]:
    files = layout.files(kind)
    return pa.concat_tables([read_table(f) for f in files]).combine_chunks() if files else None


@dataclass(frozen=True)
class Removal:
    reason: str  # duplicate_id | exact_duplicate | near_duplicate
    of: int  # key of the kept document
    similarity: Optional[float]


def _groups(layout: Layout, kind: str) -> dict[int, int]:
    found = _read_all(layout, kind)
    if found is None:
        return {}
    return dict(zip(found.column("key").to_numpy().tolist(), found.column("group").to_numpy().tolist()))


def resolve(layout: Layout, config: DedupConfig, earlier_tables: int) -> dict[int, Removal]:
    """Step 3c: the removed documents (by key), with the kept document each one duplicates."""
    ids = _groups(layout, "ids-groups")
    digests = _groups(layout, "digests-groups") if config.exact else {}
    head: dict[int, int] = {}  # a member of a class of identical signatures -> its first document
    near: dict[int, list[tuple[int, float]]] = {}  # class heads -> similar class heads
    if config.near:
        links = _read_all(layout, "links")
        if links is not None:
            head.update(zip(links.column("later").to_numpy().tolist(), links.column("earlier").to_numpy().tolist()))
        edges = _read_all(layout, "edges")
        if edges is not None:
            columns = (edges.column(c).to_numpy().tolist() for c in ("later", "earlier", "similarity"))
            for later, earlier, similarity in zip(*columns):
                near.setdefault(later, []).append((earlier, similarity))
                near.setdefault(earlier, []).append((later, similarity))
    first_earlier = earlier_tables << 32
    id_holder: dict[int, int] = {}  # id group -> the kept document holding the id
    digest_holder: dict[int, int] = {}
    kept_in_class: dict[int, int] = {}  # class head -> its first kept document that is in the LSH index
    removed: dict[int, Removal] = {}
    for key in sorted(set(ids) | set(digests) | set(head) | set(head.values()) | set(near)):
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
