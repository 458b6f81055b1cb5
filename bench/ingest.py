"""Ingest throughput per format, peak RSS, the driver's share of CPU, and the workers=2 /
workers=1 speed-up.

Each sample in ../shared/data is repeated to about --mb megabytes (records renumbered where the
format has ids, so they are distinct records). By default their text repeats too, which exact
dedup catches early, as on a real dump with duplicates; with --distinct every copy after the
first has its words (English) or Han characters (Chinese) shuffled within each text, so every
document survives dedup and the dedup index grows as on a dump of distinct pages. Each run is a
fresh process, timed from start to exit (imports included), and reports the peak RSS of the main
process and of the largest worker, and the main process's share of all CPU time (local engine:
workers are its children).

    .venv/bin/python bench/ingest.py [--mb 8] [--formats wiki-xml,books,...] [--distinct]
    .venv/bin/python bench/ingest.py --distinct --mb 10 --rss-scale 10     # memory at 10x the input
"""
from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import tempfile
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


# Prose to shuffle: English words not touching markup, or Han characters. Markup, ids and URLs stay.
_WORD = re.compile(r"(?<![\w\[{|=:<&#/.@-])[A-Za-z]{3,}(?![\w\]}|=:>(/.@-])|[\u4e00-\u9fff]")
_PROSE_KEYS = ("text", "title", "selftext", "body", "question", "paragraphs", "answers")


def scramble(text: str, copy: int) -> str:
    """The text with its words (or Han characters) permuted, seeded by the copy number: same
    length, markup and character mix, but other shingles, so near-dedup keeps it. Copy 0 is kept."""
    if copy == 0:
        return text
    words = _WORD.findall(text)
    random.Random(copy * 1_000_003 + len(text)).shuffle(words)
    order = iter(words)
    return _WORD.sub(lambda m: next(order), text)


def _scramble_json(value, copy: int, key: str = ""):
    if isinstance(value, str):
        return scramble(value, copy) if key in _PROSE_KEYS else value
    if isinstance(value, list):
        return [_scramble_json(v, copy, key) for v in value]
    if isinstance(value, dict):
        return {k: _scramble_json(v, copy, k) for k, v in value.items()}
    return value


def _book_scramble(text: str, copy: int) -> str:
    start = text.find("\n", text.find("*** START OF")) + 1
    end = text.find("*** END OF", start)
    end = end if end > 0 else len(text)
    return text[:start] + scramble(text[start:end], copy) + text[end:]


def grow(fmt: str, source: Path, target_mb: float, folder: Path, distinct: bool = False) -> list[Path]:
    """Copies of the sample, as one file (or one file per book), to about target_mb."""
    text = source.read_text(encoding="utf-8-sig")
    copies = max(1, int(target_mb * 1e6 / len(text.encode())))
    vary = scramble if distinct else (lambda value, copy: value)
    if fmt == "books" and distinct:  # the Gutenberg header and licence stay readable: they identify a book
        vary = _book_scramble
    if fmt == "books":
        paths = []
        for i in range(copies):
            path = folder / f"book{i}.txt"
            path.write_text(vary(text, i), encoding="utf-8")
            paths.append(path)
        return paths
    path = folder / (source.name if fmt != "wiki-xml" else "enwiki.xml")
    if fmt == "wiki-xml":
        grow_wiki_xml(source, copies, path, vary)
    elif fmt in ("wikiextractor", "reddit", "dureader"):
        key = {"wikiextractor": "id", "reddit": "id", "dureader": "question_id"}[fmt]
        with path.open("w", encoding="utf-8") as fh:
            for i in range(copies):
                for line in text.splitlines():
                    record = _scramble_json(json.loads(line), i) if distinct else json.loads(line)
                    record[key] = f"{record[key]}c{i}" if isinstance(record[key], str) else record[key] + i * 10**7
                    record.pop("name", None)
                    fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    else:
        with path.open("w", encoding="utf-8") as fh:
            for i in range(copies):
                fh.write(vary(text, i))
    return [path]


def grow_wiki_xml(source: Path, copies: int, path: Path, vary=lambda value, copy: value) -> Path:
    """A MediaWiki dump holding the pages of `source` `copies` times (each copy through `vary`), page,
    revision and contributor ids shifted by 10**7 per copy so the pages are distinct records."""
    text = source.read_text(encoding="utf-8-sig")
    head, rest = text.split("<page>", 1)
    body, tail = ("<page>" + rest).rsplit("</mediawiki>", 1)
    pages = [re.sub(r"<id>(\d+)</id>", lambda m: f"<id>{int(m.group(1)) + i * 10**7}</id>", vary(body, i))
             for i in range(copies)]
    path.write_text(head + "".join(pages) + "</mediawiki>" + tail, encoding="utf-8")
    return path


