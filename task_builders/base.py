"""The builder contract. A builder is a module with

    NAME, VERSION               "sentence_reorder", 1  ->  shards say sentence_reorder_v1
    DATASET                     "documents" or "searchlog": what it reads
    LANGS                       languages it applies to, e.g. ("en",) for capitalization
    SETTINGS                    names of the BuildSettings fields it uses (recorded in metadata)
    labels(settings) -> Labels  label names and an optional table, for the shard metadata
    setup(settings) -> object   optional: heavy resources (spaCy, jieba), loaded once per worker
    build(table, ctx) -> Output a pure function of an Arrow table of input rows

A builder never decides the seed or the shard layout: randomness comes from ctx.rng(key), seeded
by (seed, task, key) with key the doc_id or query_id, so output does not depend on how the
input was split between workers or engines.
"""
from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from task_builders.vocab import Vocab
from schemas.tasks import TASK_IDS


@dataclass(frozen=True)
class BuildSettings:
    max_seq_len: int = 512
    seed: int = 42
    max_segments: int = 3  # sentence_reorder: at most m segments, k = sum n! classes
    markers: Optional[str] = None  # discourse_relation: a marker file replacing the shipped lists
    spacy_model: str = "en_core_web_sm"  # knowledge_masking, en: NER and noun chunks
    hanlp_model: Optional[str] = None  # knowledge_masking, zh: a local HanLP NER model directory
    negatives_per_query: int = 1  # ir_relevance: random titles from other queries, per query
    no_marker_share: float = 0.1  # discourse_relation: share of [no-conn] examples (adjacent pairs without a marker)
    min_unshuffled_share: float = 0.1  # sentence_reorder: floor for class 0 (one segment, nothing moved)
    entity_types: Optional[tuple[str, ...]] = None  # knowledge_masking: entity labels kept as entities (None: NAMED_ENTITIES)
    group_segments: int = 3  # token_document: a word is looked up in the other segments of its group of this many (0: all)
    langs: tuple[str, ...] = ()  # the task's languages present in the input (set by build; () = every language)


@dataclass(frozen=True)
class Labels:
    names: list[str]
    table: Any = None  # e.g. the permutation table or the marker list

    @property
    def num_classes(self) -> int:
        return len(self.names)


@dataclass
class Context:
    """What build() gets besides its rows."""

    task: str
    vocab: Vocab
    settings: BuildSettings
    resources: Any = None

    def __post_init__(self):
        self.cls = self.vocab.id("[CLS]")
        self.sep = self.vocab.id("[SEP]")
        self.task_id = TASK_IDS[self.task]

    def rng(self, key: str) -> np.random.Generator:
        """The random stream of one document (or query): seeded by (seed, task, key) only."""
        digest = int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "little")
        return np.random.default_rng([self.settings.seed, self.task_id, digest])


@dataclass
class Output:
    """Rows in column form, plus counters (kept/dropped reasons) for stats.json."""

    columns: dict[str, list] = field(default_factory=dict)
    counts: Counter = field(default_factory=Counter)

    def add(self, **row) -> None:
        for name, value in row.items():
            self.columns.setdefault(name, []).append(value)

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()), []))
