"""Deduplication as a distributed stage, in the four steps of datatrove's MinHash:

1. signatures per shard, in the workers (ingest computes them while cleaning; `dedup_datasets`
   computes them for documents datasets that exist already);
2. every shard's rows written to hash partitions: LSH band buckets by band and hash range, ids and
   exact digests by hash range (dedup_buckets.py);
3. per partition, the candidate pairs and groups; the pairs checked against the signatures per
   group of shards (dedup_clusters.py); the duplicate graph cut by connected components and
   resolved in input order per part (dedup_resolve.py);
4. a removal list per shard, which the caller applies shard by shard.

The result is exactly that of `find_duplicates_sequential`: every row, in input order, through a
duplicate-id check and today's single-process `Deduper` (greedy: a document goes if it duplicates
an earlier *kept* one). Every step runs on the engine (`ordered_map` on one `Pool` for the whole
stage: a local process pool or Ray tasks). Tables and work_dir are local paths or pyarrow filesystem
URIs (Store: local files are memory-mapped; on a cluster, storage that every node sees, such as
s3://); every step reads and writes there, never on the worker's own disk. A task holds one shard, one partition,
a group of shards' signatures or a part of the duplicate graph, never the corpus. The calling
process holds the duplicate graph as integer arrays while it finds the components, and the
removal lists. The output is identical for any worker count and engine: every step writes files
named by what they hold and every merge sorts."""
from __future__ import annotations

import math
from collections import defaultdict
from contextlib import nullcontext
from functools import lru_cache, partial
from typing import Callable, Optional, Sequence

import numpy as np
import pyarrow as pa

from corpus_tools.dedup.minhash import DedupConfig, Deduper, Verdict, lean
from corpus_tools.dedup.buckets import GroupJob, Layout, band_pairs, group_ids, partition_group
from corpus_tools.dedup.clusters import attach_signatures, verify_pairs
from corpus_tools.dedup.resolve import Removal, resolve, split_components
from corpus_tools.run.engine import Parallel, Pool, ordered_map
from corpus_tools.run.shards import Store, locate, open_table

# What a task holds, whatever the corpus: a step-3a partition is one band of about TABLES_PER_RANGE
# shards (64 x 5,000 rows x 40 bytes: 13 MB); steps 2 and 3b work on TABLES_PER_GROUP shards (16 x
# 5,000 x 1 KB of signatures: 80 MB). Smaller values mean more, smaller files read by more tasks:
# every partition reads its slice of every group's file, and every group of every partition's.
TABLES_PER_RANGE = 64
TABLES_PER_GROUP = 16
NODES_PER_PART = 200_000  # documents with a duplicate per step-3c task (a larger component stays whole)

Progress = Callable[[str, int, int], None]  # step, done, total


@lru_cache(maxsize=None)  # datasketch integrates the false-positive curves: 0.1 s a call
def lsh_bands(config: DedupConfig) -> tuple[int, int]:
    """The (bands, rows) datasketch's MinHashLSH picks for the threshold, so candidates are the same."""
    from datasketch import MinHashLSH  # imported when needed: datasketch brings scipy (about 0.5 s)

    lsh = MinHashLSH(threshold=config.threshold, num_perm=config.num_perm)
    return lsh.b, lsh.r


def warm_imports() -> None:
    """pyarrow imports pandas on its first conversion from Python or numpy (a second or more):
    done once in the driver, the forked workers of every step's pool inherit it."""
    pa.array([0])


