"""Dedup step 3c: the duplicate graph resolved in input order, one group of components at a time.

The graph's nodes are the documents that have a duplicate of some kind: a shared id or digest
(dedup_buckets.group_ids), an identical signature (a link to its class's first document) or a
verified similar pair (dedup_clusters). Whether such a document is kept depends only on the
documents it is connected to, so `split_components` (in the driver, on integer arrays: no
signatures, no Python objects per document) finds the connected components with scipy and cuts
them into parts of about `nodes_per_part` documents; `resolve` runs on each part in a worker.

`resolve` walks a part's documents in input order, as the sequential `Deduper` does: a document
goes if its id is held by a kept document, else if a kept document has its digest, else if a
kept document is similar to it (the most similar; among equals the first); otherwise it is kept.
So in a chain A~B~C with A!~C, A and C stay: the first document of a cluster is kept, and those it
does not reach are judged again, not dropped with the cluster."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
import pyarrow as pa

from corpus_tools.dedup.minhash import DedupConfig
from corpus_tools.dedup.buckets import Layout, read_part, write_by_part


@dataclass(frozen=True)
class Removal:
    reason: str  # duplicate_id | exact_duplicate | near_duplicate
    of: int  # key of the kept document
    similarity: Optional[float]


def _relations(config: DedupConfig) -> list[tuple[str, str, str]]:
    """(files, later document, earlier document) of each kind of relation in use."""
    kinds = [("ids-groups", "key", "group")]
    kinds += [("digests-groups", "key", "group")] if config.exact else []
    kinds += [("links", "later", "earlier"), ("edges", "later", "earlier")] if config.near else []
    return kinds


def split_components(layout: Layout, config: DedupConfig, nodes_per_part: int) -> int:
    """Step 3c, first half: every relation written to the part of its component; returns the
    number of parts (0: no document has a duplicate)."""
    loaded = {}
    for kind, _, _ in _relations(config):
        files = layout.files(kind)
        if files:
            loaded[kind] = pa.concat_tables([layout.read(f) for f in files]).combine_chunks()
    if not any(table.num_rows for table in loaded.values()):
        return 0  # no relation at all (--no-dedup and no repeated id, say): nothing to resolve
    from scipy.sparse import coo_matrix  # imported when there is a duplicate: scipy takes about 0.2 s
    from scipy.sparse.csgraph import connected_components

    later = np.concatenate([loaded[k].column(a).to_numpy() for k, a, _ in _relations(config) if k in loaded])
    earlier = np.concatenate([loaded[k].column(b).to_numpy() for k, _, b in _relations(config) if k in loaded])
    nodes = np.unique(np.concatenate([later, earlier]))
    edges = (np.searchsorted(nodes, later), np.searchsorted(nodes, earlier))
    graph = coo_matrix((np.ones(len(later), dtype=np.int8), edges), shape=(len(nodes), len(nodes)))
    _, component = connected_components(graph, directed=False)
    parts = max(1, math.ceil(len(nodes) / nodes_per_part))
    part = component % parts  # a component, however large, stays in one part
    for kind, a, _ in _relations(config):
        if kind in loaded:
            table = loaded[kind]
            write_by_part(layout, layout.file(f"resolve-{kind}", 0), part[np.searchsorted(nodes, table.column(a).to_numpy())],
                          {name: table.column(name) for name in table.column_names})
    return parts


def _pairs(layout: Layout, kind: str, part: int, columns: tuple[str, ...]) -> list[list]:
    found = read_part(layout, f"resolve-{kind}", part)
    return [found.column(c).to_numpy().tolist() for c in columns] if found is not None else [[] for _ in columns]


def resolve(layout: Layout, config: DedupConfig, earlier_tables: int, part: int) -> list[tuple[int, Removal]]:
    """Step 3c, second half, for one part: its removed documents (by key), each with the kept
    document it duplicates."""
    ids = dict(zip(*_pairs(layout, "ids-groups", part, ("key", "group"))))
    digests = dict(zip(*_pairs(layout, "digests-groups", part, ("key", "group")))) if config.exact else {}
    head: dict[int, int] = {}  # a member of a class of identical signatures -> its first document
    near: dict[int, list[tuple[int, float]]] = {}  # class heads -> similar class heads
    if config.near:
        head.update(zip(*_pairs(layout, "links", part, ("later", "earlier"))))
        for later, earlier, similarity in zip(*_pairs(layout, "edges", part, ("later", "earlier", "similarity"))):
            near.setdefault(later, []).append((earlier, similarity))
            near.setdefault(earlier, []).append((later, similarity))
    first_new = earlier_tables << 32
    id_holder: dict[int, int] = {}  # id group -> the kept document holding the id
    digest_holder: dict[int, int] = {}
    kept_in_class: dict[int, int] = {}  # class head -> its first kept document that is in the LSH index
    removed: list[tuple[int, Removal]] = []
    for key in sorted(set(ids) | set(digests) | set(head) | set(head.values()) | set(near)):
        group, digest, cls = ids.get(key), digests.get(key), head.get(key, key)
        if key < first_new:  # an earlier dataset's document: kept
            shadowed = group is not None and group in id_holder  # its id was seen: the index skips it
            if group is not None:
                id_holder.setdefault(group, key)
            if digest is not None:
                digest_holder.setdefault(digest, key)
            if not shadowed:
                kept_in_class.setdefault(cls, key)
            continue
        if group is not None and group in id_holder:
            removed.append((key, Removal("duplicate_id", id_holder[group], None)))
            continue
        if digest is not None and digest in digest_holder:
            removed.append((key, Removal("exact_duplicate", digest_holder[digest], 1.0)))
            continue
        best: Optional[tuple[float, int]] = None
        for other, similarity in [(cls, 1.0), *near.get(cls, ())]:
            kept = kept_in_class.get(other)
            # the most similar kept document; among equals the first (the Deduper takes any one)
            if kept is not None and (best is None or (similarity, -kept) > (best[0], -best[1])):
                best = (similarity, kept)
        if best is not None:
            removed.append((key, Removal("near_duplicate", best[1], round(best[0], 4))))
            continue
        if group is not None:
            id_holder[group] = key
        if digest is not None:
            digest_holder.setdefault(digest, key)
        kept_in_class.setdefault(cls, key)
    return removed
