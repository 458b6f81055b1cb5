"""Wikipedia readers on the real samples: the MediaWiki XML dump, wikitext cleaning, WikiExtractor output."""
from __future__ import annotations

import bz2
import gzip
import json
import time
import tracemalloc
from collections import Counter
from pathlib import Path

import defusedxml.ElementTree as safe_et
import pytest
import zstandard

from corpus_tools.ingest.formats import detect
from corpus_tools.ingest.readers.options import ReadOptions
from corpus_tools.ingest.markup import to_sections
from corpus_tools.ingest.markup.wikitext import DROP_SECTIONS, first_pass, wikitext_paragraphs
from corpus_tools.ingest.readers import wiki_xml, wikiextractor
from corpus_tools.ingest.readers.records import Drop, RawDoc, Reject
from corpus_tools.run.engine import Parallel
from corpus_tools.ingest.sources import InputError, TruncatedInput

OPTS = ReadOptions()
RESIDUE = ("{{", "}}", "[[", "]]", "<ref", "|}", "{|", "<!--", "thumb|")
XML_HEAD = '<mediawiki xmlns="http://www.mediawiki.org/xml/export-{v}/" version="{v}">\n'


def _page(title: str, page_id: int, text: str, ns: str | None = "0") -> str:
    ns_tag = f"<ns>{ns}</ns>" if ns is not None else ""
    return (f"<page><title>{title}</title>{ns_tag}<id>{page_id}</id><revision><id>{page_id + 1000}</id>"
            f"<timestamp>2020-01-01T00:00:00Z</timestamp><text>{text}</text></revision></page>\n")


@pytest.fixture(scope="module")
def xml_sample(data: Path) -> Path:
    return data / "enwiki_xml" / "enwiki-10k.xml"


@pytest.fixture(scope="module")
def xml_items(xml_sample: Path) -> list:
    return list(wiki_xml.read(xml_sample, OPTS))


@pytest.fixture(scope="module")
def articles(xml_items: list) -> dict[str, RawDoc]:
    return {item.title: item for item in xml_items if isinstance(item, RawDoc)}


# --- MediaWiki XML -------------------------------------------------------------------------


def test_xml_yields_only_non_redirect_main_namespace_articles_and_counts_the_rest_as_drops(xml_items, articles):
    assert len(xml_items) == 196
    assert len(articles) == 68
    assert Counter(i.reason for i in xml_items if isinstance(i, Drop)) == {"redirect": 85, "namespace": 43}
    assert not any(title.startswith(("Wikipedia:", "Category:", "File:", "Portal:")) for title in articles)
    assert not any(doc.text.lstrip().upper().startswith("#REDIRECT") for doc in articles.values())


def test_xml_article_carries_id_url_revision_and_raw_wikitext(articles, xml_sample):
    doc = articles["Gunpowder Incident"]
    assert doc.doc_id == "wikipedia:3046529" and doc.source == "wikipedia" and doc.markup == "wikitext"
    assert doc.meta["url"] == "https://en.wikipedia.org/wiki?curid=3046529"
    assert doc.meta["revision_id"].isdigit() and doc.meta["timestamp"].startswith("20")
    assert doc.origin == f"{xml_sample}:page 3046529"
    assert "[[" in doc.text  # unconverted: conversion happens in the workers


def test_known_article_paragraphs_keep_prose_without_markup_residue(articles):
    paragraphs = [p for _, p in wikitext_paragraphs(articles["Gunpowder Incident"].text)]
    assert any("Patrick Henry led a small militia force toward Williamsburg" in p for p in paragraphs)
    assert any("arriving about 15 mi away on May 3" in p for p in paragraphs)  # {{convert}} keeps its value
    assert paragraphs[0].startswith("The Gunpowder Incident (or Gunpowder Affair) was a conflict")  # bold quotes gone


def test_no_article_in_the_sample_leaves_markup_residue_or_empty_paragraphs(articles):
    for doc in articles.values():
        for heading, paragraph in to_sections("wikitext", doc.text):
            assert not any(r in paragraph or r in heading for r in RESIDUE), (doc.title, paragraph[:120])
            assert any(ch.isalpha() for ch in paragraph) and "__" not in paragraph


