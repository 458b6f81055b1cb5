"""The whole `ernie-corpus ingest` command against the whole WikiExtractor command, per CPU second.

Both commands read the same grown dump: the pages of ../shared/data/enwiki_xml/enwiki-10k.xml repeated
--copies times under new page ids (as bench/ingest.py grows it), one file. Each side is a fresh child
process, one process each, start-up and imports included:

- ours: `python -m corpus_tools.cli ingest DUMP --out DIR --no-dedup --workers 1 --quiet`
  (ernie-corpus ingest: wikitext -> normalized, language-tagged, sentence-split Arrow shards);
- WikiExtractor: `python -m wikiextractor.WikiExtractor DUMP --json -o DIR --processes 1 -q`
  (wikitext -> JSON lines of plain text; its own worker processes are counted too).

A side's CPU seconds are the user + system time of the child and every process it waited for
(resource.getrusage(RUSAGE_CHILDREN) before and after), so load from other jobs on a shared machine
changes them little; runs alternate between the sides and the median of --runs is kept. The ratio is
WikiExtractor's CPU seconds over ours: above 1 we are faster. Each run also times both commands on
one copy (start-up plus one pass over the pages), so the cost of a further copy, what a larger dump
adds, is also given without the start-up.

The stage table is one more run of ours under cProfile (slower than a plain run; the shares are what
counts). Every function's own time goes to a stage by the module it is in; time in built-ins (regex,
str methods, C extensions) and in modules no stage names (the standard library) goes to the stages of
its callers, up the call graph. Module-level code and the import machinery are start-up; loading
py3langid's model is language, building spaCy's tokenizer sentences.

    .venv/bin/python bench/e2e.py                          # --copies 20 --runs 3; about 1 min
    .venv/bin/python bench/e2e.py --copies 1 --runs 1      # a few seconds
    .venv/bin/python bench/e2e.py --no-profile             # the ratio only
    .venv/bin/python bench/e2e.py --checkout ../old        # ours from another checkout (before/after)

Needs the `bench` extra (`pip install -e .[bench]`) for WikiExtractor.
"""
from __future__ import annotations

import argparse
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
SAMPLE = DATA / "enwiki_xml" / "enwiki-10k.xml"

# Stage of a function, from its file: the first rule whose pattern is in the path wins.
STAGES = (
    ("markup", ("corpus_tools/ingest/markup/", "mwparserfromhell")),
    ("sentences", ("corpus_tools/text/sentences.py", "corpus_tools/text/english_sentences.py", "/spacy/",
                   "nlp_libs/spacy_loading.py")),
    ("language", ("corpus_tools/text/lang.py", "py3langid", "/numpy/")),
    ("normalize", ("corpus_tools/text/normalize.py", "unicodedata")),
    ("arrow writing", ("pyarrow", "corpus_tools/run/shards.py", "schemas/", "corpus_tools/ingest/ingest.py")),
    ("reading XML", ("corpus_tools/ingest/readers/", "xml/etree", "defusedxml", "corpus_tools/ingest/sources.py",
                     "corpus_tools/ingest/units.py")),
    ("other cleaning", ("corpus_tools/ingest/process.py",)),
)
STARTUP = "start-up/imports"


def grow(copies: int, folder: Path) -> Path:
    """The sample's pages `copies` times, page ids shifted by 10**7 per copy, as one dump."""
    from ingest import grow_wiki_xml  # bench/ingest.py

    return grow_wiki_xml(SAMPLE, copies, folder / "enwiki.xml")


def ours(dump: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "corpus_tools.cli", "ingest", str(dump), "--out", str(out), "--no-dedup",
            "--workers", "1", "--quiet", "--overwrite"]


def wikiextractor(dump: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "wikiextractor.WikiExtractor", str(dump), "--json", "-o", str(out),
            "--processes", "1", "-q"]


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str], cwd: Path = ROOT) -> float:
    """CPU seconds of `command` (run in `cwd`) and the processes it waited for."""
    before = children_cpu()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"error: {' '.join(command[:4])} ... failed: {done.stderr.strip()[-500:]}")
    return children_cpu() - before


def stage(filename: str, name: str) -> str:
    if name == "<module>" or filename.startswith("<frozen importlib"):
        return STARTUP
    path = filename.replace("\\", "/")
    for label, patterns in STAGES:
        if any(p in path for p in patterns):
            return label
    return ""  # a built-in, or a module no stage names: decided by its caller


