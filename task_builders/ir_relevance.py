"""ir_relevance: (query, title) -> 0 clicked, 1 shown but not clicked, 2 a random title.

Reads a searchlog dataset. Input: [CLS] query [SEP] title [SEP]. Rows whose click is unknown
(e.g. the DuReader test split) are dropped and counted. Class 2 takes, for every query,
`negatives_per_query` titles of other queries in the same batch, drawn with the query's own
seeded stream, so the draw does not depend on how the work was split."""
from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from schemas.tasks import task_schema
from task_builders.base import Context, Labels, Output, TaskSettings
from task_builders.sequences import encode_ids, pair

NAME = "ir_relevance"
SUMMARY = "0 clicked, 1 shown not clicked, 2 random (--docs: a searchlog)"
VERSION = 1
DATASET = "searchlog"
LANGS = ("en", "zh")
HEAD = "sequence"
SCHEMA = task_schema(HEAD)


@dataclass(frozen=True)
class Settings(TaskSettings):
    negatives_per_query: int = field(default=1, metadata={
        "min": 0, "help": "random titles of other queries per query (label 2)."})


CLICKED, SHOWN, RANDOM = 0, 1, 2


def labels(settings) -> Labels:
    return Labels(["clicked", "shown_not_clicked", "random"])


def build(table: pa.Table, ctx: Context) -> Output:
    out = Output()
    rows = table.select(["query_id", "query", "title", "shown", "clicked"]).to_pylist()
    queries = list(dict.fromkeys(r["query_id"] for r in rows))
    query_text = {r["query_id"]: r["query"] for r in rows}
    texts = list(dict.fromkeys([*query_text.values(), *(r["title"] for r in rows)]))
    ids = dict(zip(texts, (e.ids for e in encode_ids(ctx, texts))))
    for row in rows:
        if row["clicked"] is None:
            out.counts["dropped.unlabelled"] += 1
            continue
        if not row["shown"]:
            out.counts["dropped.not_shown"] += 1
            continue
        label = CLICKED if row["clicked"] else SHOWN
        _add(out, ctx, row["query_id"], ids[row["query"]], ids[row["title"]], label)
    for query_id in queries:
        others = [r["title"] for r in rows if r["query_id"] != query_id]
        if not others:
            out.counts["fallback.no_other_query"] += 1
            continue
        rng = ctx.rng(query_id)
        for _ in range(ctx.settings.negatives_per_query):
            title = others[int(rng.integers(len(others)))]
            _add(out, ctx, query_id, ids[query_text[query_id]], ids[title], RANDOM)
    return out


def _add(out: Output, ctx: Context, query_id: str, query: list[int], title: list[int], label: int) -> None:
    input_ids, types = pair(ctx, query, title)
    out.add(doc_id=query_id, task_id=ctx.task_id, input_ids=input_ids, token_type_ids=types, label=label)
