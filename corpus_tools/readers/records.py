"""What readers yield: raw documents, search records, quarantined rejects and counted drops."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

MARKUPS = ("wikitext", "book", "markdown", "lines", "blocks")


@dataclass(slots=True)
class RawDoc:
    """One source document before cleaning. `markup` says how `text` becomes paragraphs:

    wikitext  MediaWiki markup (mwparserfromhell), sections become paragraph boundaries
    book      a whole Project Gutenberg / BookCorpus book (boilerplate, hard wraps, chapter headings)
    markdown  Reddit markdown: blank-line paragraphs, links reduced to their text
    lines     every non-empty line is a paragraph (WikiExtractor output)
    blocks    blank-line separated blocks, hard wraps joined
    """

    doc_id: str
    source: str
    text: str
    markup: str
    title: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    origin: str = ""  # "path:line", for rejects and error messages


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


SNIPPET_CHARS = 200


def snippet(text: str) -> str:
    return text[:SNIPPET_CHARS]
