"""document_contrast: two spans of one document, encoded apart; find each span's partner in the batch.

Not one of the ERNIE 2.0 paper's tasks: a customized task, added as the paper's framework allows,
because at this project's CPU budgets none of the paper's sentence-level tasks leaves chance (see
docs/RESULTS.md) while an in-batch contrastive loss learns from the first steps: every example is
a classification among the whole batch (DeCLUTR, Giorgi et al. 2021; SimCSE, Gao et al. 2021).
What two spans of one review or article share is what a sentence classifier needs: its topic and
its tone.

Per document, with every draw from ctx.rng(doc_id): the non-empty sentences are grouped into
consecutive spans of whole sentences of at most (max_seq_len - 3) / 2 tokens (a longer sentence is
cut to that); a document that makes one span but has two or more sentences is split in two at a
random sentence boundary. The spans are shuffled and paired in that order, so a pair is as often
far apart as adjacent, and either may come first; an odd span left over is paired with another
span of its document, drawn (counted as span_used_twice). Input: [CLS] A [SEP] B [SEP] (types 0
then 1).

The head (trainer/heads.py: contrast) encodes the two segments apart (neither attends to the
other), takes the mean of each one's token states, and scores each A against every B of the
batch; examples of one document are not each other's negatives. There is no label column, so there
is no label to read off the input; the shard's histogram counts pairs.

A one-sentence document gives no example (counted as one_sentence_doc); empty sentences are skipped.
"""
from __future__ import annotations

import pyarrow as pa

from schemas.tasks import task_schema
from task_builders.base import Context, Labels, Output, TaskSettings
from task_builders.sequences import document_sentences, pack, pair

NAME = "document_contrast"
SUMMARY = "no labels: a span's partner is the other span of its document, among the batch"
VERSION = 1
DATASET = "documents"
LANGS = ("en", "zh")
HEAD = "contrastive"
SCHEMA = task_schema(HEAD)
Settings = TaskSettings  # no options of its own


def labels(settings) -> Labels:
    return Labels(["partner"])


def build(table: pa.Table, ctx: Context) -> Output:
    out = Output()
    doc_ids, _, sentences = document_sentences(table, ctx)
    half = (ctx.settings.max_seq_len - 3) // 2
    for doc_id, doc in zip(doc_ids, sentences):
        if len(doc) < 2:
            out.counts["one_sentence_doc" if doc else "dropped.no_tokens"] += 1
            continue
        rng = ctx.rng(doc_id)
        groups = pack([len(s) for s in doc], half)
        if len(groups) == 1:
            cut = int(rng.integers(1, len(doc)))
            groups = [list(range(cut)), list(range(cut, len(doc)))]
        spans = [[t for i in group for t in doc[i]][:half] for group in groups]
        order = [int(i) for i in rng.permutation(len(spans))]
        if len(order) % 2:  # the span left over pairs with another one, drawn: no text is lost
            order.append(order[int(rng.integers(len(order) - 1))])
            out.counts["span_used_twice"] += 1
        for k in range(0, len(order), 2):
            input_ids, types = pair(ctx, spans[order[k]], spans[order[k + 1]])
            out.add(doc_id=doc_id, task_id=ctx.task_id, input_ids=input_ids, token_type_ids=types)
    return out
