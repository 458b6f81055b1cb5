"""`decontaminate`: a documents dataset -> the same dataset without the eval-set text in it.

A fine-tuning score means something only if pre-training never saw the test sentences. The eval
files (corpus_tools/decontam/eval_sets.py: TSV/CSV/JSONL with text columns, and the NER layout) are indexed
as n-grams (corpus_tools/decontam/contamination.py) and every document holding one is removed (granularity
"document", as GPT-3 did), or only the sentences holding it ("sentence": a paragraph left empty
goes, a document left empty goes).

n-grams are words for English (n = 13, GPT-3) and characters for Chinese (n = 20). Why 20: a
Chinese word averages about 1.5 characters, so 20 characters span about GPT-3's 13 words; on the
shared samples (2,564 CLUE and zhwiki documents against ChnSentiCorp, XNLI-zh and MSRA-NER dev)
n = 8 and 10 matched set phrases (国际货币基金组织, 中国人民政治协商会议) in 45 and 10 documents,
n = 12 to 15 still one (中国共产党领导的多党合作和政治协商制度), n = 20 none; and 98% of ChnSentiCorp
and 85% of MSRA-NER dev texts have 20 characters or more, while the shorter ones (most of XNLI's)
are single sentences, compared whole. An eval text shorter than its n is compared whole after
normalization: it matches a sentence or a paragraph with exactly its tokens (contamination.py);
texts under `min_tokens` (4) are not used.

Input shard i becomes output shard i; inside it, fixed row ranges go to the engine (local process
pool or Ray) and come back in order, so the output is identical for any worker count. Memory holds
the eval index and one shard's rows, never the corpus."""
from __future__ import annotations

import dataclasses
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Union

import pyarrow as pa

from schemas import __version__
from corpus_tools.decontam.contamination import DecontaminationConfig, EvalSets, Tally, check, load_index, summary
from corpus_tools.run.dataset import documents_shards
from corpus_tools.run.engine import Parallel, ordered_map
from corpus_tools.decontam.eval_sets import label
from corpus_tools.run.job import Job
from corpus_tools.run.shards import OutputError, Store, sha256_file, shard_name
from corpus_tools.run.stats import merge, nest
from corpus_tools.run.versions import versions
from schemas import metadata, schema_for
from schemas.validate import read_table, validate

__all__ = ["DecontaminationConfig", "DecontaminationResult", "decontaminate", "eval_sets"]


@dataclass
class DecontaminationResult:
    out: Union[Path, str]
    stats: dict[str, Any]


@dataclass(frozen=True)
class _Unit:
    shard: str
    start: int
    stop: int
    sets: EvalSets


@dataclass(frozen=True)
class _ShardEnd:
    index: int


def eval_sets(against: list[Union[str, Path]], config: DecontaminationConfig = DecontaminationConfig()) -> EvalSets:
    """The eval files (absolute paths) with the settings, checked: raises InputError for a missing
    file or one without a recognisable text column."""
    sets = EvalSets(tuple(str(Path(p).resolve()) for p in against), config)
    load_index(sets)
    return sets


