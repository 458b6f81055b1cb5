"""`build`: a documents (or searchlog) dataset + a vocab -> task shards in OUT/<task>/.

Input shard i becomes output shard i, in one worker: it opens the input shard once, builds it batch
by batch in order and writes the output shard itself (OUT may be a filesystem URI); the driver only
records manifests and stats (the Job skeleton, shared with ingest). The output is identical for any
worker count and engine. Each builder in task_builders/ is a pure function of its rows, seeded per
document. Input shards are hashed and validated once per build, whatever the number of tasks."""
from __future__ import annotations

import dataclasses
import gc
import importlib
import json
import os
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache, partial
from itertools import chain
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Iterator, Optional, Union

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from schemas import __version__
from corpus_tools.run.dataset import dataset_kind, open_shard, shard_paths
from corpus_tools.run.engine import Parallel, run_units
from corpus_tools.run.job import Job
from corpus_tools.run.shards import STATS, OutputError, Store, shard_name, sha256_file
from schemas.errors import InputError
from corpus_tools.run.stats import merge, nest
from task_builders.vocab import SPECIAL_TOKENS, Vocab, load_vocab
from schemas import metadata, schema_for
from schemas.digests import check_sha256
from schemas.tasks import UNLABELLED, shard_task_id
from schemas.validate import read_table, validate
from task_builders import registry
from task_builders.base import BuildSettings, Context, TaskSettings, check_options, recorded, settings_for

LONG_DOC_CHARS = 100_000


def builder(task: str) -> ModuleType:
    """The task module called `task` (task_builders.registry): a built-in task or a plugin."""
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
class _Spec:
    """What every worker of one task needs."""

    task: str
    module: str  # the task module's path: workers import it, whatever registered it here
    settings: TaskSettings
    vocab: str
    lowercase: bool
    vocab_size: int
    out: str
    meta: dict
    labels: tuple[str, ...]
    batching: tuple[int, int]


def build(tasks: list[str], docs: list[Union[str, Path]], vocab_path: Union[str, Path], out: Union[str, Path],
          settings: BuildSettings = BuildSettings(), parallel: Parallel = Parallel(), resume: bool = False,
          overwrite: bool = False, batch_rows: int = 256, batch_chars: int = 1 << 19,
          progress: Optional[Callable[[BuildProgress], None]] = None) -> list[TaskResult]:
    """Build each task (or every applicable one for ["all"], but those with IN_ALL = False, which
    are built only when named); returns one result per task."""
    os.environ["TOKENIZERS_PARALLELISM"] = "false"  # --workers is the only parallelism knob
    modules = [builder(task) for task in (registry.available() if tasks == ["all"] else tasks)]
    if tasks == ["all"]:
        modules = [m for m in modules if getattr(m, "IN_ALL", True)]
    check_options([*modules, *map(builder, registry.available())], settings)
    vocab = load_vocab(vocab_path)
    by_kind: dict[str, list[Path]] = {}
    for path in docs:
        by_kind.setdefault(dataset_kind(path), []).append(Path(path))
    unknown = set(by_kind) - {"documents", "searchlog"}
    if unknown:
        raise InputError(f"--docs takes documents or searchlog datasets, not {', '.join(sorted(unknown))}")
    shards: dict[str, list[dict[str, Any]]] = {}  # per dataset kind, read once for all tasks
    results = []
    for module in modules:
        task = module.NAME
        inputs = by_kind.get(module.DATASET, [])
        if not inputs:
            if tasks != ["all"]:
                raise InputError(f"{task} reads a {module.DATASET} dataset; pass one with --docs")
            results.append(TaskResult(task, None, skipped=f"needs a {module.DATASET} dataset"))
            continue
        if module.DATASET not in shards:
            shards[module.DATASET] = _input_shards(inputs)
        results.append(_build_task(task, module, shards[module.DATASET], vocab, _join(out, task), settings, parallel,
                                   resume, overwrite, (batch_rows, batch_chars), progress, explicit=tasks != ["all"]))
    _write_summary(Store(out), results)
    return results


def _join(out: Union[str, Path], name: str) -> Union[str, Path]:
    return f"{str(out).rstrip('/')}/{name}" if "://" in str(out) else Path(out) / name


def _write_summary(out: Store, results: list[TaskResult]) -> None:
    """OUT/stats.json: every task asked for, with its example count or the reason it was skipped."""
    summary = out.read_json(STATS) if out.exists(STATS) else {"tasks": {}}
    for r in results:
        summary["tasks"][r.task] = ({"skipped": r.skipped} if r.skipped else
                                    {"examples": r.stats.get("examples", 0), "path": str(r.out)})
    out.mkdir()
    out.write_json(STATS, summary)


