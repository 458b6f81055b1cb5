"""Dedup steps 2 and 3a: every signature table cut into hash partitions, then each partition grouped.

A document is named by a 64-bit key, (table << 32) | row, so sorting keys sorts documents in the
global input order. Step 2 (`partition_group`, one task per group of tables) writes, for every row:
  - its doc id, to an id partition (duplicate ids);
  - its digest, to a digest partition (exact duplicates);
  - one record per LSH band, to the partition of that band and hash range: the band's hash and a
    128-bit hash of the whole signature ("class": documents with identical signatures).
Step 3a (`group_ids`, `band_pairs`, one task per partition) reads one partition from all tables
and writes the groups and candidate pairs it finds. Memory per task: a group's partitioned rows,
or one partition.

Files are few and sorted: a producer writes one file with a `part` column, sorted by it, and a
consumer memory-maps each producer's file and takes the slice of its part (a binary search), as
datatrove's bucket step reads its slice of every signature file."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from typing import Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpus_tools.run.shards import Store, open_table

_MIX = np.uint64(0x100000001B3)  # folds a band's values into one key; exact equality is checked later


@dataclass(frozen=True)
class Layout:
    """Where every step reads and writes, and how the work is cut. `work` is a local directory or a
    pyarrow filesystem URI (Store): on a cluster, storage that every node sees."""

    work: str
    ranges: int  # hash ranges per band, and for ids and digests: bounds a partition's size
    bands: int
    rows: int  # signature values per band (datasketch's r)
    tables_per_group: int  # steps 2 and 3b take the tables this many at a time

    @cached_property
    def store(self) -> Store:
        return Store(self.work)

    def file(self, kind: str, index: int) -> str:
        return f"{kind}/{index:06d}.arrow"

    def files(self, kind: str) -> list[str]:
        return [f"{kind}/{name}" for name in self.store.sub(kind).names() if name.endswith(".arrow")]

    def read(self, name: str) -> pa.Table:
        """Memory-mapped where the work directory is local."""
        return self.store.read_table(name)

    def write(self, name: str, table: pa.Table) -> None:
        self.store.write_scratch(name, table)

    def group(self, key: np.ndarray) -> np.ndarray:
        return ((key >> np.uint64(32)) // np.uint64(self.tables_per_group)).astype(np.int64)


def _arrow(values: np.ndarray) -> pa.Array:
    """A numeric numpy array as the Arrow array pa.array(values) gives (same type, no nulls), sharing
    its memory, without pyarrow importing numpy.ma (0.01 s per process) to ask whether it is masked."""
    values = np.ascontiguousarray(values)
    return pa.Array.from_buffers(pa.from_numpy_dtype(values.dtype), len(values), [None, pa.py_buffer(values)])


def write_by_part(layout: Layout, name: str, part: np.ndarray, columns: dict[str, pa.Array]) -> int:
    order = _arrow(np.argsort(part, kind="stable"))
    layout.write(name, pa.table({"part": _arrow(part.astype(np.int64)), **columns}).take(order))
    return len(part)


def read_part(layout: Layout, kind: str, index: int) -> Optional[pa.Table]:
    """Part `index` of every producer's file of `kind`, in file order."""
    found = []
    for name in layout.files(kind):
        table = layout.read(name)
        part = table.column("part").to_numpy()
        start, stop = np.searchsorted(part, [index, index + 1])
        if stop > start:
            found.append(table.slice(int(start), int(stop - start)))
    return pa.concat_tables(found).combine_chunks() if found else None


@dataclass(frozen=True)
class GroupJob:
    group: int
    tables: tuple[tuple[int, str], ...]  # (table index, path), consecutive
    exact: bool
    near: bool


def _hash64(values: list[bytes]) -> np.ndarray:
    return np.fromiter((int.from_bytes(hashlib.blake2b(v, digest_size=8).digest(), "little") for v in values),
                       dtype=np.uint64, count=len(values))


def _band_hash(block: np.ndarray) -> np.ndarray:
    key = np.zeros(len(block), dtype=np.uint64)
    for column in block.T:
        key = key * _MIX + column
    key ^= key >> np.uint64(33)
    key *= np.uint64(0xFF51AFD7ED558CCD)
    return key ^ (key >> np.uint64(33))


def signature_matrix(column: pa.ChunkedArray, num_perm: int, where: str) -> tuple[np.ndarray, np.ndarray]:
    """The rows that have a signature, and their signatures as one uint64 matrix."""
    column = column.combine_chunks()
    present = np.flatnonzero(~np.asarray(column.is_null().to_numpy(zero_copy_only=False)))
    values = column.take(_arrow(present)).flatten().to_numpy() if len(present) else np.zeros(0)
    if len(values) != len(present) * num_perm:
        raise ValueError(f"{where}: signatures must have num_perm={num_perm} values")
    return present, values.astype(np.uint64).reshape(len(present), num_perm)


