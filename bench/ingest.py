"""Ingest throughput per format, peak RSS, and the workers=2 / workers=1 speed-up.

Each sample in ../shared/data is repeated to about --mb megabytes (records renumbered where the
format has ids, so they are distinct records; their text still repeats, which exact dedup
catches early, as it would on a real dump with duplicates). Each run is a fresh process, timed
from start to exit (imports included), and reports the peak RSS of the main process and of the
largest worker.

    .venv/bin/python bench/ingest.py [--mb 8] [--formats wiki-xml,books,...]
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"

SAMPLES = {
    "wiki-xml": DATA / "enwiki_xml" / "enwiki-10k.xml",
    "wikiextractor": DATA / "enwiki_extracted" / "wiki_00.jsonl",
    "books": DATA / "gutenberg" / "1342.txt",
    "reddit": DATA / "reddit" / "RS_2017-09_head.jsonl",
    "text": DATA / "zh_corpus" / "CLUECorpusSmall_sampled.txt",
    "dureader": DATA / "dureader" / "search.train.json",
}


def grow(fmt: str, source: Path, target_mb: float, folder: Path) -> list[Path]:
    """Copies of the sample, as one file (or one file per book), to about target_mb."""
    text = source.read_text(encoding="utf-8-sig")
    copies = max(1, int(target_mb * 1e6 / len(text.encode())))
    if fmt == "books":
        paths = []
        for i in range(copies):
            path = folder / f"book{i}.txt"
            path.write_text(text, encoding="utf-8")
            paths.append(path)
        return paths
    path = folder / (source.name if fmt != "wiki-xml" else "enwiki.xml")
    if fmt == "wiki-xml":
        head, rest = text.split("<page>", 1)
        body, tail = ("<page>" + rest).rsplit("</mediawiki>", 1)
        pages = [re.sub(r"<id>(\d+)</id>", lambda m: f"<id>{int(m.group(1)) + i * 10**7}</id>", body) for i in range(copies)]
        path.write_text(head + "".join(pages) + "</mediawiki>" + tail, encoding="utf-8")
    elif fmt in ("wikiextractor", "reddit", "dureader"):
        key = {"wikiextractor": "id", "reddit": "id", "dureader": "question_id"}[fmt]
        with path.open("w", encoding="utf-8") as fh:
            for i in range(copies):
                for line in text.splitlines():
                    record = json.loads(line)
                    record[key] = f"{record[key]}c{i}" if isinstance(record[key], str) else record[key] + i * 10**7
                    record.pop("name", None)
                    fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    else:
        path.write_text(text * copies, encoding="utf-8")
    return [path]


def run(fmt: str, inputs: list[Path], workers: int, out: Path, unit_mb=None) -> dict:
    code = (
        "import json, resource, sys, time\n"
        "t = time.perf_counter()\n"
        "from corpus_tools.ingest import IngestConfig, ingest\n"
        "r = ingest(sys.argv[3:], sys.argv[1], IngestConfig(fmt=sys.argv[2], workers=WORKERS UNITS), overwrite=True)\n"
        "me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "print(json.dumps({'seconds': time.perf_counter() - t, 'kept': r.stats.get('kept', 0),"
        " 'units': r.stats.get('units', 1), 'rss_main_mb': me.ru_maxrss / 1024, 'rss_worker_mb': kids.ru_maxrss / 1024,"
        " 'driver_cpu': (me.ru_utime + me.ru_stime)"
        " / max(1e-9, me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime)}))\n"
    ).replace("WORKERS", str(workers)).replace("UNITS", f", unit_bytes={int(unit_mb * 1e6)}" if unit_mb else "")
    done = subprocess.run([sys.executable, "-c", code, str(out), fmt, *map(str, inputs)], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=8.0, help="input size per format (MB)")
    parser.add_argument("--formats", default=",".join(SAMPLES), help="comma-separated formats")
    parser.add_argument("--unit-mb", type=float, default=None, help="--unit-bytes in MB (default: ingest's)")
    args = parser.parse_args()
    print(f"| format | input MB | units | records kept | w=1 s | w=1 MB/s | w=2 s | w=2 MB/s | w2/w1 | "
          "peak RSS main / worker MB | driver CPU share (w=2) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in args.formats.split(","):
            folder = Path(tmp) / fmt
            folder.mkdir()
            inputs = grow(fmt, SAMPLES[fmt], args.mb, folder)
            size = sum(p.stat().st_size for p in inputs) / 1e6
            one = run(fmt, inputs, 1, Path(tmp) / f"{fmt}-w1", args.unit_mb)
            two = run(fmt, inputs, 2, Path(tmp) / f"{fmt}-w2", args.unit_mb)
            print(f"| {fmt} | {size:.1f} | {two['units']} | {one['kept']:,} | {one['seconds']:.1f} | "
                  f"{size / one['seconds']:.2f} | {two['seconds']:.1f} | {size / two['seconds']:.2f} | "
                  f"{one['seconds'] / two['seconds']:.2f} | {max(one['rss_main_mb'], two['rss_main_mb']):.0f} / "
                  f"{two['rss_worker_mb']:.0f} | {two['driver_cpu']:.0%} |", flush=True)


if __name__ == "__main__":
    main()
