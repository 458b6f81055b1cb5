"""The input formats: a registry of reader modules, and detection from name and content.

A reader module exposes NAME, DATASET ("documents" or "searchlog"), `sniff(path, head) -> bool`
and `read(path, options) -> Iterator[RawDoc | SearchRecord | Reject | Drop]`.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Optional

from corpus_tools.sources import DEFAULT_MAX_LINE_CHARS, InputError, check_text_file, read_head

# Detection order matters: the most specific formats first, `text` last (it accepts anything).
FORMATS = {
    "wiki-xml": "corpus_tools.readers.wiki_xml",
    "wikiextractor": "corpus_tools.readers.wikiextractor",
    "dureader": "corpus_tools.readers.dureader",
    "clicklog": "corpus_tools.readers.clicklog",
    "reddit": "corpus_tools.readers.reddit",
    "sogouq": "corpus_tools.readers.sogouq",
    "tsv": "corpus_tools.readers.tsv",
    "csv": "corpus_tools.readers.csv_table",
    "books": "corpus_tools.readers.books",
    "jsonl": "corpus_tools.readers.jsonl",
    "text": "corpus_tools.readers.text",
}


@dataclass(frozen=True)
class ReadOptions:
    """Reader settings; each reader uses the ones that concern it."""

    max_line_chars: int = DEFAULT_MAX_LINE_CHARS  # longer lines are rejected in bounded memory
    reddit_threads: bool = False  # one document per submission with its comments
    titles: Optional[str] = None  # SogouQ: url<TAB>title table
    text_unit: str = "line"  # text: one document per "line" or per blank-line "block"
    text_field: str = "text"  # jsonl, tsv, csv: the field (column name, or 0-based index) holding the text
    source: Optional[str] = None  # text/jsonl: the source label (default: "text")
    force: bool = False  # read files that look binary


def reader(name: str) -> ModuleType:
    if name not in FORMATS:
        raise InputError(f"unknown format {name!r}; choose one of: auto, {', '.join(FORMATS)}")
    return importlib.import_module(FORMATS[name])


def _head(path: Path) -> str:
    """The first characters, after refusing an empty file and an XML file that is no MediaWiki dump."""
    from corpus_tools.readers.wiki_xml import check_xml

    head = read_head(path)
    if not head.strip():
        raise InputError(f"{path}: empty input")
    check_xml(path, head)
    return head


def check(path: Path, options: ReadOptions) -> None:
    """Refuse, before anything is written, an input that is binary (unless --force)."""
    check_text_file(path, options.force)


def detect(path: Path) -> str:
    """The format of `path`, from its name and its first characters."""
    head = _head(path)
    for name in FORMATS:
        if reader(name).sniff(path, head):
            return name
    return "text"


def resolve(path: Path, fmt: str) -> str:
    """`fmt` checked against the content ("auto" detects); a mismatch is a one-line InputError."""
    if fmt == "auto":
        return detect(path)
    module = reader(fmt)
    head = _head(path)
    if not module.sniff(path, head):
        guess = detect(path)
        raise InputError(f"{path}: does not look like --format {fmt} (it looks like {guess}); "
                         "check --format, or use --format auto")
    return fmt
