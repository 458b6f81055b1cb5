"""Wikitext to clean text per core: ours against WikiExtractor, on the same pages, in one run.

The pages are the main-namespace articles of the MediaWiki XML samples in ../shared/data, each
cleaned --copies times per round. Rounds alternate between the two sides, so a load swing on a
shared machine hits both; the best round of each side is kept. Everything runs in this one
process, on one core, and is timed in CPU seconds.

- ours: `to_sections("wikitext", ...)`, the markup stage of ingest (wikitext -> heading and
  paragraph pairs).
- WikiExtractor: its `Extractor.clean_text` on the same page texts, set up as its command line
  sets it up for a dump: the dump's namespaces, its Template: pages for template expansion, no
  HTML escaping of the output (`--html-safe` escapes `<` and `&`, which would count as residue).
- ingest: the whole `ingest` of the sample XML grown to --ingest-mb (pages repeated under new
  ids, as bench/ingest.py does), workers=1, after a warm-up ingest that loads the models.
- residue: `corpus_tools.show.report.residue_counts` (the counter of `ernie-corpus report`) over each
  side's output, headings included, one record per page; and parentheses left empty where a
  template was dropped, which RESIDUE does not count.

    .venv/bin/python bench/wikitext.py [--rounds 5] [--copies 20] [--ingest-mb 4]

Needs the `bench` extra (`pip install -e .[bench]`) for WikiExtractor.
"""
from __future__ import annotations

import argparse
import re
import resource
import sys
import tempfile
from pathlib import Path

import defusedxml.ElementTree as safe_et

from corpus_tools.ingest.readers.options import ReadOptions
from corpus_tools.ingest.ingest import IngestConfig, ingest
from corpus_tools.ingest.markup import to_sections
from corpus_tools.run.engine import Parallel
from corpus_tools.ingest.readers import wiki_xml
from corpus_tools.ingest.readers.records import RawDoc
from corpus_tools.show.report import residue_counts
from ingest import grow  # bench/ingest.py

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
HOLLOW_PARENS = re.compile(r"\(\s*[,;]|\(\s*\)")  # "Odanad (, ..." where {{lang|ml|...}} was: not in RESIDUE


def dump_setup(path: Path) -> tuple[set[str], dict[str, list[str]]]:
    """The dump's namespace names and its Template: pages (title -> lines), as WikiExtractor's first
    pass collects them."""
    namespaces, templates = set(), {}
    template_ns = None
    for _, elem in safe_et.iterparse(str(path)):
        tag = elem.tag.rpartition("}")[2]
        if tag == "namespace":
            namespaces.add(elem.text or "")
            if elem.get("key") == "10":
                template_ns = elem.text
        elif tag == "page":
            fields = {child.tag.rpartition("}")[2]: child for child in elem}
            if fields["ns"].text == "10":
                text = next(e.text or "" for e in elem.iter() if e.tag.endswith("}text"))
                templates[fields["title"].text] = text.splitlines(keepends=True)
            elem.clear()
    namespaces.discard("")
    assert template_ns == "Template"
    return namespaces, templates


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def ours(docs: list[RawDoc]) -> list[str]:
    out = []
    for doc in docs:
        sections = to_sections(doc.markup, doc.text, doc.link_namespaces)
        lines, heading = [], ""
        for title, paragraph in sections:
            if title != heading:
                lines.append(title)
                heading = title
            lines.append(paragraph)
        out.append("\n".join(lines))
    return out


def wikiextractor_clean(docs: list[RawDoc], namespaces: set[str], templates: dict[str, list[str]]) -> list[str]:
    from wikiextractor.extract import Extractor, define_template

    defined, redirects = {}, {}
    for title, lines in templates.items():
        define_template(title, lines, defined, redirects)
    out = []
    for doc in docs:
        extractor = Extractor(doc.doc_id, doc.meta.get("revision_id", ""), "", doc.title, [doc.text],
                              templates=defined, redirects=redirects, templatePrefix="Template:",
                              knownNamespaces=set(namespaces))
        out.append("\n".join(extractor.clean_text(doc.text, html_safe=False)))
    return out


