"""Sentence splitting per CPU second: the default English splitter (`EnglishSentences`) against
spaCy's blank("en") + sentencizer (`SpacySentences(None)`, what it replaced), side by side in one
run, with the agreement of their boundaries; and the Chinese splitters on their own.

Each sample in ../shared/data is read and normalized as ingest does (reader, markup, NFKC, the
language step), and its paragraphs are split by both sides, alternating, in this one process, timed
in CPU seconds. Both sides start fresh on every sample, so the first round is cold for both (every
chunk is new to the new splitter's cache and to spaCy's tokenizer cache, as early in a worker's life);
later rounds are warm (as deep into a dump); the best warm round of each side is kept.

Boundary F1: a boundary is the character offset, in its paragraph, where a sentence other than the
first starts; reference = spaCy's, pooled over the sample. Changed boundaries are printed with their
context (` | ` marks the boundary one side has and the other has not).

    .venv/bin/python bench/sentences.py [--rounds 3] [--limit N] [--samples enwiki-xml,books] [--smoke]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT))

from corpus_tools.ingest.formats import reader  # noqa: E402
from corpus_tools.ingest.process import Draft, TextSettings, language_step, normalize_step  # noqa: E402
from corpus_tools.ingest.readers.options import ReadOptions  # noqa: E402
from corpus_tools.ingest.readers.records import RawDoc  # noqa: E402
from corpus_tools.text.english_sentences import EnglishSentences  # noqa: E402
from corpus_tools.text.sentences import HanlpSentences, SpacySentences, ZhRuleSentences  # noqa: E402

REDDIT = ("RS_2011-01_head.jsonl", "RS_2017-09_head.jsonl", "pushshift_comments_mixed.jsonl",
          "pushshift_submissions_mixed.jsonl")
EN_SAMPLES = {  # name: (format, files)
    "enwiki-xml": ("wiki-xml", [DATA / "enwiki_xml" / "enwiki-10k.xml"]),
    "enwiki-extracted": ("wikiextractor", [DATA / "enwiki_extracted" / "wiki_00.jsonl"]),
    "books": ("books", [DATA / "gutenberg" / name for name in ("1342.txt", "1661.txt", "84-0.txt")]),
    "reddit": ("reddit", [DATA / "reddit" / name for name in REDDIT]),
    "imdb": ("text", [DATA / "imdb_unsup" / "unsup_12k.txt"]),
}
ZH_SAMPLES = {
    "zhwiki-extracted": ("wikiextractor", [DATA / "zhwiki_extracted" / "wiki_00.jsonl"]),
    "clue": ("text", [DATA / "zh_corpus" / "CLUECorpusSmall_sampled.txt"]),
}


def paragraphs(fmt: str, files: list[Path], lang: str, limit: int) -> list[str]:
    """The sample's paragraphs as the sentence step of ingest gets them (at most `limit`; 0: all)."""
    settings = TextSettings(lang=lang)
    out: list[str] = []
    for path in files:
        for raw in reader(fmt).read(path, ReadOptions()):
            draft = normalize_step(raw, settings) if isinstance(raw, RawDoc) else None
            draft = language_step(draft, settings) if isinstance(draft, Draft) else None
            if isinstance(draft, Draft):
                out += [paragraph for _, paragraph in draft.sections]
            if limit and len(out) >= limit:
                return out[:limit]
    return out


def timed(splitter, texts: list[str]) -> tuple[list[list[str]], float]:
    start = time.process_time()
    split = splitter.split(texts)
    return split, time.process_time() - start


def boundaries(paragraph: str, sentences: list[str]) -> set[int]:
    """Offsets in `paragraph` where its second, third ... sentence starts."""
    out, cursor = set(), 0
    for k, sentence in enumerate(sentences):
        at = paragraph.find(sentence, cursor)
        assert at >= 0, (paragraph[:200], sentence[:200])
        if k:
            out.add(at)
        cursor = at + len(sentence)
    return out


