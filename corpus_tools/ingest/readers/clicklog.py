"""A generic click log: JSON lines, or a TSV whose header names at least query, title and clicked.

Fields: query, title, clicked (required); shown (default true), rank (0-based), url, query_id (optional).
Other fields go to meta. Booleans accept true/false/1/0/yes/no; an empty `clicked` means unlabelled.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Iterator, Optional, Union

from corpus_tools.ingest.readers.options import ReadOptions
from corpus_tools.ingest.readers.jsonlines import first_line, iter_objects, sniff_keys
from corpus_tools.ingest.readers.records import Reject, SearchRecord, nonblank_lines, snippet
from corpus_tools.ingest.sources import read_head

NAME = "clicklog"
DATASET = "searchlog"
REQUIRED = ("query", "title", "clicked")
KNOWN = REQUIRED + ("shown", "rank", "url", "query_id")
TRUE, FALSE = ("true", "1", "yes"), ("false", "0", "no")


class BadValue(ValueError):
    """A field whose value cannot be read; str() names the field."""


def sniff(path: Path, head: str) -> bool:
    if sniff_keys(path, head, REQUIRED):
        return True
    line, _ = first_line(path, head)
    return _is_header(line)


def _is_header(line: str) -> bool:
    return set(REQUIRED) <= {name.strip().lower() for name in line.split("\t")}


def query_hash(query: str) -> str:
    """A short stable id for a query text."""
    return hashlib.sha1(query.encode("utf-8")).hexdigest()[:16]


def to_bool(name: str, value: Any) -> Optional[bool]:
    """true/false/1/0/yes/no (any case) as a bool; None or "" as None."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text == "":
        return None
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise BadValue(f"{name}={value!r} is not a boolean (true/false/1/0/yes/no)")


def to_rank(value: Any) -> Optional[int]:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().isdigit():
        raise BadValue(f"rank={value!r} is not a non-negative integer")
    return int(value)


def read(path: Path, options: ReadOptions) -> Iterator[Union[SearchRecord, Reject]]:
    line, _ = first_line(path, read_head(path))
    rows = _tsv_rows(path, options) if _is_header(line) and not line.lstrip().startswith("{") else iter_objects(path, options)
    for number, raw, row in rows:
        if isinstance(row, Reject):
            yield row
        else:
            yield _record(path, number, raw, row)


def _tsv_rows(path: Path, options: ReadOptions) -> Iterator[tuple[int, str, Union[dict[str, Any], Reject]]]:
    header: Optional[list[str]] = None
    for number, line in nonblank_lines(path, options.max_line_chars):
        if isinstance(line, Reject):
            yield number, "", line
            continue
        cells = line.split("\t")
        if header is None:
            header = [name.strip().lower() for name in cells]
            continue
        if len(cells) != len(header):
            yield number, line, Reject(origin=f"{path}:{number}", reason="malformed_line",
                                       detail=f"expected {len(header)} tab-separated fields, got {len(cells)}",
                                       snippet=snippet(line))
            continue
        yield number, line, dict(zip(header, cells))


def _record(path: Path, number: int, raw: str, row: dict[str, Any]) -> Union[SearchRecord, Reject]:
    origin = f"{path}:{number}"
    for name in REQUIRED:
        if name not in row:
            return Reject(origin=origin, reason="missing_field", detail=f"no {name!r} field", snippet=snippet(raw))
    query, title = row["query"], row["title"]
    for name, value in (("query", query), ("title", title)):
        if not isinstance(value, str) or not value.strip():
            return Reject(origin=origin, reason="missing_field", detail=f"{name!r} is empty or not a string",
                          snippet=snippet(raw))
    try:
        clicked = to_bool("clicked", row["clicked"])
        shown = to_bool("shown", row.get("shown"))
        rank = to_rank(row.get("rank"))
    except BadValue as exc:
        return Reject(origin=origin, reason="bad_value", detail=str(exc), snippet=snippet(raw))
    shown = True if shown is None else shown
    if clicked and not shown:
        return Reject(origin=origin, reason="clicked_not_shown", detail="clicked is true but shown is false",
                      snippet=snippet(raw))
    given = row.get("query_id")
    query_id = f"clicklog:{given}" if given not in (None, "") else f"clicklog:{query_hash(query)}"
    url = row.get("url")
    meta = {k: v for k, v in row.items()
            if k not in KNOWN and (v is None or isinstance(v, (str, int, float, bool)))}
    return SearchRecord(
        query_id=query_id,
        result_id=f"{query_id}:{path.stem}:{number}",
        query=query,
        title=title,
        source="clicklog",
        url=url if isinstance(url, str) else "",
        shown=shown,
        clicked=clicked,
        rank=rank,
        meta=meta,
        origin=origin,
    )
