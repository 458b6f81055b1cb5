"""Reservoir: a seeded uniform sample of at most `size` items per language, from everything added so
far (Algorithm R). The pair tasks keep one in Context.state (fresh per input shard) to find
negatives for a batch that holds no other document, such as a whole book: sentence_distance keeps
sentences, next_sentence windows of whole documents."""
from __future__ import annotations

from typing import Any

import numpy as np


class Reservoir:
    def __init__(self, rng: np.random.Generator, size: int):
        self.rng, self.size = rng, size
        self.kept: dict[str, list[Any]] = {}
        self.seen: dict[str, int] = {}

    def add(self, lang: str, items: list[Any]) -> None:
        kept = self.kept.setdefault(lang, [])
        seen = self.seen.get(lang, 0)
        filling = min(len(items), max(0, self.size - len(kept)))
        kept += items[:filling]
        if len(items) > filling:  # one draw per later item, as rng.integers(seen) one by one would give
            slots = self.rng.integers(np.arange(seen + filling + 1, seen + len(items) + 1))
            for k in np.flatnonzero(slots < self.size).tolist():
                kept[int(slots[k])] = items[filling + k]
        if items:
            self.seen[lang] = seen + len(items)

    def langs(self) -> list[str]:
        return sorted(lang for lang, kept in self.kept.items() if kept)

    def items(self, lang: str) -> list[Any]:
        return self.kept.get(lang, [])

    def pick(self, rng: np.random.Generator, lang: str) -> tuple[Any, bool]:
        """An item of `lang` if any (True), else of another language (False)."""
        same = lang in self.langs()
        kept = self.kept[lang] if same else [item for other in self.langs() for item in self.kept[other]]
        return kept[int(rng.integers(len(kept)))], same
