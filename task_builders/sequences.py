"""Turning sentences into `[CLS] ... [SEP] ...` examples that never exceed max_seq_len.

Truncation rules (the README repeats them):
- single-segment tasks pack whole consecutive sentences up to max_seq_len - 2 tokens; a sentence
  longer than that is cut into pieces of that size (never dropped);
- pair tasks (A, B) cut the longer side first, from its end, until both fit with 3 specials;
- sentence_reorder builds its span from whole sentences that fit, each followed by [SEP]; a
  sentence that alone is too long gives no example.
"""
from __future__ import annotations

from itertools import chain
from typing import Optional

import numpy as np
from tokenizers import Encoding

from schemas.tasks import IGNORE


def encode(ctx, texts: list[str]) -> list[Encoding]:
    """Word pieces of each text, without special tokens (offsets index into the text)."""
    return ctx.vocab.tokenizer.encode_batch(texts, add_special_tokens=False)


def encode_ids(ctx, texts: list[str]) -> list[Encoding]:
    """encode() for callers that read only the ids: tokenizers' encode_batch_fast (the same ids,
    no offsets, word ids or token strings, a sixth less time), encode_batch where it is missing."""
    tokenizer = ctx.vocab.tokenizer
    fast = getattr(tokenizer, "encode_batch_fast", None)
    return fast(texts, add_special_tokens=False) if fast else encode(ctx, texts)


JOIN_CHARS = 1024  # encode_pieces: texts joined up to about this many characters per input


class Pieces:
    """The word pieces of many texts as flat numpy arrays (encode_pieces): `ids`; `counts`, each
    text's piece count; `starts`, `ends`, each piece's character offsets in its own text; `words`,
    a word number per piece (-1 for none), the same for the pieces of one word and different for
    the next word, also across texts."""

    __slots__ = ("ids", "counts", "starts", "ends", "words")

    def __init__(self, ids, counts, starts, ends, words):
        self.ids, self.counts, self.starts, self.ends, self.words = ids, counts, starts, ends, words


def encode_pieces(tokenizer, texts: list[str]) -> Pieces:
    """encode() of each text with `tokenizer` (a vocab's), as flat arrays. Consecutive texts are
    encoded joined by a space, up to about JOIN_CHARS characters per input, and split back by
    offset: tokenizers spends 15-20% less on fewer, longer inputs, and with the BERT pre-tokenizer
    (words never cross a space) the pieces, offsets and word boundaries are those of each text
    alone. Tokenizers where that may not hold (another pre-tokenizer, truncation or padding set,
    an added token that strips or holds spaces) encode each text alone."""
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    at = np.cumsum(lengths + 1) - (lengths + 1)  # each text's position in all texts joined by spaces
    firsts = _join_groups(lengths, JOIN_CHARS if _joinable(tokenizer) else 0)
    bounds = [*firsts, len(texts)]
    encodings = tokenizer.encode_batch([" ".join(texts[a:b]) for a, b in zip(bounds, bounds[1:])],
                                       add_special_tokens=False)
    ids, per_input = flat_ids(encodings)
    starts, ends = flat_offsets(encodings, len(ids))
    words = flat_word_ids(encodings, len(ids))
    shift = np.repeat(at[firsts], per_input)  # input offsets -> positions in all texts joined
    text = np.searchsorted(at, starts + shift, side="right") - 1
    shift -= at[text]  # -> offsets in the piece's own text
    word_base = np.cumsum(per_input) - per_input  # distinct across inputs: a word has a piece at least
    words = np.where(words >= 0, words + np.repeat(word_base, per_input), -1)
    return Pieces(ids, np.bincount(text, minlength=len(texts)), starts + shift, ends + shift, words)


def _join_groups(lengths: np.ndarray, limit: int) -> list[int]:
    """The first text of each group of consecutive texts joined for one encode (one text per group
    when limit is 0): a group takes texts while it stays within `limit` characters."""
    if not limit:
        return list(range(len(lengths)))
    firsts, size = [], limit
    for i, length in enumerate(lengths.tolist()):
        if size + length > limit:
            firsts.append(i)
            size = 0
        size += length + 1
    return firsts


def _joinable(tokenizer) -> bool:
    """Whether texts joined by a space encode into the pieces of each text (see encode_pieces)."""
    from tokenizers.pre_tokenizers import BertPreTokenizer

    added = getattr(tokenizer, "get_added_tokens_decoder", None)  # tokenizers >= 0.15
    if added is None or not isinstance(tokenizer.pre_tokenizer, BertPreTokenizer):
        return False
    return (tokenizer.truncation is None and tokenizer.padding is None
            and not any(t.lstrip or t.rstrip or not t.content or any(c.isspace() for c in t.content)
                        for t in added().values()))


