"""sentence_distance: is sentence B adjacent to A, elsewhere in A's document, or from another one?

Labels: 0 adjacent (B directly follows A in the document, across paragraph breaks), 1 same
document but not adjacent (neither A nor the sentence right before or after it), 2 another
document. Input: [CLS] A [SEP] B [SEP], longest side cut first (sequences.pair).

Anchors: every non-empty sentence that has a successor in its document. A document's anchors
take the classes in the cycle 0, 1, 2 from a random start (ctx.rng(doc_id)); a class that is
impossible for an anchor falls back to the next one in the cycle, counted as
fallback.no_far_sentence (documents of two or three sentences) or fallback.no_other_document.

Negatives: another document of the batch of the same language, then one of its sentences; where
the batch has none (a whole book is a batch of its own), a sentence from the in-shard reservoir:
up to RESERVOIR sentences per language sampled (reservoir sampling, seeded) from the earlier
batches of the same input shard, counted as negative.reservoir; else another document of the batch
in another language, or the reservoir's other languages (counted as negative.other_lang). The
batch layout is fixed by the input shard and the batch size, and a shard's batches run in order,
so the choice depends on seed, doc_id and the shard's contents, never on the worker count.
One-sentence documents give no anchor (counted as one_sentence_doc) but serve as negatives. Empty
sentences are skipped. (v1 drew from the batch only: the Gutenberg samples gave no other-document
class at all.)
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from schemas.tasks import task_schema
from task_builders.base import Context, Labels, Output, TaskSettings
from task_builders.reservoir import Reservoir
from task_builders.sequences import document_sentences, pair

NAME = "sentence_distance"
SUMMARY = "0 adjacent, 1 same document, 2 other document"
VERSION = 2
DATASET = "documents"
LANGS = ("en", "zh")
HEAD = "sequence"
SCHEMA = task_schema(HEAD)
Settings = TaskSettings  # no options of its own

ADJACENT, SAME_DOCUMENT, OTHER_DOCUMENT = 0, 1, 2
RESERVOIR = 1024  # sentences per language kept from the shard's earlier batches, for negatives


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
    doc_ids, langs, sentences = document_sentences(table, ctx)
    sizes = [len(doc) for doc in sentences]
    reservoir = ctx.state.setdefault("reservoir", Reservoir(ctx.rng("sentence_distance.reservoir"), RESERVOIR))
    rows_doc, rows_ids, rows_types, rows_label = [], [], [], []
    for index, (doc_id, doc) in enumerate(zip(doc_ids, sentences)):
        if len(doc) < 2:
            out.counts["one_sentence_doc" if doc else "dropped.no_tokens"] += 1
            continue
        rng = ctx.rng(doc_id)
        pool, same_lang = _negative_pool(index, langs, sizes)
        from_reservoir = not same_lang and (langs[index] in reservoir.langs() or not pool and reservoir.langs())
        has_other = bool(pool) or from_reservoir
        start = int(rng.integers(3))
        n = len(doc)
        for i in range(n - 1):
            label = _label(start + i, n > 2 + (i > 0), has_other, out)  # far: not i nor next to it
            if label == ADJACENT:
                b = doc[i + 1]
            elif label == SAME_DOCUMENT:
                b = doc[_far(rng, n, i)]
            elif from_reservoir:
                b, same = reservoir.pick(rng, langs[index])
                out.counts["negative.reservoir"] += 1
                if not same:
                    out.counts["negative.other_lang"] += 1
            else:
                other = sentences[_pick(rng, pool)]
                b = other[int(rng.integers(len(other)))]
                if not same_lang:
                    out.counts["negative.other_lang"] += 1
            input_ids, types = pair(ctx, doc[i], b)
            rows_ids.append(input_ids)
            rows_types.append(types)
            rows_label.append(label)
        rows_doc += [doc_id] * (n - 1)
        out.counts["anchors"] += n - 1
    out.add_rows(doc_id=rows_doc, task_id=[ctx.task_id] * len(rows_doc), input_ids=rows_ids,
                 token_type_ids=rows_types, label=rows_label)
    for lang, doc in zip(langs, sentences):  # after the batch: a document is never its own negative
        reservoir.add(lang, doc)
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
