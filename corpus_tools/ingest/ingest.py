"""`ingest`: raw inputs -> a documents or searchlog dataset of Arrow shards.

The driver only plans and merges; workers read and write their own data. Three steps:
1. read: the inputs are cut into units (units.py: files, bz2 streams, line ranges, zstd frames),
   planned from the inputs alone. A worker reads one unit, cleans it and writes it to OUT/.state/ in
   chunks of at most `shard_size` records: each chunk's rows before dedup, its signature table (id,
   digest, MinHash signature) and its rejects, then the unit's summary, last (so --resume trusts a
   finished unit). The rows before dedup are deleted once the run is complete.
2. dedup: `find_duplicates` over the signature tables in input order gives the rows to remove: the
   first of each group of duplicates in input order is kept, as one process would keep it.
3. write: a worker applies the removals to one chunk and writes it as shard part-NNNNN.arrow.
The layout (one shard per chunk, chunks within units) depends on the inputs and settings only, so the
shards are byte-identical for any worker count and engine. OUT may be a pyarrow filesystem URI
(s3://, gs://, hdfs://, file://): on a cluster every worker writes there."""
from __future__ import annotations

import dataclasses
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Callable, Optional, Union

import pyarrow as pa

from schemas import __version__
from corpus_tools.ingest import sources
from corpus_tools.dedup.stages import find_duplicates
from corpus_tools.run.engine import Parallel, Pool, run_units, where
from corpus_tools.ingest.formats import check as check_input, reader, resolve
from corpus_tools.ingest.readers.options import ReadOptions
from corpus_tools.run.job import Job
from corpus_tools.text.lang import parse_langs
from corpus_tools.ingest.process import Contaminated, Doc, TextSettings, process_batch
from corpus_tools.ingest.readers.records import Drop, Reject
from corpus_tools.run.shards import REJECTS, STATE_DIR, OutputError, Store, shard_name
from corpus_tools.run.stats import merge, nest
from corpus_tools.run.versions import versions
from corpus_tools.ingest.units import UNIT_BYTES, Unit, count_lines, items, plan
from schemas import metadata, schema_for
from schemas.validate import validate

__all__ = ["IngestConfig", "IngestResult", "Progress", "ingest", "OutputError"]


@dataclass(frozen=True)
class IngestConfig:
    fmt: str = "auto"
    text: TextSettings = field(default_factory=TextSettings)
    read: ReadOptions = field(default_factory=ReadOptions)
    shard_size: int = 5000  # input records per shard, within a unit: fixes the output layout
    unit_bytes: int = UNIT_BYTES  # input bytes per unit of a large file: fixes the layout too
    batch_size: int = 64  # records cleaned together (at most) ...
    batch_chars: int = 1 << 20  # ... and characters: one huge book does not hold a batch of 64


@dataclass
class Progress:
    records: int = 0  # input records read
    kept: int = 0
    shards: int = 0
    bytes_read: int = 0  # input bytes (compressed) of the finished units
    bytes_total: int = 0


@dataclass
class IngestResult:
    out: Union[Path, str]
    kind: str
    stats: dict[str, Any]
    errors: list[str]


def output_settings(config: IngestConfig) -> dict[str, Any]:
    """The settings that determine the output: recorded in metadata and manifest."""
    settings = dataclasses.asdict(config)
    for key in ("batch_size", "batch_chars"):  # they change the speed, not the output
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


@dataclass(frozen=True)
class _Spec:
    """What every worker of one ingest needs: where to write and how to clean."""

    out: str
    config: IngestConfig
    kind: str
    created_by: str

    def schema(self) -> pa.Schema:
        return schema_for(self.kind, {metadata.CREATED_BY: self.created_by,
                                      metadata.BUILD_CONFIG: output_settings(self.config)})


@dataclass(frozen=True)
class _Chunk:
    """Step 3's unit: chunk `chunk` of unit `unit` becomes shard `index`."""

    index: int
    unit: int
    chunk: int
    records: tuple[int, int]
    stats: dict
    decontamination: Optional[dict]
    removed: dict

    def where(self) -> str:
        return f"shard {shard_name(self.index)} (chunk {self.chunk} of input unit {self.unit})"


def _chunk_name(unit: int, chunk: int, what: str) -> str:
    return f"{STATE_DIR}/unit-{unit:05d}-{chunk:05d}.{what}"


def _unit_name(unit: int) -> str:
    return f"{STATE_DIR}/unit-{unit:05d}.json"