def document_sentences(table, ctx) -> tuple[list[str], list[str], list[list[list[int]]]]:
    """(doc ids, languages, per document its non-empty sentences as word-piece ids, in order) of a
    documents batch: what the pair tasks that sample sentences across documents start from."""
    import pyarrow as pa

    doc_ids = table.column("doc_id").to_pylist()
    langs = table.column("lang").cast(pa.string()).to_pylist()
    flat, counts = flat_sentences(table)
    ids = [e.ids for e in encode_ids(ctx, flat)]
    bounds = np.concatenate([[0], np.cumsum(counts)]).tolist()
    return doc_ids, langs, [[e for e in ids[a:b] if e] for a, b in zip(bounds, bounds[1:])]


def flat_ids(encodings: list[Encoding]) -> tuple[np.ndarray, np.ndarray]:
    """(the pieces' ids of all encodings, concatenated; each encoding's piece count)."""
    counts = np.fromiter(map(len, encodings), dtype=np.int64, count=len(encodings))
    ids = np.fromiter(chain.from_iterable(e.ids for e in encodings), dtype=np.int64, count=int(counts.sum()))
    return ids, counts


def flat_offsets(encodings: list[Encoding], total: int) -> tuple[np.ndarray, np.ndarray]:
    """(start, end) character offsets of all pieces of the encodings (`total` of them), concatenated."""
    pairs = np.fromiter(chain.from_iterable(chain.from_iterable(e.offsets for e in encodings)), dtype=np.int64,
                        count=2 * total)
    return pairs[0::2], pairs[1::2]


def flat_word_ids(encodings: list[Encoding], total: int) -> np.ndarray:
    """The word index of all pieces of the encodings, concatenated; -1 for a piece of no word."""
    try:
        return np.fromiter(chain.from_iterable(e.word_ids for e in encodings), dtype=np.int64, count=total)
    except TypeError:  # a None among them
        return np.fromiter((-1 if w is None else w for e in encodings for w in e.word_ids), dtype=np.int64,
                           count=total)


def flat_sentences(table) -> tuple[list[str], np.ndarray]:
    """(every sentence of a documents batch, in order; each document's sentence count), read with
    pyarrow without building the nested paragraph lists."""
    import pyarrow.compute as pc

    paragraphs = table.column("paragraphs").combine_chunks()
    inner = pc.list_flatten(paragraphs)
    owner = np.repeat(np.arange(len(paragraphs)), pc.list_value_length(paragraphs).to_numpy(zero_copy_only=False))
    per_paragraph = pc.list_value_length(inner).to_numpy(zero_copy_only=False)
    counts = np.bincount(owner, weights=per_paragraph, minlength=len(paragraphs)).astype(np.int64)
    return pc.list_flatten(inner).to_pylist(), counts


def document_ranges(sentence_counts: np.ndarray, piece_counts: np.ndarray) -> list[tuple[list[int], list[int]]]:
    """Per document (its sentence count given): (first piece position, piece count) of each of its
    non-empty sentences, positions in the flat piece array of all sentences."""
    first = np.cumsum(piece_counts) - piece_counts
    kept = np.flatnonzero(piece_counts > 0)
    bounds = np.searchsorted(kept, np.concatenate([[0], np.cumsum(sentence_counts)])).tolist()
    firsts, lengths = first[kept].tolist(), piece_counts[kept].tolist()
    return [(firsts[a:b], lengths[a:b]) for a, b in zip(bounds, bounds[1:])]


def pack_ranges(first: list[int], lengths: list[int], budget: int) -> list[tuple[int, int]]:
    """pack_tokens over positions: sentences that lie one after another in a flat piece array
    (sentence i at [first[i], first[i] + lengths[i]), none empty) -> the [start, stop) range of
    each sequence."""
    ranges: list[tuple[int, int]] = []
    for group in pack(lengths, budget):
        a, z = group[0], group[-1]
        if len(group) == 1 and lengths[a] > budget:
            ranges += [(i, min(i + budget, first[a] + lengths[a])) for i in range(first[a], first[a] + lengths[a], budget)]
        else:
            ranges.append((first[a], first[z] + lengths[z]))
    return ranges


