"""Counters: flat "a.b" keys per shard (kept in the manifest), nested dicts in stats.json."""
from __future__ import annotations

from collections import Counter
from typing import Any, Iterable, Mapping


def merge(parts: Iterable[Mapping[str, int]]) -> dict[str, int]:
    total: Counter = Counter()
    for part in parts:
        total.update(part)
    return dict(sorted(total.items()))


def nest(flat: Mapping[str, int]) -> dict[str, Any]:
    """{"dropped.redirect": 3} -> {"dropped": {"redirect": 3}}"""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        node = out
        *parents, leaf = key.split(".")
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = value
    return out