def ingest(inputs: list[Union[str, Path]], out: Union[str, Path], config: IngestConfig = IngestConfig(),
           parallel: Parallel = Parallel(), overwrite: bool = False, resume: bool = False,
           progress: Optional[Callable[[Progress], None]] = None) -> IngestResult:
    """Run the whole ingest; raises InputError/OutputError for problems a user must fix."""
    out = out if "://" in str(out) else Path(out)
    try:
        parse_langs(config.text.lang)
    except ValueError as exc:
        raise sources.InputError(f"--lang: {exc}") from None
    kind, planned = plan_inputs(inputs, config.fmt, config.read)
    if config.text.decontaminate and kind != "documents":
        raise sources.InputError("--decontaminate applies to documents; search logs are not checked")
    index = _eval_index(config)  # bad eval files: fail now
    input_list = [{"path": str(p.resolve()), "format": f, "bytes": p.stat().st_size, "mtime_ns": p.stat().st_mtime_ns}
                  for p, f in planned]
    units = plan(planned, config.read, config.unit_bytes)
    created_by = f"ernie-corpus {__version__}"
    header = json.loads(json.dumps({
        "kind": kind, "schema_version": schema_for(kind).metadata[metadata.SCHEMA_VERSION.encode()].decode(),
        "created_by": created_by, "settings": output_settings(config), "inputs": input_list,
        "versions": versions()}))
    job = Job(out, header, overwrite, resume, identity=("settings", "inputs"))
    spec = _Spec(job.store.location, config, kind, created_by)
    state = Progress(bytes_total=sum(u.bytes for u in units))
    report = progress or (lambda _: None)
    started = time.monotonic()
    if config.text.dedup.near:  # imported before the pool forks, so its workers inherit it; never for --no-dedup
        import datasketch  # noqa: F401
    with job.running(), Pool(parallel) as pool:  # one set of workers for every step
        units = _number_lines(units, config, pool)
        summaries = _read_units(spec, units, job, state, report, pool)
        chunks = _plan_chunks(spec, job.store, summaries, pool)
        for number, entry in _write_shards(spec, chunks, job, pool):
            job.add(number, entry)
            state.kept += entry["rows"]
            state.shards += 1
            report(state)
    entries = job.manifest["shards"]
    errors = [e for s in summaries for e in s["errors"]]
    stats = nest(merge(e["stats"] for e in entries))
    stats.update({"kind": kind, "shards": len(entries), "units": len(units), "errors": errors,
                  "lost_streams": [lost for s in summaries for lost in s["lost_streams"]],
                  "dedup_examples": _first_examples(entries), "seconds": round(time.monotonic() - started, 3)})
    if index is not None:
        from corpus_tools.decontam.contamination import Tally, summary

        tally = Tally(index.labels)
        for entry in entries:
            tally.merge(entry.get("decontamination", {"removed": {}, "examples": []}))
        stats["decontamination"] = summary(index, config.text.decontaminate.config, tally)
        stats["decontaminated"] = {"documents": 0, "sentences": 0, **stats.get("decontaminated", {})}
    job.store.write_text(REJECTS, "".join(job.store.read_text(_chunk_name(c.unit, c.chunk, "rejects.jsonl"))
                                          for c in chunks))
    job.finish(stats, complete=not errors)
    for chunk in chunks:  # the rows before dedup are in the shards now; signature tables stay for later dedup
        job.store.delete(_chunk_name(chunk.unit, chunk.chunk, "pre.arrow"))
    return IngestResult(out, kind, stats, errors)


def _number_lines(units: list[Unit], config: IngestConfig, pool: Pool) -> list[Unit]:
    """zst-frames units learn the number of their first line from a counting pass in the workers
    (decompression only: a small share of the cleaning time), so ids and origins are those of a
    whole-file read."""
    framed = [u for u in units if u.kind == "zst-frames"]
    counts = {framed[k].index: n for k, n in run_units(count_lines, framed, label="count", pool=pool,
                                                                 describe=Unit.where)}
    first: dict[str, int] = {}
    out = []
    for unit in units:
        if unit.kind == "zst-frames":
            line = first.get(unit.paths[0], 1)
            first[unit.paths[0]] = line + counts[unit.index]
            unit = dataclasses.replace(unit, first_line=line)
        out.append(unit)
    return out