def test_headings_label_their_paragraphs_and_are_not_paragraphs(articles):
    sections = wikitext_paragraphs(articles["Gunpowder Incident"].text)
    headings = list(dict.fromkeys(h for h, _ in sections))
    assert headings == ["", "Background", "Removing the gunpowder", "Aftermath"]  # References etc. dropped
    assert not {p for _, p in sections} & set(headings)
    for doc in articles.values():
        assert not {h.lower() for h, _ in wikitext_paragraphs(doc.text)} & DROP_SECTIONS


def test_list_items_lose_their_markers_and_keep_link_text(articles):
    paragraphs = [p for _, p in wikitext_paragraphs(articles["Dog walking (disambiguation)"].text)]
    assert "Dog Walk, Illinois, an unincorporated community" in paragraphs
    assert not any(p.startswith(("*", "#", ":", ";")) for p in paragraphs)


@pytest.mark.parametrize("suffix, compress", [
    (".bz2", bz2.compress), (".gz", gzip.compress), (".zst", lambda b: zstandard.ZstdCompressor().compress(b)),
])
def test_compressed_dump_reads_identically(xml_sample, xml_items, tmp_path, suffix, compress):
    packed = tmp_path / f"enwiki-10k.xml{suffix}"
    packed.write_bytes(compress(xml_sample.read_bytes()))
    items = list(wiki_xml.read(packed, OPTS))
    assert [(i.doc_id, i.text) for i in items if isinstance(i, RawDoc)] == \
           [(i.doc_id, i.text) for i in xml_items if isinstance(i, RawDoc)]
    assert detect(packed) == "wiki-xml"