def _partition_rows(layout: Layout, num_perm: int, job: GroupJob, table: int, path: str) -> dict[str, tuple]:
    """Step 2 for one signature table: per kind, each row's partition and its columns."""
    rows = open_table(path)
    key = (np.uint64(table) << np.uint64(32)) | np.arange(rows.num_rows, dtype=np.uint64)
    ids = rows.column("id").combine_chunks()
    ranges = np.uint64(layout.ranges)
    found = {"ids": (_hash64([i.encode("utf-8") for i in ids.to_pylist()]) % ranges,
                     {"value": ids, "key": _arrow(key)})}
    if job.exact:
        digests = rows.column("digest").combine_chunks()
        found["digests"] = (_hash64(digests.to_pylist()) % ranges, {"value": digests, "key": _arrow(key)})
    if job.near:
        present, sigs = signature_matrix(rows.column("signature"), num_perm, path)
        whole = np.frombuffer(b"".join(hashlib.blake2b(s.tobytes(), digest_size=16).digest() for s in sigs),
                              dtype=np.uint64).reshape(-1, 2)
        value = np.concatenate([_band_hash(sigs[:, b * layout.rows:(b + 1) * layout.rows])
                                for b in range(layout.bands)]) if len(present) else np.zeros(0, np.uint64)
        band = np.repeat(np.arange(layout.bands, dtype=np.uint64), len(present))
        found["bands"] = (band * ranges + value % ranges,
                          {"bucket": _arrow(value), "key": _arrow(np.tile(key[present], layout.bands)),
                           "class_hi": _arrow(np.tile(whole[:, 0], layout.bands)),
                           "class_lo": _arrow(np.tile(whole[:, 1], layout.bands))})
    return found


def partition_group(layout: Layout, num_perm: int, job: GroupJob) -> int:
    """Step 2 for a group of signature tables, read one at a time: one file per kind for the group
    (a partition then reads one slice per group, not per table). Returns the rows written."""
    found: dict[str, list] = {}
    for table, path in job.tables:
        for kind, part in _partition_rows(layout, num_perm, job, table, path).items():
            found.setdefault(kind, []).append(part)
    for kind, parts in found.items():
        columns = {name: pa.concat_arrays([p[1][name] for p in parts]) for name in parts[0][1]}
        write_by_part(layout, layout.file(kind, job.group), np.concatenate([p[0] for p in parts]), columns)
    return sum(len(p[0]) for p in found.get("ids", []))


def group_ids(layout: Layout, kind: str, index: int) -> int:
    """Step 3a for an id or digest partition: every document that shares its id (digest) with
    another, with the first such document in input order (its group)."""
    found = read_part(layout, kind, index)
    if found is None:
        return 0
    found = found.sort_by([("value", "ascending"), ("key", "ascending")])
    value, key = found.column("value").combine_chunks(), found.column("key").to_numpy()
    same = np.asarray(pc.equal(value.slice(1), value.slice(0, len(value) - 1)).to_numpy(zero_copy_only=False))
    new_group = np.r_[True, ~same]
    in_group = ~new_group | np.r_[same, False]  # shares its value with the row before or after
    first = np.maximum.accumulate(np.where(new_group, np.arange(len(key)), 0))
    layout.write(layout.file(f"{kind}-groups", index),
                  pa.table({"key": _arrow(key[in_group]), "group": _arrow(key[first[in_group]])}))
    return int(in_group.sum())


def band_pairs(layout: Layout, index: int) -> int:
    """Step 3a for a band partition: the LSH candidates. Documents whose band hashes are equal share
    a bucket. Within a bucket, documents with identical signatures form a class (all its members
    share every bucket, and relate alike to everyone): each member is linked to the class's first
    document, and pairs are formed between the first documents of the classes only, so a bucket
    of 10,000 copies gives 9,999 links, not 50 million pairs. Written by the group of the earlier
    document, which the next step joins with its signature."""
    found = read_part(layout, "bands", index)
    if found is None:
        return 0
    bucket, key = found.column("bucket").to_numpy(), found.column("key").to_numpy()
    hi, lo = found.column("class_hi").to_numpy(), found.column("class_lo").to_numpy()
    order = np.lexsort((key, lo, hi, bucket))  # by bucket, then class, then input order
    bucket, key, hi, lo = bucket[order], key[order], hi[order], lo[order]
    new_bucket = np.r_[True, bucket[1:] != bucket[:-1]]
    new_class = new_bucket | np.r_[True, (hi[1:] != hi[:-1]) | (lo[1:] != lo[:-1])]
    head_of = np.maximum.accumulate(np.where(new_class, np.arange(len(key)), 0))
    heads, head_bucket = key[new_class], bucket[new_class]
    by_bucket = np.lexsort((heads, head_bucket))
    heads, head_bucket = heads[by_bucket], head_bucket[by_bucket]
    # every head with each earlier head of its bucket: rank r in its bucket gives r pairs
    start = np.flatnonzero(np.r_[True, head_bucket[1:] != head_bucket[:-1]])
    first = np.repeat(start, np.diff(np.r_[start, len(heads)]))
    rank = np.arange(len(heads)) - first
    total = int(rank.sum())
    offset = np.arange(total) - np.repeat(np.cumsum(rank) - rank, rank)
    later = np.concatenate([key[~new_class], np.repeat(heads, rank)])
    earlier = np.concatenate([key[head_of[~new_class]], heads[np.repeat(first, rank) + offset]])
    same = np.r_[np.ones(int((~new_class).sum()), np.bool_), np.zeros(total, np.bool_)]
    return write_by_part(layout, layout.file("pairs", index), layout.group(earlier),
                         {"later": pa.array(later), "earlier": pa.array(earlier), "same": pa.array(same)})