def agreement(texts: list[str], ref: list[list[str]], new: list[list[str]], examples: int):
    """Pooled boundary F1 of `new` against `ref`, the paragraphs that differ, and a few examples."""
    hits = n_ref = n_new = changed = 0
    shown: list[str] = []
    for text, a, b in zip(texts, ref, new):
        want, got = boundaries(text, a), boundaries(text, b)
        hits, n_ref, n_new = hits + len(want & got), n_ref + len(want), n_new + len(got)
        if want != got:
            changed += 1
            for at in sorted(want ^ got)[:1]:
                if len(shown) < examples:
                    side = "spaCy only" if at in want else "new only"
                    shown.append(f"{side}: ...{text[max(0, at - 60):at]} | {text[at:at + 60]}...")
    precision = hits / n_new if n_new else 1.0
    recall = hits / n_ref if n_ref else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return f1, changed, shown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds per sample; the first is cold")
    parser.add_argument("--limit", type=int, default=0, help="paragraphs per sample (0: all)")
    parser.add_argument("--samples", default=",".join([*EN_SAMPLES, *ZH_SAMPLES]))
    parser.add_argument("--examples", type=int, default=3, help="changed boundaries shown per sample")
    parser.add_argument("--smoke", action="store_true", help="a few seconds: --limit 200 --rounds 2")
    args = parser.parse_args()
    if args.smoke:
        args.limit, args.rounds = 200, 2
    names = args.samples.split(",")
    print(f"rounds {args.rounds} (first cold; warm = best of the rest), CPU seconds, sentences per CPU second\n")
    print("| sample | paragraphs | sentences | spaCy cold | new cold | ratio cold | spaCy warm | new warm "
          "| ratio warm | boundary F1 | paragraphs changed |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    notes = []
    for name in [n for n in names if n in EN_SAMPLES]:
        texts = paragraphs(*EN_SAMPLES[name], "en", args.limit)
        ref_side, new_side = SpacySentences(None), EnglishSentences()
        times: dict[str, list[float]] = {"ref": [], "new": []}
        for _ in range(args.rounds):
            ref, seconds = timed(ref_side, texts)
            times["ref"].append(seconds)
            new, seconds = timed(new_side, texts)
            times["new"].append(seconds)
        count = sum(map(len, ref))
        f1, changed, shown = agreement(texts, ref, new, args.examples)
        cold = [count / max(times[side][0], 1e-9) for side in ("ref", "new")]
        warm = [count / max(min(times[side][1:] or times[side]), 1e-9) for side in ("ref", "new")]
        print(f"| {name} | {len(texts):,} | {count:,} | {cold[0]:,.0f} | {cold[1]:,.0f} | {cold[1] / cold[0]:.1f}x "
              f"| {warm[0]:,.0f} | {warm[1]:,.0f} | {warm[1] / warm[0]:.1f}x | {f1:.4f} | {changed} |", flush=True)
        notes += [f"- {name}: {line}" for line in shown]
    print("\nchanged boundaries:" if notes else "\nchanged boundaries: none")
    print("\n".join(notes))
    zh = [n for n in names if n in ZH_SAMPLES]
    if zh:
        print("\n| zh sample | paragraphs | rules sentences | rules sent/s | HanLP sentences | HanLP sent/s |")
        print("|---|---|---|---|---|---|")
    for name in zh:
        texts = paragraphs(*ZH_SAMPLES[name], "zh", args.limit)
        row = []
        for side in (ZhRuleSentences(), HanlpSentences()):
            best, count = float("inf"), 0
            for _ in range(args.rounds):
                split, seconds = timed(side, texts)
                best, count = min(best, seconds), sum(map(len, split))
            row += [f"{count:,}", f"{count / max(best, 1e-9):,.0f}"]
        print(f"| {name} | {len(texts):,} | {' | '.join(row)} |", flush=True)


if __name__ == "__main__":
    main()
