"""What readers yield: raw documents, search records, quarantined rejects and counted drops."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional, Union

from corpus_tools.ingest.sources import iter_lines

MARKUPS = ("wikitext", "wikiextractor", "book", "markdown", "lines", "blocks")


@dataclass(slots=True)
class RawDoc:
    """One source document before cleaning. `markup` says how `text` becomes paragraphs:

    wikitext  MediaWiki markup (mwparserfromhell), sections become paragraph boundaries
    book      a whole Project Gutenberg / BookCorpus book (boilerplate, hard wraps, chapter headings)
    markdown  Reddit markdown: blank-line paragraphs, links reduced to their text
    wikiextractor  WikiExtractor output: lines are paragraphs, short title lines headings, leftovers removed
    lines     every non-empty line is a paragraph
    blocks    blank-line separated blocks, hard wraps joined
    """

    doc_id: str
    source: str
    text: str
    markup: str
    title: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    origin: str = ""  # "path:line", for rejects and error messages
    link_namespaces: tuple[str, ...] = ()  # wikitext: the wiki's names of File/Media/Category (siteinfo)
    declared_lang: str = ""  # the language the source declares (a wiki dump's xml:lang): short or
    # unconfident text gets it, not "en"


@dataclass(slots=True)
class SearchRecord:
    """One (query, result) row of a search log, before normalization."""

    query_id: str
    result_id: str
    query: str
    title: str
    source: str
    url: str = ""
    shown: bool = True
    clicked: Optional[bool] = None
    rank: Optional[int] = None
    meta: dict[str, Any] = field(default_factory=dict)
    origin: str = ""


@dataclass(slots=True)
class Reject:
    """A bad record, quarantined to rejects.jsonl with where it came from and why."""

    origin: str  # "path:line"
    reason: str  # short slug: malformed_json, missing_field, line_too_long, ...
    detail: str = ""  # one line for a human
    snippet: str = ""  # the first characters of the record


@dataclass(slots=True)
class Drop:
    """A record skipped on purpose (redirect, [deleted] body, ...): counted in stats, not quarantined."""

    reason: str
    detail: str = ""  # e.g. the detected language of a `lang` drop (counted under dropped_lang)
    lang_check: str = ""  # how the language step decided, if it ran (counted under lang_check)


SNIPPET_CHARS = 200


def snippet(text: str) -> str:
    return text[:SNIPPET_CHARS]


def line_too_long(path: Path, number: int, limit: int) -> Reject:
    """The Reject for line `number` of `path`, longer than `limit` characters."""
    return Reject(origin=f"{path}:{number}", reason="line_too_long", detail=f"line longer than {limit:,} characters")


def nonblank_lines(path: Path, limit: int) -> Iterator[tuple[int, Union[str, Reject]]]:
    """(line number, line) for every non-blank line of `path`; a line over `limit` characters comes as
    its line_too_long Reject instead."""
    for number, line in iter_lines(path, limit):
        if line is None:
            yield number, line_too_long(path, number, limit)
        elif line.strip():
            yield number, line
