"""The input formats: a registry of reader modules, and detection from name and content.

A reader module exposes NAME, DATASET ("documents" or "searchlog"), `sniff(path, head) -> bool`
and `read(path, options) -> Iterator[RawDoc | SearchRecord | Reject | Drop]`.
"""
from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

from corpus_tools.ingest.readers.options import ReadOptions
from corpus_tools.ingest.sources import InputError, check_text_file, read_head

# Detection order matters: the most specific formats first, `text` last (it accepts anything).
FORMATS = {
    "wiki-xml": "corpus_tools.ingest.readers.wiki_xml",
    "wikiextractor": "corpus_tools.ingest.readers.wikiextractor",
    "dureader": "corpus_tools.ingest.readers.dureader",
    "clicklog": "corpus_tools.ingest.readers.clicklog",
    "reddit": "corpus_tools.ingest.readers.reddit",
    "sogouq": "corpus_tools.ingest.readers.sogouq",
    "tsv": "corpus_tools.ingest.readers.tsv",
    "csv": "corpus_tools.ingest.readers.csv_table",
    "books": "corpus_tools.ingest.readers.books",
    "jsonl": "corpus_tools.ingest.readers.jsonl",
    "text": "corpus_tools.ingest.readers.text",
}


def reader(name: str) -> ModuleType:
    if name not in FORMATS:
        raise InputError(f"unknown format {name!r}; choose one of: auto, {', '.join(FORMATS)}")
    return importlib.import_module(FORMATS[name])


def _head(path: Path) -> str:
    """The first characters, after refusing an empty file and an XML file that is no MediaWiki dump."""
    from corpus_tools.ingest.readers.wiki_xml import check_xml

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
