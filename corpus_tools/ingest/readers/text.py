"""Plain text: one document per line (the default) or per blank-line separated block.

The fallback format: `sniff` accepts anything.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator, Union

from corpus_tools.ingest.readers.options import ReadOptions
from corpus_tools.ingest.readers.records import RawDoc, Reject, line_too_long
from corpus_tools.ingest.sources import InputError, iter_lines

NAME = "text"
DATASET = "documents"
TEXT_UNITS = ("line", "block")


def sniff(path: Path, head: str) -> bool:
    return True


def read(path: Path, options: ReadOptions) -> Iterator[Union[RawDoc, Reject]]:
    """Documents from `path`; n in doc_id and origin is the document's first line number."""
    if options.text_unit not in TEXT_UNITS:
        raise InputError(f"{path}: unknown text unit {options.text_unit!r}; choose one of: {', '.join(TEXT_UNITS)}")
    return _read(path, options)


def _read(path: Path, options: ReadOptions) -> Iterator[Union[RawDoc, Reject]]:
    source = options.source or "text"
    by_line = options.text_unit == "line"

    def doc(number: int, text: str) -> RawDoc:
        return RawDoc(doc_id=f"{source}:{path.stem}:{number}", source=source, text=text, markup="blocks",
                      title="", origin=f"{path}:{number}")

    block: list[str] = []
    start = 0
    for number, line in iter_lines(path, options.max_line_chars):
        if line is None:
            # an overlong line ends the block it was in: what came before is kept, the line is rejected
            if block:
                yield doc(start, "\n".join(block))
                block = []
            yield line_too_long(path, number, options.max_line_chars)
            continue
        if not line.strip():
            if block:
                yield doc(start, "\n".join(block))
                block = []
            continue
        if by_line:
            yield doc(number, line)
        else:
            if not block:
                start = number
            block.append(line)
    if block:
        yield doc(start, "\n".join(block))
