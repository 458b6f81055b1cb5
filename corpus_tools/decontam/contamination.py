"""Finding eval text in documents: the n-gram index of the eval sets and the per-batch check
(pure functions; they run in the worker processes of `ingest` and `decontaminate`).

Text is compared as tokens after the normalization ingest applies to documents (NFKC, control
characters, whitespace; `normalize.normalize`), lower-cased, Traditional Chinese converted to
Simplified with OpenCC t2s (on both sides, so a Traditional eval set matches a simplified corpus
and the other way round; `t2s=False` switches it off), typographic apostrophes made ASCII, and
the Penn-Treebank tokenization of GLUE files undone where it differs from raw text ("does n't"
and "doesn't" both give does/n/t; -lrb- and -rrb- are dropped). A token is then one Han
character, or one run of other letters and digits; punctuation and spaces are not tokens.

An eval text of n or more tokens (n_en for English, n_zh for Chinese, by script) contributes all
its n-grams; a document is contaminated if it holds any of them, with n-grams running across
sentence and paragraph ends. A short eval text (fewer than n tokens, at least `min_tokens`) is
compared whole: it matches a sentence or a paragraph of a document whose tokens are exactly its
tokens. Texts under `min_tokens` tokens are not used (counted as too_short).

n-grams are stored as 64-bit keys (a polynomial hash, mod 2^64, of per-token 64-bit blake2b
hashes; the same in every process and run) in one sorted numpy array, with the eval files holding
each and the first file:line: 24 bytes per distinct eval n-gram. Corpus n-grams are first looked
up by a second key built from Python's str hash (five times faster to compute, salted per process:
the index is built in the process that uses it), through a presence bitmap and a sorted array
(40-72 bytes per key); only those candidates get their blake2b key computed and confirmed. Memory
is 64 to 96 bytes per distinct eval n-gram, whatever the corpus size."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Optional

import numpy as np

from corpus_tools.decontam.eval_sets import label, read_eval
from corpus_tools.text.lang import detect_lang
from corpus_tools.text.normalize import normalize, to_simplified
from schemas.errors import InputError

GRANULARITIES = ("document", "sentence")
MAX_EVAL_FILES = 64  # one bit per file in the index
_HAN_CHARS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002a6df"
_HAN = re.compile(f"[{_HAN_CHARS}]")
_TOKEN = re.compile(f"[{_HAN_CHARS}]|[^\\W_{_HAN_CHARS}]+")  # one Han character, or a run of other letters/digits
_PTB = re.compile(r"-[lr][rsc]b-")
_ASCII_SPACES = bytes(c if chr(c).isalnum() and c < 128 else 32 for c in range(256))  # lower-case letters, digits
_APOSTROPHE = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'"})
_MULT = np.uint64(0x100000001B3)
_WHOLE = 0x5EED_0F_17_A_7E  # keeps whole-text keys apart from n-gram keys


@dataclass(frozen=True)
class DecontaminationConfig:
    granularity: str = "document"  # document: drop the document | sentence: drop the sentences
    ngram_en: int = 13  # words (GPT-3)
    ngram_zh: int = 20  # characters: about 13 words of Chinese; see the README
    min_tokens: int = 4  # shorter eval texts are not used
    t2s: bool = True  # compare Chinese in Simplified form

    def __post_init__(self):
        if self.granularity not in GRANULARITIES:
            raise ValueError(f"unknown granularity {self.granularity!r}; choose one of {', '.join(GRANULARITIES)}")
        if min(self.ngram_en, self.ngram_zh, self.min_tokens) < 1:
            raise ValueError("n-gram sizes and min_tokens must be at least 1")


@dataclass(frozen=True)
class EvalSets:
    """What to decontaminate against: eval files and the settings. Hashable: the index is built
    once per process from it."""

    paths: tuple[str, ...]
    config: DecontaminationConfig = field(default_factory=DecontaminationConfig)


@dataclass
class EvalIndex:
    labels: list[str]  # per eval file
    ns: tuple[int, ...]  # the n-gram sizes in use
    keys: np.ndarray  # uint64, sorted, distinct
    files: np.ndarray  # uint64 bit mask of the eval files holding each key
    first_file: np.ndarray  # int32: the first eval file and line holding each key
    first_line: np.ndarray  # int32
    counts: list[dict[str, int]]  # per eval file: texts, ngrams, short, too_short
    min_tokens: int = 4
    whole_below: int = 0  # sentences this short (in tokens) are compared whole
    t2s: bool = True
    fast: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint64))  # the same n-grams, salted keys
    seen: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=bool))  # prefilter: low bits of fast keys

    def __post_init__(self):
        size = 1 << max(16, (32 * max(1, len(self.fast))).bit_length())  # about 3% false positives
        self.seen = np.zeros(size, dtype=bool)
        self.seen[(self.fast & np.uint64(size - 1)).astype(np.int64)] = True


@dataclass(slots=True)
class Finding:
    """What the check found in one document."""

    files: dict[int, int]  # eval file -> sentences removed for it
    drop: bool  # the whole document goes
    sentences: int  # sentences removed (all of them when the document goes)
    evidence: list[dict]  # {"match": "ngram"|"whole", "text": the matched tokens or sentence, "eval": "file:line"}
    paragraphs: Optional[list[list[str]]] = None  # what is left (sentence granularity)
    keep: Optional[list[int]] = None  # indices of the paragraphs left


def tokens(text: str, t2s: bool = True, clean: bool = True) -> list[str]:
    """The comparison tokens of a text. `clean=False` skips ingest's normalization for text that
    already had it (sentences of a documents dataset)."""
    text = (normalize(text) if clean else text).lower()
    plain = text.isascii()  # O(1) in CPython: most English text skips the Unicode steps
    if clean and "-" in text:  # PTB brackets occur in eval files, not in documents
        text = _PTB.sub(" ", text)
    if "`" in text or not plain:
        text = text.translate(_APOSTROPHE)
    if "n't" in text:
        text = text.replace("n't", " n't")
    if plain:  # the same tokens as _TOKEN, faster: bytes.translate and split
        return text.encode("ascii").translate(_ASCII_SPACES).decode("ascii").split()
    if t2s and _HAN.search(text):
        text = to_simplified(text)
    return _TOKEN.findall(text)


_token_keys: dict[str, int] = {}  # token -> its 64-bit blake2b, per process (a cache: a corpus has few distinct words)


def _token_values(toks: list[str]) -> list[int]:
    """A 64-bit blake2b hash per token (signed), the same in every process and run."""
    cache = _token_keys
    if len(cache) > 1_000_000:
        cache.clear()
    for tok in [t for t in set(toks) if t not in cache]:  # the distinct tokens only: few
        cache[tok] = int.from_bytes(hashlib.blake2b(tok.encode("utf-8"), digest_size=8).digest(), "little", signed=True)
    return list(map(cache.__getitem__, toks))


def _hash_tokens(toks: list[str]) -> np.ndarray:
    return np.fromiter(_token_values(toks), dtype=np.int64, count=len(toks)).view(np.uint64)


def _fast_tokens(toks: list[str]) -> np.ndarray:
    """Python's str hash: five times faster than the cached blake2b, but salted per process. Used
    only to find candidates in the fast keys of an index built in the same process; every
    candidate is then confirmed with the blake2b keys, so the salt never changes the output."""
    return np.fromiter(map(hash, toks), dtype=np.int64, count=len(toks)).view(np.uint64)


def _fast_whole(toks: list[str]) -> int:
    return (hash(tuple(toks)) ^ _WHOLE) & 0xFFFFFFFFFFFFFFFF


def _whole_key(values: list[int]) -> int:
    """The key of a whole short text from its token hashes (tuple hashing of ints is not salted)."""
    return (hash(tuple(values)) ^ _WHOLE) & 0xFFFFFFFFFFFFFFFF


def _windows(hashes: np.ndarray, n: int) -> np.ndarray:
    """The key of every n-gram (window start j: tokens j..j+n-1)."""
    count = len(hashes) - n + 1
    if count <= 0:
        return np.zeros(0, dtype=np.uint64)
    key = np.full(count, n, dtype=np.uint64)
    for k in range(n):
        key = key * _MULT + hashes[k:k + count]
    return key


@lru_cache(maxsize=4)
def load_index(sets: EvalSets) -> EvalIndex:
    """Read the eval files and index their n-grams (once per process and EvalSets)."""
    if not sets.paths:
        raise InputError("decontamination needs at least one eval file")
    if len(sets.paths) > MAX_EVAL_FILES:
        raise InputError(f"at most {MAX_EVAL_FILES} eval files at once; got {len(sets.paths)}")
    config = sets.config
    by_n: dict[int, tuple[list[str], list[int], list[int]]] = {}  # n -> tokens, tokens per text, file:line
    whole: list[int] = []
    whole_fast: list[int] = []
    whole_where: list[int] = []
    counts = []
    for number, path in enumerate(sets.paths):
        texts = read_eval(path, number)
        count = {"texts": len(texts), "ngrams": 0, "short": 0, "too_short": 0}
        for item in texts:
            toks = tokens(item.text, config.t2s)
            n = config.ngram_zh if detect_lang(item.text) == "zh" else config.ngram_en
            if len(toks) >= n:
                words, lengths, where = by_n.setdefault(n, ([], [], []))
                words.extend(toks)
                lengths.append(len(toks))
                where.append((number << 32) | item.line)
                count["ngrams"] += len(toks) - n + 1
            elif len(toks) >= config.min_tokens:
                whole.append(_whole_key(_token_values(toks)))
                whole_fast.append(_fast_whole(toks))
                whole_where.append((number << 32) | item.line)
                count["short"] += 1
            else:
                count["too_short"] += 1
        counts.append(count)
    keys = [np.array(whole, dtype=np.uint64)]
    fast = [np.array(whole_fast, dtype=np.uint64)]
    where_all = [np.array(whole_where, dtype=np.int64)]
    for n, (words, lengths, where) in sorted(by_n.items()):  # all texts of one n at once
        owner = np.repeat(np.arange(len(lengths)), lengths)
        found = _windows(_hash_tokens(words), n)
        inside = owner[:len(found)] == owner[n - 1:]  # windows that do not run into the next text
        keys.append(found[inside])
        fast.append(_windows(_fast_tokens(words), n)[inside])
        where_all.append(np.array(where, dtype=np.int64)[owner[:len(found)][inside]])
    all_keys, all_where = np.concatenate(keys), np.concatenate(where_all)
    order = np.lexsort((all_where, all_keys))  # equal keys: the first file and line first
    all_keys, all_where = all_keys[order], all_where[order]
    unique, starts = np.unique(all_keys, return_index=True)
    bits = np.left_shift(np.uint64(1), (all_where >> 32).astype(np.uint64))
    masks = np.bitwise_or.reduceat(bits, starts) if len(starts) else np.zeros(0, dtype=np.uint64)
    first = all_where[starts]
    return EvalIndex(labels=[label(p) for p in sets.paths], ns=tuple(sorted({config.ngram_en, config.ngram_zh})),
                     keys=unique, files=masks, first_file=(first >> 32).astype(np.int32),
                     first_line=(first & 0xFFFFFFFF).astype(np.int32), counts=counts,
                     min_tokens=config.min_tokens, whole_below=max(config.ngram_en, config.ngram_zh), t2s=config.t2s,
                     fast=np.unique(np.concatenate(fast)))


def _candidates(index: EvalIndex, queries: np.ndarray) -> np.ndarray:
    """Which fast (salted) keys are in the index: the bitmap first, then a binary search."""
    out = np.zeros(len(queries), dtype=bool)
    if not len(index.fast) or not len(queries):
        return out
    maybe = np.flatnonzero(index.seen[(queries & np.uint64(len(index.seen) - 1)).astype(np.int64)])
    pos = np.minimum(np.searchsorted(index.fast, queries[maybe]), len(index.fast) - 1)
    out[maybe] = index.fast[pos] == queries[maybe]
    return out


def _confirm(index: EvalIndex, key: int) -> int:
    """The position of a blake2b key in the index, or -1."""
    pos = int(np.searchsorted(index.keys, np.uint64(key)))
    return pos if pos < len(index.keys) and int(index.keys[pos]) == key else -1


def check(documents: list[list[list[str]]], index: EvalIndex, granularity: str = "document",
          max_evidence: int = 2) -> list[Optional[Finding]]:
    """For each document (paragraphs of sentences): None if clean, else what was found and, for
    sentence granularity, the paragraphs left. Pure: the same input gives the same output."""
    words: list[str] = []  # every token of the batch
    lengths: list[int] = []  # tokens per sentence (batch-wide sentence numbers)
    owners: list[int] = []  # document per sentence
    whole: list[tuple[int, int, int, int, int]] = []  # (token start, end, doc, first sentence, last sentence)
    low, high = index.min_tokens, index.whole_below
    for d, paragraphs in enumerate(documents):
        for paragraph in paragraphs:
            first, start = len(lengths), len(words)
            for text in paragraph:
                toks = tokens(text, index.t2s, clean=False)
                if low <= len(toks) < high:
                    whole.append((len(words), len(words) + len(toks), d, len(lengths), len(lengths)))
                words.extend(toks)
                lengths.append(len(toks))
                owners.append(d)
            if len(paragraph) > 1 and low <= len(words) - start < high:
                whole.append((start, len(words), d, first, len(lengths) - 1))
    hashes = _fast_tokens(words)
    sent_of = np.repeat(np.arange(len(lengths)), lengths)
    docs = np.array(owners, dtype=np.int64)[sent_of] if len(sent_of) else np.zeros(0, dtype=np.int64)
    hits: dict[int, list[tuple[int, int, int, int, int]]] = {}  # doc -> (key, first sent, last sent, token span)
    for n in index.ns:
        keys = _windows(hashes, n)
        if not len(keys):
            continue
        for j in np.flatnonzero(_candidates(index, keys) & (docs[:len(keys)] == docs[n - 1:])):
            pos = _confirm(index, int(_windows(_hash_tokens(words[j:j + n]), n)[0]))
            if pos >= 0:
                hits.setdefault(int(docs[j]), []).append((pos, int(sent_of[j]), int(sent_of[j + n - 1]),
                                                          int(j), int(j) + n))
    if whole:
        found = _candidates(index, np.array([_fast_whole(words[a:b]) for a, b, *_ in whole], dtype=np.uint64))
        for (a, b, d, lo, hi), candidate in zip(whole, found):
            pos = _confirm(index, _whole_key(_token_values(words[a:b]))) if candidate else -1
            if pos >= 0:
                hits.setdefault(d, []).append((pos, lo, hi, -1, -1))
    results: list[Optional[Finding]] = [None] * len(documents)
    starts = _sentence_starts(documents)
    for d, found_in in sorted(hits.items()):
        results[d] = _finding(documents[d], starts[d], found_in, index, granularity, max_evidence, words)
    return results


def _join(toks: list[str]) -> str:
    """Tokens back to text for a human: Han characters without spaces, words with."""
    out = ""
    for tok in toks:
        if out and not (len(tok) == 1 and _HAN.match(tok) and _HAN.match(out[-1])):
            out += " "
        out += tok
    return out


def _sentence_starts(documents: list[list[list[str]]]) -> list[int]:
    starts, total = [], 0
    for paragraphs in documents:
        starts.append(total)
        total += sum(len(p) for p in paragraphs)
    return starts


def _finding(paragraphs: list[list[str]], start: int, hits: list[tuple[int, int, int, int, int]], index: EvalIndex,
             granularity: str, max_evidence: int, words: list[str]) -> Finding:
    by_file: dict[int, set[int]] = {}
    matched: set[int] = set()
    for pos, lo, hi, _, _ in hits:
        span = range(lo - start, hi - start + 1)
        matched.update(span)
        mask = int(index.files[pos])
        for i in range(len(index.labels)):
            if mask >> i & 1:
                by_file.setdefault(i, set()).update(span)
    evidence = _evidence(paragraphs, start, hits, index, words, max_evidence)
    if granularity == "document":  # every sentence of the document goes
        total = sum(len(p) for p in paragraphs)
        return Finding({i: total for i in sorted(by_file)}, True, total, evidence)
    counts = {i: len(found) for i, found in sorted(by_file.items())}
    left, keep, number = [], [], 0
    for i, paragraph in enumerate(paragraphs):
        kept = [s for k, s in enumerate(paragraph, number) if k not in matched]
        number += len(paragraph)
        if kept:
            left.append(kept)
            keep.append(i)
    return Finding(counts, not left, len(matched), evidence, left, keep)


def _evidence(paragraphs: list[list[str]], start: int, hits: list[tuple[int, int, int, int, int]],
              index: EvalIndex, words: list[str], most: int) -> list[dict]:
    """The matched text for a human: overlapping n-grams merged into one stretch, whole matches as
    the sentence; each with the first eval file:line holding (its first) n-gram."""
    flat = [s for p in paragraphs for s in p]
    found: list[dict] = []
    runs: list[list[int]] = []  # [token start, token end, key position]
    for pos, lo, hi, begin, end in sorted(hits, key=lambda h: (h[3], h[1])):
        if begin < 0:
            text = " ".join(flat[lo - start:hi - start + 1])
            found.append({"match": "whole", "text": text, "eval": _where(index, pos)})
        elif runs and begin < runs[-1][1]:
            runs[-1][1] = max(runs[-1][1], end)
        else:
            runs.append([begin, end, pos])
    found = [{"match": "ngram", "text": _join(words[a:b]), "eval": _where(index, pos)} for a, b, pos in runs] + found
    return found[:most]


def _where(index: EvalIndex, pos: int) -> str:
    return f"{index.labels[int(index.first_file[pos])]}:{int(index.first_line[pos])}"


class Tally:
    """Counts and evidence of what decontamination removed, per eval file; JSON-able parts merge."""

    def __init__(self, labels: list[str], examples_per_file: int = 3):
        self.labels, self.per_file = labels, examples_per_file
        self.removed = {name: {"documents": 0, "sentences": 0} for name in labels}
        self.examples: list[dict] = []

    def add(self, doc_id: str, finding: Finding) -> None:
        for i, sentences in finding.files.items():
            self.removed[self.labels[i]]["documents"] += finding.drop
            self.removed[self.labels[i]]["sentences"] += sentences
        for example in finding.evidence:
            if sum(e["eval"].rpartition(":")[0] == example["eval"].rpartition(":")[0] for e in self.examples) < self.per_file:
                self.examples.append({"doc_id": doc_id, **example})

    def merge(self, part: dict) -> None:
        for name, counts in part["removed"].items():
            for key, value in counts.items():
                self.removed[name][key] += value
        for example in part["examples"]:
            if sum(e["eval"].rpartition(":")[0] == example["eval"].rpartition(":")[0] for e in self.examples) < self.per_file:
                self.examples.append(example)

    def to_dict(self) -> dict:
        return {"removed": self.removed, "examples": self.examples}


def summary(index: EvalIndex, config: DecontaminationConfig, tally: Tally) -> dict:
    """The `decontamination` block of stats.json: settings, and per eval file what it held and removed."""
    return {"granularity": config.granularity, "ngram_en": config.ngram_en, "ngram_zh": config.ngram_zh,
            "min_tokens": config.min_tokens, "t2s": config.t2s,
            "eval": {name: {**index.counts[i], **{f"{k}_removed": v for k, v in tally.removed[name].items()}}
                     for i, name in enumerate(index.labels)},
            "examples": tally.examples}
