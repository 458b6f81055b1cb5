"""Markup -> paragraphs. Each function returns (heading, paragraph) pairs in document order,
the heading being the section or chapter title the paragraph sits under ("" for none).
Paragraph text is raw: normalization and sentence splitting come after."""
from __future__ import annotations

import re

Sections = list[tuple[str, str]]

_BLANK_LINES = re.compile(r"\n\s*\n")


def lines_paragraphs(text: str) -> Sections:
    """Every non-empty line is a paragraph (WikiExtractor output)."""
    return [("", line.strip()) for line in text.split("\n") if line.strip()]


def blocks_paragraphs(text: str) -> Sections:
    """Blank-line separated blocks; hard wraps inside a block are joined with a space."""
    return [("", " ".join(block.split())) for block in _BLANK_LINES.split(text) if block.strip()]


def to_sections(markup: str, text: str, namespaces: tuple[str, ...] = ()) -> Sections:
    """Dispatch on RawDoc.markup; `namespaces` are a wiki's names for its File/Media/Category namespaces."""
    if markup == "lines":
        return lines_paragraphs(text)
    if markup == "blocks":
        return blocks_paragraphs(text)
    if markup == "wikitext":
        from corpus_tools.ingest.markup.wikitext import wikitext_paragraphs

        return wikitext_paragraphs(text, namespaces)
    if markup == "wikiextractor":
        from corpus_tools.ingest.markup.extracted import extracted_paragraphs

        return extracted_paragraphs(text)
    if markup == "book":
        from corpus_tools.ingest.markup.book import book_paragraphs

        return book_paragraphs(text)
    if markup == "markdown":
        from corpus_tools.ingest.markup.markdown import markdown_paragraphs

        return markdown_paragraphs(text)
    raise ValueError(f"unknown markup {markup!r}")
