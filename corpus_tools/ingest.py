"""`ingest`: raw inputs -> a documents or searchlog dataset of Arrow shards.

Reading is sequential (decompression is), cleaning runs in a process pool, and dedup plus shard
writing run here, in input order. A shard holds a fixed number of input records (`shard_size`),
so the output is identical for any worker count; `resume` skips shards already on disk."""
from __future__ import annotations

import dataclasses
import importlib.metadata
import json
import platform
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from itertools import chain
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Union

import numpy as np
import pyarrow as pa

from corpus_tools import __version__, sources
from corpus_tools.contamination import Tally, load_index, summary
from corpus_tools.dedup import Deduper, lean
from corpus_tools.engine import ordered_map
from corpus_tools.formats import ReadOptions, check as check_input, reader, resolve
from corpus_tools.lang import parse_langs
from corpus_tools.process import Contaminated, Doc, TextSettings, process_batch
from corpus_tools.readers.records import Drop, RawDoc, Reject, SearchRecord
from corpus_tools.shards import (REJECTS, STATE_DIR, STATS, OutputError, prepare_output, removed_if_unstarted,
                                 shard_is_done, shard_name, write_json, write_table, write_text)
from corpus_tools.stats import merge, nest
from schemas import metadata, schema_for
from schemas.validate import read_table, validate


@dataclass(frozen=True)
class IngestConfig:
    fmt: str = "auto"
    text: TextSettings = field(default_factory=TextSettings)
    read: ReadOptions = field(default_factory=ReadOptions)
    shard_size: int = 5000  # input records per shard: fixes the output layout
    batch_size: int = 64  # records per unit of work sent to a worker (at most) ...
    batch_chars: int = 1 << 20  # ... and characters: one huge book does not hold a batch of 64
    workers: int = 1  # does not change the output
    engine: str = "local"  # local | ray: does not change the output either


@dataclass
class Progress:
    records: int = 0  # input records read
    kept: int = 0
    shards: int = 0
    bytes_read: int = 0  # input bytes (compressed) consumed
    bytes_total: int = 0


@dataclass
class IngestResult:
    out: Path
    kind: str
    stats: dict[str, Any]
    errors: list[str]


def output_settings(config: IngestConfig) -> dict[str, Any]:
    """The settings that determine the output (not workers): recorded in metadata and manifest."""
    settings = dataclasses.asdict(config)
    for key in ("workers", "engine", "batch_size", "batch_chars"):  # they change the speed, not the output
        settings.pop(key)
    return settings


def plan_inputs(inputs: list[Union[str, Path]], fmt: str, options: ReadOptions) -> tuple[str, list[tuple[Path, str]]]:
    """Expand and classify the inputs; all must feed the same dataset kind."""
    paths = sources.expand_inputs(inputs)
    for path in paths:
        check_input(path, options)  # binary junk is refused before any output exists
    planned = [(path, resolve(path, fmt)) for path in paths]
    kinds = {reader(f).DATASET for _, f in planned}
    if len(kinds) > 1:
        raise sources.InputError("search logs and documents go to separate outputs: run ingest once for each")
    for path, f in planned:
        check = getattr(reader(f), "check", None)
        if check is not None:
            check(path, options)  # e.g. SogouQ needs --titles: fail before any output is made
    return kinds.pop(), planned


