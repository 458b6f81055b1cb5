"""next_sentence: does segment B continue segment A? BERT's next sentence prediction (NSP).

Not one of the ERNIE 2.0 paper's tasks: it is the BERT arm of the comparison (MLM + NSP, see
examples/bert_en.toml), built as google-research/bert's create_pretraining_data.py builds it.

Labels: 0 is_next (B is the text that follows A in its document), 1 random_next (B is text of
another document). Input: [CLS] A [SEP] B [SEP], longest side cut first (sequences.pair).

Per document, with every draw from ctx.rng(doc_id):
- a target length: max_seq_len - 3 tokens, or with probability `short_seq_prob` (BERT: 0.1) a
  random one in 2..max_seq_len - 3, once per document as in BERT;
- a chunk: consecutive whole sentences up to the target (at least two: a longer pair is cut);
- A: the chunk's first 1..n-1 sentences, a random split; the rest is the true continuation;
- with probability 0.5 B is that continuation (is_next); else B comes from another document of
  the batch, same language preferred (else counted as negative.other_lang), from a random
  sentence on, whole sentences until about as many tokens as the true B: the number of sentences
  whose length is closest to it, within the pair's budget. The unused true continuation is put
  back, as in BERT: it starts the next chunk.

Unlike BERT, the random B takes the place the true B has in its document, so that where a text
sits does not tell the label: it never starts with its document's first sentence (a true B never
does), it ends with its document's last sentence exactly when the true B would have (last
sentences read as endings: on the IMDb sample 87% end with .!?, other sentences 99%), and its
start is drawn among those with enough text after them, so it is not shorter for starting near
the end. Up to 10 documents of the batch are drawn for one with text enough for that place
(BERT also draws up to 10, for a document other than A's); else the last one is used as it is
(counted as negative.short_document). On IMDb reviews and Wikipedia articles (bench/pair_shortcuts.py)
the classes then have A and B of the same mean length and ending, within 0.6 tokens and 0.5 points.

Where the batch holds no other document of A's language (a whole book is a batch of its own), B
comes from the documents of the input shard's earlier batches: a seeded reservoir (Algorithm R) of
up to EARLIER documents per language, a window of at most WINDOW consecutive sentences of each,
never A's own document (a long one spans batches); counted as negative.earlier_batch. A shard's
batches run in order, so this depends on seed and the shard's contents, never on the worker count.
(Version 1 made these examples is_next: the three Gutenberg books gave 61% is_next in the demo.)

A document with one sentence gives no example (counted as one_sentence_doc) but serves as a
negative; a last sentence left alone gives none either (counted as dropped.last_sentence_alone).
With no other document at all, in the batch or before it, the example is is_next (counted as
fallback.no_other_document). Empty sentences are skipped.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import accumulate

import numpy as np
import pyarrow as pa

from schemas.tasks import task_schema
from task_builders.base import Context, Labels, Output, TaskSettings
from task_builders.reservoir import Reservoir
from task_builders.sequences import document_sentences, pair

NAME = "next_sentence"
VERSION = 2
DATASET = "documents"
LANGS = ("en", "zh")
HEAD = "sequence"
SCHEMA = task_schema(HEAD)

IS_NEXT, RANDOM_NEXT = 0, 1
TRIES = 10  # documents drawn for a negative with text enough to match the true B (BERT: 10 for another document)
EARLIER = 16  # documents of earlier batches kept per language, for batches without another document
WINDOW = 64  # consecutive sentences kept of each


@dataclass(frozen=True)
class Settings(TaskSettings):
    short_seq_prob: float = field(default=0.1, metadata={
        "min": 0.0, "max": 1.0,
        "help": "share of documents whose pairs aim at a random shorter length (BERT: 0.1)."})


def labels(settings) -> Labels:
    return Labels(["is_next", "random_next"])


def build(table: pa.Table, ctx: Context) -> Output:
    out = Output()
    doc_ids, langs, sentences = document_sentences(table, ctx)
    sizes = [len(doc) for doc in sentences]
    budget = ctx.settings.max_seq_len - 3
    earlier = ctx.state.setdefault("earlier", Reservoir(ctx.rng("next_sentence.earlier"), EARLIER))
    for index, (doc_id, doc) in enumerate(zip(doc_ids, sentences)):
        if len(doc) < 2:
            out.counts["one_sentence_doc" if doc else "dropped.no_tokens"] += 1
            continue
        rng = ctx.rng(doc_id)
        pool, same_lang = _negative_pool(index, langs, sizes)
        others = [sentences[j] for j in pool]
        kept = [] if same_lang else [other for kept_id, other in earlier.items(langs[index]) if kept_id != doc_id]
        from_earlier = bool(kept)  # A's own document is left out: a long one spans batches
        if from_earlier:
            others, same_lang = kept, True
        target = budget
        if rng.random() < ctx.settings.short_seq_prob:
            target = int(rng.integers(2, budget + 1))
        i = 0
        while i < len(doc):
            end = _chunk_end(doc, i, target)
            if end - i < 2:
                out.counts["dropped.last_sentence_alone"] += 1
                break
            split = int(rng.integers(i + 1, end))
            a = [t for s in doc[i:split] for t in s]
            b = [t for s in doc[split:end] for t in s]
            label = IS_NEXT if rng.random() < 0.5 else RANDOM_NEXT
            if label == RANDOM_NEXT and not others:
                out.counts["fallback.no_other_document"] += 1
                label = IS_NEXT
            if label == RANDOM_NEXT:
                # within the pair's budget where the true B fits it; where it does not, cut alike
                room = budget - len(a) if len(a) + len(b) <= budget else math.inf
                b = _random_continuation(rng, others, len(b), room, end == len(doc), out)
                if not same_lang:
                    out.counts["negative.other_lang"] += 1
                if from_earlier:
                    out.counts["negative.earlier_batch"] += 1
                end = split  # put the true continuation back: it starts the next chunk
            input_ids, types = pair(ctx, a, b)
            out.add(doc_id=doc_id, task_id=ctx.task_id, input_ids=input_ids, token_type_ids=types, label=label)
            i = end
    for doc_id, lang, doc in zip(doc_ids, langs, sentences):  # after the batch: never a negative of itself
        if doc:
            start = int(earlier.rng.integers(len(doc) - WINDOW + 1)) if len(doc) > WINDOW else 0
            earlier.add(lang, [(doc_id, doc[start:start + WINDOW])])
    return out


def _chunk_end(doc: list[list[int]], start: int, target: int) -> int:
    """End (exclusive) of the chunk from `start`: whole sentences up to `target` tokens, at least two."""
    end, used = start, 0
    while end < len(doc) and (end - start < 2 or used + len(doc[end]) <= target):
        used += len(doc[end])
        end += 1
    return end


def _random_continuation(rng: np.random.Generator, others: list[list[list[int]]], length: int, room: float,
                         ends_document: bool, out: Output) -> list[int]:
    """Whole sentences of a random document of `others` in the place the true B has in its own
    document: never from the first sentence, and ending with the last one exactly when the true B
    ends its document. Its length is the closest to `length` tokens that does not pass `room` (at
    least one sentence). Up to TRIES documents are drawn for one with text enough for that place;
    else the last one drawn gives what it has (counted as negative.short_document)."""
    for _ in range(TRIES):
        other = others[int(rng.integers(len(others)))]
        n = len(other)
        after = [*accumulate(map(len, reversed(other)))][::-1] + [0]  # tokens from sentence j to the end
        stop = n if ends_document else n - 1
        starts = [j for j in range(1, stop) if after[j] - after[stop] >= length and len(other[j]) <= room]
        if starts:
            break
    else:
        out.counts["negative.short_document"] += 1
        stop, starts = n, list(range(n))
    if ends_document:  # the tail closest to `length`, from the last sentence backwards
        start = _closest(other, range(n - 1, starts[0] - 1, -1), length, room, backwards=True)
        return [t for s in other[start:] for t in s]
    start = starts[int(rng.integers(len(starts)))]
    return [t for s in other[start:_closest(other, range(start, stop), length, room, backwards=False)] for t in s]


def _closest(other: list[list[int]], order: range, length: int, room: float, backwards: bool) -> int:
    """Take the sentences of `order` one by one while they fit `room` (the first always): the
    boundary (a start going backwards, else an end) where the total is closest to `length`."""
    best, best_gap, used = None, None, 0
    for k in order:
        used += len(other[k])
        if best is not None and used > room:
            break
        gap = abs(used - length)
        if best_gap is None or gap < best_gap:
            best, best_gap = (k if backwards else k + 1), gap
        if used >= length:
            break
    return best


def _negative_pool(index: int, langs: list[str], sizes: list[int]) -> tuple[list[int], bool]:
    """Other documents of the batch with a sentence: same language if any, else any language."""
    others = [j for j, size in enumerate(sizes) if j != index and size]
    same = [j for j in others if langs[j] == langs[index]]
    return (same, True) if same else (others, False)