# The driver's peak is VmHWM, not ru_maxrss: Linux keeps ru_maxrss across execve, so a child of this
# bench process (which holds the grown inputs) would report the bench's own peak.
def run(fmt: str, inputs: list[Path], workers: int, out: Path, unit_mb=None) -> dict:
    code = (
        "import json, resource, sys, time\n"
        "t = time.perf_counter()\n"
        "from corpus_tools.ingest.ingest import IngestConfig, ingest\n"
        "from corpus_tools.run.engine import Parallel\n"
        "r = ingest(sys.argv[3:], sys.argv[1], IngestConfig(fmt=sys.argv[2]UNITS), parallel=Parallel(WORKERS),"
        " overwrite=True)\n"
        "me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "print(json.dumps({'seconds': time.perf_counter() - t, 'kept': r.stats.get('kept', 0),"
        " 'units': r.stats.get('units', 1), 'rss_main_mb': int(open('/proc/self/status').read().split('VmHWM:')[1].split()[0]) / 1024, 'rss_worker_mb': kids.ru_maxrss / 1024,"
        " 'driver_cpu': (me.ru_utime + me.ru_stime)"
        " / max(1e-9, me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime)}))\n"
    ).replace("WORKERS", str(workers)).replace("UNITS", f", unit_bytes={int(unit_mb * 1e6)}" if unit_mb else "")
    done = subprocess.run([sys.executable, "-c", code, str(out), fmt, *map(str, inputs)], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


# What the projection scales to (raw bytes the readers decompress and parse), and the baseline.
FULL_ENWIKI_GB = 90.0  # enwiki pages-articles XML, uncompressed (about 22 GB of bz2)
REDDIT_YEAR_GB = 600.0  # one year of Pushshift submissions (RS_*.zst, about 10x when decompressed)
MEGATRON_MB_S = 1.0  # Megatron-LM tools/preprocess_data.py, per worker (tokenizing only, no cleaning)
PROJECTED = {"wiki-xml": ("full English Wikipedia", FULL_ENWIKI_GB), "reddit": ("one year of Reddit submissions", REDDIT_YEAR_GB)}


def speed_table(formats: list[str], mb: float, distinct: bool, tmp: Path, unit_mb=None) -> dict[str, float]:
    """w=1 and w=2 on the same input; returns MB/s per core (w=1) per format."""
    print("| format | input MB | units | records kept | w=1 s | w=1 MB/s | w=2 s | w=2 MB/s | w2/w1 "
          "| peak RSS main / worker MB | driver's share of CPU, w=2 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    rates = {}
    for fmt in formats:
        folder = tmp / f"{fmt}-{mb}"
        folder.mkdir()
        inputs = grow(fmt, SAMPLES[fmt], mb, folder, distinct)
        size = sum(p.stat().st_size for p in inputs) / 1e6
        one = run(fmt, inputs, 1, tmp / f"{fmt}-w1", unit_mb)
        two = run(fmt, inputs, 2, tmp / f"{fmt}-w2", unit_mb)
        rates[fmt] = size / one["seconds"]
        print(f"| {fmt} | {size:.1f} | {two['units']} | {one['kept']:,} | {one['seconds']:.1f} | {size / one['seconds']:.2f} | "
              f"{two['seconds']:.1f} | {size / two['seconds']:.2f} | {one['seconds'] / two['seconds']:.2f} | "
              f"{max(one['rss_main_mb'], two['rss_main_mb']):.0f} / {two['rss_worker_mb']:.0f} | {two['driver_cpu']:.1%} |", flush=True)
    return rates


def rss_table(formats: list[str], mb: float, scale: float, distinct: bool, tmp: Path, unit_mb=None) -> None:
    """Peak RSS of the main process and the largest worker (w=2) at mb and at scale x mb."""
    print("\n| format | input MB | records kept | seconds | peak RSS main MB | peak RSS worker MB |")
    print("|---|---|---|---|---|---|")
    for fmt in formats:
        for size_mb in dict.fromkeys((mb, mb * scale)):
            folder = tmp / f"{fmt}-rss-{size_mb}"
            folder.mkdir()
            inputs = grow(fmt, SAMPLES[fmt], size_mb, folder, distinct)
            size = sum(p.stat().st_size for p in inputs) / 1e6
            two = run(fmt, inputs, 2, tmp / f"{fmt}-rss-out-{size_mb}", unit_mb)
            print(f"| {fmt} | {size:.1f} | {two['kept']:,} | {two['seconds']:.1f} | {two['rss_main_mb']:.0f} | "
                  f"{two['rss_worker_mb']:.0f} |", flush=True)


def projection(rates: dict[str, float]) -> None:
    """Hours for a whole dump from the measured per-core rate, assuming the rate scales with cores."""
    print("\n| corpus | GB | our MB/s per core | 64-core node, h | 4 x 64-core nodes, h | Megatron preprocess_data.py, 64 workers, h |")
    print("|---|---|---|---|---|---|")
    for fmt, (name, gb) in PROJECTED.items():
        if fmt not in rates:
            continue
        hours = lambda rate, cores: gb * 1e3 / (rate * cores) / 3600
        print(f"| {name} ({fmt}) | {gb:.0f} | {rates[fmt]:.2f} | {hours(rates[fmt], 64):.1f} | "
              f"{hours(rates[fmt], 256):.1f} | {hours(MEGATRON_MB_S, 64):.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=8.0, help="input size per format (MB)")
    parser.add_argument("--formats", default=",".join(SAMPLES), help="comma-separated formats")
    parser.add_argument("--distinct", action="store_true", help="shuffle words in each copy so dedup keeps it")
    parser.add_argument("--rss-scale", type=float, default=0, help="also measure RSS at --mb and at this many times --mb")
    parser.add_argument("--unit-mb", type=float, default=None, help="--unit-bytes in MB (default: ingest's)")
    parser.add_argument("--no-speed", action="store_true", help="skip the w=1/w=2 table (with --rss-scale)")
    args = parser.parse_args()
    formats = args.formats.split(",")
    unknown = set(formats) - set(SAMPLES)
    if unknown:
        parser.error(f"unknown format(s) {', '.join(sorted(unknown))}; choose from {', '.join(SAMPLES)}")
    with tempfile.TemporaryDirectory() as tmp:
        if not args.no_speed:
            projection(speed_table(formats, args.mb, args.distinct, Path(tmp), args.unit_mb))
        if args.rss_scale:
            rss_table(formats, args.mb, args.rss_scale, args.distinct, Path(tmp), args.unit_mb)


if __name__ == "__main__":
    main()
