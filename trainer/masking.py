"""Dynamic masking for the MLM loss: ERNIE 1.0 knowledge masking and plain word-piece masking.

Knowledge masking picks one level per example (basic, phrase or entity, drawn from the config's
level probabilities), as ERNIE's reader masks a whole sentence at one granularity. The units of
the level are its spans (phrase or entity; basic has none) followed by whole words from
`word_labels` over the positions no kept span covers, so the budget can always be met. Span units
are shuffled and tried first, then the word units, shuffled; a unit is taken if it still fits in
the budget (round(mask_prob × non-special tokens), at least 1), so units are never split. The
first span that does not fit what is left of the budget (gap) is taken with probability
gap / its size, and nothing more is taken after it, taken or not: the budget holds in
expectation, so a span longer than a short example's whole budget (a long name in one sentence)
is still masked, in proportion. Selected tokens become [MASK] (80%), a random non-special id
(10%) or stay (10%), token by token.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable, Mapping, Optional

import numpy as np

from schemas.tasks import IGNORE

LEVELS = ("basic", "phrase", "entity")


@dataclass(frozen=True)
class MaskingConfig:
    mask_prob: float = 0.15  # share of non-special tokens selected
    replace_mask: float = 0.8  # of the selected: [MASK]
    replace_random: float = 0.1  # of the selected: a random id; the rest stay unchanged
    basic_prob: float = 0.4  # knowledge masking level probabilities (normalised)
    phrase_prob: float = 0.3
    entity_prob: float = 0.3

    def __post_init__(self) -> None:
        if not 0.0 < self.mask_prob <= 1.0:
            raise ValueError(f"mask_prob {self.mask_prob} is not in (0, 1]")
        if self.replace_mask < 0 or self.replace_random < 0 or self.replace_mask + self.replace_random > 1:
            raise ValueError("replace_mask and replace_random must be >= 0 and sum to at most 1")
        levels = self.level_probs
        if min(levels) < 0 or sum(levels) <= 0:
            raise ValueError("level probabilities must be >= 0 with a positive sum")

    @property
    def level_probs(self) -> tuple[float, float, float]:
        return (self.basic_prob, self.phrase_prob, self.entity_prob)


@lru_cache(maxsize=8)
def _random_pool(vocab_size: int, specials: tuple[int, ...]) -> np.ndarray:
    return np.setdiff1d(np.arange(vocab_size, dtype=np.int64), np.asarray(specials, dtype=np.int64))


@lru_cache(maxsize=8)
def _special_lookup(specials: tuple[int, ...]) -> np.ndarray:
    lookup = np.zeros(max(specials, default=0) + 1, dtype=bool)
    lookup[list(specials)] = True
    return lookup


def _is_special(ids: np.ndarray, special_ids: Mapping[str, int]) -> np.ndarray:
    lookup = _special_lookup(_special_array(special_ids))
    return lookup[np.minimum(ids, len(lookup) - 1)] & (ids < len(lookup))


def _special_array(special_ids: Mapping[str, int]) -> tuple[int, ...]:
    return tuple(sorted({int(v) for v in special_ids.values()}))


def _as_spans(spans: Any) -> np.ndarray:
    """[k, 2] int array of (start, end) from an array, (start, end) pairs or {"start", "end"} dicts."""
    if isinstance(spans, np.ndarray):
        return spans.reshape(-1, 2).astype(np.int64, copy=False)
    rows = [(s["start"], s["end"]) if isinstance(s, Mapping) else tuple(s)[:2] for s in spans]
    return np.asarray(rows, dtype=np.int64).reshape(-1, 2)


def _budget(n_valid: int, config: MaskingConfig) -> int:
    return 0 if n_valid == 0 else max(1, int(round(config.mask_prob * n_valid)))


def _replace(ids: np.ndarray, selected: np.ndarray, special_ids: Mapping[str, int], vocab_size: int,
             config: MaskingConfig, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Apply 80/10/10 at the selected positions; return (masked ids, labels with IGNORE elsewhere)."""
    ids = np.asarray(ids, dtype=np.int64)
    labels = np.full(ids.shape, IGNORE, dtype=np.int64)
    labels[selected] = ids[selected]
    masked = ids.copy()
    draw = rng.random(len(selected))
    to_mask = selected[draw < config.replace_mask]
    to_random = selected[(draw >= config.replace_mask) & (draw < config.replace_mask + config.replace_random)]
    masked[to_mask] = special_ids["mask"]
    if len(to_random):
        pool = _random_pool(vocab_size, _special_array(special_ids))
        masked[to_random] = pool[rng.integers(0, len(pool), len(to_random))]
    return masked, labels


