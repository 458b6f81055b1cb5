"""The task contract. A task is one module, found by name through task_builders.registry:

    NAME, VERSION               "sentence_reorder", 2  ->  shards say sentence_reorder_v2
    DATASET                     "documents" or "searchlog": what it reads
    LANGS                       languages it applies to, e.g. ("en",) for capitalization
    HEAD                        "token", "sequence", "masked_lm", "contrastive" or "skip_gram": the
                                head the trainer gives it (schemas/tasks.py)
    SUMMARY                     optional: its labels in one line, for `build --help` (default: the
                                first line of the module's docstring)
    IN_ALL                      optional: False for a task of one kind of corpus (review_rating),
                                which `build --task all` leaves out; it is built when named
    Settings                    a frozen dataclass extending TaskSettings: its own options, each a
                                `build` flag and `--opt key=value` (help and bounds in the field
                                metadata: help, min, max, max_open, path = "file" | "dir"); all
                                of them are recorded in the shard metadata
    SCHEMA                      schemas.tasks.task_schema(HEAD, extra columns)
    labels(settings) -> Labels  label names (num_classes = their count) and an optional table
    build(table, ctx) -> Output a pure function of an Arrow table of input rows
    setup(settings) -> object   optional: heavy resources (spaCy, jieba), loaded once per worker
    decode(row, segments, meta) -> dict   optional, for `inspect` and `report`: the example's
                                fields in words (segments: its text between [SEP]s)

A task never decides the seed or the shard layout: randomness comes from ctx.rng(key), seeded
by (seed, task id, key) with key the doc_id or query_id, so output does not depend on how the
input was split between workers or engines. A Settings field named `langs` is filled by build
with the task's languages present in the input; it is no command-line option.
"""
from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from schemas.errors import InputError
from schemas.tasks import shard_task_id
from task_builders.vocab import Vocab


@dataclass(frozen=True)
class TaskSettings:
    """What every task gets; a task's Settings adds its own fields."""

    max_seq_len: int = 512
    seed: int = 42


COMMON = tuple(f.name for f in fields(TaskSettings))


@dataclass(frozen=True, init=False)
class BuildSettings(TaskSettings):
    """What `build` takes: the common settings and task options by name, each given to the tasks
    whose Settings have a field of that name: BuildSettings(max_seq_len=128, max_segments=4)."""

    options: tuple[tuple[str, Any], ...] = ()

    def __init__(self, max_seq_len: int = 512, seed: int = 42, **options: Any) -> None:
        object.__setattr__(self, "max_seq_len", max_seq_len)
        object.__setattr__(self, "seed", seed)
        object.__setattr__(self, "options", tuple(sorted(options.items())))


def own_fields(settings_class: type) -> list:
    """The fields a task's Settings adds to TaskSettings."""
    return [f for f in fields(settings_class) if f.name not in COMMON]


def settings_for(module, settings: BuildSettings, langs: tuple[str, ...] = ()) -> TaskSettings:
    """The task's Settings: the common values, the options it has a field for, and `langs`."""
    names = {f.name for f in own_fields(module.Settings)}
    values = {k: v for k, v in settings.options if k in names}
    if "langs" in names:
        values["langs"] = tuple(langs)
    return module.Settings(max_seq_len=settings.max_seq_len, seed=settings.seed, **values)


def check_options(modules: list, settings: BuildSettings) -> None:
    """Every option names a field of some task's Settings (a one-line InputError for a typo); an
    option of a task that is not being built is ignored, as one set of flags serves every task."""
    known = {f.name for m in modules for f in own_fields(m.Settings)}
    unknown = [k for k, _ in settings.options if k not in known]
    if unknown:
        raise InputError(f"unknown task option {unknown[0]!r} (options: {', '.join(sorted(known)) or 'none'})")


def recorded(settings: TaskSettings) -> dict[str, Any]:
    """The settings that go into the shard metadata: all of the task's."""
    return asdict(settings)


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
    settings: TaskSettings
    resources: Any = None
    # What a builder keeps from one batch to the next of the same input shard (sentence_distance's
    # reservoir of negatives). Build gives every input shard an empty one, and a shard's batches run in
    # order in one worker, so what is kept never depends on the worker count.
    state: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        self.cls = self.vocab.id("[CLS]")
        self.sep = self.vocab.id("[SEP]")
        self.task_id = shard_task_id(self.task)

    def rng(self, key: str) -> np.random.Generator:
        """The random stream of one document (or query): seeded by (seed, task id, key) only."""
        digest = int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "little")
        return np.random.default_rng([self.settings.seed, self.task_id, digest])


@dataclass
class Output:
    """Rows in column form, plus counters (kept/dropped reasons) for stats.json. A column is a list
    of values, or a pyarrow Array of the schema's type built by the task (add and add_rows then
    do not apply)."""

    columns: dict[str, list] = field(default_factory=dict)
    counts: Counter = field(default_factory=Counter)

    def add(self, **row) -> None:
        for name, value in row.items():
            self.columns.setdefault(name, []).append(value)

    def add_rows(self, **columns: list) -> None:
        """Many rows at once, a list per column (all of one length): what add() does row by row."""
        if columns and len(next(iter(columns.values()))):
            for name, values in columns.items():
                self.columns.setdefault(name, []).extend(values)

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()), []))
