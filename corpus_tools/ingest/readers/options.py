"""What every reader takes: its settings. Apart from the format registry (formats.py) so that
formats and readers both import it and neither imports the other's module back."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from corpus_tools.ingest.sources import DEFAULT_MAX_LINE_CHARS


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
