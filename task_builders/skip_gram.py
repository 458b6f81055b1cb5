"""skip_gram: every word piece predicts the pieces around it (word2vec's skip-gram with negative sampling).

Not one of the ERNIE 2.0 paper's tasks: a customized, word-aware task, added as the paper's
framework allows, because at this project's budgets the masked LM does not give its word
embeddings what a sentence classifier reads first. Measured (docs/RESULTS.md): the mean of a
sentence's word embeddings, read by a logistic regression on 1,600 SST-2 sentences, scores 0.58
on GLUE dev with random vectors, 0.58-0.60 with the embeddings of MLM and BERT runs up to 32 M
tokens, and 0.71 with skip-gram vectors trained on the same IMDb text in under a minute. The MLM
learns what a word's neighbours are (its syntax); skip-gram learns which words share contexts
(what a review is about, and its tone). Mikolov et al. 2013, "Distributed Representations of Words
and Phrases and their Compositionality".

The shards hold plain text windows: per document, its non-empty sentences packed into sequences
of at most max_seq_len - 2 pieces, as `[CLS] pieces [SEP]` (a longer sentence is cut, never
dropped). Nothing is drawn here: the pairs are drawn by the trainer, anew each epoch, as the MLM's
masks are (trainer/skip_gram.py: frequent pieces subsampled, a shrunk window per centre piece,
negatives from the unigram distribution to the 3/4). The head reads the word embedding table
itself, without running the encoder, so a batch of this task costs a small part of an MLM batch.

There is no label column (the context is the target): the shard's histogram counts windows.
A document without a piece gives no example (dropped.no_tokens).
"""
from __future__ import annotations

import pyarrow as pa

from schemas.tasks import task_schema
from task_builders.base import Context, Labels, Output, TaskSettings
from task_builders.sequences import document_sentences, pack_tokens, single

NAME = "skip_gram"
SUMMARY = "no labels: each word piece predicts the pieces around it (word2vec's skip-gram)"
VERSION = 1
DATASET = "documents"
LANGS = ("en", "zh")
HEAD = "skip_gram"
IN_ALL = False  # not one of the paper's tasks: built when named, as review_rating
SCHEMA = task_schema(HEAD)
Settings = TaskSettings  # no options of its own: window, negatives and subsampling are the trainer's


def labels(settings) -> Labels:
    return Labels(["context"])


def build(table: pa.Table, ctx: Context) -> Output:
    out = Output()
    doc_ids, _, sentences = document_sentences(table, ctx)
    for doc_id, doc in zip(doc_ids, sentences):
        if not doc:
            out.counts["dropped.no_tokens"] += 1
            continue
        for window in pack_tokens(doc, ctx.settings.max_seq_len - 2):
            input_ids, types = single(ctx, window)
            out.add(doc_id=doc_id, task_id=ctx.task_id, input_ids=input_ids, token_type_ids=types)
    return out
