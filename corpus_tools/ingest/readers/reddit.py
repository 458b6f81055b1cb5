"""Pushshift Reddit dumps: comments (RC_*) and submissions (RS_*), JSON lines, plain or compressed.

Every schema generation (2005-2024) is accepted: any field order, `created_utc` as a number or a
string, `name` missing (rebuilt from `id`), most fields optional. A record is a comment when it has
`body`, a submission when it has `selftext` or `title`.

Thread mode (`ReadOptions.reddit_threads`): `read()` then also yields the submissions whose selftext
is empty, "[deleted]" or "[removed]" (text "", meta["selftext_status"] says which) so that they can
anchor their thread, and the caller passes the output of `read()` over all inputs through
`assemble_threads()`, which makes one document per thread.
"""
from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional

from corpus_tools.ingest.readers.records import Drop, RawDoc, Reject, nonblank_lines, snippet
from corpus_tools.ingest.sources import DEFAULT_MAX_LINE_CHARS

NAME = "reddit"
DATASET = "documents"
SOURCE = "reddit"

META_FIELDS = ("subreddit", "created_utc", "link_id", "parent_id", "score", "author")
_HEAD_RECORD = re.compile(r'^\s*\{.*"subreddit(_id)?"\s*:.*"(body|selftext|title)"\s*:|'
                          r'^\s*\{.*"(body|selftext|title)"\s*:.*"subreddit(_id)?"\s*:', re.S)

Item = RawDoc | Reject | Drop


def sniff(path: Path, head: str) -> bool:
    """RC_/RS_ dump names, or a first JSON line with "subreddit" (or "subreddit_id", which promoted
    posts keep) and "body" or "selftext"/"title"."""
    if Path(path).name.startswith(("RC_", "RS_")):
        return True
    first = next((line for line in head.split("\n") if line.strip()), "")
    try:
        record = json.loads(first)
    except ValueError:  # the head may cut a long first line: look at the text instead
        return bool(_HEAD_RECORD.match(first))
    return (isinstance(record, dict) and ("subreddit" in record or "subreddit_id" in record)
            and any(k in record for k in ("body", "selftext", "title")))


def _as_int(value: Any) -> Optional[int]:
    """1134365188, 1706745600.0 and "1251763200" -> int; anything else -> None."""
    if isinstance(value, bool):
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError, OverflowError):
        return None


def _status(text: str) -> Optional[str]:
    """Why a body carries no text: "deleted", "removed", "empty", or None when it has text."""
    stripped = text.strip()
    if stripped == "[deleted]":
        return "deleted"
    if stripped == "[removed]":
        return "removed"
    return None if stripped else "empty"


def parse_record(record: Any, origin: str, keep_empty_submissions: bool = False) -> Item:
    """One decoded JSON line -> a RawDoc, a Drop (deleted/removed/empty) or a Reject (missing_field)."""
    if not isinstance(record, dict):
        return Reject(origin, "missing_field", f"a JSON {type(record).__name__}, not an object", snippet(json.dumps(record)))
    if "body" in record:
        kind, prefix, text = "comment", "t1_", record.get("body")
    elif "selftext" in record or "title" in record:
        kind, prefix, text = "submission", "t3_", record.get("selftext")
    else:
        return Reject(origin, "missing_field", "no body, selftext or title", snippet(json.dumps(record)))
    name = record.get("name") or (f"{prefix}{record['id']}" if record.get("id") not in (None, "") else "")
    if not name:
        return Reject(origin, "missing_field", "no id or name", snippet(json.dumps(record)))
    text = text if isinstance(text, str) else ""
    meta: dict[str, Any] = {"kind": kind}
    for key in META_FIELDS:
        value = record.get(key)
        if key in ("created_utc", "score"):
            value = _as_int(value)
        if value is not None and value != "":
            meta[key] = value
    status = _status(text)
    if status:
        if kind == "comment" or not keep_empty_submissions:
            return Drop(status)
        text, meta["selftext_status"] = "", status
    title = record.get("title") if kind == "submission" else ""
    return RawDoc(doc_id=f"reddit:{name}", source=SOURCE, text=text, markup="markdown",
                  title=html.unescape(title) if isinstance(title, str) else "", meta=meta, origin=origin)