def ingest(inputs: list[Union[str, Path]], out: Union[str, Path], config: IngestConfig = IngestConfig(),
           overwrite: bool = False, resume: bool = False,
           progress: Optional[Callable[[Progress], None]] = None) -> IngestResult:
    """Run the whole ingest; raises InputError/OutputError for problems a user must fix."""
    out = Path(out)
    try:
        parse_langs(config.text.lang)
    except ValueError as exc:
        raise sources.InputError(f"--lang: {exc}") from None
    kind, planned = plan_inputs(inputs, config.fmt, config.read)
    if config.text.decontaminate and kind != "documents":
        raise sources.InputError("--decontaminate applies to documents; search logs are not checked")
    index = load_index(config.text.decontaminate) if config.text.decontaminate else None  # bad eval files: fail now
    settings = output_settings(config)
    input_list = [{"path": str(p.resolve()), "format": f, "bytes": p.stat().st_size, "mtime_ns": p.stat().st_mtime_ns}
                  for p, f in planned]
    previous = prepare_output(out, overwrite, resume)
    if previous is not None and (previous.get("settings") != json.loads(json.dumps(settings))
                                 or previous.get("inputs") != input_list):
        raise OutputError(f"{out}: was built from other inputs or settings; use overwrite=True (--overwrite) to rebuild")
    done = {e["name"]: e for e in (previous or {}).get("shards", []) if shard_is_done(out, e)}
    manifest = {"kind": kind, "schema_version": schema_for(kind).metadata[metadata.SCHEMA_VERSION.encode()].decode(),
                "created_by": f"ernie-corpus {__version__}", "settings": settings, "inputs": input_list,
                "versions": _versions(), "complete": False, "shards": []}
    write_json(out / "manifest.json", manifest)  # marks the directory as ours from the start
    schema = schema_for(kind, {metadata.CREATED_BY: manifest["created_by"], metadata.BUILD_CONFIG: settings})
    run = _Run(out, config, schema, manifest, done, Progress(bytes_total=sum(i["bytes"] for i in input_list)), progress)
    errors: list[str] = []
    started = time.monotonic()
    with removed_if_unstarted(out, manifest, fresh=previous is None):
        run.execute(_events(_items(planned, config.read, errors), config, run.progress))
    stats = nest(merge(e["stats"] for e in manifest["shards"]))
    stats.update({"kind": kind, "shards": len(manifest["shards"]), "errors": errors,
                  "dedup_examples": _first_examples(manifest["shards"]), "seconds": round(time.monotonic() - started, 3)})
    if index is not None:
        tally = Tally(index.labels)
        for entry in manifest["shards"]:
            tally.merge(entry.get("decontamination", {"removed": {}, "examples": []}))
        stats["decontamination"] = summary(index, config.text.decontaminate.config, tally)
        stats["decontaminated"] = {"documents": 0, "sentences": 0, **stats.get("decontaminated", {})}
    _write_rejects(out, manifest["shards"])
    write_json(out / STATS, stats)
    manifest["complete"] = not errors
    write_json(out / "manifest.json", manifest)
    return IngestResult(out, kind, stats, errors)


def _items(planned: list[tuple[Path, str]], options: ReadOptions, errors: list[str]) -> Iterator[Any]:
    """All records of all inputs in order; a faulty file ends with an error, the others go on."""

    def guarded(path: Path, fmt: str) -> Iterator[Any]:
        try:
            yield from reader(fmt).read(path, options)
        except sources.InputError as exc:
            errors.append(str(exc))

    reddit = [p for p, f in planned if f == "reddit"]
    for path, fmt in planned:
        if fmt == "reddit" and options.reddit_threads:
            if path == reddit[0]:
                module = reader("reddit")
                yield from module.assemble_threads(chain.from_iterable(guarded(p, "reddit") for p in reddit))
            continue
        yield from guarded(path, fmt)


@dataclass
class _Batch:
    shard: int
    items: list[Union[RawDoc, SearchRecord]]


@dataclass
class _ShardEnd:
    shard: int
    records: tuple[int, int]
    rejects: list[Reject]
    counts: Counter


