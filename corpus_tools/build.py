"""`build`: a documents (or searchlog) dataset + a vocab -> task shards in OUT/<task>/.

Input shard i becomes output shard i; inside it, batches of rows go to worker processes and come
back in order, so the output is identical for any worker count. Each builder in task_builders/
is a pure function of its rows, seeded per document."""
from __future__ import annotations

import importlib
import json
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Iterator, Optional, Union

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpus_tools import __version__
from corpus_tools.dataset import dataset_kind, open_shard, shard_paths
from corpus_tools.engine import ordered_map
from corpus_tools.shards import (MANIFEST, STATS, OutputError, prepare_output, removed_if_unstarted, shard_is_done,
                                 shard_name, sha256_file, write_json, write_table)
from corpus_tools.sources import InputError
from corpus_tools.stats import merge, nest
from task_builders.vocab import SPECIAL_TOKENS, Vocab, load_vocab
from schemas import metadata, schema_for
from schemas.tasks import shard_task_id
from schemas.validate import read_table, validate
from task_builders import registry
from task_builders.base import BuildSettings, Context, TaskSettings, check_options, recorded, settings_for

LONG_DOC_CHARS = 100_000


def builder(task: str) -> ModuleType:
    """The task module called `task` (task_builders.registry): a paper task or a plugin."""
    return registry.load(task)


@dataclass
class BuildProgress:
    task: str = ""
    started: float = field(default_factory=time.monotonic)
    examples: int = 0
    tokens: int = 0
    rows_done: int = 0
    rows_total: int = 0


@dataclass
class TaskResult:
    task: str
    out: Optional[Path]
    stats: dict[str, Any] = field(default_factory=dict)
    skipped: Optional[str] = None  # why the task was not built


@dataclass(frozen=True)
class _Unit:
    task: str
    module: str  # the task module's path: workers import it, whatever registered it here
    settings: TaskSettings
    vocab: str
    lowercase: bool
    shard: str
    start: int
    stop: int


@dataclass(frozen=True)
class _ShardEnd:
    index: int


def build(tasks: list[str], docs: list[Union[str, Path]], vocab_path: Union[str, Path], out: Union[str, Path],
          settings: BuildSettings = BuildSettings(), workers: int = 1, resume: bool = False, overwrite: bool = False,
          batch_rows: int = 256, batch_chars: int = 1 << 19,
          progress: Optional[Callable[[BuildProgress], None]] = None, engine: str = "local") -> list[TaskResult]:
    """Build each task (or every applicable one for ["all"]); returns one result per task."""
    os.environ["TOKENIZERS_PARALLELISM"] = "false"  # --workers is the only parallelism knob
    modules = [builder(task) for task in (registry.available() if tasks == ["all"] else tasks)]
    check_options([*modules, *map(builder, registry.available())], settings)
    vocab = load_vocab(vocab_path)
    by_kind: dict[str, list[Path]] = {}
    for path in docs:
        by_kind.setdefault(dataset_kind(path), []).append(Path(path))
    unknown = set(by_kind) - {"documents", "searchlog"}
    if unknown:
        raise InputError(f"--docs takes documents or searchlog datasets, not {', '.join(sorted(unknown))}")
    results = []
    for module in modules:
        task = module.NAME
        inputs = by_kind.get(module.DATASET, [])
        if not inputs:
            if tasks != ["all"]:
                raise InputError(f"{task} reads a {module.DATASET} dataset; pass one with --docs")
            results.append(TaskResult(task, None, skipped=f"needs a {module.DATASET} dataset"))
            continue
        results.append(_build_task(task, module, inputs, vocab, Path(out) / task, settings, workers, resume,
                                   overwrite, (batch_rows, batch_chars), progress, explicit=tasks != ["all"],
                                   engine=engine))
    _write_summary(Path(out), results)
    return results


def _write_summary(out: Path, results: list[TaskResult]) -> None:
    """OUT/stats.json: every task asked for, with its example count or the reason it was skipped."""
    path = out / STATS
    summary = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"tasks": {}}
    for r in results:
        summary["tasks"][r.task] = ({"skipped": r.skipped} if r.skipped else
                                    {"examples": r.stats.get("examples", 0), "path": str(r.out)})
    out.mkdir(parents=True, exist_ok=True)
    write_json(path, summary)


def _input_shards(inputs: list[Path]) -> list[dict[str, Any]]:
    shards = []
    for dataset in inputs:
        for path in shard_paths(dataset):
            table, meta = open_shard(path)
            langs = sorted(set(pc.unique(table.column("lang").cast(pa.string())).to_pylist()))
            shards.append({"path": str(path.resolve()), "rows": table.num_rows, "sha256": sha256_file(path),
                           "langs": langs})
    return shards


