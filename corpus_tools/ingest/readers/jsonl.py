"""Users' own corpora as JSON lines: one object per line, the text in `options.text_field`."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator, Union

from corpus_tools.ingest.readers.options import ReadOptions
from corpus_tools.ingest.readers.jsonlines import iter_objects, sniff_keys
from corpus_tools.ingest.readers.records import Drop, RawDoc, Reject, snippet

NAME = "jsonl"
DATASET = "documents"


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
            yield Drop("empty")
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
