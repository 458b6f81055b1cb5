"""sentence_reorder: a span of consecutive sentences is cut into n ∈ [1, m] contiguous segments,
which are shuffled; the label is the permutation's row in schemas.labels.reorder_table(m): the
permutations in which no segment directly follows its original predecessor (m=3: 5 classes).

Input: [CLS] s1 [SEP] s2 [SEP] ... : every sentence is followed by one [SEP], and token types
alternate per sentence, whatever the segments, so the input does not tell n (one [SEP] per
segment did, and let the model read class 0 off the input). Segments are runs of whole
sentences, cut at sentence boundaries; as the cuts are not marked, a permutation that shows two
segments in their original order (0,1 or 2,0,1) would read as one with fewer segments, so those
are not classes: the segments are exactly the maximal runs of originally consecutive sentences.
The table is in the shard metadata: row `label` lists which original segment each position
shows (restore_order(segments, table[label]) rebuilds the span once the segments are known).

n is drawn so that the classes are balanced: P(n) ∝ (classes with n segments) over
n ≤ min(m, sentences in the span), each of them equally likely, except that class 0 (n = 1,
nothing moved) gets at least `min_unshuffled_share`. Spans are windows of whole sentences filling max_seq_len, across
paragraph breaks (most paragraphs of dialogue, Reddit and encyclopedia lists are one sentence
long); a span of one sentence (a one-sentence document, or a sentence longer than max_seq_len)
gives no example (counted: dropped.one_sentence_span)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pyarrow as pa

from schemas import metadata
from schemas.labels import reorder_table, restore_order
from schemas.tasks import task_schema
from task_builders.base import Context, Labels, Output, TaskSettings
from task_builders.sequences import document_sentences, pack, segments

NAME = "sentence_reorder"
SUMMARY = "permutation class of shuffled segments (m=3: 5 classes, balanced)"
VERSION = 2
DATASET = "documents"
LANGS = ("en", "zh")
HEAD = "sequence"
SCHEMA = task_schema(HEAD)


@dataclass(frozen=True)
class Settings(TaskSettings):
    max_segments: int = field(default=3, metadata={
        "min": 1, "max": 6, "help": "at most m segments (classes: the permutations with no segment after its "
                                    "original predecessor; m=3: 5, m=4: 16)."})
    min_unshuffled_share: float = field(default=0.1, metadata={
        "min": 0, "max": 1, "help": "floor for class 0 (nothing moved); classes are otherwise balanced."})


def labels(settings) -> Labels:
    table = reorder_table(settings.max_segments)
    return Labels([",".join(map(str, perm)) for perm in table], table)


@lru_cache(maxsize=None)
def _by_count(m: int) -> list[list[int]]:
    """Labels of the classes with n segments, n = 1..m."""
    groups: list[list[int]] = [[] for _ in range(m)]
    for label, perm in enumerate(reorder_table(m)):
        groups[len(perm) - 1].append(label)
    return groups


@lru_cache(maxsize=None)
def segment_count_probs(m: int, most: int, floor: float) -> np.ndarray:
    """P(n) for n = 1..most: every class equally likely, class 0 at least `floor`."""
    weights = np.array([len(g) for g in _by_count(m)[:most]], dtype=float)
    probs = weights / weights.sum()
    if most > 1 and probs[0] < floor:
        probs[1:] *= (1 - floor) / probs[1:].sum()
        probs[0] = floor
    probs.flags.writeable = False  # cached: shared by every call
    return probs


def build(table: pa.Table, ctx: Context) -> Output:
    out = Output()
    m = ctx.settings.max_segments
    perms, groups = reorder_table(m), _by_count(m)
    doc_ids, _, documents = document_sentences(table, ctx)
    for doc_id, encoded in zip(doc_ids, documents):
        rng = ctx.rng(doc_id)
        # a window's tokens plus one [SEP] per sentence fit after [CLS]
        for window in pack([len(s) + 1 for s in encoded], ctx.settings.max_seq_len - 1):
            if len(window) < 2:
                out.counts["dropped.one_sentence_span"] += 1
                continue
            sentences = [encoded[i] for i in window]
            probs = segment_count_probs(m, min(m, len(sentences)), ctx.settings.min_unshuffled_share)
            n = int(rng.choice(len(probs), p=probs)) + 1
            label = int(groups[n - 1][rng.integers(len(groups[n - 1]))])
            cuts = sorted(rng.choice(len(sentences) - 1, n - 1, replace=False) + 1) if n > 1 else []
            bounds = [0, *cuts, len(sentences)]
            parts = [sentences[a:b] for a, b in zip(bounds, bounds[1:])]
            input_ids, types = segments(ctx, [s for p in perms[label] for s in parts[p]])  # a [SEP] per sentence
            out.add(doc_id=doc_id, task_id=ctx.task_id, input_ids=input_ids, token_type_ids=types, label=label)
    return out


def decode(row: dict, segments: list[str], meta: dict[str, str]) -> dict:
    """For inspect and report: the permutation (which original segment each shown one is), the
    sentences as shown and, when every segment is one sentence, in their original order."""
    perm = json.loads(meta[metadata.LABEL_TABLE])[row["label"]]
    out = {"permutation": perm, "shown": segments}
    if len(perm) == len(segments):  # one sentence per segment: the original order is known
        out["restored"] = restore_order(segments, perm)
    return out