def _build_task(task, module, inputs, vocab: Vocab, out: Path, settings, workers, resume, overwrite,
                batching: tuple[int, int], progress, explicit: bool, engine: str = "local") -> TaskResult:
    shards = _input_shards(inputs)
    present = sorted({lang for s in shards for lang in s["langs"]})
    if not set(present) & set(module.LANGS):
        reason = f"{task} applies to {'/'.join(module.LANGS)} only; the input is {'/'.join(present) or 'empty'}"
        if explicit:
            raise InputError(reason)
        return TaskResult(task, None, skipped=reason)
    settings = settings_for(module, settings, langs=tuple(lang for lang in present if lang in module.LANGS))
    labels = module.labels(settings)
    config = {"settings": recorded(settings), "builder": f"{task}_v{module.VERSION}",
              "batching": list(batching),  # the in-batch pool of negatives depends on it, the worker count does not
              "vocab": {"path": str(Path(vocab.path).resolve()), "fingerprint": vocab.fingerprint,
                        "lowercase": vocab.lowercase}}
    inputs_meta = [{k: s[k] for k in ("path", "rows", "sha256")} for s in shards]
    meta = {metadata.CREATED_BY: f"ernie-corpus {__version__}", metadata.TASK: f"{task}_v{module.VERSION}",
            metadata.TASK_ID: str(shard_task_id(task)), metadata.HEAD: module.HEAD,
            metadata.VOCAB_FINGERPRINT: vocab.fingerprint,
            metadata.VOCAB_SIZE: str(vocab.size),
            metadata.SPECIAL_IDS: {name.strip("[]").lower(): vocab.id(name) for name in SPECIAL_TOKENS},
            metadata.LABEL_NAMES: labels.names, metadata.NUM_CLASSES: str(labels.num_classes),
            metadata.SEED: str(settings.seed), metadata.MAX_SEQ_LEN: str(settings.max_seq_len),
            metadata.BUILD_CONFIG: config, metadata.INPUTS: inputs_meta}
    if labels.table is not None:
        meta[metadata.LABEL_TABLE] = labels.table
    previous = prepare_output(out, overwrite, resume)
    if previous is not None:
        if previous.get("vocab_fingerprint") != vocab.fingerprint:
            raise OutputError(f"{out}: its shards were built with vocab {str(previous.get('vocab_fingerprint'))[:12]}…, "
                              f"not {vocab.fingerprint[:12]}… ({vocab.path}); use the same vocab or --overwrite")
        if previous.get("config") != json.loads(json.dumps(config)) or previous.get("inputs") != inputs_meta:
            raise OutputError(f"{out}: was built from other inputs or settings; use overwrite=True (--overwrite) to rebuild")
    done = {e["name"]: e for e in (previous or {}).get("shards", []) if shard_is_done(out, e)}
    manifest = {"kind": task, "task": f"{task}_v{module.VERSION}", "created_by": meta[metadata.CREATED_BY],
                "vocab_fingerprint": vocab.fingerprint, "config": config, "inputs": inputs_meta,
                "complete": False, "shards": []}
    write_json(out / MANIFEST, manifest)
    schema = schema_for(task, meta, module.SCHEMA)
    state = BuildProgress(task=task, rows_total=sum(s["rows"] for s in shards))
    started = time.monotonic()

    def units() -> Iterator[Union[_Unit, _ShardEnd]]:
        for index, shard in enumerate(shards):
            if shard_name(index) not in done:
                for start, stop in _cut(shard["path"], module.DATASET, *batching):
                    yield _Unit(task, module.__name__, settings, str(vocab.path), vocab.lowercase, shard["path"],
                                start, stop)
            yield _ShardEnd(index)

    with removed_if_unstarted(out, manifest, fresh=previous is None):
        _run_shards(out, manifest, units(), done, shards, schema, labels, vocab, module.HEAD, workers, engine, state,
                    progress)
    stats = nest(merge(e["stats"] for e in manifest["shards"]))
    stats.update({"task": manifest["task"], "shards": len(manifest["shards"]),
                  "seconds": round(time.monotonic() - started, 3), "num_classes": labels.num_classes})
    write_json(out / STATS, stats)
    manifest["complete"] = True
    write_json(out / MANIFEST, manifest)
    return TaskResult(task, out, stats)


def _run_shards(out, manifest, units, done, shards, schema, labels, vocab, head, workers, engine, state,
                progress) -> None:
    """Run the units in order and write each output shard as its input shard ends."""
    parts: list[pa.Table] = []
    counts: Counter = Counter()
    for item, result in ordered_map(_run_unit, units, workers, is_work=_is_unit, engine=engine):
        if isinstance(item, _Unit):
            part, part_counts = result
            parts.append(part)
            counts.update(part_counts)
            state.rows_done += item.stop - item.start
            state.examples += part.num_rows
            state.tokens += part_counts["tokens"]
            if progress:
                progress(state)
            continue
        name = shard_name(item.index)
        if name in done:
            entry = done[name]
            state.rows_done += shards[item.index]["rows"]
        else:
            table = pa.concat_tables(parts).replace_schema_metadata(schema.metadata) if parts else schema.empty_table()
            validate(table, vocab_size=vocab.size)
            label_counts = _label_counts(head, table, labels.names)
            counts.update(label_counts)
            table = table.replace_schema_metadata({**table.schema.metadata, **metadata.encode(
                _histogram_meta(head, label_counts, labels.names))})
            counts["examples"] += table.num_rows
            counts = +counts
            entry = write_table(out / name, table)
            entry["stats"] = dict(sorted(counts.items()))
        manifest["shards"].append(entry)
        write_json(out / MANIFEST, manifest)
        parts, counts = [], Counter()


