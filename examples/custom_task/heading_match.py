"""heading_match: does this paragraph belong under this section heading?

An example ERNIE 2.0 pre-training task, added as a plugin: the whole task is this module, found
through the `ernie.tasks` entry point of this folder's pyproject.toml (or ERNIE_TASKS=heading_match
with this folder on the Python path). It reads the `headings` column of a documents dataset
(Wikipedia XML keeps section headings; WikiExtractor output does not).

Input: [CLS] heading [SEP] paragraph [SEP] (the paragraph is cut first when too long).
Labels: 0 same_section, the paragraph's own heading; 1 other_section, the heading of another
section of the same document. Every paragraph under a heading gives one example, its label drawn
with even odds from the document's seeded stream; the other heading is that of a random paragraph
of another section, so headings appear in both classes about as often as their sections are long.
As the paragraph is the same text in both classes, neither its length nor its wording but only
its fit to the heading tells the label. Documents with fewer than `min_sections` headed sections
give no example (counted: dropped.too_few_sections); the lead (heading "") is never used.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from schemas.tasks import task_schema
from task_builders.base import Context, Labels, Output, TaskSettings
from task_builders.sequences import encode, pair

NAME = "heading_match"
VERSION = 1
DATASET = "documents"
LANGS = ("en", "zh")
HEAD = "sequence"
SCHEMA = task_schema(HEAD)
SAME, OTHER = 0, 1


@dataclass(frozen=True)
class Settings(TaskSettings):
    min_sections: int = field(default=2, metadata={
        "min": 2, "help": "documents need this many headed sections to give examples."})


def labels(settings: Settings) -> Labels:
    return Labels(["same_section", "other_section"])


def build(table: pa.Table, ctx: Context) -> Output:
    out = Output()
    rows = table.select(["doc_id", "lang", "paragraphs", "headings"]).to_pylist()
    for row in rows:
        joiner = "" if row["lang"] == "zh" else " "
        sections: dict[str, list[str]] = {}
        for heading, sentences in zip(row["headings"], row["paragraphs"]):
            text = joiner.join(sentences).strip()
            if heading and text:
                sections.setdefault(heading, []).append(text)
        if len(sections) < ctx.settings.min_sections:
            out.counts["dropped.too_few_sections"] += 1
            continue
        headings = list(sections)
        owned = [(h, p) for h in headings for p in sections[h]]
        ids = dict(zip([*headings, *(p for _, p in owned)],
                       (e.ids for e in encode(ctx, [*headings, *(p for _, p in owned)]))))
        rng = ctx.rng(row["doc_id"])
        for heading, paragraph in owned:
            label = SAME if rng.random() < 0.5 else OTHER
            if label == OTHER:
                others = [h for h, _ in owned if h != heading]
                heading = others[int(rng.integers(len(others)))]
            input_ids, types = pair(ctx, ids[heading], ids[paragraph])
            out.add(doc_id=row["doc_id"], task_id=ctx.task_id, input_ids=input_ids, token_type_ids=types,
                    label=label)
    return out


def decode(row: dict, segments: list[str], meta: dict[str, str]) -> dict:
    """For `ernie-corpus inspect` and `report`: the heading and the paragraph shown with it."""
    heading, paragraph = (segments + ["", ""])[:2]
    return {"heading": heading, "paragraph": paragraph}
