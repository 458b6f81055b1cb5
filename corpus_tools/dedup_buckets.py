"""Dedup steps 2 and 3a: each signature table cut into hash partitions, then each partition grouped.

A document is named by a 64-bit key, (table << 32) | row, so sorting keys sorts documents in the
global input order. Step 2 (`partition_table`, one task per table) writes, for every row:
  - its doc id, to an id partition (duplicate ids);
  - its digest, to a digest partition (exact duplicates);
  - one record per LSH band, to the partition of that band and hash range: the band's hash and a
    128-bit hash of the whole signature ("class": documents with identical signatures).
Step 3a (`group_ids`, `band_pairs`, one task per partition) reads one partition from all tables
and writes what it found to files named by the table of the later document, so that the next
step reads one table's candidates at a time. Memory per task: one table, or one partition."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from corpus_tools.shards import write_table
from schemas.validate import read_table

_MIX = np.uint64(0x100000001B3)  # folds a band's values into one key; exact equality is checked later


def key_table(key: np.ndarray) -> np.ndarray:
    return (key >> np.uint64(32)).astype(np.int64)


@dataclass(frozen=True)
class Layout:
    """Where every step reads and writes, and how the hash space is cut."""

    work: str
    ranges: int  # hash ranges per band (and for ids and digests): bounds a partition's size
    bands: int
    rows: int  # signature values per band (datasketch's r)

    def part(self, kind: str, index: int) -> Path:
        return Path(self.work) / kind / f"p{index:05d}"

    def found(self, kind: str, table: int) -> Path:
        return Path(self.work) / kind / f"t{table:06d}"


@dataclass(frozen=True)
class TableJob:
    table: int
    path: str
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


def _write_parts(layout: Layout, kind: str, table: int, part: np.ndarray, columns: dict[str, pa.Array]) -> None:
    """One file per non-empty partition: kind/pNNNNN/tNNNNNN.arrow."""
    order = np.argsort(part, kind="stable")
    whole = pa.table(columns).take(pa.array(order))
    bounds = np.searchsorted(part[order], np.arange(int(part.max(initial=-1)) + 2))
    for index in range(len(bounds) - 1):
        start, stop = int(bounds[index]), int(bounds[index + 1])
        if stop > start:
            folder = layout.part(kind, index)
            folder.mkdir(parents=True, exist_ok=True)
            write_table(folder / f"t{table:06d}.arrow", whole.slice(start, stop))


def partition_table(layout: Layout, num_perm: int, job: TableJob) -> int:
    """Step 2 for one signature table; returns its row count."""
    table = read_table(job.path)
    rows = table.num_rows
    key = (np.uint64(job.table) << np.uint64(32)) | np.arange(rows, dtype=np.uint64)
    ids = table.column("id").to_pylist()
    id_hash = _hash64([i.encode("utf-8") for i in ids])
    _write_parts(layout, "ids", job.table, (id_hash % np.uint64(layout.ranges)).astype(np.int64),
                 {"id": pa.array(ids, pa.string()), "key": pa.array(key)})
    if job.exact:
        digests = table.column("digest").to_pylist()
        _write_parts(layout, "digests", job.table, (_hash64(digests) % np.uint64(layout.ranges)).astype(np.int64),
                     {"digest": pa.array(digests, pa.binary()), "key": pa.array(key), "id": pa.array(ids, pa.string())})
    if job.near:
        _partition_bands(layout, num_perm, job, table.column("signature"), key)
    return rows


def signature_matrix(column: pa.ChunkedArray, num_perm: int, where: str) -> tuple[np.ndarray, np.ndarray]:
    """The rows that have a signature, and their signatures as one uint64 matrix."""
    column = column.combine_chunks()
    present = np.flatnonzero(~np.asarray(column.is_null().to_numpy(zero_copy_only=False)))
    sigs = column.take(pa.array(present)).flatten().to_numpy().astype(np.uint64) if len(present) else np.zeros(0, np.uint64)
    if len(sigs) != len(present) * num_perm:
        raise ValueError(f"{where}: signatures must have num_perm={num_perm} values")
    return present, sigs.reshape(len(present), num_perm)


def _partition_bands(layout: Layout, num_perm: int, job: TableJob, column: pa.ChunkedArray, key: np.ndarray) -> None:
    present, sigs = signature_matrix(column, num_perm, job.path)
    if len(present) == 0:
        return
    members = key[present]
    whole = np.frombuffer(b"".join(hashlib.blake2b(s.tobytes(), digest_size=16).digest() for s in sigs),
                          dtype=np.uint64).reshape(-1, 2)
    band = np.repeat(np.arange(layout.bands), len(present))
    value = np.concatenate([_band_hash(sigs[:, b * layout.rows:(b + 1) * layout.rows]) for b in range(layout.bands)])
    part = band * layout.ranges + (value % np.uint64(layout.ranges)).astype(np.int64)
    _write_parts(layout, "bands", job.table, part,
                 {"bucket": pa.array(value), "key": pa.array(np.tile(members, layout.bands)),
                  "class_hi": pa.array(np.tile(whole[:, 0], layout.bands)),
                  "class_lo": pa.array(np.tile(whole[:, 1], layout.bands))})


def _read_part(folder: Path) -> pa.Table | None:
    files = sorted(folder.glob("t*.arrow")) if folder.exists() else []
    return pa.concat_tables([read_table(f) for f in files]).combine_chunks() if files else None


def _write_found(layout: Layout, kind: str, name: str, later: np.ndarray, columns: dict[str, pa.Array]) -> int:
    """Records go to kind/tNNNNNN/<name>.arrow by the table of their later document."""
    if len(later) == 0:
        return 0
    tables = key_table(later)
    order = np.argsort(tables, kind="stable")
    whole = pa.table(columns).take(pa.array(order))
    tables = tables[order]
    for table in np.unique(tables):
        start, stop = np.searchsorted(tables, [table, table + 1])
        folder = layout.found(kind, int(table))
        folder.mkdir(parents=True, exist_ok=True)
        write_table(folder / f"{name}.arrow", whole.slice(int(start), int(stop - start)))
    return len(later)


def group_ids(layout: Layout, kind: str, index: int) -> int:
    """Step 3a for an id or digest partition: every document that shares its id (digest) with
    another, with the first such document in input order (the group)."""
    found = _read_part(layout.part(kind, index))
    if found is None:
        return 0
    value = found.column("id" if kind == "ids" else "digest").to_pylist()
    key = found.column("key").to_numpy()
    order = sorted(range(len(key)), key=lambda i: (value[i], key[i]))
    member, group = [], []
    start = 0
    while start < len(order):
        stop = start + 1
        while stop < len(order) and value[order[stop]] == value[order[start]]:
            stop += 1
        if stop - start > 1:
            member.extend(key[order[start:stop]])
            group.extend([key[order[start]]] * (stop - start))
        start = stop
    member_a = np.array(member, dtype=np.uint64)
    return _write_found(layout, f"{kind}-groups", f"p{index:05d}", member_a,
                        {"key": pa.array(member_a), "group": pa.array(np.array(group, dtype=np.uint64))})


def band_pairs(layout: Layout, index: int) -> int:
    """Step 3a for a band partition: the LSH candidates. Documents whose band hashes are equal share
    a bucket. Within a bucket, documents with identical signatures form a class (all its members
    share every bucket, and relate alike to everyone): each member is linked once to the class's
    first document, and pairs are formed between the first documents of the classes only, so a
    bucket of 10,000 copies gives 9,999 links, not 50 million pairs."""
    found = _read_part(layout.part("bands", index))
    if found is None:
        return 0
    band, key = found.column("bucket").to_numpy(), found.column("key").to_numpy()
    hi, lo = found.column("class_hi").to_numpy(), found.column("class_lo").to_numpy()
    order = np.lexsort((key, lo, hi, band))  # by bucket, then class, then input order
    band, key, hi, lo = band[order], key[order], hi[order], lo[order]
    starts = np.flatnonzero(np.r_[True, band[1:] != band[:-1]])
    stops = np.r_[starts[1:], len(band)]
    later, earlier, link = [], [], []
    for start, stop in zip(starts[stops - starts > 1], stops[stops - starts > 1]):
        first = np.flatnonzero(np.r_[True, (hi[start + 1:stop] != hi[start:stop - 1])
                                     | (lo[start + 1:stop] != lo[start:stop - 1])]) + start
        bounds = np.r_[first, stop]
        for a, b in zip(bounds[:-1], bounds[1:]):  # class members -> the class's first document
            later.extend(key[a + 1:b])
            earlier.extend([key[a]] * (b - a - 1))
            link.extend([1] * (b - a - 1))
        heads = np.sort(key[first])
        for j in range(1, len(heads)):  # candidate pairs between classes
            later.extend([heads[j]] * j)
            earlier.extend(heads[:j])
            link.extend([0] * j)
    later_a = np.array(later, dtype=np.uint64)
    return _write_found(layout, "pairs", f"p{index:05d}", later_a,
                        {"later": pa.array(later_a), "earlier": pa.array(np.array(earlier, dtype=np.uint64)),
                         "same": pa.array(np.array(link, dtype=np.bool_))})