def find_duplicates(tables: Sequence[str], config: DedupConfig, work_dir: str, parallel: Parallel = Parallel(),
                    earlier: Sequence[str] = (), *,
                    progress: Optional[Progress] = None, pool: Optional[Pool] = None) -> list[dict[int, Verdict]]:
    """The rows to remove from each signature table (Arrow IPC: id string, digest binary,
    signature list<uint64> or null), tables in input order, after the documents of `earlier`
    (kept by a previous dedup: never removed). Returns per table {row: Verdict} for removed rows.
    The steps run on `pool` if given (the caller's workers), else on a Pool of `parallel`."""
    paths = tuple(locate(p) for p in (*earlier, *tables))  # absolute: a Ray worker's cwd differs
    if not tables:
        return []
    warm_imports()
    bands, rows = lsh_bands(config) if config.near else (0, 0)  # no bands without near-dedup
    work = Store(work_dir).sub("minhash")
    if work.exists():
        work.remove_all()  # a rerun starts clean: files are named, not appended
    work.mkdir()
    layout = Layout(work.location, max(1, math.ceil(len(paths) / TABLES_PER_RANGE)), bands, rows, TABLES_PER_GROUP)
    report = progress or (lambda step, done, total: None)
    with nullcontext(pool) if pool is not None else Pool(parallel) as pool:
        def run(step: str, fn: Callable, items: list) -> list:
            # a step of one task runs here, not in a pool process: the same result without the trip
            here = len(items) == 1 and pool.engine == "local"
            results = []
            for item, result in ordered_map(fn, items, pool=None if here else pool):
                results.append(result)
                report(step, len(results), len(items))
            return results

        groups = list(range(math.ceil(len(paths) / TABLES_PER_GROUP)))
        members = [range(g * TABLES_PER_GROUP, min(len(paths), (g + 1) * TABLES_PER_GROUP)) for g in groups]
        jobs = [GroupJob(g, tuple((t, paths[t]) for t in members[g]), config.exact, config.near) for g in groups]
        run("partition", partial(partition_group, layout, config.num_perm), jobs)
        parts = [("ids", i) for i in range(layout.ranges)]
        parts += [("digests", i) for i in range(layout.ranges)] if config.exact else []
        parts += [("bands", i) for i in range(bands * layout.ranges)] if config.near else []
        run("buckets", partial(_group, layout), parts)
        if config.near:
            run("signatures", partial(attach_signatures, layout, paths, config.num_perm), groups)
            run("pairs", partial(verify_pairs, layout, config, paths), groups)
        parts = split_components(layout, config, NODES_PER_PART)
        removed: dict[int, Removal] = {}
        for found in run("clusters", partial(resolve, layout, config, len(earlier)), list(range(parts))):
            removed.update(found)
        ids = _lookup_ids(paths, {r.of for r in removed.values()}, pool)
    result: list[dict[int, Verdict]] = [{} for _ in tables]
    for key in sorted(removed):
        r = removed[key]
        table, row = (key >> 32) - len(earlier), key & 0xFFFFFFFF
        result[table][row] = Verdict(False, r.reason, ids[r.of], r.similarity)
    work.remove_all()
    return result


def _group(layout: Layout, part: tuple[str, int]) -> int:
    kind, index = part
    return band_pairs(layout, index) if kind == "bands" else group_ids(layout, kind, index)


def _ids_at(job: tuple[int, str, list[int]]) -> list[str]:
    _, path, rows = job
    return open_table(path).column("id").take(rows).to_pylist()


def _lookup_ids(paths: tuple[str, ...], keys: set[int], pool: Pool) -> dict[int, str]:
    """The doc ids of the kept documents named in the verdicts: a read of those rows per table."""
    by_table: dict[int, list[int]] = defaultdict(list)
    for key in sorted(keys):
        by_table[key >> 32].append(key & 0xFFFFFFFF)
    found: dict[int, str] = {}
    jobs = [(t, paths[t], rows) for t, rows in sorted(by_table.items())]
    for (table, _, rows), ids in ordered_map(_ids_at, jobs, pool=pool):
        found.update({(table << 32) | row: i for row, i in zip(rows, ids)})
    return found


def find_duplicates_sequential(tables: Sequence[str], config: DedupConfig,
                               earlier: Sequence[str] = ()) -> list[dict[int, Verdict]]:
    """The definition `find_duplicates` meets: all rows in one process, through today's `Deduper`.
    Memory grows with the corpus (about 1 KB of index per kept document)."""
    deduper = Deduper(config)
    kept_ids: set[str] = set()
    for path in earlier:
        for doc_id, digest, sig in _rows(path):
            kept_ids.add(doc_id)
            deduper.remember(doc_id, digest, None if sig is None or not config.near else lean(sig))
    result: list[dict[int, Verdict]] = []
    for path in tables:
        removed: dict[int, Verdict] = {}
        for row, (doc_id, digest, sig) in enumerate(_rows(path)):
            if doc_id in kept_ids:
                removed[row] = Verdict(False, "duplicate_id", doc_id, None)
                continue
            verdict = deduper.check(doc_id, digest, sig)
            if verdict.keep:
                kept_ids.add(doc_id)
            else:
                removed[row] = verdict
        result.append(removed)
    return result


def _rows(path: str):
    table = open_table(path)
    columns = [table.column(c).to_pylist() for c in ("id", "digest", "signature")]
    for doc_id, digest, sig in zip(*columns):
        yield doc_id, digest, None if sig is None else np.array(sig, dtype=np.uint64)
