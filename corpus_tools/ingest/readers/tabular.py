"""Tabular text, TSV or CSV: one document per row, the text in one column (`--text-field`).

`--text-field NAME` picks a column of the header row; `--text-field N` (a 0-based index) reads a file
without a header. The other columns of a headed file go to `meta`, and an `id` or `title` column is used
as such, so a `label<TAB>text` file never glues its label into the text. TSV is read line by line with
no quoting (GLUE and CLUE files quote nothing); CSV with Python's csv module (quoted fields may hold
newlines and delimiters)."""
from __future__ import annotations

import csv
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional, Union

from corpus_tools.ingest.readers.options import ReadOptions
from corpus_tools.ingest.readers.records import Drop, RawDoc, Reject, line_too_long, nonblank_lines, snippet
from corpus_tools.ingest.sources import COMPRESSED_SUFFIXES, InputError, open_text

Row = tuple[int, Union[list[str], Reject]]


def has_suffix(path: Path, suffix: str) -> bool:
    """`name.tsv`, also compressed (`name.tsv.gz`)."""
    name = path.name.lower()
    for compressed in COMPRESSED_SUFFIXES:
        name = name.removesuffix(compressed)
    return name.endswith(suffix)


@dataclass(frozen=True)
class Layout:
    column: int  # the text column
    header: Optional[list[str]]  # None: the file has no header row


def layout(path: Path, options: ReadOptions, rows: Iterator[Row]) -> Layout:
    """Where the text is: a column index (no header) or a named column of the first row."""
    field = options.text_field.strip()
    if field.isdigit():
        return Layout(int(field), None)
    for _, first in rows:
        if isinstance(first, Reject):
            continue
        header = [name.strip().lstrip("\ufeff") for name in first]
        if field not in header:
            raise InputError(f"{path}: no column {field!r} in the header ({', '.join(header)}); pass "
                             "--text-field NAME, or --text-field N (0-based) for a file without a header")
        return Layout(header.index(field), header)
    raise InputError(f"{path}: empty input")


def check_layout(path: Path, options: ReadOptions, rows: Iterator[Row]) -> None:
    layout(path, options, rows)


def documents(path: Path, options: ReadOptions, rows: Iterator[Row]) -> Iterator[Union[RawDoc, Reject, Drop]]:
    """One RawDoc per data row; a row too short for the text column is a Reject, an empty text a Drop."""
    where = layout(path, options, rows)
    source = options.source or "text"
    names = where.header
    for number, row in rows:
        if isinstance(row, Reject):
            yield row
            continue
        origin = f"{path}:{number}"
        if len(row) <= where.column or (names is not None and len(row) != len(names)):
            expected = len(names) if names is not None else f"at least {where.column + 1}"
            yield Reject(origin, "malformed_row", f"{len(row)} columns, expected {expected}",
                         snippet("\t".join(row)))
            continue
        text = row[where.column]
        if not text.strip():
            yield Drop("empty")
            continue
        fields = dict(zip(names, row)) if names is not None else {str(i): v for i, v in enumerate(row)}
        key = names[where.column] if names is not None else str(where.column)
        doc_id = fields.get("id", "").strip()
        title = fields.get("title", "") if key != "title" else ""
        meta = {k: v for k, v in fields.items() if k not in (key, "id", "title")}
        yield RawDoc(doc_id=f"{source}:{doc_id}" if doc_id else f"{source}:{path.stem}:{number}", source=source,
                     text=text, markup="blocks", title=title, meta=meta, origin=origin)


def tsv_rows(path: Path, options: ReadOptions) -> Iterator[Row]:
    """(line number, fields) per non-blank line, split at tabs; overlong lines as Rejects."""
    for number, line in nonblank_lines(path, options.max_line_chars):
        yield number, line if isinstance(line, Reject) else line.split("\t")


def csv_rows(path: Path, options: ReadOptions) -> Iterator[Row]:
    """(first line number, fields) per CSV record; a field over --max-line-chars is a Reject, and a
    broken quote ends the file with a one-line error."""
    csv.field_size_limit(min(options.max_line_chars, sys.maxsize))
    with open_text(path) as fh:
        reader = csv.reader(fh)
        start = 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                if "field larger" in str(exc):
                    yield start, line_too_long(path, start, options.max_line_chars)
                    start = reader.line_num + 1
                    continue
                raise InputError(f"{path}:{reader.line_num}: malformed CSV ({exc}); rows before it were kept") from None
            if any(field.strip() for field in row):
                yield start, row
            start = reader.line_num + 1
