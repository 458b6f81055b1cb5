"""token_document: predict, at every word start, whether the word also occurs in another segment
of the same document (ERNIE 2.0's token-document relation).

A document's segments are its sequences: consecutive sentences packed up to max_seq_len - 2
tokens (across paragraph breaks; a longer sentence is cut into pieces). A document that fits in
one segment is cut in two at its middle sentence boundary (sentence n // 2 of n), so every
segment has another one; a one-sentence document has none and is dropped
(`dropped.one_sentence_doc`). Input: [CLS] segment [SEP].

Segments are compared in groups of `group_segments` consecutive segments (default 3; a last
group of one joins the group before; 0: the whole document): a long document (a book, a long
article) has so many segments that nearly every word occurs in one of them (96% of a book's
labels, 80% of Wikipedia's were 1 when the group was the whole document).

`labels`, per token: at the first piece of a word, 1 if the same word occurs in any other segment
of its group, else 0; -100 for words without a letter or digit, words with an [UNK] piece
(their text is lost), later pieces and specials. Words are compared as their word-piece ids.
English words are the vocab's pre-tokenized words (a word starts at a piece without the "##"
prefix; with an uncased vocab that is the same as comparing the normalized, lower-cased words).
Chinese words are jieba words: with single characters as words (BERT pre-tokenization) 79-84% of
the Chinese labels were 1, as a few thousand characters cover any document. The shard metadata
records the positive rate (ernie.positive_rate). Labels are computed with numpy per document."""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from dataclasses import dataclass, field

from schemas.tasks import IGNORE, task_schema
from task_builders.base import Context, Labels, Output, TaskSettings
from task_builders.sequences import (document_ranges, encode, encode_ids, flat_ids, flat_sentences, single_columns,
                                     pack_ranges)

NAME = "token_document"
SUMMARY = "does each word occur in another segment of its document?"
VERSION = 2
DATASET = "documents"
LANGS = ("en", "zh")
HEAD = "token"
SCHEMA = task_schema(HEAD)


@dataclass(frozen=True)
class Settings(TaskSettings):
    group_segments: int = field(default=3, metadata={
        "min": 0, "help": "a word is looked up in the other segments of its group of N consecutive segments "
                          "(0: the whole document)."})


_MIX = np.uint64(0x9E3779B97F4A7C15)  # odd multiplier: a word's key is a polynomial hash of its piece ids


def labels(settings) -> Labels:
    return Labels(["only_here", "elsewhere_in_document"])


_TABLES: dict[str, tuple[np.ndarray, np.ndarray]] = {}


def _piece_tables(vocab) -> tuple[np.ndarray, np.ndarray]:
    """Per piece id: does it start a word (no "##"), does its text have a letter or digit.
    Built once per vocab (fingerprint) and process."""
    if vocab.fingerprint in _TABLES:
        return _TABLES[vocab.fingerprint]
    size = vocab.size
    starts, alnum = np.ones(size, dtype=bool), np.zeros(size, dtype=bool)
    for token, i in vocab.tokenizer.get_vocab().items():
        text = token[2:] if token.startswith("##") else token
        starts[i] = not token.startswith("##")
        alnum[i] = any(c.isalnum() for c in text)
    _TABLES[vocab.fingerprint] = (starts, alnum)
    return starts, alnum


class _Jieba:
    """jieba words (its plain segmenter: no POS tags needed, six times faster than posseg), loaded
    on first use (an English build never loads jieba)."""

    def __init__(self):
        self.tokenizer = None

    def spans(self, text: str) -> list[tuple[int, int]]:
        """(start, end) of each non-space jieba word."""
        if self.tokenizer is None:
            from task_builders.nlp import JiebaBackend

            self.tokenizer = JiebaBackend().tagger.tokenizer
        spans, position = [], 0
        for word in self.tokenizer.cut(text):
            start, position = position, position + len(word)
            if not word.isspace():
                spans.append((start, position))
        return spans


def setup(settings) -> _Jieba:
    return _Jieba()


def jieba_starts(encoding, words: list[tuple[int, int]]) -> list[bool]:
    """Per piece: does it start a word, i.e. is it the first piece overlapping a jieba word (or a
    piece outside every word)? Words are sorted and do not overlap."""
    out, w, previous = [], 0, -1
    for start, end in encoding.offsets:
        while w < len(words) and words[w][1] <= start:
            w += 1
        word = w if w < len(words) and words[w][0] < end else -1
        out.append(word < 0 or word != previous)
        previous = word
    return out