def _input_shards(inputs: list[Path]) -> list[dict[str, Any]]:
    shards = []
    for dataset in inputs:
        for path in shard_paths(dataset):
            table, meta = open_shard(path)
            langs = sorted(set(pc.unique(table.column("lang").cast(pa.string())).to_pylist()))
            shards.append({"path": str(path.resolve()), "rows": table.num_rows,
                           "sha256": check_sha256(path, sha256_file(path)), "langs": langs})
    return shards


def _build_task(task, module, shards, vocab: Vocab, out, settings, parallel: Parallel, resume, overwrite,
                batching: tuple[int, int], progress, explicit: bool) -> TaskResult:
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

    def same_vocab(previous: dict[str, Any]) -> None:
        if previous.get("vocab_fingerprint") != vocab.fingerprint:
            raise OutputError(f"{out}: its shards were built with vocab {str(previous.get('vocab_fingerprint'))[:12]}…, "
                              f"not {vocab.fingerprint[:12]}… ({vocab.path}); use the same vocab or --overwrite")

    header = json.loads(json.dumps({"kind": task, "task": f"{task}_v{module.VERSION}",
                                    "created_by": meta[metadata.CREATED_BY], "vocab_fingerprint": vocab.fingerprint,
                                    "config": config, "inputs": inputs_meta}))
    job = Job(out, header, overwrite, resume, identity=("config", "inputs"), check=same_vocab)
    spec = _Spec(task, module.__name__, settings, str(vocab.path), vocab.lowercase, vocab.size, job.store.location, meta,
                 tuple(labels.names), tuple(batching))
    state = BuildProgress(task=task, rows_total=sum(s["rows"] for s in shards))
    started = time.monotonic()
    todo = []
    for index, shard in enumerate(shards):
        name = shard_name(index)
        if name in job.done:
            job.add(index, job.done[name])
            state.rows_done += shard["rows"]
        else:
            todo.append((index, shard["path"]))
    with job.running():
        for _, (index, entry) in run_units(partial(_build_shard, spec), todo, parallel, "build",
                                           describe=lambda unit: f"input shard {unit[1]}"):
            job.add(index, entry)
            state.rows_done += entry["stats"].get("rows", 0)
            state.examples += entry["rows"]
            state.tokens += entry["stats"].get("tokens", 0)
            if progress:
                progress(state)
    stats = nest(merge(e["stats"] for e in job.manifest["shards"]))
    stats.update({"task": job.manifest["task"], "shards": len(job.manifest["shards"]),
                  "seconds": round(time.monotonic() - started, 3), "num_classes": labels.num_classes})
    job.finish(stats)
    return TaskResult(task, out, stats)


def _build_shard(spec: _Spec, unit: tuple[int, str]) -> tuple[int, dict[str, Any]]:
    """In a worker: input shard `index` -> output shard `index`, written by this worker. The input is
    opened once; its rows go through the builder in batches, in order."""
    index, path = unit
    module, ctx = _context(spec.task, spec.module, spec.settings, spec.vocab, spec.lowercase)
    parts, counts = _run_batches(module, dataclasses.replace(ctx, state={}), spec.task, read_table(path),
                                 spec.batching)
    schema = schema_for(spec.task, spec.meta, module.SCHEMA)
    table = pa.concat_tables(parts).replace_schema_metadata(schema.metadata) if parts else schema.empty_table()
    validate(table, vocab_size=spec.vocab_size)
    names = list(spec.labels)
    label_counts = _label_counts(module.HEAD, table, names)
    counts.update(label_counts)
    table = table.replace_schema_metadata({**table.schema.metadata, **metadata.encode(
        _histogram_meta(module.HEAD, label_counts, names))})
    counts["examples"] += table.num_rows
    entry = Store(spec.out).write_table(shard_name(index), table)
    entry["stats"] = dict(sorted((+counts).items()))
    return index, entry


def run_builder(task: str, table: pa.Table, vocab_path: Union[str, Path], settings: TaskSettings,
                lowercase: bool = True, batching: tuple[int, int] = (256, 1 << 19)) -> tuple[list[pa.Table], Counter]:
    """A task's builder alone, in this process, over the rows of `table` in the batches a build cuts:
    the example tables and the counters, nothing written (for benchmarks and notebooks). `settings`
    are the task's own (`task_builders.base.settings_for`)."""
    module, ctx = _context(task, builder(task).__name__, settings, str(vocab_path), lowercase)
    return _run_batches(module, dataclasses.replace(ctx, state={}), task, table, batching)


def _run_batches(module: ModuleType, ctx: Context, task: str, source: pa.Table,
                 batching: tuple[int, int]) -> tuple[list[pa.Table], Counter]:
    parts: list[pa.Table] = []
    counts: Counter = Counter()
    for start, stop in _cut(source, module.DATASET, *batching):
        part, part_counts = _run_batch(module, ctx, task, source.slice(start, stop - start))
        parts.append(part)
        counts.update(part_counts)
    return parts, counts


