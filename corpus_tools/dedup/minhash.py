"""Deduplication: exact (hash of the normalized text) and near-duplicate (datasketch MinHash LSH
over word 5-gram shingles for en, character 3-gram shingles for zh).

Signatures are computed in worker processes; the `Deduper` runs in one process, in input order,
so the same documents are kept whatever the worker count."""
from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Optional

import numpy as np

if TYPE_CHECKING:
    from datasketch import LeanMinHash

UPDATE_CHUNK = 8192  # shingles hashed per numpy step: bounded memory for huge documents
SCHEME = "affine32"  # datasketch 2 hashing scheme; fixed so signatures stay comparable across runs
SEED = 1  # of the permutations: fixed for the same reason


@dataclass(frozen=True)
class DedupConfig:
    exact: bool = True
    near: bool = True
    threshold: float = 0.8
    num_perm: int = 128
    word_ngram: int = 5  # en shingles
    char_ngram: int = 3  # zh shingles

    def __post_init__(self):
        if not 0.1 <= self.threshold <= 0.95:  # outside this range LSH cannot band num_perm=128
            raise ValueError(f"dedup threshold {self.threshold} is outside [0.1, 0.95]")


def exact_hash(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


_MULT = np.uint64(0x100000001B3)  # FNV-style multiplier to fold n units into one 64-bit shingle key


def _fold(units: np.ndarray, n: int) -> np.ndarray:
    """Keys of all n-grams of a uint64 unit sequence (vectorized, wrapping arithmetic)."""
    if len(units) < n:  # a short text is one shingle
        n = max(1, len(units))
    count = len(units) - n + 1
    key = np.zeros(count, dtype=np.uint64)
    for k in range(n):
        key = key * _MULT + units[k : k + count]
    return key


def shingle_hashes(text: str, lang: str, config: DedupConfig) -> np.ndarray:
    """32-bit hashes of the document's shingles: word n-grams (en, lower-cased; words hashed
    with crc32) or character n-grams without spaces (zh, code points). Deterministic across processes."""
    if lang == "zh":
        chars = "".join(text.split())
        units = np.frombuffer(chars.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        n = config.char_ngram
    else:
        words = text.lower().split()
        units = np.fromiter((zlib.crc32(w.encode("utf-8")) for w in words), dtype=np.uint64, count=len(words))
        n = config.word_ngram
    if len(units) == 0:
        return units
    key = _fold(units, n)
    key ^= key >> np.uint64(33)  # murmur3 finalizer: spread the folded key before truncating to 32 bits
    key *= np.uint64(0xFF51AFD7ED558CCD)
    key ^= key >> np.uint64(33)
    return key >> np.uint64(32)


def _identity(value: int) -> int:
    return value


@lru_cache(maxsize=None)
def _permutations(num_perm: int) -> np.ndarray:
    """datasketch draws a MinHash's permutations from a seeded RandomState each time one is made
    (a third of the signature time on short documents): drawn once per process, shared read-only
    by every MinHash, as datasketch's own copy() shares them. The same values, so the same signatures."""
    from datasketch import MinHash  # imported when needed: datasketch brings scipy (about 0.5 s)

    permutations = MinHash(num_perm=num_perm, seed=SEED, hashfunc=_identity, scheme=SCHEME).permutations
    permutations.setflags(write=False)
    return permutations


def signature(text: str, lang: str, config: DedupConfig) -> np.ndarray:
    """The MinHash signature (uint64[num_perm]) of a document's shingles."""
    from datasketch import MinHash

    minhash = MinHash(num_perm=config.num_perm, seed=SEED, hashfunc=_identity, scheme=SCHEME,
                      permutations=_permutations(config.num_perm))
    hashes = shingle_hashes(text, lang, config)
    for start in range(0, len(hashes), UPDATE_CHUNK):  # bounded memory for huge documents
        minhash.update_batch(hashes[start : start + UPDATE_CHUNK].tolist())
    return minhash.hashvalues


def lean(sig: np.ndarray) -> LeanMinHash:
    """A stored signature back as a MinHash for LSH queries."""
    from datasketch import LeanMinHash

    return LeanMinHash(seed=SEED, hashvalues=sig, scheme=SCHEME)


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
        from datasketch import MinHashLSH

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