def _events(items: Iterator[Any], config: IngestConfig, progress: Progress) -> Iterator[Union[_Batch, _ShardEnd]]:
    """Cut the record stream into batches and shards by record count alone."""
    shard, first, count, batch_chars = 0, 0, 0, 0
    batch: list = []
    rejects: list[Reject] = []
    counts: Counter = Counter()
    replaced = sources.replacement_count()
    for item in items:
        counts["records"] += 1  # every record read is kept, dropped, rejected or deduplicated
        if isinstance(item, Reject):
            rejects.append(item)
            counts[f"rejected.{item.reason}"] += 1
            continue
        if isinstance(item, Drop):
            _count_drop(counts, item)
            continue
        batch.append(item)
        batch_chars += len(getattr(item, "text", ""))
        count += 1
        progress.records = count
        if len(batch) == config.batch_size or batch_chars >= config.batch_chars:
            yield _Batch(shard, batch)
            batch, batch_chars = [], 0
        if count - first == config.shard_size:
            if batch:
                yield _Batch(shard, batch)
                batch, batch_chars = [], 0
            counts["utf8_replaced"] += sources.replacement_count() - replaced
            replaced = sources.replacement_count()
            yield _ShardEnd(shard, (first, count), rejects, counts)
            shard, first, rejects, counts = shard + 1, count, [], Counter()
    if batch:
        yield _Batch(shard, batch)
    counts["utf8_replaced"] += sources.replacement_count() - replaced
    if count > first or rejects or counts.total() or shard == 0:
        yield _ShardEnd(shard, (first, count), rejects, counts)


class _Run:
    """Consumes events in order: dispatches batches, dedups results, writes shards."""

    def __init__(self, out, config, schema, manifest, done, progress, callback):
        self.out, self.config, self.schema, self.manifest = out, config, schema, manifest
        self.done, self.progress, self.callback = done, progress, callback
        self.deduper = Deduper(config.text.dedup)
        sets = config.text.decontaminate
        self.labels = load_index(sets).labels if sets else []
        self.ids: set[str] = set()  # doc_id / result_id of every kept row
        self._reset()

    def _reset(self) -> None:
        self.rows: list[dict] = []
        self.kept: list[tuple[str, bytes, Any]] = []
        self.counts: Counter = Counter()
        self.examples: list[dict] = []
        self.rejects: list[Reject] = []
        self.tally = Tally(self.labels)

    def execute(self, events: Iterator[Union[_Batch, _ShardEnd]]) -> None:
        todo = (e for e in events if not (isinstance(e, _Batch) and shard_name(e.shard) in self.done))
        work = partial(_process, self.config.text)
        for event, results in ordered_map(work, todo, self.config.workers, is_work=_is_batch, engine=self.config.engine):
            self._consume(event, results)

    def _consume(self, event: Union[_Batch, _ShardEnd], results: Optional[list]) -> None:
        if isinstance(event, _ShardEnd):
            self._finish_shard(event)
            return
        self._report()
        for result in results:
            if isinstance(result, Contaminated):
                self._contaminated(result.doc_id, result.finding)
            elif isinstance(result, Doc):
                self.counts["forced_splits"] += result.forced_splits
                if result.contamination is not None:
                    self._contaminated(self._id(result), result.contamination)
                doc_id = self._id(result)
                if doc_id in self.ids:  # the same record twice (e.g. one article in two extracts)
                    self.counts["dedup.duplicate_id"] += 1
                    continue
                verdict = self.deduper.check(doc_id, result.digest, result.signature)
                if verdict.keep:
                    self.ids.add(doc_id)
                    self.progress.kept += 1
                    self.rows.append(result.row)
                    self.kept.append((doc_id, result.digest, result.signature))
                else:
                    self.counts[f"dedup.{verdict.reason}"] += 1
                    if sum(e["reason"] == verdict.reason for e in self.examples) < 5:
                        self.examples.append({"reason": verdict.reason, "doc_id": self._id(result),
                                              "duplicate_of": verdict.duplicate_of,
                                              "similarity": verdict.similarity, "text": result.text[:160]})
            elif isinstance(result, Drop):
                _count_drop(self.counts, result)
            else:
                self.counts[f"rejected.{result.reason}"] += 1
                self.rejects.append(result)

    def _contaminated(self, doc_id: str, finding) -> None:
        self.counts["decontaminated.documents"] += finding.drop
        self.counts["dropped.decontaminated"] += finding.drop  # so that records = kept + dropped + ...
        self.counts["decontaminated.sentences"] += finding.sentences
        self.tally.add(doc_id, finding)

    @staticmethod
    def _id(doc: Doc) -> str:
        return doc.row.get("doc_id") or doc.row["result_id"]

    def _finish_shard(self, end: _ShardEnd) -> None:
        name = shard_name(end.shard)
        if name in self.done:
            entry = self.done[name]
            self._reload_dedup_state(name)
            self.progress.kept += entry["rows"]
        else:
            entry = self._write_shard(name, end)
        self.manifest["shards"].append(entry)
        write_json(self.out / "manifest.json", self.manifest)
        self.progress.shards += 1
        self._report()
        self._reset()

    def _report(self) -> None:
        self.progress.bytes_read = sources.bytes_read()
        if self.callback:
            self.callback(self.progress)

    def _write_shard(self, name: str, end: _ShardEnd) -> dict[str, Any]:
        counts = end.counts + self.counts
        counts["kept"] += len(self.rows)
        for row in self.rows:
            counts[f"lang.{row['lang']}"] += 1
            counts[f"source.{row['source']}"] += 1
            if "paragraphs" in row:
                counts["paragraphs"] += len(row["paragraphs"])
                counts["sentences"] += sum(len(p) for p in row["paragraphs"])
                counts["chars"] += sum(len(s) for p in row["paragraphs"] for s in p)
        table = pa.Table.from_pylist(self.rows, schema=self.schema)
        validate(table)
        state = self.out / STATE_DIR
        rejects = end.rejects + self.rejects
        write_text(state / f"{name}.rejects.jsonl", "".join(_json_line(dataclasses.asdict(r)) for r in rejects))
        write_table(state / f"{name}.dedup.arrow", _dedup_state(self.kept))
        entry = write_table(self.out / name, table)
        entry.update({"records": list(end.records), "stats": dict(sorted(counts.items())), "dedup_examples": self.examples})
        if self.labels:
            entry["decontamination"] = self.tally.to_dict()
        return entry

    def _reload_dedup_state(self, name: str) -> None:
        table = read_table(self.out / STATE_DIR / f"{name}.dedup.arrow")
        for doc_id, digest, sig in zip(*(table.column(c).to_pylist() for c in ("id", "digest", "signature"))):
            self.ids.add(doc_id)
            minhash = lean(np.array(sig, dtype=np.uint64)) if sig is not None else None
            self.deduper.remember(doc_id, digest, minhash)