def decontaminate(docs: Union[str, Path], out: Union[str, Path], against: list[Union[str, Path]],
                  config: DecontaminationConfig = DecontaminationConfig(), parallel: Parallel = Parallel(),
                  overwrite: bool = False, batch_rows: int = 256,
                  progress: Optional[Callable[[int, int], None]] = None) -> DecontaminationResult:
    """Write `docs` without the documents (or sentences) that hold eval text to `out`.
    Raises InputError/OutputError for problems a user must fix."""
    docs = Path(docs)
    sets = eval_sets(against, config)
    index = load_index(sets)
    shards = documents_shards([docs], "decontaminate")
    if "://" not in str(out) and Path(out).resolve() == docs.resolve():
        raise OutputError(f"{out}: the output must be another directory than the input")
    settings = {"decontamination": dataclasses.asdict(config),
                "against": [{"path": p, "label": label(p), "sha256": sha256_file(p)} for p in sets.paths]}
    header = {"kind": "documents", "schema_version": schema_for("documents").metadata[metadata.SCHEMA_VERSION.encode()].decode(),
              "created_by": f"ernie-corpus {__version__}", "settings": settings, "inputs": shards,
              "versions": versions()}
    job = Job(out, header, overwrite)
    schema = schema_for("documents", {metadata.CREATED_BY: header["created_by"], metadata.BUILD_CONFIG: settings})
    started = time.monotonic()
    total, done = sum(s["rows"] for s in shards), 0
    parts: list[pa.Table] = []
    counts: Counter = Counter()
    tally = Tally(index.labels)
    with job.running():
        for item, result in ordered_map(_run_unit, _units(shards, sets, batch_rows), parallel, is_work=_is_unit):
            if isinstance(item, _Unit):
                table, unit_counts, unit_tally = result
                parts.append(table)
                counts.update(unit_counts)
                tally.merge(unit_tally)
                done += item.stop - item.start
                if progress:
                    progress(done, total)
                continue
            job.add(item.index, _write_shard(job.store, shard_name(item.index), parts, schema, counts, tally))
            parts, counts, tally = [], Counter(), Tally(index.labels)
    entries = job.manifest["shards"]
    final = Tally(index.labels)
    for entry in entries:
        final.merge(entry["decontamination"])
    stats = nest(merge(e["stats"] for e in entries))
    stats["decontaminated"] = {"documents": 0, "sentences": 0, **stats.get("decontaminated", {})}
    stats.update({"kind": "documents", "shards": len(entries), "errors": [],
                  "decontamination": summary(index, config, final), "seconds": round(time.monotonic() - started, 3)})
    job.finish(stats)
    return DecontaminationResult(out if "://" in str(out) else Path(out), stats)


def _units(shards: list[dict], sets: EvalSets, rows: int) -> Iterator[Union[_Unit, _ShardEnd]]:
    """Fixed row ranges: the same units for any worker count."""
    for index, shard in enumerate(shards):
        for start in range(0, shard["rows"], rows):
            yield _Unit(shard["path"], start, min(start + rows, shard["rows"]), sets)
        yield _ShardEnd(index)


def _is_unit(item: Any) -> bool:
    return isinstance(item, _Unit)


def _run_unit(unit: _Unit) -> tuple[pa.Table, Counter, dict]:
    """One row range -> the rows left (Arrow: cheap to send back), counters and the tally."""
    index = load_index(unit.sets)
    table = read_table(unit.shard).slice(unit.start, unit.stop - unit.start)
    documents = table.column("paragraphs").to_pylist()
    findings = check(documents, index, unit.sets.config.granularity)
    counts: Counter = Counter({"records": table.num_rows})
    tally = Tally(index.labels)
    ids = table.column("doc_id").to_pylist()
    keep = []
    headings = None
    for row, finding in enumerate(findings):
        keep.append(finding is None or not finding.drop)
        if finding is None:
            continue
        tally.add(ids[row], finding)
        counts["decontaminated.documents"] += finding.drop
        counts["decontaminated.sentences"] += finding.sentences
        if unit.sets.config.granularity == "sentence":
            if not finding.drop:
                headings = headings if headings is not None else table.column("headings").to_pylist()
                documents[row] = finding.paragraphs
                headings[row] = [headings[row][i] for i in finding.keep]
    if headings is not None:
        for name, values in (("paragraphs", documents), ("headings", headings)):
            field = table.schema.field(name)
            table = table.set_column(table.schema.get_field_index(name), field, pa.array(values, field.type))
    return table.filter(pa.array(keep, pa.bool_())), counts, tally.to_dict()


def _write_shard(store: Store, name: str, parts: list[pa.Table], schema: pa.Schema, counts: Counter,
                 tally: Tally) -> dict:
    table = pa.concat_tables(parts).combine_chunks() if parts else schema.empty_table()
    table = table.replace_schema_metadata(schema.metadata)
    validate(table)
    counts["kept"] += table.num_rows
    for lang in table.column("lang").cast(pa.string()).to_pylist():
        counts[f"lang.{lang}"] += 1
    for source in table.column("source").cast(pa.string()).to_pylist():
        counts[f"source.{source}"] += 1
    for paragraphs in table.column("paragraphs").to_pylist():
        counts["paragraphs"] += len(paragraphs)
        counts["sentences"] += sum(len(p) for p in paragraphs)
        counts["chars"] += sum(len(s) for p in paragraphs for s in p)
    entry = store.write_table(name, table)
    entry.update({"stats": dict(sorted(counts.items())), "decontamination": tally.to_dict()})
    return entry