def _labels(ids: np.ndarray, start: np.ndarray, segment_ends: list[int], group_starts: list[int],
            alnum_of: np.ndarray, unk: int) -> np.ndarray:
    """The label of every token of a batch: piece ids and whether each piece starts a word, the
    segments (they tile the tokens, ends given) and the groups of consecutive segments (first token
    positions given), all concatenated. A word is looked up in the other segments of its group."""
    segment = np.repeat(np.arange(len(segment_ends)), np.diff(segment_ends, prepend=0))
    start = start.copy()
    start[group_starts] = True  # a group never opens with a continuation; be safe
    group = np.cumsum(np.isin(np.arange(len(ids)), group_starts)) - 1
    first = np.flatnonzero(start)
    word = np.cumsum(start) - 1
    position = np.arange(len(ids)) - first[word]
    weights = np.power(_MIX, position.astype(np.uint64))  # wraps modulo 2**64, as intended
    keys = np.add.reduceat((ids.astype(np.uint64) + np.uint64(1)) * weights, first)
    usable = np.maximum.reduceat(alnum_of[ids].astype(np.int8), first).astype(bool)
    usable &= ~np.maximum.reduceat((ids == unk).astype(np.int8), first).astype(bool)
    word_segment, word_group = segment[first], group[first]
    order = np.lexsort((word_segment, keys, word_group))
    g, k, s = word_group[order], keys[order], word_segment[order]
    new_key = np.ones(len(k), dtype=bool)
    new_key[1:] = (g[1:] != g[:-1]) | (k[1:] != k[:-1])
    new_pair = new_key.copy()
    new_pair[1:] |= s[1:] != s[:-1]
    run = np.cumsum(new_key) - 1
    segments_with = np.empty(len(k), dtype=np.int64)
    segments_with[order] = np.bincount(run, weights=new_pair)[run].astype(np.int64)
    out = np.full(len(ids), IGNORE, dtype=np.int64)
    out[first] = np.where(usable, (segments_with > 1).astype(np.int64), IGNORE)
    return out


def _groups(segments: list, size: int) -> list[list]:
    """Consecutive segments in groups of `size` (0: one group); a last group of one joins the one before."""
    if size <= 0 or len(segments) <= size:
        return [segments]
    groups = [segments[i:i + size] for i in range(0, len(segments), size)]
    if len(groups[-1]) == 1:
        last = groups.pop()
        groups[-1] = groups[-1] + last
    return groups


def _encode(ctx: Context, flat: list[str], zh: list[int]) -> list:
    """The sentences' encodings: with offsets for the sentences numbered in `zh` (jieba_starts reads
    them), ids only for the others (encode_ids, faster)."""
    if not zh:
        return encode_ids(ctx, flat)
    if len(zh) == len(flat):
        return encode(ctx, flat)
    encodings: list = [None] * len(flat)
    others = sorted(set(range(len(flat))) - set(zh))
    for numbers, encoder in ((zh, encode), (others, encode_ids)):
        for k, encoding in zip(numbers, encoder(ctx, [flat[k] for k in numbers])):
            encodings[k] = encoding
    return encodings


def build(table: pa.Table, ctx: Context) -> Output:
    out = Output()
    starts_of, alnum_of = _piece_tables(ctx.vocab)
    unk = ctx.vocab.id("[UNK]")
    words = ctx.resources if ctx.resources is not None else setup(ctx.settings)
    budget = ctx.settings.max_seq_len - 2
    doc_ids = table.column("doc_id").to_pylist()
    langs = table.column("lang").cast(pa.string()).to_pylist()
    flat, sentence_counts = flat_sentences(table)
    in_zh = np.repeat(np.array([lang == "zh" for lang in langs], dtype=bool), sentence_counts)
    encodings = _encode(ctx, flat, np.flatnonzero(in_zh).tolist())
    ids, piece_counts = flat_ids(encodings)
    starts = starts_of[ids]
    sentence_first = (np.cumsum(piece_counts) - piece_counts).tolist()
    documents = document_ranges(sentence_counts, piece_counts)
    sentence_bounds = np.concatenate([[0], np.cumsum(sentence_counts)]).tolist()
    for lang, a, b in zip(langs, sentence_bounds, sentence_bounds[1:]):
        if lang == "zh":  # word starts from jieba's words
            for k in range(a, b):
                if piece_counts[k]:
                    first = sentence_first[k]
                    starts[first:first + piece_counts[k]] = jieba_starts(encodings[k], words.spans(flat[k]))
    segment_ends: list[int] = []  # every document's segments, tiling the batch's pieces
    group_starts: list[int] = []
    examples = []  # (doc_id, segments) of the documents that give examples
    for doc_id, (first, lengths) in zip(doc_ids, documents):
        segments = pack_ranges(first, lengths, budget)
        if len(segments) < 2:
            if len(first) < 2:
                out.counts["dropped.one_sentence_doc"] += 1
                if segments:  # its pieces are labelled with the rest, and not used
                    group_starts.append(segments[0][0])
                    segment_ends.append(segments[0][1])
                continue
            middle = first[len(first) // 2]
            segments = [(segments[0][0], middle), (middle, segments[0][1])]
        group_starts += [group[0][0] for group in _groups(segments, ctx.settings.group_segments)]
        segment_ends += [b for _, b in segments]
        examples.append((doc_id, segments))
    if not examples:
        return out
    token_labels = _labels(ids, starts, segment_ends, group_starts, alnum_of, unk)
    rows_doc = [doc_id for doc_id, segments in examples for _ in segments]
    bounds = np.array([segment for _, segments in examples for segment in segments], dtype=np.int64)
    out.columns = {"doc_id": rows_doc, "task_id": [ctx.task_id] * len(rows_doc),
                   **single_columns(ctx, SCHEMA, ids, token_labels, bounds[:, 0], bounds[:, 1])}
    return out
