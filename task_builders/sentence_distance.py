"""sentence_distance: is sentence B adjacent to A, elsewhere in A's document, or from another one?

Labels: 0 adjacent (B directly follows A in the document, across paragraph breaks), 1 same
document but not adjacent (neither A nor the sentence right before or after it), 2 another
document. Input: [CLS] A [SEP] B [SEP], longest side cut first (sequences.pair).

Anchors: every non-empty sentence that has a successor in its document. A document's anchors
take the classes in the cycle 0, 1, 2 from a random start (ctx.rng(doc_id)); a class that is
impossible for an anchor falls back to the next one in the cycle, counted as
fallback.no_far_sentence (documents of two or three sentences) or fallback.no_other_document.

Negatives come from the batch only (the in-shard reservoir; the batch layout is fixed by the
input shard and the batch size, so the choice depends on seed, doc_id and the batch contents,
never on the worker count): another document of the batch, preferably of the same language
(else counted as negative.other_lang), then one of its sentences. One-sentence documents give
no anchor (counted as one_sentence_doc) but serve as negatives. Empty sentences are skipped.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from schemas.tasks import task_schema
from task_builders.base import Context, Labels, Output, TaskSettings
from task_builders.sequences import encode, pair

NAME = "sentence_distance"
SUMMARY = "0 adjacent, 1 same document, 2 other document"
VERSION = 1
DATASET = "documents"
LANGS = ("en", "zh")
HEAD = "sequence"
SCHEMA = task_schema(HEAD)
Settings = TaskSettings  # no options of its own

ADJACENT, SAME_DOCUMENT, OTHER_DOCUMENT = 0, 1, 2


def labels(settings) -> Labels:
    return Labels(["adjacent", "same_document", "other_document"])


def _near(n: int, i: int) -> list[int]:
    """Sentence i of an n-sentence document and its neighbours, ascending."""
    return [k for k in (i - 1, i, i + 1) if 0 <= k < n]


def _far(rng: np.random.Generator, n: int, i: int) -> int:
    """A uniform sentence of the document that is neither i nor next to it."""
    k = int(rng.integers(n - len(_near(n, i))))
    for near in _near(n, i):
        if k >= near:
            k += 1
    return k


def _negative_pool(index: int, langs: list[str], sizes: list[int]) -> tuple[list[int], bool]:
    """Other documents of the batch with a sentence: same language if any, else any language."""
    others = [j for j, size in enumerate(sizes) if j != index and size]
    same = [j for j in others if langs[j] == langs[index]]
    return (same, True) if same else (others, False)


def build(table: pa.Table, ctx: Context) -> Output:
    out = Output()
    doc_ids = table.column("doc_id").to_pylist()
    langs = table.column("lang").cast(pa.string()).to_pylist()
    documents = table.column("paragraphs").to_pylist()
    flat = [s for paragraphs in documents for p in paragraphs for s in p]
    ids = iter([e.ids for e in encode(ctx, flat)])
    sentences = [[e for e in (next(ids) for p in paragraphs for _ in p) if e] for paragraphs in documents]
    sizes = [len(doc) for doc in sentences]
    for index, (doc_id, doc) in enumerate(zip(doc_ids, sentences)):
        if len(doc) < 2:
            out.counts["one_sentence_doc" if doc else "dropped.no_tokens"] += 1
            continue
        rng = ctx.rng(doc_id)
        pool, same_lang = _negative_pool(index, langs, sizes)
        start = int(rng.integers(3))
        for i in range(len(doc) - 1):
            label = _label(start + i, len(doc) > len(_near(len(doc), i)), bool(pool), out)
            if label == ADJACENT:
                b = doc[i + 1]
            elif label == SAME_DOCUMENT:
                b = doc[_far(rng, len(doc), i)]
            else:
                other = sentences[_pick(rng, pool)]
                b = other[int(rng.integers(len(other)))]
                if not same_lang:
                    out.counts["negative.other_lang"] += 1
            input_ids, types = pair(ctx, doc[i], b)
            out.add(doc_id=doc_id, task_id=ctx.task_id, input_ids=input_ids, token_type_ids=types, label=label)
            out.counts["anchors"] += 1
    return out


def _label(step: int, has_far: bool, has_other: bool, out: Output) -> int:
    """The cycle's class at `step`, or the next possible one (counted)."""
    label = step % 3
    if label == SAME_DOCUMENT and not has_far:
        out.counts["fallback.no_far_sentence"] += 1
        label = OTHER_DOCUMENT
    if label == OTHER_DOCUMENT and not has_other:
        out.counts["fallback.no_other_document"] += 1
        label = ADJACENT
    return label


def _pick(rng: np.random.Generator, values: list[int]) -> int:
    return values[int(rng.integers(len(values)))]
