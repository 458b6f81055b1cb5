"""Books reader and book markup, on the three real Project Gutenberg files."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from corpus_tools.ingest import formats
from corpus_tools.ingest.readers.options import ReadOptions
from corpus_tools.ingest.markup import to_sections
from corpus_tools.ingest.markup.book import book_paragraphs, heading_level, strip_boilerplate
from corpus_tools.ingest.readers import books
from corpus_tools.ingest.readers.records import Drop, RawDoc

# file -> (first paragraph starts with, last paragraph starts with)
BOOKS = {
    "1342.txt": ("It is a truth universally acknowledged, that a single man in possession of a good fortune",
                 "With the Gardiners, they were always on the most intimate terms."),
    "84-0.txt": ("To Mrs. Saville, England.",
                 "He sprang from the cabin-window as he said this, upon the ice raft"),
    "1661.txt": ("To Sherlock Holmes she is always THE woman. I have seldom heard him mention her",
                 "And thus was solved the mystery of the sinister house with the copper beeches"),
}
BOILERPLATE = ("Project Gutenberg", "PROJECT GUTENBERG", "START OF", "END OF", "Gutenberg-tm", "gutenberg.org",
               "gutenberg.net", "This eBook is for the use of anyone", "Character set encoding", "FULL LICENSE",
               "Literary Archive Foundation", "WARRANTIES OF MERCHANTIBILITY")


@pytest.fixture(scope="module")
def parsed(data: Path) -> dict[str, tuple[RawDoc, list[tuple[str, str]]]]:
    out = {}
    for name in BOOKS:
        [doc] = list(books.read(data / "gutenberg" / name, ReadOptions()))
        out[name] = (doc, book_paragraphs(doc.text))
    return out


def test_each_book_is_one_doc_with_header_metadata(parsed):
    doc, _ = parsed["1342.txt"]
    assert (doc.doc_id, doc.source, doc.markup, doc.title) == ("books:1342", "books", "book", "Pride and Prejudice")
    assert doc.meta == {"file": "1342.txt", "author": "Jane Austen", "language": "English"}
    assert doc.origin.endswith("gutenberg/1342.txt:1")
    frankenstein, _ = parsed["84-0.txt"]
    assert frankenstein.doc_id == "books:84-0"
    assert frankenstein.title == "Frankenstein or The Modern Prometheus"  # a wrapped "Title:" line
    assert frankenstein.meta["author"] == "Mary Wollstonecraft (Godwin) Shelley"
    assert parsed["1661.txt"][0].title == "The Adventures of Sherlock Holmes"


@pytest.mark.parametrize("name", BOOKS)
def test_boilerplate_is_gone_and_the_real_text_starts_and_ends_the_book(parsed, name):
    _, paragraphs = parsed[name]
    first, last = BOOKS[name]
    assert paragraphs[0][1].startswith(first)
    assert paragraphs[-1][1].startswith(last)
    for _, text in paragraphs:
        assert not any(marker in text for marker in BOILERPLATE), text[:100]
        assert not text.startswith("Produced by")


@pytest.mark.parametrize("name", BOOKS)
def test_hard_wraps_are_joined_and_no_markup_or_empty_paragraph_survives(parsed, name):
    _, paragraphs = parsed[name]
    for _, text in paragraphs:
        assert "\n" not in text and "\r" not in text and "\ufeff" not in text
        assert "_" not in text  # _italic_ markers
        assert re.search(r"[^\W\d_]", text)  # "* * * * *" and the like are dropped
        assert text == text.strip() and "  " not in text


def test_crlf_and_bom_file_reads_clean(parsed):
    doc, paragraphs = parsed["84-0.txt"]
    assert "\r" not in doc.text and not doc.text.startswith("\ufeff")
    assert doc.text.lstrip().startswith("Project Gutenberg's Frankenstein")
    assert paragraphs[2][1].startswith("You will rejoice to hear that no disaster has accompanied the commencement")


def test_pride_and_prejudice_paragraphs_sit_under_their_chapters(parsed):
    _, paragraphs = parsed["1342.txt"]
    headings = list(dict.fromkeys(h for h, _ in paragraphs))
    assert headings == [f"Chapter {i}" for i in range(1, 62)]
    assert ("Chapter 1", '"You want to tell me, and I have no objection to hearing it."') in paragraphs
    texts = {t for _, t in paragraphs}
    assert not texts & {"PRIDE AND PREJUDICE", "By Jane Austen", "* * * * *", "Chapter 1"}
    assert 2000 < len(paragraphs) < 2100


def test_frankenstein_letters_and_chapters_are_headings_and_contents_gives_no_paragraphs(parsed):
    _, paragraphs = parsed["84-0.txt"]
    headings = list(dict.fromkeys(h for h, _ in paragraphs))
    assert headings == [f"Letter {i}" for i in range(1, 5)] + [f"Chapter {i}" for i in range(1, 25)]
    texts = [t for _, t in paragraphs]
    assert not any(re.fullmatch(r"(Letter|Chapter) \d+|CONTENTS", t) for t in texts)
    assert not set(texts) & {"Frankenstein;", "or, the Modern Prometheus", "by"}  # the title page
    assert "Walton, in continuation." in texts


def test_sherlock_adventures_and_their_parts_are_headings(parsed):
    _, paragraphs = parsed["1661.txt"]
    headings = list(dict.fromkeys(h for h, _ in paragraphs))
    assert headings[:4] == ["ADVENTURE I. A SCANDAL IN BOHEMIA / I.", "ADVENTURE I. A SCANDAL IN BOHEMIA / II.",
                            "ADVENTURE I. A SCANDAL IN BOHEMIA / III.", "ADVENTURE II. THE RED-HEADED LEAGUE"]
    assert headings[-1] == "XII. THE ADVENTURE OF THE COPPER BEECHES"
    assert len(headings) == 14
    texts = [t for _, t in paragraphs]
    assert not any(t.startswith(("I. A Scandal", "XII. The Adventure", "ADVENTURE")) for t in texts)  # contents
    assert not set(texts) & {"by", "SIR ARTHUR CONAN DOYLE", "THE ADVENTURES OF SHERLOCK HOLMES", "I.", "II."}


def test_an_all_caps_notice_inside_a_story_stays_text(parsed):
    _, paragraphs = parsed["1661.txt"]
    at = paragraphs.index(("ADVENTURE II. THE RED-HEADED LEAGUE", "IS"))
    assert [t for _, t in paragraphs[at - 1: at + 3]] == ["THE RED-HEADED LEAGUE", "IS", "DISSOLVED.", "October 9, 1890."]


def test_markup_dispatch_uses_book_paragraphs(parsed):
    doc, paragraphs = parsed["1661.txt"]
    assert to_sections(doc.markup, doc.text) == paragraphs


HAND_BOOK = """The Project Gutenberg EBook of A Carol