# Line breaks to str.splitlines() and many editors that JSON leaves unescaped: escaped, so that one
# reject stays one line whatever its snippet holds.
_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def _json_line(value: dict) -> str:
    return json.dumps(value, ensure_ascii=False).translate(_LINE_BREAKS) + "\n"


def _count_drop(counts: Counter, drop: Drop) -> None:
    counts[f"dropped.{drop.reason}"] += 1
    if drop.reason == "lang":
        counts[f"dropped_lang.{drop.detail}"] += 1


def _is_batch(event: Any) -> bool:
    return isinstance(event, _Batch)


def _process(settings: TextSettings, batch: _Batch) -> list:
    return process_batch(batch.items, settings)


def _dedup_state(kept: list[tuple[str, bytes, Any]]) -> pa.Table:
    return pa.table({"id": pa.array([k[0] for k in kept], pa.string()),
                     "digest": pa.array([k[1] for k in kept], pa.binary()),
                     "signature": pa.array([None if k[2] is None else k[2].tolist() for k in kept], pa.list_(pa.uint64()))})


def _first_examples(entries: list[dict], per_reason: int = 5) -> list[dict]:
    out: list[dict] = []
    for example in (e for entry in entries for e in entry.get("dedup_examples", [])):
        if sum(o["reason"] == example["reason"] for o in out) < per_reason:
            out.append(example)
    return out


def _write_rejects(out: Path, entries: list[dict]) -> None:
    parts = [(out / STATE_DIR / f"{e['name']}.rejects.jsonl") for e in entries]
    write_text(out / REJECTS, "".join(p.read_text(encoding="utf-8") for p in parts if p.exists()))


def _versions() -> dict[str, str]:
    names = ("pyarrow", "spacy", "datasketch", "mwparserfromhell", "opencc", "hanlp")
    found = {"python": platform.python_version()}
    for name in names:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return found
