"""The alphabet a WordPiece vocab is trained on, counted before training so that training is
deterministic.

HF `tokenizers` (0.23 and earlier, huggingface/tokenizers#1794) gives the `##c` pieces their ids
in hash-map order, and breaks ties between equally frequent merges by those ids; its alphabet
limit also drops equally rare characters in hash-map order. So the same sentences gave a
different vocab.txt on every run. `train_vocab` therefore counts characters itself while the
sentences stream past, keeps the `limit` most frequent (ties by code point), and hands the
trainer that exact alphabet and every `##c` piece up front, in code-point order: nothing is left
for hash order to decide.

Counting is numpy `bincount` over the code points of 1 MB chunks. The BERT normalizer maps each
character on its own (lowercase, strip accents, drop control characters, space out CJK), so the
normalized counts are the raw counts mapped through `normalize_str` once per distinct character.
"""
from __future__ import annotations

import unicodedata
from typing import Callable

import numpy as np

CODE_POINTS = 0x110000
CHUNK_CHARS = 1 << 20
_UNKNOWN, _WORD, _BOUNDARY = 0, 1, 2
_CJK = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F), (0x2B740, 0x2B81F),
        (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F))


def _is_boundary(char: str) -> bool:
    """A character BERT's pre-tokenizer never leaves inside a word: whitespace, control,
    punctuation (ASCII symbols count) and CJK ideographs, which stand alone."""
    cp = ord(char)
    if char.isspace() or unicodedata.category(char) in ("Cc", "Cf"):
        return True
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    if unicodedata.category(char).startswith("P"):
        return True
    return any(lo <= cp <= hi for lo, hi in _CJK)


class AlphabetCounter:
    """Counts every character of the sentences fed to it, and how often each follows another
    word character (so would appear as a `##c` continuing piece)."""

    def __init__(self) -> None:
        self.counts = np.zeros(CODE_POINTS, dtype=np.int64)
        self.continuing = np.zeros(CODE_POINTS, dtype=np.int64)
        self._class = np.zeros(CODE_POINTS, dtype=np.int8)
        self._buffer: list[str] = []
        self._chars = 0

    def add(self, sentence: str) -> None:
        self._buffer.append(sentence)
        self._chars += len(sentence) + 1
        if self._chars >= CHUNK_CHARS:
            self.flush()

    def flush(self) -> None:
        if not self._buffer:
            return
        points = np.frombuffer(("\n".join(self._buffer) + "\n").encode("utf-32-le"), dtype=np.uint32)
        self._buffer, self._chars = [], 0
        chunk = np.bincount(points, minlength=CODE_POINTS)
        self.counts += chunk
        present = np.flatnonzero(chunk)
        for cp in present[self._class[present] == _UNKNOWN].tolist():
            self._class[cp] = _BOUNDARY if _is_boundary(chr(cp)) else _WORD
        word = self._class[points] == _WORD
        inside = np.zeros_like(word)
        inside[1:] = word[1:] & word[:-1]
        self.continuing += np.bincount(points[inside], minlength=CODE_POINTS)

    def alphabet(self, normalize: Callable[[str], str], limit: int) -> tuple[list[str], list[str]]:
        """The `limit` most frequent normalized characters (ties by code point) and, of those, the
        ones seen continuing a word; both in code-point order."""
        self.flush()
        counts: dict[str, int] = {}
        continuing: set[str] = set()
        for cp in np.flatnonzero(self.counts).tolist():
            for char in normalize(chr(cp)):
                if char.isspace():
                    continue
                counts[char] = counts.get(char, 0) + int(self.counts[cp])
                if self.continuing[cp]:
                    continuing.add(char)
        kept = sorted(sorted(counts, key=lambda c: (-counts[c], ord(c)))[:limit], key=ord)
        return kept, [c for c in kept if c in continuing]