*** START OF THE PROJECT GUTENBERG EBOOK
A CAROL ***

Produced by Someone
and a Proofreading Team



CONTENTS

STAVE ONE
STAVE TWO



BOOK II



STAVE ONE
MARLEY'S GHOST

Marley was dead: to begin with. There is no
doubt whatever about that.

[Illustration: Marley's face
on the knocker]

* * * * *

PART THREE

Chapter 4
The register of his burial was signed by the
clergyman, the _clerk_, the undertaker.

End of Project Gutenberg's A Carol

Licence text that must not appear.
"""


def test_heading_patterns_illustrations_and_old_footer_on_a_hand_written_book():
    assert book_paragraphs(HAND_BOOK) == [
        ("BOOK II / STAVE ONE MARLEY'S GHOST", "Marley was dead: to begin with. There is no doubt whatever about that."),
        ("PART THREE / Chapter 4", "The register of his burial was signed by the clergyman, the clerk, the undertaker."),
    ]


@pytest.mark.parametrize("line, level", [
    ("CHAPTER I.", 1), ("Chapter 1", 1), ("Letter 4", 1), ("STAVE ONE", 1), ("BOOK II", 0), ("PART THREE", 0),
    ("ADVENTURE I. A SCANDAL IN BOHEMIA", 1), ("I. A SCANDAL IN BOHEMIA", 1), ("XIV.", 2), ("IV", 2),
    ("Chapter Twenty-One", 1), ("Part of the plan was simple.", None), ("I. e. the man", None), ("Last night", None),
])
def test_heading_level_recognises_chapter_patterns(line, level):
    assert heading_level(line) == level


def test_a_bookcorpus_book_without_markers_is_kept_whole(tmp_path):
    path = tmp_path / "my_novel.txt"
    path.write_text("Chapter 1\n\nShe ran.\nFast.\n\nThen she stopped.\n", encoding="utf-8")
    assert not books.sniff(path, path.read_text())
    [doc] = books.read(path, ReadOptions())
    assert (doc.doc_id, doc.title, doc.meta) == ("books:my_novel", "my_novel", {"file": "my_novel.txt"})
    assert strip_boilerplate(doc.text) == doc.text
    assert book_paragraphs(doc.text) == [("Chapter 1", "She ran. Fast."), ("Chapter 1", "Then she stopped.")]


def test_an_empty_book_is_dropped(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("\n\n  \n", encoding="utf-8")
    assert list(books.read(path, ReadOptions())) == [Drop("empty")]


@pytest.mark.parametrize("name", BOOKS)
def test_detect_picks_books_for_the_gutenberg_samples(data, name):
    assert formats.detect(data / "gutenberg" / name) == "books"
