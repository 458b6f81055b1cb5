"""Users' own corpora as JSON lines: one object per line, the text in `options.text_field`.

Also holds the JSON-line helpers the other JSON readers (dureader, clicklog) share.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterator, Union

from corpus_tools.formats import ReadOptions
from corpus_tools.readers.records import Drop, RawDoc, Reject, snippet
from corpus_tools.sources import InputError, iter_lines, open_text

NAME = "jsonl"
DATASET = "documents"

SNIFF_LINE_CHARS = 1 << 22  # how much of a first line sniffing reads beyond the head


def first_line(path: Path, head: str) -> tuple[str, bool]:
    """The first non-blank line and whether it is whole; read from `path` when `head` cuts it."""
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
            while True:
                line = fh.readline(SNIFF_LINE_CHARS)
                if not line:
                    return "", True
                if line.strip():
                    whole = line.endswith("\n") or len(line) < SNIFF_LINE_CHARS
                    return line.rstrip("\n"), whole
    except (InputError, OSError):
        return lines[i], False


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
    for number, line in iter_lines(path, options.max_line_chars):
        if line is None:
            yield number, "", Reject(origin=f"{path}:{number}", reason="line_too_long",
                                     detail=f"line longer than {options.max_line_chars:,} characters")
            continue
        if not line.strip():
            continue
        yield number, line, parse_object(path, number, line)


def sniff(path: Path, head: str) -> bool:
    return sniff_keys(path, head, ("text",))


def read(path: Path, options: ReadOptions) -> Iterator[Union[RawDoc, Reject, Drop]]:
    source = options.source or "text"
    field = options.text_field
    for number, line, obj in iter_objects(path, options):
        if isinstance(obj, Reject):
            yield obj
            continue
        origin = f"{path}:{number}"
        text = obj.get(field)
        if not isinstance(text, str):
            detail = f"no {field!r} field" if field not in obj else f"{field!r} is not a string"
            yield Reject(origin=origin, reason="missing_field", detail=detail, snippet=snippet(line))
            continue
        if not text.strip():
            yield Drop("empty_text")
            continue
        doc_id = obj.get("id")
        has_id = isinstance(doc_id, (str, int)) and not isinstance(doc_id, bool) and str(doc_id) != ""
        title = obj.get("title")
        meta = {k: v for k, v in obj.items()
                if k not in (field, "id", "title") and (v is None or isinstance(v, (str, int, float, bool)))}
        yield RawDoc(
            doc_id=f"{source}:{doc_id}" if has_id else f"{source}:{path.stem}:{number}",
            source=source,
            text=text,
            markup="blocks",
            title=title if isinstance(title, str) else "",
            meta=meta,
            origin=origin,
        )
