"""What `ingest --decontaminate` adds to plain ingest, side by side on the same input.

The input is the 12,000 IMDb reviews (15.6 MB, English, one per line); the eval sets are all of
../shared/data/eval (SST-2 dev and train head, MRPC, RTE, ChnSentiCorp, XNLI-zh, MSRA-NER).
Plain and decontaminated ingest alternate, each in a fresh process, --repeats times; the time is
the ingest() call (index build included, imports not), the best of the repeats is kept, and the
ratio is printed. Then the standalone `decontaminate` command on the plain output.

    .venv/bin/python bench/decontaminate.py [--repeats 2] [--workers 1] [--reviews 12000]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
EVAL = [DATA / "eval" / p for p in ("sst2/glue_dev.tsv", "sst2/train_head2000.tsv", "mrpc/msr_paraphrase_test.txt",
                                    "rte/dev.tsv", "chnsenticorp/dev.tsv", "xnli_zh/dev.tsv", "msra_ner/dev.tsv")]

INGEST = """
import json, resource, sys, time
from corpus_tools.decontaminate import eval_sets
from corpus_tools.ingest import IngestConfig, ingest
from corpus_tools.process import TextSettings
out, workers, source, against = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
t = time.perf_counter()
sets = eval_sets(against) if against else None
r = ingest([source], out, IngestConfig(fmt="text", workers=workers, text=TextSettings(decontaminate=sets)), overwrite=True)
print(json.dumps({"seconds": time.perf_counter() - t, "kept": r.stats["kept"],
                  "removed": r.stats.get("decontaminated", {}).get("documents", 0),
                  "rss_main_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

COMMAND = """
import json, resource, sys, time
from corpus_tools.decontaminate import decontaminate
from corpus_tools.contamination import load_index
from corpus_tools.decontaminate import eval_sets
t = time.perf_counter()
index = load_index(eval_sets(sys.argv[4:]))
build = time.perf_counter() - t
r = decontaminate(sys.argv[1], sys.argv[2], sys.argv[4:], workers=int(sys.argv[3]), overwrite=True)
print(json.dumps({"seconds": time.perf_counter() - t, "index_seconds": build, "keys": len(index.keys),
                  "index_mb": (index.keys.nbytes + index.files.nbytes + index.first_file.nbytes
                               + index.first_line.nbytes) / 1e6,
                  "kept": r.stats["kept"], "removed": r.stats.get("decontaminated", {}).get("documents", 0),
                  "rss_main_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(code: str, *args) -> dict:
    done = subprocess.run([sys.executable, "-c", code, *map(str, args)], cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        sys.exit(done.stderr.strip().splitlines()[-1])
    return json.loads(done.stdout.strip().splitlines()[-1])


def times(runs: list[dict]) -> str:
    return " ".join(f"{r['seconds']:.1f}" for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--reviews", type=int, default=12000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-decon-") as tmp:
        source = Path(tmp) / "imdb.txt"
        lines = (DATA / "imdb_unsup" / "unsup_12k.txt").read_text(encoding="utf-8").splitlines()[:args.reviews]
        source.write_text("\n".join(lines) + "\n", encoding="utf-8")
        mb = source.stat().st_size / 1e6
        plain, decon = [], []
        for _ in range(args.repeats):
            plain.append(run(INGEST, Path(tmp) / "plain", args.workers, source))
            decon.append(run(INGEST, Path(tmp) / "decon", args.workers, source, *EVAL))
        best_plain = min(plain, key=lambda r: r["seconds"])
        best_decon = min(decon, key=lambda r: r["seconds"])
        command = run(COMMAND, Path(tmp) / "plain", Path(tmp) / "clean", args.workers, *EVAL)
    print(f"input: {len(lines):,} IMDb reviews, {mb:.1f} MB; eval sets: {len(EVAL)}; workers={args.workers}")
    print(f"plain ingest:           {times(plain)} s  (best {best_plain['seconds']:.1f} s, "
          f"{mb / best_plain['seconds']:.2f} MB/s, kept {best_plain['kept']:,}, RSS {best_plain['rss_main_mb']:.0f} MB)")
    print(f"ingest --decontaminate: {times(decon)} s  (best {best_decon['seconds']:.1f} s, "
          f"{mb / best_decon['seconds']:.2f} MB/s, kept {best_decon['kept']:,}, removed {best_decon['removed']}, "
          f"RSS {best_decon['rss_main_mb']:.0f} MB)")
    print(f"ratio decontaminate / plain: {best_decon['seconds'] / best_plain['seconds']:.3f} "
          f"(+{100 * (best_decon['seconds'] / best_plain['seconds'] - 1):.1f}% time)")
    print(f"decontaminate command on the plain output: {command['seconds']:.1f} s "
          f"({mb / command['seconds']:.2f} MB/s; index {command['keys']:,} keys, {command['index_mb']:.1f} MB, "
          f"built in {command['index_seconds']:.2f} s; removed {command['removed']}; RSS {command['rss_main_mb']:.0f} MB)")


if __name__ == "__main__":
    main()
