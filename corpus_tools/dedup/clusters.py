"""Dedup step 3b: the candidate pairs checked against the signatures.

Step 3b keeps a candidate pair if the two signatures agree on a whole band (what datasketch's LSH
query requires: the 64-bit bucket hash of step 2 is only a shortcut) and their estimated Jaccard
similarity reaches the threshold. The signatures meet by a join in two tasks per group of tables,
so that each table's signatures are read twice, not once per table it shares a pair with:
`attach_signatures` adds the earlier document's signature to the pairs of its group, and
`verify_pairs` compares them with the later document's. Memory: one group of tables and its pairs.
The duplicate graph this gives is resolved in dedup_resolve.py (step 3c)."""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from corpus_tools.dedup.minhash import DedupConfig
from corpus_tools.dedup.buckets import Layout, read_part, signature_matrix, write_by_part
from corpus_tools.run.shards import open_table


class _Signatures:
    """The signatures of a group of tables, looked up by key."""

    def __init__(self, layout: Layout, paths: tuple[str, ...], group: int, num_perm: int):
        self.num_perm = num_perm
        self.tables: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for table in range(group * layout.tables_per_group, min(len(paths), (group + 1) * layout.tables_per_group)):
            rows = open_table(paths[table])
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
    found = read_part(layout, "pairs", group)
    if found is None:
        return 0
    both = np.stack([found.column("later").to_numpy(), found.column("earlier").to_numpy()], axis=1)
    both, first = np.unique(both, axis=0, return_index=True)  # a pair is found in several bands
    same = found.column("same").to_numpy(zero_copy_only=False)[first]
    links = both[same]
    layout.write(layout.file("links", group), pa.table({"later": pa.array(links[:, 0]), "earlier": pa.array(links[:, 1])}))
    pairs = both[~same]
    theirs = _Signatures(layout, paths, group, num_perm).of(pairs[:, 1])
    return write_by_part(layout, layout.file("joined", group), layout.group(pairs[:, 0]),
                         {"later": pa.array(pairs[:, 0]), "earlier": pa.array(pairs[:, 1]),
                          "signature": pa.FixedSizeListArray.from_arrays(pa.array(theirs.reshape(-1)), num_perm)})


def verify_pairs(layout: Layout, config: DedupConfig, paths: tuple[str, ...], group: int) -> int:
    """Step 3b, second half, for the candidates whose later document is in this group of tables."""
    found = read_part(layout, "joined", group)
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
    layout.write(layout.file("edges", group), pa.table({"later": pa.array(later[keep]), "earlier": pa.array(earlier[keep]),
                                                         "similarity": pa.array(similarity[keep])}))
    return int(keep.sum())