def _choose_units(sizes: np.ndarray, order: np.ndarray, budget: int, n_spans: int = 0,
                  rng: Optional[np.random.Generator] = None) -> np.ndarray:
    """Units taken in `order` while they fit: the prefix that fits, then later ones that fill the
    gap. The first of the leading `n_spans` (span units) that does not fit ends the choice: it is
    taken with probability gap / size (so the budget holds in expectation)."""
    cum = np.cumsum(sizes[order])
    k = int(np.searchsorted(cum, budget, side="right"))
    taken = list(order[:k])
    gap = budget - (int(cum[k - 1]) if k else 0)
    if k < n_spans and gap > 0 and rng is not None:
        unit = order[k]
        if rng.random() * sizes[unit] < gap:
            taken.append(unit)
        return np.asarray(taken, dtype=np.int64)
    rest = order[k:]
    while gap > 0 and len(rest):
        fits = np.flatnonzero(sizes[rest] <= gap)
        if not len(fits):
            break
        unit = rest[fits[0]]
        taken.append(unit)
        gap -= int(sizes[unit])
        rest = rest[fits[0] + 1:]
    return np.asarray(taken, dtype=np.int64)


def mask_knowledge(input_ids: Any, word_labels: Any, phrase_spans: Iterable, entity_spans: Iterable,
                   special_ids: Mapping[str, int], vocab_size: int, config: MaskingConfig,
                   rng: np.random.Generator, level: Optional[str] = None) -> tuple[np.ndarray, np.ndarray]:
    """Knowledge-mask one example; `level` forces basic/phrase/entity (else drawn from the config)."""
    ids = np.asarray(input_ids, dtype=np.int64)
    words = np.asarray(word_labels, dtype=np.int64)
    n = len(ids)
    if level is None:
        cum = np.cumsum(config.level_probs)
        level = LEVELS[min(int(np.searchsorted(cum, rng.random() * cum[-1], side="right")), 2)]
    elif level not in LEVELS:
        raise ValueError(f"unknown masking level {level!r}; levels are {', '.join(LEVELS)}")
    special = (words < 0) | _is_special(ids, special_ids)
    unit = np.full(n, -1, dtype=np.int64)
    n_spans = 0
    if level != "basic":
        for start, end in _as_spans(phrase_spans if level == "phrase" else entity_spans):
            start, end = max(int(start), 0), min(int(end), n)
            # skip spans that are empty, cover a special or overlap a kept span
            if end > start and not special[start:end].any() and not (unit[start:end] >= 0).any():
                unit[start:end] = n_spans
                n_spans += 1
    free = (unit < 0) & ~special
    prev_free = np.concatenate(([False], free[:-1]))
    word_start = free & ((words == 0) | ~prev_free)
    unit[free] = n_spans + np.cumsum(word_start)[free] - 1
    n_units = n_spans + int(word_start.sum())
    budget = _budget(int((~special).sum()), config)
    if n_units == 0 or budget == 0:
        return _replace(ids, np.zeros(0, dtype=np.int64), special_ids, vocab_size, config, rng)
    sizes = np.bincount(unit[unit >= 0], minlength=n_units)
    order = np.concatenate((rng.permutation(n_spans), n_spans + rng.permutation(n_units - n_spans)))
    chosen = _choose_units(sizes, order, budget, n_spans, rng)
    taken = np.zeros(n_units + 1, dtype=bool)  # the last entry stands for unit -1 (specials)
    taken[chosen] = True
    selected = np.flatnonzero(taken[unit])
    return _replace(ids, selected, special_ids, vocab_size, config, rng)


def mask_basic(input_ids: Any, special_ids: Mapping[str, int], vocab_size: int, config: MaskingConfig,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Mask word pieces of one example (no word boundaries known): round(mask_prob × non-special)."""
    ids = np.asarray(input_ids, dtype=np.int64)
    candidates = np.flatnonzero(~_is_special(ids, special_ids))
    budget = _budget(len(candidates), config)
    selected = np.sort(rng.choice(candidates, size=budget, replace=False)) if budget else candidates[:0]
    return _replace(ids, selected, special_ids, vocab_size, config, rng)