def _is_unit(item: Any) -> bool:
    return isinstance(item, _Unit)


def _cut(path: str, dataset: str, rows: int, chars: int) -> Iterator[tuple[int, int]]:
    """Row ranges of at most `rows` rows and (past the first row) `chars` characters, so a few
    huge documents (books) do not make one unit that a single worker chews alone."""
    table = read_table(path)
    if dataset == "documents":
        paragraphs = pc.list_flatten(table.column("paragraphs"))  # one list of sentences per paragraph
        owner = pc.list_parent_indices(table.column("paragraphs")).to_numpy()
        sizes = np.bincount(owner, weights=_paragraph_chars(paragraphs), minlength=table.num_rows)
    else:
        sizes = np.zeros(table.num_rows)
    start, used = 0, 0.0
    for i, size in enumerate(sizes):
        if i > start and (i - start >= rows or used + size > chars):
            yield start, i
            start, used = i, 0.0
        used += size
    if start < table.num_rows:
        yield start, table.num_rows


def _paragraph_chars(paragraphs) -> np.ndarray:
    """Characters per paragraph, summed over its sentences."""
    owner = pc.list_parent_indices(paragraphs).to_numpy()
    lengths = pc.utf8_length(pc.list_flatten(paragraphs)).to_numpy()
    return np.bincount(owner, weights=lengths, minlength=len(paragraphs))


def _label_counts(head: str, table: pa.Table, names: list[str]) -> Counter:
    """label.<name> histogram by head kind: sequence label, token labels, or knowledge spans (masked_lm)."""
    counts: Counter = Counter()
    if head == "sequence":
        for value, n in Counter(table.column("label").to_pylist()).items():
            counts[f"label.{names[value]}"] += n
    elif head == "token":
        flat = pc.list_flatten(table.column("labels"))
        for value, n in Counter(flat.to_pylist()).items():
            if value >= 0:
                counts[f"label.{names[value]}"] += n
    else:
        counts["label.phrase_spans"] += len(pc.list_flatten(table.column("phrase_spans")))
        for label in pc.list_flatten(table.column("entity_spans").combine_chunks()).field("label").to_pylist():
            counts[f"label.entity_{label}"] += 1
    return counts


def _histogram_meta(head: str, label_counts: Counter, names: list[str]) -> dict[str, Any]:
    """The shard's label histogram (every class, zeros included) and, for binary token tasks, its positive rate."""
    histogram = {k[len("label."):]: v for k, v in label_counts.items()}
    if head in ("sequence", "token"):
        histogram = {name: histogram.get(name, 0) for name in names}
    meta: dict[str, Any] = {metadata.LABEL_HISTOGRAM: histogram}
    if head == "token" and len(names) == 2:
        total = sum(histogram.values())
        meta[metadata.POSITIVE_RATE] = f"{histogram[names[1]] / total:.4f}" if total else "nan"
    return meta


@lru_cache(maxsize=4)
def _context(task: str, module_path: str, settings: TaskSettings, vocab_path: str,
             lowercase: bool) -> tuple[ModuleType, Context]:
    """Per process: the vocab, the builder and its heavy resources, loaded once."""
    module = importlib.import_module(module_path)
    resources = module.setup(settings) if hasattr(module, "setup") else None
    return module, Context(task, load_vocab(vocab_path, lowercase), settings, resources)


def _run_unit(unit: _Unit) -> tuple[pa.Table, Counter]:
    """One batch of input rows -> an Arrow table of examples (Arrow pickles as buffers, so the
    way back to the main process costs little) and the batch's counters."""
    module, ctx = _context(unit.task, unit.module, unit.settings, unit.vocab, unit.lowercase)
    table = read_table(unit.shard).slice(unit.start, unit.stop - unit.start)
    counts: Counter = Counter({"rows": table.num_rows})
    langs = table.column("lang").cast(pa.string())
    keep = pc.is_in(langs, pa.array(module.LANGS))
    for lang, n in Counter(pc.filter(langs, pc.invert(keep)).to_pylist()).items():
        counts[f"skipped.lang_{lang}"] += n
    table = table.filter(keep)
    if module.DATASET == "documents" and table.num_rows:
        docs = table.column("paragraphs").to_pylist()
        nonempty = [any(paragraph for paragraph in doc) for doc in docs]
        counts["dropped.empty_doc"] += nonempty.count(False)
        counts["long_docs"] += sum(sum(len(s) for p in doc for s in p) > LONG_DOC_CHARS for doc in docs)
        counts = +counts  # drop zero counters
        table = table.filter(pa.array(nonempty, pa.bool_()))
    output = module.build(table, ctx)
    counts.update(output.counts)
    examples = pa.Table.from_pydict(output.columns, schema=module.SCHEMA) if len(output) else \
        module.SCHEMA.empty_table()
    counts["tokens"] += sum(map(len, output.columns.get("input_ids", [])))
    return examples, counts
