"""WikiExtractor output: `--json` lines {"id","url","title","text"}, or `<doc id url title>` ... `</doc>` blocks.

The text is nearly plain (markup="wikiextractor": lines are paragraphs, title lines headings, leftover tags and
links removed); the first line repeats the title and is dropped. Bad records become Rejects with their
file:line; reading goes on."""
from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any, Iterator, Optional

from corpus_tools.ingest.readers.options import ReadOptions
from corpus_tools.ingest.readers.jsonlines import first_line, iter_objects
from corpus_tools.ingest.readers.records import Drop, RawDoc, Reject, line_too_long, snippet
from corpus_tools.ingest.sources import iter_lines, open_text

NAME = "wikiextractor"
DATASET = "documents"
SOURCE = "wikipedia"

KEYS = ("id", "title", "text")
_DOC_OPEN = re.compile(r"^<doc\s(?P<attrs>.*)>\s*$")
_ATTR = re.compile(r'(\w+)="([^"]*)"')
_KEY_PREFIX = re.compile(r'^\s*\{\s*"id"\s*:')
# html.escape's entities (WikiExtractor's --html-safe); other '&' text is left as it is.
_ESCAPED = re.compile(r"&(?:amp|lt|gt|quot|#x27|#39);")


def sniff(path: Path, head: str) -> bool:
    line, whole = first_line(path, head, head_line_at_eof=True)
    line = line.lstrip("\ufeff").strip()
    if line.startswith("<doc "):
        return True
    if not line.startswith("{"):
        return False
    if not whole:  # a giant first record: judge by its key order, WikiExtractor writes "id" first
        return bool(_KEY_PREFIX.match(line)) and all(f'"{key}"' in line for key in KEYS)
    try:
        obj = json.loads(line)
    except ValueError:
        return False
    return isinstance(obj, dict) and all(key in obj for key in KEYS)


def _strip_title(text: str, title: str) -> str:
    """Drop the first line when it repeats the title (WikiExtractor writes it there)."""
    text = text.lstrip("\n")
    first, _, rest = text.partition("\n")
    return rest.lstrip("\n") if title and first.strip() == title.strip() else text


def _doc(path: Path, line_no: int, record: dict[str, Any]) -> RawDoc | Drop:
    title = str(record.get("title") or "")
    text = _strip_title(record["text"], title)
    if not text.strip():
        return Drop("empty")
    return RawDoc(
        doc_id=f"wikipedia:{record['id']}",
        source=SOURCE,
        text=text,
        markup="wikiextractor",
        title=title,
        meta={"url": str(record.get("url") or "")},
        origin=f"{path}:{line_no}",
    )


def _json_record(path: Path, n: int, line: str, record: dict[str, Any]) -> RawDoc | Drop | Reject:
    missing = [key for key in ("id", "text") if key not in record]
    if missing or not isinstance(record["text"], str):
        what = ", ".join(missing) if missing else "text (not a string)"
        return Reject(f"{path}:{n}", "missing_field", f"no usable field: {what}", snippet(line))
    return _doc(path, n, record)


def _read_json(path: Path, options: ReadOptions) -> Iterator[RawDoc | Drop | Reject]:
    for n, line, record in iter_objects(path, options):
        yield record if isinstance(record, Reject) else _json_record(path, n, line, record)


def _read_docs(path: Path, options: ReadOptions) -> Iterator[RawDoc | Drop | Reject]:
    start: Optional[int] = None  # line of the open <doc ...>, None outside a doc
    attrs: dict[str, str] = {}
    body: list[str] = []
    for n, line in iter_lines(path, options.max_line_chars):
        if line is None:  # one paragraph lost; the rest of the document is kept
            yield line_too_long(path, n, options.max_line_chars)
            continue
        opening = _DOC_OPEN.match(line)
        if opening:
            if start is not None:
                yield Reject(f"{path}:{start}", "unterminated_doc", "<doc> not closed before the next <doc>",
                             snippet("\n".join(body)))
            start, body = n, []
            attrs = {key: html.unescape(value) for key, value in _ATTR.findall(opening["attrs"])}
        elif start is None:
            if line.strip():
                yield Reject(f"{path}:{n}", "stray_text", "text outside <doc> ... </doc>", snippet(line))
        elif line.strip() == "</doc>":
            if "id" not in attrs:
                yield Reject(f"{path}:{start}", "missing_field", "<doc> without an id attribute", snippet("\n".join(body)))
            else:
                text = _ESCAPED.sub(lambda m: html.unescape(m.group()), "\n".join(body))
                yield _doc(path, start, {**attrs, "text": text})
            start, body = None, []
        else:
            body.append(line)
    if start is not None:
        yield Reject(f"{path}:{start}", "unterminated_doc", "file ended inside <doc>", snippet("\n".join(body)))


def is_doc_format(path: Path) -> bool:
    """Whether the first non-blank line opens a <doc ...> block (else: JSON lines)."""
    with open_text(path) as fh:
        while line := fh.readline(4096):
            if line.strip():
                return line.lstrip().startswith("<doc ")
    return False


def read(path: Path, options: ReadOptions) -> Iterator[RawDoc | Drop | Reject]:
    """Documents in file order; the format (JSON lines or <doc> blocks) is read off the first line."""
    yield from (_read_docs if is_doc_format(path) else _read_json)(path, options)
