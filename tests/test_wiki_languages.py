"""Wikipedia in any language: a dump's own namespace names (from <siteinfo>), image parameters, leftover
HTML, and WikiExtractor's leftovers and section titles. The localized dump is built by hand from the real
enwiki sample: the same articles, with Latgalian namespace names (Fails:, Kategoreja:) in siteinfo and links,
and reference sections under a Latvian title that is not on the drop list (so their categories show)."""
from __future__ import annotations

import json
import re
from pathlib import Path


from corpus_tools.ingest.readers.options import ReadOptions
from corpus_tools.ingest.markup import to_sections
from corpus_tools.ingest.markup.extracted import extracted_paragraphs
from corpus_tools.ingest.markup.wikitext import wikitext_paragraphs
from corpus_tools.ingest.readers import wiki_xml
from corpus_tools.ingest.readers.records import RawDoc

RESIDUE = re.compile(r"Kategoreja:|Fails:|Category:|File:|\{\{|\[\[|\]\]|\|\s*\d+px|\bthumb\b|</?[a-z]+\b[^>]*>|-\{")


def _dump(data: Path, path: Path, localize: bool) -> Path:
    text = (data / "enwiki_xml" / "enwiki-10k.xml").read_text(encoding="utf-8")
    text = re.sub(r"(==+)\s*(?:References|External links)\s*(==+)", r"\1 Atsauces \2", text)
    if localize:
        text = text.replace(">File</namespace>", ">Fails</namespace>")
        text = text.replace(">Category</namespace>", ">Kategoreja</namespace>")
        text = text.replace('xml:lang="en"', 'xml:lang="ltg"')
        text = re.sub(r"\[\[\s*Category\s*:", "[[Kategoreja:", text)
        text = re.sub(r"\[\[\s*(?:File|Image)\s*:", "[[Fails:", text)
    path.write_text(text, encoding="utf-8")
    return path


def _sections(path: Path) -> dict[str, list[tuple[str, str]]]:
    return {doc.doc_id: to_sections(doc.markup, doc.text, doc.link_namespaces)
            for doc in wiki_xml.read(path, ReadOptions()) if isinstance(doc, RawDoc)}


def test_a_dump_in_another_language_loses_its_own_category_and_file_links(data, tmp_path):
    local = _dump(data, tmp_path / "ltgwiki.xml", localize=True)
    docs = [d for d in wiki_xml.read(local, ReadOptions()) if isinstance(d, RawDoc)]
    assert all(set(d.link_namespaces) >= {"Fails", "Kategoreja"} for d in docs)
    assert sum("[[Kategoreja:" in d.text for d in docs) >= 50  # the links are there in most articles
    localized = _sections(local)
    english = _sections(_dump(data, tmp_path / "enwiki.xml", localize=False))
    assert localized == english  # handled exactly like Category: and File:
    paragraphs = [p for sections in localized.values() for _, p in sections]
    assert len(paragraphs) > 1000 and not [p for p in paragraphs if RESIDUE.search(p)]


def test_image_parameters_tables_and_leftover_tags_are_removed_with_their_markup(data):
    page = next(d for d in wiki_xml.read(data / "enwiki_xml" / "enwiki-10k.xml", ReadOptions())
                if isinstance(d, RawDoc) and d.title == "Gunpowder Incident")
    lead = page.text[page.text.index("The '''Gunpowder Incident'''"):].split("\n\n")[0]  # the real lead
    text = "\n".join([
        lead,
        "[[Fails:Flag.svg|thumb|250px|left|upright=1.2|The flag]] The black flag is a symbol.",
        "<poem>\nNo gods, no masters<br>\nno state\n</poem>",
        "<center>Centered words stay.</center>",
        '<table class="wikitable"><tr><th>Year</th></tr><tr><td>1840</td><td>cell text</td></tr></table>',
        "Unbalanced <center> and <br> and <td> tags go.",
        "[[Category:Anarchism]] [[Kategoreja:Anarhisms]]",
    ])
    out = " ".join(p for _, p in wikitext_paragraphs(text, ("Fails", "Kategoreja")))
    assert out.startswith("The Gunpowder Incident (or Gunpowder Affair) was a conflict")
    assert "The black flag is a symbol." in out
    assert "No gods, no masters" in out and "no state" in out and "Centered words stay." in out
    assert "Unbalanced and and tags go." in " ".join(out.split())
    for junk in ("thumb", "250px", "upright", "left|", "The flag", "cell text", "1840", "<", "Kategoreja", "Category"):
        assert junk not in out, junk


