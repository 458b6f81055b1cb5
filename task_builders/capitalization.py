"""capitalization: predict, at every word start, whether the word is capitalized in the raw text.

Input: [CLS] s_i s_i+1 ... [SEP], consecutive sentences of a document packed up to max_seq_len
(across paragraph breaks; a sentence longer than that is cut into pieces, never dropped).
The input is lower-cased before tokenization, also with a cased vocab (an uncased vocab
lower-cases anyway), so it never reveals the case; labels come from the original sentence text.

`labels`, per token: 1 at the first piece of a (BERT pre-tokenizer) word whose first character
is upper-case in the raw text, 0 if it is lower-case, -100 for words that do not start with a
cased letter (digits, punctuation, Han characters), for later pieces of a word and for specials.
English only: the engine skips rows of languages without case."""
from __future__ import annotations

from typing import Optional

import numpy as np
import pyarrow as pa

from schemas.tasks import IGNORE, task_schema
from task_builders.base import Context, Labels, Output, TaskSettings
from task_builders.sequences import (Pieces, document_ranges, encode_pieces, flat_sentences, single_columns,
                                     lower_same_length, pack_ranges)

NAME = "capitalization"
SUMMARY = "is each word capitalized? (en only; input lower-cased)"
VERSION = 1
DATASET = "documents"
LANGS = ("en",)
HEAD = "token"
SCHEMA = task_schema(HEAD)
Settings = TaskSettings  # no options of its own


def labels(settings) -> Labels:
    return Labels(["lower", "capitalized"])


def word_label(word: Optional[str]) -> int:
    """1 for a capitalized word, 0 for a lower-case one, IGNORE otherwise (or for no word start)."""
    if not word:
        return IGNORE
    return 1 if word[0].isupper() else 0 if word[0].islower() else IGNORE


def piece_labels(flat: list[str], pieces: Pieces) -> np.ndarray:
    """The label of every piece of the sentences (encode_pieces, in order). A piece starts a word
    when its word differs from the piece before it in the sentence; the word's text runs from that
    piece's start to its last piece's end in the raw sentence, and word_label reads its first
    character. Computed with numpy; word_label runs once per distinct first character."""
    counts, starts, ends, words = pieces.counts, pieces.starts, pieces.ends, pieces.words
    total = len(words)
    if not total:
        return words.copy()
    run_start = np.zeros(total, dtype=bool)
    run_start[(np.cumsum(counts) - counts)[counts > 0]] = True  # each sentence's first piece
    run_start[1:] |= words[1:] != words[:-1]
    word_start = run_start & (words >= 0)
    run_first = np.flatnonzero(run_start)
    run_last = np.append(run_first[1:], total) - 1
    word_end = ends[run_last][np.cumsum(run_start) - 1]  # the end of the last piece of the same word
    text_base = np.cumsum([0, *map(len, flat)])[:-1]
    sentence = np.repeat(np.arange(len(flat)), counts)
    at = np.flatnonzero(word_start & (starts < word_end))  # word starts with a non-empty word text
    codes = np.frombuffer("".join(flat).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    chars = codes[text_base[sentence[at]] + starts[at]]
    labels = np.full(total, IGNORE, dtype=np.int64)
    labels[at] = _first_letter_labels()[np.minimum(chars, _BMP - 1)]
    for i in np.flatnonzero(chars >= _BMP).tolist():  # beyond the table: rare
        labels[at[i]] = word_label(chr(chars[i]))
    return labels


_BMP = 0x10000
_TABLE: list[np.ndarray] = []


def _first_letter_labels() -> np.ndarray:
    """word_label of each one-character word below U+10000, computed once per process."""
    if not _TABLE:
        _TABLE.append(np.array([word_label(chr(c)) for c in range(_BMP)], dtype=np.int64))
    return _TABLE[0]


def build(table: pa.Table, ctx: Context) -> Output:
    budget = ctx.settings.max_seq_len - 2
    doc_ids = table.column("doc_id").to_pylist()
    flat, sentence_counts = flat_sentences(table)
    pieces = encode_pieces(ctx.vocab.tokenizer, [lower_same_length(s) for s in flat])
    ids, piece_counts = pieces.ids, pieces.counts
    token_labels = piece_labels(flat, pieces)
    rows_doc, starts, stops = [], [], []
    for doc_id, (first, lengths) in zip(doc_ids, document_ranges(sentence_counts, piece_counts)):
        for a, b in pack_ranges(first, lengths, budget):
            rows_doc.append(doc_id)
            starts.append(a)
            stops.append(b)
    starts, stops = np.array(starts, dtype=np.int64), np.array(stops, dtype=np.int64)
    return Output({"doc_id": rows_doc, "task_id": [ctx.task_id] * len(rows_doc),
                   **single_columns(ctx, SCHEMA, ids, token_labels, starts, stops)})
