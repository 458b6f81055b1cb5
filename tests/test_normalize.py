"""`normalize` takes a shortcut for printable text (no control, format or whitespace character but " "):
it gives what the regex steps give (control and format characters out, whitespace runs to one space,
stripped) on every code point and on every line of the samples."""
from __future__ import annotations

import re
import sys
import unicodedata

import pytest

from corpus_tools.text import normalize as module
from corpus_tools.text.normalize import normalize, strip_ansi, unescape_entities


def by_regex(text: str, nfkc: bool = True) -> str:
    """normalize as its regex steps spell it out."""
    text = unescape_entities(strip_ansi(text))
    if nfkc:
        text = unicodedata.normalize("NFKC", text)
    return re.sub(r"\s+", " ", module._CONTROL.sub("", text)).strip()


def test_every_code_point_alone_and_between_words():
    for code in range(sys.maxunicode + 1):
        if 0xD800 <= code <= 0xDFFF:
            continue  # surrogates: no text holds them
        c = chr(code)
        for text in (c, f"a{c}b", f" {c}{c} x ", f"x {c}\t{c}  y"):
            assert normalize(text) == by_regex(text), (hex(code), text)


@pytest.mark.parametrize("path,lines", [
    ("imdb_unsup/unsup_12k.txt", 3000), ("gutenberg/84-0.txt", None), ("gutenberg/1342.txt", None),
    ("zh_corpus/CLUECorpusSmall_sampled.txt", None), ("enwiki_xml/enwiki-10k.xml", None),
    ("reddit/RS_2017-09_head.jsonl", None), ("enwiki_extracted/wiki_00.jsonl", None),
])
def test_every_line_of_the_samples(data, path, lines):
    with open(data / path, encoding="utf-8", errors="replace", newline="") as fh:
        text = fh.read().splitlines(keepends=True)[:lines]  # with their line breaks (\n, \r\n)
    shortcut = 0
    for line in text:
        for piece in (line, line.rstrip("\r\n")):
            for nfkc in (True, False):
                assert normalize(piece, nfkc) == by_regex(piece, nfkc), piece
        shortcut += unicodedata.normalize("NFKC", unescape_entities(strip_ansi(line.rstrip("\r\n")))).isprintable()
    assert shortcut > len(text) / 2  # the shortcut is what real lines take
    whole = "".join(text[:200])  # many lines at once: line breaks, tabs and runs of spaces inside
    assert normalize(whole) == by_regex(whole)
