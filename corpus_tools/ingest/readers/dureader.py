"""DuReader search JSON lines: one question with its retrieved documents per line.

Every document becomes one SearchRecord; `is_selected` is the click label (absent in the test split).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator, Union

from corpus_tools.ingest.readers.options import ReadOptions
from corpus_tools.ingest.readers.jsonlines import iter_objects, sniff_keys
from corpus_tools.ingest.readers.records import Drop, Reject, SearchRecord, snippet

NAME = "dureader"
DATASET = "searchlog"
META_KEYS = ("question_type", "fact_or_opinion")


def sniff(path: Path, head: str) -> bool:
    return sniff_keys(path, head, ("question", "documents"))


def read(path: Path, options: ReadOptions) -> Iterator[Union[SearchRecord, Reject, Drop]]:
    for number, line, obj in iter_objects(path, options):
        if isinstance(obj, Reject):
            yield obj
            continue
        origin = f"{path}:{number}"

        def reject(reason: str, detail: str) -> Reject:
            return Reject(origin=origin, reason=reason, detail=detail, snippet=snippet(line))

        question, question_id, documents = obj.get("question"), obj.get("question_id"), obj.get("documents")
        if not isinstance(question, str) or not question.strip():
            yield reject("missing_field", "no question text (field 'question')")
            continue
        if question_id is None or isinstance(question_id, (bool, dict, list)) or str(question_id) == "":
            yield reject("missing_field", "no question id (field 'question_id')")
            continue
        if not isinstance(documents, list):
            yield reject("missing_field", "no document list (field 'documents')")
            continue
        query_id = f"dureader:{question_id}"
        meta = {k: obj[k] for k in META_KEYS if k in obj}
        for index, document in enumerate(documents):
            if not isinstance(document, dict):
                yield reject("bad_value", f"documents[{index}] is not an object")
                continue
            title = document.get("title")
            if not isinstance(title, str) or not title.strip():
                yield Drop("no_title")
                continue
            selected = document.get("is_selected")
            position = document.get("bs_rank_pos")
            rank = position if isinstance(position, int) and not isinstance(position, bool) else index
            yield SearchRecord(
                query_id=query_id,
                result_id=f"{query_id}:{rank}",
                query=question,
                title=title,
                source="dureader",
                shown=True,
                clicked=None if selected is None else bool(selected),
                rank=rank,
                meta=dict(meta),
                origin=origin,
            )
