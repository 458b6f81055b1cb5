"""SogouQ click logs: time<TAB>user_id<TAB>[query]<TAB>"rank click_order"<TAB>url, one click per line.

The log has no result titles, so a url<TAB>title table (`options.titles`) is required; URLs are matched
exactly as written (including literal escapes such as \\xa1). Clicks on URLs without a title are dropped.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Iterator, Union

from corpus_tools.ingest.readers.options import ReadOptions
from corpus_tools.ingest.readers.records import Drop, Reject, SearchRecord, nonblank_lines, snippet
from corpus_tools.ingest.sources import InputError, iter_lines

NAME = "sogouq"
DATASET = "searchlog"
LINE = re.compile(r"^\S+\t\S+\t\[.*\]\t\d+ \d+\t\S*$")
FIELDS = re.compile(r"^(\S+)\t(\S+)\t\[(.*)\]\t(\d+) (\d+)\t(\S*)$")


def sniff(path: Path, head: str) -> bool:
    return bool(LINE.match(head.split("\n", 1)[0]))


def load_titles(path: Union[str, Path]) -> dict[str, str]:
    """A url<TAB>title table (UTF-8, possibly compressed); lines without a tab or a title are ignored."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: titles table not found (--titles FILE, a url<TAB>title table)")
    titles: dict[str, str] = {}
    for _, line in iter_lines(path):
        if line is None or "\t" not in line:
            continue
        url, title = line.split("\t", 1)
        url, title = url.strip(), title.strip()
        if url and title:
            titles[url] = title
    return titles


def query_id(user_id: str, query: str) -> str:
    """A stable id for one user's query."""
    return "sogouq:" + hashlib.sha1(f"{user_id}\t{query}".encode("utf-8")).hexdigest()[:16]


def check(path: Path, options: ReadOptions) -> None:
    """Run by ingest before any output is made: SogouQ needs a titles table."""
    if not options.titles:
        raise InputError(f"{path}: SogouQ logs carry no result titles; pass --titles FILE, a url<TAB>title table")
    if not Path(options.titles).is_file():
        raise InputError(f"{options.titles}: titles table not found (--titles FILE, a url<TAB>title table)")


def read(path: Path, options: ReadOptions) -> Iterator[Union[SearchRecord, Reject, Drop]]:
    """Checks the titles table before any log line is read (raises InputError), then reads lazily."""
    check(path, options)
    return _read(path, options, load_titles(options.titles))


def _read(path: Path, options: ReadOptions, titles: dict[str, str]) -> Iterator[Union[SearchRecord, Reject, Drop]]:
    for number, line in nonblank_lines(path, options.max_line_chars):
        if isinstance(line, Reject):
            yield line
            continue
        origin = f"{path}:{number}"
        match = FIELDS.match(line)
        if not match or int(match.group(4)) < 1:
            yield Reject(origin=origin, reason="malformed_line",
                         detail='expected time<TAB>user_id<TAB>[query]<TAB>"rank click_order"<TAB>url (rank from 1)',
                         snippet=snippet(line))
            continue
        time, user_id, query, rank, click_order, url = match.groups()
        if not query.strip():
            yield Reject(origin=origin, reason="missing_field", detail="empty query", snippet=snippet(line))
            continue
        title = titles.get(url)
        if title is None:
            yield Drop("no_title")
            continue
        yield SearchRecord(
            query_id=query_id(user_id, query),
            result_id=f"sogouq:{path.stem}:{number}",
            query=query,
            title=title,
            source="sogouq",
            url=url,
            shown=True,
            clicked=True,
            rank=int(rank) - 1,
            meta={"time": time, "user_id": user_id, "click_order": int(click_order)},
            origin=origin,
        )
