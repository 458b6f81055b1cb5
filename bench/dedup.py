"""The dedup stage (`find_duplicates`: partitions, buckets, pairs, resolution) against the
sequential `Deduper` (one MinHash LSH index in one process), on the same signature tables.

The corpus is built from the samples: the 12,000 IMDb reviews (en) and 2,500 CLUE lines (zh),
cycled to --docs documents; after the first pass each document is an exact copy, a near copy
(about one word in 100 replaced) or a distinct rewrite (one word in 4 replaced) of a sample, under
a new id, so about half of the later documents are duplicates, as in a crawl. Signatures are
computed once (step 1, which ingest does while cleaning) into tables of --table-rows rows; a
smaller size is a prefix of the largest corpus. Each method then runs in a fresh process on those
tables, timed from the call to its return. Peak RSS is the process's (for the stage, the driver)
and the largest worker's, next to the RSS of the process after its imports (base). The methods
must agree: the removed rows are compared.

    .venv/bin/python bench/dedup.py [--docs 15000,30000] [--table-rows 1000] [--workers 2]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
from multiprocessing import Pool
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT))

RUN = """
import json, pickle, resource, sys, time
from corpus_tools.dedup.minhash import DedupConfig
from corpus_tools.dedup.stages import find_duplicates, find_duplicates_sequential
from corpus_tools.run.engine import Parallel
def rss(who): return resource.getrusage(who).ru_maxrss / 1024
method, workers, work, out, tables = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5:]
base = rss(resource.RUSAGE_SELF)
t = time.perf_counter()
if method == "sequential":
    removed = find_duplicates_sequential(tables, DedupConfig())
else:
    removed = find_duplicates(tables, DedupConfig(), work, parallel=Parallel(workers))
seconds = time.perf_counter() - t
with open(out, "w") as fh:
    json.dump([{str(r): [v.reason, v.similarity] for r, v in d.items()} for d in removed], fh)
print(json.dumps({"seconds": seconds, "removed": sum(map(len, removed)), "base_mb": base,
                  "rss_mb": rss(resource.RUSAGE_SELF), "worker_mb": rss(resource.RUSAGE_CHILDREN)}))
"""


def _variant(item: tuple[int, str, str, int]) -> tuple[str, str, str]:
    n, text, lang, base = item
    if n < base:
        return f"doc:{n}", text, lang
    rng = random.Random(n)
    kind = rng.randrange(3)  # exact copy, near copy, distinct rewrite
    if kind == 0:
        return f"doc:{n}", text, lang
    units = text.split() if lang == "en" else list(text)
    rate = 100 if kind == 1 else 4
    for _ in range(max(1, len(units) // rate)):
        units[rng.randrange(len(units))] = rng.choice(["indeed", "perhaps", "surely"] if lang == "en" else "的了是在")
    return f"doc:{n}", (" " if lang == "en" else "").join(units), lang


def _table(job: tuple[str, list[tuple[int, str, str, int]]]) -> str:
    import pyarrow as pa

    from corpus_tools.dedup.minhash import DedupConfig, exact_hash, signature
    from corpus_tools.run.shards import write_table

    path, items = job
    docs = [_variant(i) for i in items]
    config = DedupConfig()
    write_table(Path(path), pa.table({
        "id": pa.array([d[0] for d in docs], pa.string()),
        "digest": pa.array([exact_hash(d[1]) for d in docs], pa.binary()),
        "signature": pa.array([signature(d[1], d[2], config).tolist() for d in docs], pa.list_(pa.uint64()))}))
    return path


def corpus(root: Path, docs: int, table_rows: int, workers: int) -> list[str]:
    samples = []
    for name, lang in (("imdb_unsup/unsup_12k.txt", "en"), ("zh_corpus/CLUECorpusSmall_sampled.txt", "zh")):
        samples += [(t, lang) for t in (DATA / name).read_text(encoding="utf-8").splitlines() if t.strip()]
    items = [(n, *samples[n % len(samples)], len(samples)) for n in range(docs)]
    jobs = [(str(root / f"t{i:05d}.arrow"), items[s:s + table_rows]) for i, s in enumerate(range(0, docs, table_rows))]
    with Pool(workers) as pool:
        return pool.map(_table, jobs)


def run(method: str, workers: int, tables: list[str], root: Path) -> tuple[dict, list]:
    out = root / f"{method}-{workers}.json"
    done = subprocess.run([sys.executable, "-c", RUN, method, str(workers), str(root / "work"), str(out), *tables],
                          capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"})
    if done.returncode:
        sys.exit(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1]), json.loads(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", default="15000,30000", help="corpus sizes, comma-separated")
    parser.add_argument("--table-rows", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    print("| docs | tables | method | s | docs/s | removed | peak RSS MB (base) | largest worker MB |")
    print("|---|---|---|---|---|---|---|---|")
    sizes = sorted(int(d) for d in args.docs.split(","))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        every = corpus(root, sizes[-1], args.table_rows, args.workers)  # a smaller corpus is a prefix of it
        for docs in sizes:
            tables = every[:-(-docs // args.table_rows)]
            reference = None
            for method, workers in (("sequential", 1), ("stage", 1), ("stage", args.workers)):
                result, removed = run(method, workers, tables, root)
                reference = reference if reference is not None else removed
                assert removed == reference, f"{method} workers={workers} removed other rows"
                name = method if method == "sequential" else f"stage, workers={workers}"
                print(f"| {docs:,} | {len(tables)} | {name} | {result['seconds']:.1f} | {docs / result['seconds']:,.0f} | "
                      f"{result['removed']:,} | {result['rss_mb']:.0f} ({result['base_mb']:.0f}) | "
                      f"{result['worker_mb']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