def test_bz2_cut_in_half_raises_truncated_input_after_the_earlier_pages(xml_sample, tmp_path):
    packed = bz2.compress(xml_sample.read_bytes(), compresslevel=1)  # 100 kB blocks: earlier ones decode
    cut = tmp_path / "cut.xml.bz2"
    cut.write_bytes(packed[: len(packed) // 2])
    seen = []
    with pytest.raises(TruncatedInput):
        for item in wiki_xml.read(cut, OPTS):
            seen.append(item)
    assert 0 < sum(isinstance(i, RawDoc) for i in seen) < 68


def test_plain_xml_cut_mid_page_yields_earlier_pages_then_names_line_and_column(xml_sample, tmp_path):
    raw = xml_sample.read_bytes()
    cut = tmp_path / "cut.xml"
    cut.write_bytes(raw[: raw.index(b"<title>Lough Ramor</title>") + 10])
    seen = []
    with pytest.raises(InputError, match=r"cut\.xml:\d+:\d+: malformed XML") as info:
        for item in wiki_xml.read(cut, OPTS):
            seen.append(item)
    assert not isinstance(info.value, TruncatedInput)
    titles = [i.title for i in seen if isinstance(i, RawDoc)]
    assert titles[-1] == "Nathan Altman" and len(titles) == 59


_ENTITIES = [' <!ENTITY lol0 "lol">'] + [f' <!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
BILLION_LAUGHS = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [\n' + "\n".join(_ENTITIES) + "\n]>\n"
                  "<mediawiki><page><title>&lol9;</title><ns>0</ns><id>1</id>"
                  "<revision><text>&lol9;</text></revision></page></mediawiki>\n")


def test_billion_laughs_is_refused_quickly_without_memory_growth(tmp_path):
    bomb = tmp_path / "bomb.xml"
    bomb.write_text(BILLION_LAUGHS)
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(InputError, match="refused: XML DTD/entity declarations are not allowed"):
            list(wiki_xml.read(bomb, OPTS))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - start < 2
    assert peak < 8 << 20


@pytest.mark.parametrize("doctype", [
    '<!DOCTYPE mediawiki [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
    '<!DOCTYPE mediawiki SYSTEM "http://example.invalid/evil.dtd">',
])
def test_external_entities_and_doctypes_are_refused(tmp_path, doctype):
    path = tmp_path / "evil.xml"
    path.write_text(doctype + "\n" + XML_HEAD.format(v="0.10") + _page("A", 1, "&xxe;") + "</mediawiki>\n")
    with pytest.raises(InputError, match=r"evil\.xml: refused"):
        list(wiki_xml.read(path, OPTS))


def test_xml_that_is_not_a_mediawiki_dump_is_refused_not_read_as_empty(data):
    other = data / "discourse_markers" / "zh_cdtb_connectives_dimlex.xml"
    with pytest.raises(InputError, match="not a MediaWiki XML dump"):
        list(wiki_xml.read(other, OPTS))


@pytest.mark.parametrize("version", ["0.3", "0.10", "0.11"])
def test_any_export_version_namespace_is_understood(tmp_path, version):
    path = tmp_path / f"export-{version}.xml"
    ns = None if version == "0.3" else "0"  # exports before 0.6 carry no <ns>: the title prefix decides
    path.write_text(
        XML_HEAD.format(v=version)
        + "<siteinfo><base>https://de.wikipedia.org/wiki/Hauptseite</base><namespaces>"
          '<namespace key="0" /><namespace key="4">Wikipedia</namespace></namespaces></siteinfo>\n'
        + _page("Berlin", 10, "'''Berlin''' ist eine Stadt.", ns)
        + _page("Wikipedia:Hilfe", 11, "Hilfe.", None if ns is None else "4")
        + _page("Alt", 12, "#redirect [[Berlin]]", ns)
        + "</mediawiki>\n")
    items = list(wiki_xml.read(path, OPTS))
    assert [i.doc_id for i in items if isinstance(i, RawDoc)] == ["wikipedia:10"]
    assert items[0].meta["url"] == "https://de.wikipedia.org/wiki?curid=10"
    assert [i.reason for i in items[1:]] == ["namespace", "redirect"]


def test_streaming_memory_stays_flat_as_the_dump_grows(tmp_path):
    def peak_for(n_pages: int) -> int:
        path = tmp_path / f"big{n_pages}.xml"
        with open(path, "w") as fh:
            fh.write(XML_HEAD.format(v="0.10"))
            fh.writelines(_page(f"P{i}", i + 1, "Lorem ipsum [[dolor]] sit amet. " * 120) for i in range(n_pages))
            fh.write("</mediawiki>\n")
        tracemalloc.start()
        try:
            assert sum(isinstance(i, RawDoc) for i in wiki_xml.read(path, OPTS)) == n_pages
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak_for(200), peak_for(2000)  # ~0.8 MB vs ~8 MB of XML
    assert large < small * 1.5 + (256 << 10)


# --- wikitext cleaning -----------------------------------------------------------------------


def test_wikitext_markup_is_removed_and_visible_text_kept():
    text = ("{{Infobox person|name=X}}\n'''Foo''' is a [[bar|Bar]] of [[baz]]s.<ref>Cite</ref> See "
            "[http://example.org the site] and http://bare.example.org.\n__TOC__\n"
            "[[File:a.jpg|thumb|A caption with [[link]]]]\n[[de:Foo]]\n[[Category:Things]]\n"
            "<!-- hidden note -->\n== History ==\n* item <b>one</b> <small>two</small>\n# numbered\n"
            "{| class=wikitable\n| a || b\n|}\n<math>x^2</math>\n<gallery>\nB.jpg|cap\n</gallery>\n"
            "== References ==\n{{Reflist}}\n=== Books ===\nA citation.\n== Later ==\nBack again.")
    assert wikitext_paragraphs(text) == [
        ("", "Foo is a Bar of bazs. See the site and."),
        ("History", "item one two"),
        ("History", "numbered"),
        ("Later", "Back again."),
    ]


def test_the_first_pass_changes_nothing_but_the_speed_on_every_page_of_the_sample(xml_sample):
    pages = [e.text or "" for _, e in safe_et.iterparse(str(xml_sample)) if e.tag.endswith("}text")]
    assert len(pages) == 196  # every namespace: articles, redirects, Wikipedia:, Category:, File:, Template:
    for text in pages:
        assert wikitext_paragraphs(text) == wikitext_paragraphs(text, fast=False), text[:200]
    cut = sum(len(t) - len(first_pass(t)) for t in pages)
    assert cut > 0.3 * sum(map(len, pages))  # comments, refs, tables and hidden templates went before the tokenizer


def test_the_tangle_check_skips_counting_tags_only_where_they_cannot_matter(xml_sample):
    """_unclosed_tags counts at most one per "<", so a page whose "<" are too few to pass the budget is
    not tangled without counting its tags: the same answer as counting, on every page and on tangles."""
    from corpus_tools.ingest.markup import wikitext

    pages = [e.text or "" for _, e in safe_et.iterparse(str(xml_sample)) if e.tag.endswith("}text")]
    tangles = ["<div>" * 20000, "<ref " * 20000, "{{a|" * 20000, "<b>x</b> " * 5000 + "<i>" * 3000, "a < b " * 3000]
    for text in pages + [wikitext.first_pass(t) for t in pages] + tangles:
        assert wikitext._unclosed_tags(text) <= text.count("<")
        unclosed = (max(0, text.count("{{") - text.count("}}")) + max(0, text.count("[") - text.count("]"))
                    + max(0, text.count("{|") - text.count("|}")) + max(0, text.count("<!--") - text.count("-->"))
                    + wikitext._unclosed_tags(text))
        assert wikitext._too_tangled(text) == (unclosed * len(text) > wikitext.TANGLE_BUDGET)
    assert sum(map(wikitext._too_tangled, tangles)) >= 3


@pytest.mark.parametrize("text", [
    "a<ref>b <ref>c</ref> d", "<ref>never closed {{x}} e", "x {{{arg|1}}} y {{tpl}}",
    "<nowiki>{{kept}}</nowiki> {{x}} z",
    "<pre>\n{|\n|shown <!-- shown --> <ref>shown</ref>\n|}</pre> {{x}} <NOWIKI>a <!-- b</nowiki> c --> d",
    "{{cite|title=<nowiki>a|b</nowiki>}} e <pre>unclosed {{x}} <!-- x --> f",
    "a <nowiki>b <nowiki>{{c}}</nowiki> d {{e}}", "<math>x <math> {{y}}</math> z {{w}}",
    "<math>\\frac{{a}}{b}</math> {{x}} w", "{{nowrap|kept text}} {{lang|fr|le texte}} {{convert|5|km}} {{x|y}}",
    "{|\n|a {{t\n|}}\n|b\n|}\nafter", "{{a\n|b}} {{c [[d}}]] e",
    "<!-- a <ref>x</ref> --> f <ref>g<!-- </ref> -->h</ref> i",
    "{{Infobox\n|x=<small>y\n}} text <REF NAME=a>z</ref > k <references/>",
])
def test_the_first_pass_leaves_what_it_cannot_cut_safely_to_the_tokenizer(text):
    assert wikitext_paragraphs(text) == wikitext_paragraphs(text, fast=False)


def test_an_unclosed_pre_tag_is_not_left_in_the_text():
    assert wikitext_paragraphs("{{cite|t=<nowiki>a|b</nowiki>}} e <pre>unclosed {{x}} <!-- x --> f") == \
        [("", "e unclosed f")]


def test_an_indented_table_goes_like_any_table():
    text = "Before.\n:{| class=wikitable\n|-\n| cell one || cell two\n|}\nAfter."
    assert wikitext_paragraphs(text) == [("", "Before."), ("", "After.")]
    assert any("cell one" in p for _, p in wikitext_paragraphs(text, fast=False))  # the tokenizer alone missed it


@pytest.mark.parametrize("text", [
    "{{unclosed [[link\n== Half heading\ntext ]] }} {|\n<ref>open", "[[" * 3000, "{{" * 3000 + "x",
    "<!-- never closed\nhello", "", "=\n==\n", "<ref name=a/>'''''", "{| |- | {{ [[ ",
])
def test_malformed_wikitext_never_raises_or_leaves_residue(text):
    for heading, paragraph in wikitext_paragraphs(text):
        assert not any(r in paragraph for r in RESIDUE)


@pytest.mark.parametrize("text", [
    "{{a|" * 20000, "[[a|" * 20000, "<div>" * 20000, "<!--" * 30000, "[http://x.org a " * 4000,
    "{|\n|" * 20000, "<ref " * 20000, ("<span>a " + "Plain prose with a [[link]] and {{tpl|x}}. " * 10) * 400,
])
def test_adversarial_unclosed_markup_is_cleaned_fast(text):
    start = time.perf_counter()
    sections = wikitext_paragraphs(text)
    assert time.perf_counter() - start < 1.5
    assert not any(r in p for _, p in sections for r in RESIDUE)


# --- WikiExtractor -------------------------------------------------------------------------


@pytest.mark.parametrize("name, count, first, first_line, url", [
    ("enwiki_extracted/wiki_00.jsonl", 35, "Anarchism", "Anarchism is a radical political movement",
     "https://en.wikipedia.org/wiki?curid=12"),
    ("enwiki_extracted/wiki_00.doc", 27, "Ayn Rand", "Ayn Rand (; born Alisa Zinovyevna Rosenbaum",
     "https://en.wikipedia.org/wiki?curid=339"),
    ("zhwiki_extracted/wiki_00.jsonl", 64, "数学", "数学是利用符号语言研究数量、结构、变化以及空间等概念的一门学科",
     "https://zh.wikipedia.org/wiki?curid=13"),
])
def test_wikiextractor_formats_read_with_the_title_line_removed(data, name, count, first, first_line, url):
    path = data / name
    assert detect(path) == "wikiextractor"
    items = list(wikiextractor.read(path, OPTS))
    assert len(items) == count and all(isinstance(i, RawDoc) for i in items)
    doc = items[0]
    assert (doc.title, doc.meta["url"], doc.markup, doc.origin) == (first, url, "wikiextractor", f"{path}:1")
    assert doc.doc_id == "wikipedia:" + url.rsplit("=", 1)[1]
    assert to_sections(doc.markup, doc.text)[0][1].startswith(first_line)
    assert all(i.text.split("\n", 1)[0].strip() != i.title for i in items)


def test_doc_format_origins_point_at_each_doc_line(data):
    path = data / "enwiki_extracted" / "wiki_00.doc"
    starts = [n for n, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1) if line.startswith("<doc ")]
    assert [i.origin for i in wikiextractor.read(path, OPTS)] == [f"{path}:{n}" for n in starts]


def test_doc_attributes_are_html_unescaped_and_unclosed_doc_rejected(tmp_path):
    path = tmp_path / "wiki_01"
    path.write_text('<doc id="7" url="https://en.wikipedia.org/wiki?curid=7" title="AT&amp;T &quot;Bell&quot;">\n'
                    'AT&T "Bell"\n\nAT&amp;T is a company &lt;telecom&gt;.\n</doc>\n'
                    '<doc id="8" url="u" title="Cut">\nCut\n\nNever closed.\n')
    doc, reject = list(wikiextractor.read(path, OPTS))
    assert doc.title == 'AT&T "Bell"' and doc.text == "AT&T is a company <telecom>."
    assert (reject.origin, reject.reason) == (f"{path}:6", "unterminated_doc")


def test_bad_json_lines_become_rejects_with_file_and_line_and_the_rest_is_kept(data, tmp_path):
    lines = (data / "enwiki_extracted" / "wiki_00.jsonl").read_text(encoding="utf-8").split("\n")[:5]
    lines[2:2] = ['{"id": "1", "title": "Broken", "text": "cut off', json.dumps({"id": "2", "title": "No text"})]
    path = tmp_path / "wiki_00.jsonl"
    path.write_text("\n".join(lines) + "\n" + json.dumps({"id": "3", "title": "T", "text": "T\n" + "x" * 300}) + "\n")
    items = list(wikiextractor.read(path, OPTS))
    rejects = [i for i in items if isinstance(i, Reject)]
    assert [(r.origin, r.reason) for r in rejects] == [(f"{path}:3", "malformed_json"), (f"{path}:4", "missing_field")]
    assert "\n" not in rejects[0].detail and rejects[0].snippet.startswith('{"id": "1"')
    assert [i.title for i in items if isinstance(i, RawDoc)] == ["Anarchism", "Autism", "Albedo", "A", "Alabama", "T"]
    short = list(wikiextractor.read(path, ReadOptions(max_line_chars=200)))
    assert [i.reason for i in short if isinstance(i, Reject)].count("line_too_long") == 6


def test_sniff_tells_the_wikipedia_formats_apart(data, xml_sample, tmp_path):
    jsonl, doc = data / "enwiki_extracted" / "wiki_00.jsonl", data / "enwiki_extracted" / "wiki_00.doc"
    other = tmp_path / "corpus.jsonl"
    other.write_text('{"id": 1, "text": "no title here"}\n')
    head = lambda p: p.read_text(encoding="utf-8")[:8192]  # noqa: E731
    assert detect(xml_sample) == "wiki-xml"
    assert wikiextractor.sniff(jsonl, head(jsonl)) and wikiextractor.sniff(doc, head(doc))
    assert not wikiextractor.sniff(xml_sample, head(xml_sample)) and not wikiextractor.sniff(other, head(other))
    assert not wiki_xml.sniff(jsonl, head(jsonl)) and not wiki_xml.sniff(doc, head(doc))
    assert wiki_xml.sniff(Path("dump"), "<mediawiki xmlns=")
    lexicon = data / "discourse_markers" / "zh_cdtb_connectives_dimlex.xml"  # XML, but not a wiki dump
    assert not wiki_xml.sniff(lexicon, head(lexicon))
    with pytest.raises(InputError, match="not a MediaWiki dump .root element <dimlex>"):
        detect(lexicon)  # refused as XML, not read as text


# --- multistream dumps: units of bz2 streams ------------------------------------------------


@pytest.mark.parametrize("index", [True, False], ids=["index", "scan"])
def test_multistream_dump_read_stream_by_stream_gives_the_same_articles(xml_sample, tmp_path, index):
    from corpus_tools.ingest.ingest import IngestConfig, ingest
    from tests.helpers import multistream, read_dataset

    (tmp_path / "in").mkdir()
    dump, offsets = multistream(xml_sample, tmp_path / "in", pages=30, per_stream=5, index=index)
    one = ingest([dump], tmp_path / "one", IngestConfig())  # the whole dump in one unit, stream by stream
    # the folder, index included (it is not read as text): one unit per stream
    split = ingest([tmp_path / "in"], tmp_path / "split", IngestConfig(unit_bytes=1), parallel=Parallel(workers=2))
    assert one.stats["units"] == 1 and split.stats["units"] == len(offsets) + 1 + (not index)
    assert read_dataset(tmp_path / "split").equals(read_dataset(tmp_path / "one"))
    assert split.stats["kept"] == one.stats["kept"] > 0 and not split.errors


def test_a_corrupt_bz2_stream_loses_only_its_own_pages_and_is_named_by_offset(xml_sample, tmp_path):
    import re

    from corpus_tools.ingest.ingest import IngestConfig, ingest
    from tests.helpers import multistream, read_dataset

    dump, offsets = multistream(xml_sample, tmp_path, pages=30, per_stream=5)
    clean = read_dataset(ingest([dump], tmp_path / "clean", IngestConfig()).out).column("doc_id").to_pylist()
    text = xml_sample.read_text(encoding="utf-8")
    pages = [f"wikipedia:{i}" for i in re.findall(r"<page>\s*<title>.*?</title>\s*<ns>\d+</ns>\s*<id>(\d+)</id>", text)]
    streams = [pages[k:k + 5] for k in range(0, 30, 5)]
    bad = next(k for k, ids in enumerate(streams) if set(ids) & set(clean))  # a stream with kept articles
    data = bytearray(dump.read_bytes())
    middle = (offsets[bad] + (offsets[bad + 1] if bad + 1 < len(offsets) else len(data))) // 2
    data[middle:middle + 8] = bytes(8)
    dump.write_bytes(bytes(data))
    result = ingest([dump], tmp_path / "out", IngestConfig())
    kept = read_dataset(tmp_path / "out").column("doc_id").to_pylist()
    assert kept == [i for i in clean if i not in streams[bad]]
    saved = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert saved["lost_streams"] == [{"path": str(dump), "offset": offsets[bad]}]
    assert len(saved["errors"]) == 1 and f"bz2 stream at byte {offsets[bad]:,}" in saved["errors"][0]
    assert result.errors == saved["errors"]


def test_plain_xml_dump_cut_at_page_tags_gives_the_same_articles(xml_sample, tmp_path):
    from corpus_tools.ingest.ingest import IngestConfig, ingest
    from tests.helpers import read_dataset, wiki_pages

    head, pages = wiki_pages(xml_sample, 30)
    dump = tmp_path / "enwiki-30.xml"
    dump.write_text(head + "".join(pages) + "</mediawiki>\n", encoding="utf-8")
    whole = ingest([dump], tmp_path / "whole", IngestConfig())
    split = ingest([dump], tmp_path / "split", IngestConfig(unit_bytes=dump.stat().st_size // 5),
                   parallel=Parallel(workers=2))
    assert whole.stats["units"] == 1 and split.stats["units"] >= 4
    assert read_dataset(tmp_path / "split").equals(read_dataset(tmp_path / "whole"))
    assert split.stats["kept"] > 0 and not split.errors
