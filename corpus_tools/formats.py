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

from corpus_tools.sources import DEFAULT_MAX_LINE_CHARS, InputError, read_head

# Detection order matters: the most specific formats first, `text` last (it accepts anything).
FORMATS = {
    "wiki-xml": "corpus_tools.readers.wiki_xml",
    "wikiextractor": "corpus_tools.readers.wikiextractor",
    "dureader": "corpus_tools.readers.dureader",
    "clicklog": "corpus_tools.readers.clicklog",
    "reddit": "corpus_tools.readers.reddit",
    "sogouq": "corpus_tools.readers.sogouq",
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
    text_field: str = "text"  # jsonl: the field holding the text
    source: Optional[str] = None  # text/jsonl: the source label (default: "text")


def reader(name: str) -> ModuleType:
    if name not in FORMATS:
        raise InputError(f"unknown format {name!r}; choose one of: auto, {', '.join(FORMATS)}")
    return importlib.import_module(FORMATS[name])


def detect(path: Path) -> str:
    """The format of `path`, from its name and its first characters."""
    head = read_head(path)
    if not head.strip():
        raise InputError(f"{path}: empty input")
    for name in FORMATS:
        if reader(name).sniff(path, head):
            return name
    return "text"


def resolve(path: Path, fmt: str) -> str:
    """`fmt` checked against the content ("auto" detects); a mismatch is a one-line InputError."""
    if fmt == "auto":
        return detect(path)
    module = reader(fmt)
    head = read_head(path)
    if not head.strip():
        raise InputError(f"{path}: empty input")
    if not module.sniff(path, head):
        guess = detect(path)
        raise InputError(f"{path}: does not look like --format {fmt} (it looks like {guess}); "
                         "check --format, or use --format auto")
    return fmt