def residue_line(name: str, docs: list[RawDoc], texts: list[str]) -> str:
    found = residue_counts(zip((d.title for d in docs), texts))
    hits = sum(r.hits for r in found.values())
    pages = len({d.title for d, t in zip(docs, texts) if any(r.hits for r in residue_counts([("", t)]).values())})
    detail = ", ".join(f"{k} {r.hits}" for k, r in found.items() if r.hits) or "none"
    return f"| {name} | {hits} | {pages} | {detail} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="alternating timed rounds per side (best kept)")
    parser.add_argument("--copies", type=int, default=20, help="passes over the pages per round")
    parser.add_argument("--ingest-mb", type=float, default=4.0, help="size of the grown XML for the ingest timing")
    args = parser.parse_args()
    dumps = sorted(DATA.glob("*wiki_xml/*.xml"))
    docs = [d for dump in dumps for d in wiki_xml.read(dump, ReadOptions()) if isinstance(d, RawDoc)]
    setup = [dump_setup(dump) for dump in dumps]
    namespaces = set().union(*(s[0] for s in setup))
    templates = {k: v for s in setup for k, v in s[1].items()}
    mb = sum(len(d.text.encode()) for d in docs) / 1e6

    ours_out, theirs_out = ours(docs), wikiextractor_clean(docs, namespaces, templates)  # warm-up, and the outputs
    best = {"ours": float("inf"), "wikiextractor": float("inf")}
    for _ in range(args.rounds):
        for side in best:
            start = cpu()
            for _ in range(args.copies):
                ours(docs) if side == "ours" else wikiextractor_clean(docs, namespaces, templates)
            best[side] = min(best[side], (cpu() - start) / args.copies)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ingest(dumps, folder / "warm", IngestConfig(fmt="wiki-xml"), parallel=Parallel(workers=1))
        (folder / "grown").mkdir()
        grown = [p for dump in dumps for p in grow("wiki-xml", dump, args.ingest_mb / len(dumps), folder / "grown")]
        start = cpu()
        result = ingest(grown, folder / "out", IngestConfig(fmt="wiki-xml"), parallel=Parallel(workers=1))
        ingest_cpu = cpu() - start
        ingest_mb = sum(p.stat().st_size for p in grown) / 1e6
        ingest_pages = result.stats["records"] - sum(result.stats.get("dropped", {}).get(k, 0)
                                                     for k in ("namespace", "redirect"))

    print(f"{len(docs)} articles, {mb:.2f} MB of wikitext, from {', '.join(p.name for p in dumps)}; "
          f"{args.rounds} rounds x {args.copies} copies; CPU seconds, one core\n")
    print("| stage | pages/s | MB/s | ours / WikiExtractor |")
    print("|---|---|---|---|")
    for side, label in (("ours", "ours: wikitext -> sections (markup stage)"),
                        ("wikiextractor", "WikiExtractor `Extractor.clean_text`")):
        print(f"| {label} | {len(docs) / best[side]:,.0f} | {mb / best[side]:.2f} | "
              f"{best['wikiextractor'] / best[side]:.2f} |")
    print(f"| ours: whole wiki-xml ingest, workers=1 ({ingest_mb:.1f} MB of XML) | {ingest_pages / ingest_cpu:,.0f} | "
          f"{ingest_mb / ingest_cpu:.2f} (of XML) | |")
    markup_share = ingest_pages * best["ours"] / len(docs) / ingest_cpu
    print(f"\nthe markup stage is about {markup_share:.0%} of the ingest's CPU time\n")
    print("| output | residue hits | pages with residue | by kind |")
    print("|---|---|---|---|")
    print(residue_line("ours", docs, ours_out))
    print(residue_line("WikiExtractor", docs, theirs_out))
    words = lambda texts: sum(len(t.split()) for t in texts)  # noqa: E731
    hollow = lambda texts: sum(len(HOLLOW_PARENS.findall(t)) for t in texts)  # noqa: E731
    print(f"\nwords kept: ours {words(ours_out):,}, WikiExtractor {words(theirs_out):,}; parentheses emptied by a "
          f"dropped template, '()' '(;' '(,': ours {hollow(ours_out)}, WikiExtractor {hollow(theirs_out)}")


if __name__ == "__main__":
    sys.exit(main())