def _read_units(spec: _Spec, units: list[Unit], job: Job, state: Progress, report, pool: Pool) -> list[dict]:
    """Step 1: every unit read, cleaned and written by a worker (finished units kept on --resume)."""
    summaries: dict[int, dict] = {}
    todo = []
    for unit in units:
        if not job.fresh and job.store.exists(_unit_name(unit.index)):
            done = job.store.read_json(_unit_name(unit.index))
            if all(job.store.exists(_chunk_name(unit.index, i, "pre.arrow")) for i in range(len(done["chunks"]))):
                summaries[unit.index] = done
                continue
        todo.append(unit)
    for done in summaries.values():
        _count(state, done)
    report(state)
    if summaries:
        job.started()
    for _, done in run_units(partial(_read_unit, spec), todo, label="read", pool=pool,
                                describe=Unit.where):
        summaries[done["unit"]] = done
        job.started()
        _count(state, done)
        report(state)
    return [summaries[u.index] for u in units]


def _count(state: Progress, summary: dict) -> None:
    state.records += sum(c["stats"].get("records", 0) for c in summary["chunks"])
    state.bytes_read += summary["bytes"]


def _plan_chunks(spec: _Spec, store: Store, summaries: list[dict], pool: Pool) -> list[_Chunk]:
    """Step 2: dedup over all signature tables; each chunk learns its shard index and its removals."""
    located = [(s["unit"], i, c) for s in summaries for i, c in enumerate(s["chunks"])]
    tables = [store.uri(_chunk_name(unit, i, "sig.arrow")) for unit, i, _ in located]
    verdicts = find_duplicates(tables, spec.config.text.dedup, store.uri(f"{STATE_DIR}/dedup"), pool=pool)
    chunks, first = [], 0
    for index, ((unit, i, chunk), removed) in enumerate(zip(located, verdicts)):
        chunks.append(_Chunk(index, unit, i, (first, first + chunk["processed"]), chunk["stats"],
                             chunk.get("decontamination"), removed))
        first += chunk["processed"]
    return chunks


def _write_shards(spec: _Spec, chunks: list[_Chunk], job: Job, pool: Pool):
    """Step 3: shards already finished (on --resume) are kept, the others written by workers."""
    todo = []
    for chunk in chunks:
        name = shard_name(chunk.index)
        if name in job.done:
            yield chunk.index, job.done[name]
        else:
            todo.append(chunk)
    for _, (index, entry) in run_units(partial(_write_shard, spec), todo, label="write", pool=pool,
                                           describe=_Chunk.where):
        yield index, entry


class _ChunkWriter:
    """Collects one chunk of a unit in the worker and writes its sidecars to OUT/.state/."""

    def __init__(self, spec: _Spec, store: Store, unit: int, labels: list[str]):
        self.spec, self.store, self.unit, self.labels = spec, store, unit, labels
        self.schema = spec.schema()
        self.written: list[dict] = []
        self._reset()

    def _reset(self) -> None:
        self.rows: list[dict] = []
        self.snippets: list[str] = []
        self.signatures: list[tuple[str, bytes, Any]] = []
        self.counts: Counter = Counter()
        self.rejects: list[Reject] = []
        self.tally = _tally(self.labels) if self.labels else None  # counts what decontamination removed
        self.processed = 0

    def empty(self) -> bool:
        return not (self.processed or self.counts.total() or self.rejects)

    def add(self, results: list) -> None:
        for result in results:
            if not isinstance(result, Reject) and result.lang_check:
                self.counts[f"lang_check.{result.lang_check}"] += 1
            if isinstance(result, Contaminated):
                self._contaminated(result.doc_id, result.finding)
            elif isinstance(result, Doc):
                self.counts["forced_splits"] += result.forced_splits
                doc_id = result.row.get("doc_id") or result.row["result_id"]
                if result.contamination is not None:
                    self._contaminated(doc_id, result.contamination)
                self.rows.append(result.row)
                self.snippets.append(result.text[:160])
                self.signatures.append((doc_id, result.digest, result.signature))
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

    def close(self) -> None:
        chunk = len(self.written)
        table = pa.Table.from_pylist(self.rows, schema=self.schema)
        table = table.append_column("_snippet", pa.array(self.snippets, pa.string()))
        self.store.write_table(_chunk_name(self.unit, chunk, "pre.arrow"), table)
        self.store.write_table(_chunk_name(self.unit, chunk, "sig.arrow"), _dedup_state(self.signatures))
        self.store.write_text(_chunk_name(self.unit, chunk, "rejects.jsonl"),
                              "".join(_json_line(dataclasses.asdict(r)) for r in self.rejects))
        entry = {"processed": self.processed, "stats": dict(sorted((+self.counts).items()))}
        if self.labels:
            entry["decontamination"] = self.tally.to_dict()
        self.written.append(entry)
        self._reset()


def _eval_index(config: IngestConfig):
    """The eval sets' n-gram index for --decontaminate, else None (and the decontamination modules
    are not imported: most ingests never need them)."""
    if not config.text.decontaminate:
        return None
    from corpus_tools.decontam.contamination import load_index

    return load_index(config.text.decontaminate)