def framed_column(values: np.ndarray, starts: np.ndarray, stops: np.ndarray, first: int, last: int, type_):
    """An Arrow list column (of `type_`) whose row i is [first, *values[starts[i]:stops[i]], last]:
    what single() gives row by row, built with numpy from a flat array of values."""
    import pyarrow as pa

    lengths = stops - starts
    offsets = np.zeros(len(starts) + 1, dtype=np.int32)
    np.cumsum(lengths + 2, out=offsets[1:])
    flat = np.empty(int(offsets[-1]), dtype=np.int64)
    flat[offsets[:-1]] = first
    flat[offsets[1:] - 1] = last
    inner = np.ones(len(flat), dtype=bool)
    inner[offsets[:-1]] = inner[offsets[1:] - 1] = False
    before = offsets[:-1] - 2 * np.arange(len(starts))  # values of the rows before each row
    flat[inner] = values[np.repeat(starts - before, lengths) + np.arange(int(lengths.sum()))]
    value_type = type_.value_type.to_pandas_dtype()
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(flat.astype(value_type)), type=type_)


def single_columns(ctx, schema, ids: np.ndarray, labels: np.ndarray, starts: np.ndarray, stops: np.ndarray) -> dict:
    """The input_ids, token_type_ids and labels columns (of `schema`'s types) of single-segment rows
    with a label per piece: row i is single(ids[starts[i]:stops[i]]), its labels framed by IGNORE.
    What capitalization and token_document build with numpy."""
    def column(values, first, last, name):
        return framed_column(values, starts, stops, first=first, last=last, type_=schema.field(name).type)
    return {"input_ids": column(ids, ctx.cls, ctx.sep, "input_ids"),
            "token_type_ids": column(np.zeros_like(ids), 0, 0, "token_type_ids"),
            "labels": column(labels, IGNORE, IGNORE, "labels")}


def single(ctx, ids: list[int]) -> tuple[list[int], list[int]]:
    """[CLS] ids [SEP] with token types all 0."""
    return [ctx.cls, *ids, ctx.sep], [0] * (len(ids) + 2)


def pair(ctx, a: list[int], b: list[int]) -> tuple[list[int], list[int]]:
    """[CLS] a [SEP] b [SEP], the longer side cut first to fit max_seq_len; types 0 then 1."""
    budget = ctx.settings.max_seq_len - 3
    na, nb = len(a), len(b)
    while na + nb > budget:  # one piece at a time off the end of the longer side (a on a tie)
        if na >= nb:
            na -= 1
        else:
            nb -= 1
    return [ctx.cls, *a[:na], ctx.sep, *b[:nb], ctx.sep], [0] * (na + 2) + [1] * (nb + 1)


def segments(ctx, parts: list[list[int]]) -> tuple[list[int], list[int]]:
    """[CLS] p0 [SEP] p1 [SEP] ... with token types alternating 0/1 per segment (must fit)."""
    ids, types = [ctx.cls], [0]
    for i, part in enumerate(parts):
        ids += [*part, ctx.sep]
        types += [i % 2] * (len(part) + 1)
    assert len(ids) <= ctx.settings.max_seq_len
    return ids, types


def pack(lengths: list[int], budget: int) -> list[list[int]]:
    """Group consecutive sentence indices so each group's tokens fit `budget`. A sentence longer
    than the budget is a group of its own (the caller cuts it with `pieces`)."""
    groups: list[list[int]] = []
    current: list[int] = []
    used = 0
    for i, length in enumerate(lengths):
        if current and used + length > budget:
            groups.append(current)
            current, used = [], 0
        current.append(i)
        used += length
    if current:
        groups.append(current)
    return groups


def pieces(values: list, size: int) -> list[list]:
    """Cut a list into consecutive pieces of at most `size`."""
    return [values[i : i + size] for i in range(0, len(values), size)] or [[]]


def lower_same_length(text: str) -> str:
    """text.lower(), one character per character, so offsets into the result index `text` too."""
    lowered = text.lower()
    return lowered if len(lowered) == len(text) else "".join(c.lower()[0] for c in text)


def start_words(text: str, encoding: Encoding) -> list[Optional[str]]:
    """Per word piece: the text of the pre-tokenized word it starts, cut from `text` with the
    encoding's offsets (so it is the raw word, before any normalization); None for later pieces."""
    words, offsets = encoding.word_ids, encoding.offsets
    ends = {word: end for word, (_, end) in zip(words, offsets)}  # the last piece's end wins
    starts, previous = [], None
    for word, (start, _) in zip(words, offsets):
        starts.append(text[start : ends[word]] if word is not None and word != previous else None)
        previous = word
    return starts


def pack_tokens(sentences: list[list], budget: int) -> list[list]:
    """Consecutive sentences (lists of per-token items, e.g. (id, label)) packed into sequences of
    at most `budget` items; a sentence longer than that is cut into pieces, each its own sequence."""
    sequences: list[list] = []
    for group in pack([len(s) for s in sentences], budget):
        if len(group) == 1 and len(sentences[group[0]]) > budget:
            sequences += pieces(sentences[group[0]], budget)
        else:
            sequences.append([item for i in group for item in sentences[i]])
    return sequences
