"""Helpers the JSON-lines readers share (jsonl, dureader, clicklog, wikiextractor): sniffing the first
line, and parsing one object per line into a dict or a malformed_json Reject."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterator, Union

from corpus_tools.ingest.readers.options import ReadOptions
from corpus_tools.ingest.readers.records import Reject, nonblank_lines, snippet
from corpus_tools.ingest.sources import InputError, open_text

SNIFF_LINE_CHARS = 1 << 22  # how much of a first line sniffing reads beyond the head


def first_line(path: Path, head: str, *, head_line_at_eof: bool = False) -> tuple[str, bool]:
    """The first non-blank line and whether it is whole; read from `path` when `head` cuts it.

    Should `path`, read again, hold no non-blank line (it is not what `head` was read from), the answer
    is ("", True), or with `head_line_at_eof` the head's cut line: (line, False)."""
    lines = head.split("\n")
    for i, line in enumerate(lines):
        if line.strip():
            if i < len(lines) - 1:
                return line, True
            break
    else:
        return "", True
    try:
        with open_text(path) as fh:
            while line := fh.readline(SNIFF_LINE_CHARS):
                if line.strip():
                    return line.rstrip("\n"), line.endswith("\n") or len(line) < SNIFF_LINE_CHARS
    except (InputError, OSError):
        return lines[i], False
    return (lines[i], False) if head_line_at_eof else ("", True)


def sniff_keys(path: Path, head: str, keys: tuple[str, ...]) -> bool:
    """Whether the first non-blank line is a JSON object with all of `keys`.

    A first line too long to read whole is judged by its opening: `{` and the quoted keys."""
    line, whole = first_line(path, head)
    try:
        obj = json.loads(line)
    except ValueError:
        if whole:
            return False
        return line.lstrip().startswith("{") and all(re.search(rf'"{re.escape(k)}"\s*:', line) for k in keys)
    return isinstance(obj, dict) and all(k in obj for k in keys)


def parse_object(path: Path, number: int, line: str) -> Union[dict[str, Any], Reject]:
    """One JSON line as a dict, or a malformed_json Reject."""
    origin = f"{path}:{number}"
    try:
        obj = json.loads(line)
    except ValueError as exc:
        detail = f"{exc.msg} at column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else str(exc)
        return Reject(origin=origin, reason="malformed_json", detail=detail.splitlines()[0], snippet=snippet(line))
    if not isinstance(obj, dict):
        return Reject(origin=origin, reason="malformed_json", detail=f"expected a JSON object, got {type(obj).__name__}",
                      snippet=snippet(line))
    return obj


def iter_objects(path: Path, options: ReadOptions) -> Iterator[tuple[int, str, Union[dict[str, Any], Reject]]]:
    """(line number, line, object or Reject) for every non-blank line; overlong lines become Rejects."""
    for number, line in nonblank_lines(path, options.max_line_chars):
        if isinstance(line, Reject):
            yield number, "", line
        else:
            yield number, line, parse_object(path, number, line)