def _cut(table: pa.Table, dataset: str, rows: int, chars: int) -> Iterator[tuple[int, int]]:
    """Row ranges of at most `rows` rows and (past the first row) `chars` characters: the batches a
    builder sees (its in-batch choices depend on them), so a few huge documents (books) do not
    make one batch."""
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
    elif head in UNLABELLED:  # no label column: each example counts for its one "class"
        counts[f"label.{names[0]}"] += table.num_rows
    else:
        counts["label.phrase_spans"] += len(pc.list_flatten(table.column("phrase_spans")))
        for label in pc.list_flatten(table.column("entity_spans").combine_chunks()).field("label").to_pylist():
            counts[f"label.entity_{label}"] += 1
    return counts


def _histogram_meta(head: str, label_counts: Counter, names: list[str]) -> dict[str, Any]:
    """The shard's label histogram (every class, zeros included) and, for binary token tasks, its positive rate."""
    histogram = {k[len("label."):]: v for k, v in label_counts.items()}
    if head in ("sequence", "token", *UNLABELLED):
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


def _document_sizes(paragraphs: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Per document: its sentence count and its characters (code points), with pyarrow and numpy."""
    paragraphs = paragraphs.combine_chunks()
    per_paragraph = pc.list_value_length(paragraphs).fill_null(0)  # paragraphs per document
    sentences_per = pc.list_value_length(pc.list_flatten(paragraphs)).fill_null(0).to_numpy(zero_copy_only=False)
    chars_per = pc.utf8_length(pc.list_flatten(pc.list_flatten(paragraphs))).fill_null(0).to_numpy(zero_copy_only=False)
    owner = np.repeat(np.arange(len(paragraphs)), per_paragraph.to_numpy(zero_copy_only=False))
    sentences = np.bincount(owner, weights=sentences_per, minlength=len(paragraphs)).astype(np.int64)
    sentence_owner = np.repeat(owner, sentences_per)
    chars = np.bincount(sentence_owner, weights=chars_per, minlength=len(paragraphs)).astype(np.int64)
    return sentences, chars


def _examples_table(columns: dict[str, list], schema: pa.Schema) -> pa.Table:
    """pa.Table.from_pydict(columns, schema), with the list-of-integer columns (input_ids, labels)
    converted through numpy: the same table, a third of the time."""
    arrays = []
    for field_ in schema:
        values = columns[field_.name]
        if isinstance(values, pa.Array):  # built by the task
            arrays.append(values if values.type == field_.type else values.cast(field_.type))
            continue
        if pa.types.is_list(field_.type) and pa.types.is_integer(field_.type.value_type):
            try:
                arrays.append(_integer_lists(values, field_.type))
                continue
            except (TypeError, ValueError, OverflowError):  # None or an out-of-range value: pyarrow says
                pass
        arrays.append(pa.array(values, type=field_.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def _integer_lists(values: list[list[int]], type_: pa.DataType) -> pa.Array:
    lengths = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
    offsets = np.zeros(len(values) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    dtype = type_.value_type.to_pandas_dtype()
    flat = np.fromiter(chain.from_iterable(values), dtype=np.int64, count=int(offsets[-1]))
    if len(flat) and (flat.min() < np.iinfo(dtype).min or flat.max() > np.iinfo(dtype).max):
        raise OverflowError("value out of range")
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(flat.astype(dtype)), type=type_)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while a batch is built. What a builder makes lives until
    its table is built (hundreds of thousands of tuples, lists and dicts for knowledge_masking), and
    the collector walks it again and again for nothing (in the bench: 7 full passes per Chinese
    batch, 0.3 s of 5.4, no cycle found). Cycles made meanwhile are freed by the next collection."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _run_batch(module: ModuleType, ctx: Context, task: str, table: pa.Table) -> tuple[pa.Table, Counter]:
    """One batch of input rows -> an Arrow table of examples and the batch's counters."""
    counts: Counter = Counter({"rows": table.num_rows})
    langs = table.column("lang").cast(pa.string())
    keep = pc.is_in(langs, pa.array(module.LANGS))
    for lang, n in Counter(pc.filter(langs, pc.invert(keep)).to_pylist()).items():
        counts[f"skipped.lang_{lang}"] += n
    table = table.filter(keep)
    if module.DATASET == "documents" and table.num_rows:
        sentences, chars = _document_sizes(table.column("paragraphs"))
        nonempty = sentences > 0
        counts["dropped.empty_doc"] += int((~nonempty).sum())
        counts["long_docs"] += int((chars > LONG_DOC_CHARS).sum())
        counts = +counts  # drop zero counters
        table = table.filter(pa.array(nonempty, pa.bool_()))
    with _collector_paused():
        output = module.build(table, ctx)
        examples = _examples_table(output.columns, module.SCHEMA) if len(output) else module.SCHEMA.empty_table()
    counts.update(output.counts)
    input_ids = output.columns.get("input_ids", [])
    counts["tokens"] += (len(pc.list_flatten(input_ids)) if isinstance(input_ids, pa.Array)
                         else sum(map(len, input_ids)))
    return examples, counts
