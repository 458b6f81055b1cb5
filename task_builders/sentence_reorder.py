"""sentence_reorder: a span of consecutive sentences is cut into n ∈ [1, m] contiguous segments,
which are shuffled; the label is the permutation's class id, k = Σ_{n=1..m} n! classes.

Input: [CLS] s_π(0) [SEP] s_π(1) [SEP] ... with token types alternating per segment. The
permutation table is in the shard metadata (schemas.labels): row `label` lists which original
segment each position shows, so restore_order(segments, table[label]) rebuilds the span.
Spans are windows of whole sentences filling max_seq_len, running across paragraph breaks
(most paragraphs of dialogue, Reddit and encyclopedia lists are one sentence long; spans kept
inside paragraphs made n = 1 the majority class)."""
from __future__ import annotations

import pyarrow as pa

from schemas.labels import permutation_label, permutation_table
from task_builders.base import Context, Labels, Output
from task_builders.sequences import encode, pack, segments

NAME = "sentence_reorder"
VERSION = 1
DATASET = "documents"
LANGS = ("en", "zh")
SETTINGS = ("max_segments",)


def labels(settings) -> Labels:
    table = permutation_table(settings.max_segments)
    return Labels([",".join(map(str, perm)) for perm in table], table)


def build(table: pa.Table, ctx: Context) -> Output:
    out = Output()
    m = ctx.settings.max_segments
    budget = ctx.settings.max_seq_len - 1 - m  # [CLS] and one [SEP] per segment
    doc_ids = table.column("doc_id").to_pylist()
    documents = table.column("paragraphs").to_pylist()
    flat = [s for paragraphs in documents for p in paragraphs for s in p]
    ids = iter([e.ids for e in encode(ctx, flat)])
    for doc_id, paragraphs in zip(doc_ids, documents):
        rng = ctx.rng(doc_id)
        encoded = [e for e in (next(ids) for p in paragraphs for _ in p) if e]
        if len(encoded) < 2:
            out.counts["one_sentence_doc"] += 1
        for window in pack([len(s) for s in encoded], budget):
            sentences = [encoded[i] for i in window]
            if len(sentences) == 1:
                sentences = [sentences[0][:budget]]  # a too-long sentence: cut, one segment
            n = int(rng.integers(1, min(m, len(sentences)) + 1))
            cuts = sorted(rng.choice(len(sentences) - 1, n - 1, replace=False) + 1) if n > 1 else []
            bounds = [0, *cuts, len(sentences)]
            parts = [[t for s in sentences[a:b] for t in s] for a, b in zip(bounds, bounds[1:])]
            perm = [int(p) for p in rng.permutation(n)]
            input_ids, types = segments(ctx, [parts[p] for p in perm])
            out.add(doc_id=doc_id, task_id=ctx.task_id, input_ids=input_ids, token_type_ids=types,
                    label=permutation_label(perm))
    return out