def stage_shares(profile: Path) -> dict[str, float]:
    """Own time per stage. A built-in or a function of a module no stage names (the standard library,
    a helper) takes the stages of its callers, in proportion to the time each caller spent in it,
    up the call graph until a named stage or start-up is found."""
    raw = pstats.Stats(str(profile)).stats  # func -> (cc, nc, tt, ct, callers)
    memo: dict = {}
    visiting: set = set()

    def owners(func) -> Counter:
        if func in memo:
            return memo[func]
        visiting.add(func)
        label = stage(func[0], func[2])
        callers = {c: edge for c, edge in raw.get(func, (0, 0, 0, 0, {}))[4].items() if c not in visiting}
        total = sum(edge[3] for edge in callers.values())
        found = Counter()
        if label or not callers or total <= 0:
            found[label or "other"] = 1.0
        else:
            for caller, edge in callers.items():
                for name, share in owners(caller).items():
                    found[name] += share * edge[3] / total
        visiting.discard(func)
        memo[func] = found
        return found

    seconds: Counter = Counter()
    for func, (_, _, own, _, _) in raw.items():
        for label, share in owners(func).items():
            seconds[label] += own * share
    total = sum(seconds.values()) or 1.0
    return {label: seconds[label] / total for label in [*[s for s, _ in STAGES], STARTUP, "other"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=20, help="times the sample's pages are repeated (20: about 13 MB)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each side, alternating; the median is kept")
    parser.add_argument("--checkout", type=Path, default=ROOT,
                        help="the project checkout whose ingest runs (default: this one); e.g. a worktree of an older "
                             "commit, for a before/after on the same machine")
    parser.add_argument("--no-profile", action="store_true", help="skip the cProfile run and the stage table")
    args = parser.parse_args()
    if args.copies < 1 or args.runs < 1:
        parser.error("--copies and --runs take a positive number")
    if not (args.checkout / "corpus_tools" / "cli.py").exists():
        parser.error(f"--checkout {args.checkout}: no corpus_tools/cli.py there")
    if not SAMPLE.exists():
        parser.error(f"the sample {SAMPLE} is missing")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "one").mkdir()
        dump, single = grow(args.copies, folder), grow(1, folder / "one")
        mb = dump.stat().st_size / 1e6
        sides = {"wikiextractor": (wikiextractor, ROOT), "ours": (ours, args.checkout)}
        times: dict[str, list[float]] = {side: [] for side in sides}
        start: dict[str, list[float]] = {side: [] for side in sides}
        for run in range(args.runs):
            for side, (command, cwd) in sides.items():
                times[side].append(timed(command(dump, folder / f"{side}{run}"), cwd))
                if args.copies > 1:
                    start[side].append(timed(command(single, folder / f"{side}-one{run}"), cwd))
        theirs, mine = statistics.median(times["wikiextractor"]), statistics.median(times["ours"])
        print(f"dump: {args.copies} copies of {SAMPLE.name}, {mb:.1f} MB; median of {args.runs} run(s), CPU seconds\n")
        print("| command | CPU s | MB of XML per CPU s | runs | 1 copy (start-up and one pass), CPU s | per further copy, CPU s |")
        print("|---|---|---|---|---|---|")
        per_copy = {}
        for side, name in (("wikiextractor", "WikiExtractor --json --processes 1"),
                           ("ours", "ernie-corpus ingest --no-dedup --workers 1")):
            whole = statistics.median(times[side])
            one = statistics.median(start[side]) if start[side] else float("nan")
            per_copy[side] = (whole - one) / (args.copies - 1) if args.copies > 1 else float("nan")
            print(f"| {name} | {whole:.2f} | {mb / whole:.2f} | {', '.join(f'{t:.2f}' for t in times[side])} | "
                  f"{one:.2f} | {per_copy[side]:.3f} |")
        print(f"\nratio (WikiExtractor CPU s / ours; above 1: ours is faster): **{theirs / mine:.2f}x**")
        if args.copies > 1:
            print(f"per further copy, without the start-up: {per_copy['wikiextractor'] / per_copy['ours']:.2f}x")
        if args.no_profile:
            return
        profile = folder / "ingest.prof"
        command = ours(dump, folder / "profiled")
        timed([command[0], "-m", "cProfile", "-o", str(profile), *command[1:]], args.checkout)
        print("\n| stage of our ingest (cProfile) | share |")
        print("|---|---|")
        for label, share in stage_shares(profile).items():
            print(f"| {label} | {share:.0%} |")


if __name__ == "__main__":
    main()
