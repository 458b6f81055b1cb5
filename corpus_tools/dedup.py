"""Deduplication: exact (hash of the normalized text) and near-duplicate (datasketch MinHash LSH
over word 5-gram shingles for en, character 3-gram shingles for zh).

Signatures are computed in worker processes; the `Deduper` runs in one process, in input order,
so the same documents are kept whatever the worker count."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from itertools import islice
from typing import Iterator, Optional

import numpy as np
from datasketch import LeanMinHash, MinHash, MinHashLSH

UPDATE_CHUNK = 8192  # shingles hashed per numpy step: bounded memory for huge documents
SCHEME = "affine32"  # datasketch 2 hashing scheme; fixed so signatures stay comparable across runs


@dataclass(frozen=True)
class DedupConfig:
    exact: bool = True
    near: bool = True
    threshold: float = 0.8
    num_perm: int = 128
    word_ngram: int = 5  # en shingles
    char_ngram: int = 3  # zh shingles


def exact_hash(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


def shingles(text: str, lang: str, config: DedupConfig) -> Iterator[bytes]:
    """Word n-grams (en, lower-cased) or character n-grams without spaces (zh), as UTF-8 bytes."""
    if lang == "zh":
        chars = "".join(text.split())
        n = config.char_ngram
        for i in range(max(1, len(chars) - n + 1)):
            yield chars[i : i + n].encode("utf-8")
    else:
        words = text.lower().split()
        n = config.word_ngram
        for i in range(max(1, len(words) - n + 1)):
            yield " ".join(words[i : i + n]).encode("utf-8")


def signature(text: str, lang: str, config: DedupConfig) -> np.ndarray:
    """The MinHash signature (uint64[num_perm]) of a document's shingles."""
    minhash = MinHash(num_perm=config.num_perm, seed=1, scheme=SCHEME)
    stream = shingles(text, lang, config)
    while chunk := list(islice(stream, UPDATE_CHUNK)):
        minhash.update_batch(chunk)
    return minhash.hashvalues


def lean(sig: np.ndarray) -> LeanMinHash:
    """A stored signature back as a MinHash for LSH queries."""
    return LeanMinHash(seed=1, hashvalues=sig, scheme=SCHEME)


@dataclass
class Verdict:
    keep: bool
    reason: Optional[str] = None  # exact_duplicate | near_duplicate
    duplicate_of: Optional[str] = None
    similarity: Optional[float] = None


@dataclass
class Deduper:
    """Keeps the first of each group of duplicates, in the order documents are offered."""

    config: DedupConfig
    exact_seen: dict[bytes, str] = field(default_factory=dict)

    def __post_init__(self):
        self.lsh = MinHashLSH(threshold=self.config.threshold, num_perm=self.config.num_perm)
        self.signatures: dict[str, LeanMinHash] = {}

    def check(self, doc_id: str, digest: bytes, sig: Optional[np.ndarray]) -> Verdict:
        """Decide on one document and, if kept, remember it."""
        if self.config.exact and digest in self.exact_seen:
            return Verdict(False, "exact_duplicate", self.exact_seen[digest], 1.0)
        minhash = None
        if self.config.near and sig is not None:
            minhash = lean(sig)
            best = None
            for other in self.lsh.query(minhash):
                similarity = minhash.jaccard(self.signatures[other])
                if similarity >= self.config.threshold and (best is None or similarity > best[1]):
                    best = (other, similarity)
            if best is not None:
                return Verdict(False, "near_duplicate", best[0], round(best[1], 4))
        self.remember(doc_id, digest, minhash)
        return Verdict(True)

    def remember(self, doc_id: str, digest: bytes, minhash: Optional[LeanMinHash]) -> None:
        """Add a kept document (also used to reload the state of finished shards on --resume)."""
        if self.config.exact:
            self.exact_seen.setdefault(digest, doc_id)
        if self.config.near and minhash is not None and doc_id not in self.signatures:
            self.lsh.insert(doc_id, minhash)
            self.signatures[doc_id] = minhash
