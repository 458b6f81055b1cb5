"""BookCorpus / Project Gutenberg plain-text books: one file is one book, one document.

Boilerplate, hard wraps and chapter headings are handled later by the "book" markup
(corpus_tools.ingest.markup.book); this reader only reads the text and the Gutenberg metadata header.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Iterator, Optional

from corpus_tools.ingest.readers.records import Drop, RawDoc
from corpus_tools.ingest.sources import COMPRESSED_SUFFIXES, open_text

NAME = "books"
DATASET = "documents"
SOURCE = "books"

HEADER_LINES = 200  # the "Title:" / "Author:" header sits within the first lines of a Gutenberg file
_START = re.compile(r"^\s*\*{3}\s*START OF", re.I | re.M)


def sniff(path: Path, head: str) -> bool:
    """A Project Gutenberg book names itself in its first lines; plain BookCorpus books need --format books."""
    return "project gutenberg" in head.lower()


def header_field(text: str, name: str) -> Optional[str]:
    """The value of a Gutenberg header line such as "Title: ...", with indented continuation lines joined."""
    start = _START.search(text)
    lines = (text[: start.start()] if start else text).split("\n")[:HEADER_LINES]
    prefix = name.lower() + ":"
    for i, line in enumerate(lines):
        if line.lower().startswith(prefix):
            parts = [line[len(prefix):].strip()]
            for more in lines[i + 1:]:
                if not more.strip() or not more[:1].isspace():
                    break
                parts.append(more.strip())
            value = " ".join(p for p in parts if p)
            return value or None
    return None


def read(path: Path, options: object = None) -> Iterator[RawDoc | Drop]:
    """Yield the whole book as one RawDoc (markup "book"), or Drop("empty") for an empty file."""
    path = Path(path)
    with open_text(path) as fh:
        text = fh.read()
    if not text.strip():
        yield Drop("empty")
        return
    stem = Path(path.stem).stem if path.suffix.lower() in COMPRESSED_SUFFIXES else path.stem
    meta: dict[str, str] = {"file": path.name}
    for key in ("author", "language"):
        value = header_field(text, key)
        if value:
            meta[key] = value
    yield RawDoc(
        doc_id=f"books:{stem}",
        source=SOURCE,
        text=text,
        markup="book",
        title=header_field(text, "title") or stem,
        meta=meta,
        origin=f"{path}:1",
    )