def test_wikiextractor_leftovers_are_removed_from_the_real_samples(data):
    docs = []
    for name in ("zhwiki_extracted/wiki_00.jsonl", "enwiki_extracted/wiki_00.jsonl"):
        docs += [json.loads(line)["text"] for line in (data / name).read_text(encoding="utf-8").splitlines()]
    raw = "\n".join(docs)
    assert "<br>" in raw and "\n]]\n" in raw and "-{" in raw  # what WikiExtractor left in the samples
    paragraphs = [p for text in docs for _, p in extracted_paragraphs(text)]
    assert not [p for p in paragraphs if RESIDUE.search(p)]
    assert any("苏联愿援助中国完成统一大业" in p for p in paragraphs)  # the text around a <br> stays


def test_wikiextractor_section_titles_become_headings_not_sentences(data):
    doc = (data / "enwiki_extracted" / "wiki_00.doc").read_text(encoding="utf-8")
    start = doc.index('<doc id="736"')
    body = doc[start: doc.index("</doc>", start)].splitlines()[2:]  # Albert Einstein, after its title line
    paragraphs = [line for line in body if line.strip()]
    text = "\n".join([paragraphs[0], "", "Early life.", paragraphs[1], paragraphs[2], "", "Career",
                      paragraphs[3], "", "References", "Einstein, Albert (1905). Annalen der Physik. 17: 891.",
                      "[[Category:German physicists]", "[[分类:物理学家]]"])
    sections = extracted_paragraphs(text)
    assert [h for h, _ in sections] == ["", "Early life", "Early life", "Career"]  # the citation is dropped
    assert [p for _, p in sections] == [" ".join(p.split()) for p in paragraphs[:4]]
    lists = "\n".join(["Novels:", "We the Living", "Anthem", "Atlas Shrugged", paragraphs[4]])
    assert [h for h, _ in extracted_paragraphs(lists)] == [""] * 5  # a list of short lines is not headings


def test_short_or_unconfident_pages_of_a_dump_get_its_declared_language_not_english(data, tmp_path):
    """A Latgalian dump (xml:lang="ltg"): a stub too short to identify is ltg, so it is dropped as
    ltg with the rest, not kept as English; the English dump keeps it as en."""
    from corpus_tools.ingest.ingest import IngestConfig, ingest
    from corpus_tools.text.lang import detect_lang

    assert detect_lang("Rēzekne.") == "en" and detect_lang("Rēzekne.", "ltg") == "ltg"
    stub = ("<page><title>Ludza</title><ns>0</ns><id>990001</id><revision><id>1</id>"
            "<text>Ludza, 1177.</text></revision></page>\n")  # 10 letters: too short to identify
    counts = {}
    for lang, localize in (("ltg", True), ("en", False)):
        path = _dump(data, tmp_path / f"{lang}wiki.xml", localize=localize)
        path.write_text(path.read_text(encoding="utf-8").replace("</mediawiki>", stub + "</mediawiki>"),
                        encoding="utf-8")
        docs = [d for d in wiki_xml.read(path, ReadOptions()) if isinstance(d, RawDoc)]
        assert {d.declared_lang for d in docs} == {lang}
        counts[lang] = ingest([path], tmp_path / f"docs-{lang}", IngestConfig(fmt="wiki-xml")).stats
    assert counts["ltg"]["dropped_lang"] == {"ltg": 1} and "dropped_lang" not in counts["en"]
    assert counts["en"]["kept"] == counts["ltg"]["kept"] + 1