def _tally(labels: list[str]):
    from corpus_tools.decontam.contamination import Tally

    return Tally(labels)


def _read_unit(spec: _Spec, unit: Unit) -> dict:
    """Step 1 in a worker: read, clean and write one unit; returns (and writes, last) its summary."""
    config, store = spec.config, Store(spec.out)
    index = _eval_index(config)
    labels = index.labels if index is not None else []
    writer = _ChunkWriter(spec, store, unit.index, labels)
    errors: list[str] = []
    lost: list[dict] = []
    batch: list = []
    chars = 0
    replaced = sources.replacement_count()

    def flush() -> None:
        nonlocal batch, chars
        if batch:
            writer.add(process_batch(batch, config.text))
            batch, chars = [], 0

    for item in items(unit, config.read, errors, lost):
        writer.counts["records"] += 1  # every record read is kept, dropped, rejected or deduplicated
        if isinstance(item, Reject):
            writer.rejects.append(item)
            writer.counts[f"rejected.{item.reason}"] += 1
            continue
        if isinstance(item, Drop):
            _count_drop(writer.counts, item)
            continue
        batch.append(item)
        chars += len(getattr(item, "text", ""))
        writer.processed += 1
        if len(batch) == config.batch_size or chars >= config.batch_chars:
            flush()
        if writer.processed == config.shard_size:
            flush()
            writer.counts["utf8_replaced"] += sources.replacement_count() - replaced
            replaced = sources.replacement_count()
            writer.close()
    flush()
    writer.counts["utf8_replaced"] += sources.replacement_count() - replaced
    if not writer.empty() or (unit.index == 0 and not writer.written):  # an empty dataset still has one shard
        writer.close()
    summary = {"unit": unit.index, "unit_plan": unit.describe(), "chunks": writer.written, "errors": errors,
               "lost_streams": lost, "bytes": unit.bytes, "node": where()}
    store.write_json(_unit_name(unit.index), summary)
    return summary


def _write_shard(spec: _Spec, chunk: _Chunk) -> tuple[int, dict]:
    """Step 3 in a worker: one chunk minus its duplicates -> shard part-<index>.arrow."""
    store = Store(spec.out)
    table = store.read_table(_chunk_name(chunk.unit, chunk.chunk, "pre.arrow"))
    counts = Counter(chunk.stats)
    examples: list[dict] = []
    if chunk.removed:
        ids = table.column("doc_id" if spec.kind == "documents" else "result_id").to_pylist()
        snippets = table.column("_snippet").to_pylist()
        for row, verdict in sorted(chunk.removed.items()):
            counts[f"dedup.{verdict.reason}"] += 1
            if verdict.reason != "duplicate_id" and sum(e["reason"] == verdict.reason for e in examples) < 5:
                examples.append({"reason": verdict.reason, "doc_id": ids[row], "duplicate_of": verdict.duplicate_of,
                                 "similarity": verdict.similarity, "text": snippets[row]})
        keep = [row not in chunk.removed for row in range(table.num_rows)]
        table = table.filter(pa.array(keep, pa.bool_()))
    table = table.drop_columns(["_snippet"]).combine_chunks()
    counts["kept"] += table.num_rows
    for lang, source in zip(table.column("lang").to_pylist(), table.column("source").to_pylist()):
        counts[f"lang.{lang}"] += 1
        counts[f"source.{source}"] += 1
    if "paragraphs" in table.column_names:
        for paragraphs in table.column("paragraphs").to_pylist():
            counts["paragraphs"] += len(paragraphs)
            counts["sentences"] += sum(len(p) for p in paragraphs)
            counts["chars"] += sum(len(s) for p in paragraphs for s in p)
    validate(table)
    entry = store.write_table(shard_name(chunk.index), table)
    entry.update({"records": list(chunk.records), "stats": dict(sorted((+counts).items())), "dedup_examples": examples})
    if chunk.decontamination is not None:
        entry["decontamination"] = chunk.decontamination
    return chunk.index, entry


# Line breaks to str.splitlines() and many editors that JSON leaves unescaped: escaped, so that one
# reject stays one line whatever its snippet holds.
_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def _json_line(value: dict) -> str:
    return json.dumps(value, ensure_ascii=False).translate(_LINE_BREAKS) + "\n"


def _count_drop(counts: Counter, drop: Drop) -> None:
    counts[f"dropped.{drop.reason}"] += 1
    if drop.reason == "lang":
        counts[f"dropped_lang.{drop.detail}"] += 1


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