def read(path: Path, options: object = None, keep_empty_submissions: Optional[bool] = None) -> Iterator[Item]:
    """One RawDoc per comment or self post, a Drop per deleted/removed/empty record, a Reject per bad line.

    `keep_empty_submissions` (default: `options.reddit_threads`) yields text-less submissions as
    thread anchors; see assemble_threads()."""
    path = Path(path)
    max_chars = getattr(options, "max_line_chars", DEFAULT_MAX_LINE_CHARS)
    if keep_empty_submissions is None:
        keep_empty_submissions = bool(getattr(options, "reddit_threads", False))
    for number, line in nonblank_lines(path, max_chars):
        if isinstance(line, Reject):
            yield line
            continue
        origin = f"{path}:{number}"
        try:
            record = json.loads(line)
        except ValueError as exc:
            yield Reject(origin, "malformed_json", str(exc), snippet(line))
            continue
        yield parse_record(record, origin, keep_empty_submissions)


# --- threads ----------------------------------------------------------------------------------


@dataclass
class _Thread:
    submission: Optional[RawDoc] = None
    comments: list[RawDoc] = field(default_factory=list)

    def document(self, link_id: str) -> RawDoc | Drop:
        comments = sorted(self.comments, key=lambda d: (d.meta.get("created_utc", 0), d.doc_id))
        parts = [self.submission.text] if self.submission and self.submission.text.strip() else []
        parts += [c.text.strip() for c in comments]
        if not parts:
            return Drop("empty")
        first = self.submission or comments[0]
        meta: dict[str, Any] = {"kind": "thread", "link_id": link_id, "n_comments": len(comments)}
        subreddit = next((d.meta["subreddit"] for d in [first, *comments] if "subreddit" in d.meta), None)
        if subreddit:
            meta["subreddit"] = subreddit
        if "created_utc" in first.meta:
            meta["created_utc"] = first.meta["created_utc"]
        return RawDoc(doc_id=f"reddit:thread:{link_id}", source=SOURCE, text="\n\n".join(parts), markup="markdown",
                      title=self.submission.title if self.submission else "", meta=meta, origin=first.origin)


def assemble_threads(items: Iterable[Item]) -> Iterator[Item]:
    """One document per thread (submission selftext, then its comments by (created_utc, name)).

    Rejects and Drops pass through at once; docs are buffered until `items` is exhausted, so memory
    grows with the input (threads mode is for samples and monthly dumps that fit in memory). Threads
    come out in order of first appearance; one with no text at all becomes Drop("empty"). Every record
    after the first of a thread is counted as Drop("merged_into_thread"). A doc that
    belongs to no thread (a comment without link_id) passes through unchanged."""
    threads: dict[str, _Thread] = {}
    for item in items:
        if not isinstance(item, RawDoc):
            yield item
            continue
        kind = item.meta.get("kind")
        key = item.meta.get("link_id") if kind == "comment" else item.doc_id.removeprefix(f"{SOURCE}:")
        if kind not in ("comment", "submission") or not key:
            yield item
            continue
        key = key if key.startswith("t3_") else f"t3_{key}"
        joins = key in threads
        thread = threads.setdefault(key, _Thread())
        if kind == "comment":
            thread.comments.append(item)
        elif thread.submission is None:
            thread.submission = item
        else:
            yield Drop("duplicate_submission")
            continue
        if joins:  # one record, one count: the thread's document counts once, the others as merged
            yield Drop("merged_into_thread")
    for link_id, thread in threads.items():
        yield thread.document(link_id)
