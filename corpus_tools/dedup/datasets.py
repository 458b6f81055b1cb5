"""`dedup`: documents datasets -> one documents dataset without their duplicates.

For datasets ingested apart (sources, months) that must be deduplicated together, and for dumps
added later, deduplicated against datasets kept before (`against`: never changed, their documents
come first). The documents are judged in the order given, dataset by dataset, shard by shard, as
ingest judges its input: a duplicate id, an exact duplicate or a near-duplicate of an earlier kept
document goes (dedup.py, dedup_stages.py).

The four steps of the stage: a worker computes each shard's signatures (step 1, the same text,
digest and MinHash as ingest), `find_duplicates` partitions and resolves them (steps 2 and 3),
and a worker writes each shard without its removed rows (step 4). Input shard i (counting across
the datasets) becomes output shard i, so the layout is kept; the output is identical for any
worker count and engine. Scratch files live in OUT/.state and are deleted at the end. The inputs
are local directories (on a cluster, a shared file system at the same path on every node); OUT
may be a pyarrow filesystem URI (s3://, gs://, hdfs://, file://), as ingest's --out.

Step 1 takes the signature tables that ingest kept in a dataset's .state where they hold what it
would compute: a complete ingest output, the same num_perm and n-grams, the shard unchanged
(its recorded sha256) and every row found in the table with its id and digest."""
from __future__ import annotations

import dataclasses
import time
from collections import Counter
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Optional, Sequence, Union

import pyarrow as pa

from schemas import __version__
from corpus_tools.run.dataset import documents_shards
from corpus_tools.dedup.minhash import DedupConfig, Verdict, exact_hash, signature
from corpus_tools.dedup.stages import Progress, find_duplicates, warm_imports
from corpus_tools.run.engine import Parallel, Pool, ordered_map
from corpus_tools.run.job import Job
from corpus_tools.run.shards import STATE_DIR, OutputError, Store, load_manifest, open_table, sha256_file, shard_name
from schemas.errors import InputError
from corpus_tools.run.stats import merge, nest
from corpus_tools.run.versions import versions
from schemas import metadata, schema_for
from schemas.validate import read_table, validate

EXAMPLES = 5  # per reason, in stats.json, as ingest keeps


@dataclass
class DedupResult:
    out: Union[Path, str]
    stats: dict[str, Any]


def _kept_signatures(datasets: Sequence[Union[str, Path]], config: DedupConfig) -> dict[str, str]:
    """shard path -> the signature table ingest kept for it in .state (its rows before dedup),
    where the dataset is a complete ingest output whose signatures are those `config` computes
    (same num_perm and n-grams) and whose shard still has the recorded sha256. Chunk i of the
    unit order became shard i (ingest.py), so the sorted table names line up with the shards."""
    found: dict[str, str] = {}
    for dataset in datasets:
        root = Path(dataset)
        manifest = load_manifest(root) if root.is_dir() else None
        text = (manifest or {}).get("settings", {}).get("text", {})
        same = {k: text.get("dedup", {}).get(k) for k in ("num_perm", "word_ngram", "char_ngram", "near")}
        want = {"num_perm": config.num_perm, "word_ngram": config.word_ngram, "char_ngram": config.char_ngram,
                "near": True}
        if not manifest or not manifest.get("complete") or (config.near and same != want):
            continue
        tables = sorted((root / STATE_DIR).glob("unit-*-*.sig.arrow"))
        if len(tables) != len(manifest["shards"]):
            continue
        for entry, table in zip(manifest["shards"], tables):
            shard = root / entry["name"]
            if shard.exists() and sha256_file(shard) == entry["sha256"]:
                found[str(shard.resolve())] = str(table.resolve())
    return found


def dedup(datasets: Sequence[Union[str, Path]], out: Union[str, Path], against: Sequence[Union[str, Path]] = (),
          config: DedupConfig = DedupConfig(), parallel: Parallel = Parallel(), overwrite: bool = False,
          progress: Optional[Progress] = None, reuse: bool = True) -> DedupResult:
    """Write `datasets` without their duplicates to `out`. Step 1 takes the signatures ingest kept
    where they match (`reuse`; the result is the same). Raises InputError/OutputError for problems
    a user must fix."""
    if not datasets:
        raise InputError("dedup needs at least one documents dataset")
    inputs, earlier = documents_shards(datasets, "dedup"), documents_shards(against, "--against")
    both = {p["path"] for p in inputs} & {p["path"] for p in earlier}
    if both:
        raise InputError(f"{sorted(both)[0]}: given both to dedup and to --against; name each dataset once")
    given = {Path(p["path"]).parent for p in inputs + earlier}
    if "://" not in str(out) and Path(out).resolve() in given:
        raise OutputError(f"{out}: the output must be another directory than the inputs")
    settings = {"dedup": dataclasses.asdict(config), "against": earlier}
    version = schema_for("documents").metadata[metadata.SCHEMA_VERSION.encode()].decode()
    header = {"kind": "documents", "schema_version": version, "created_by": f"ernie-corpus {__version__}",
              "settings": settings, "inputs": inputs, "versions": versions()}
    job = Job(out, header, overwrite)
    schema = schema_for("documents", {metadata.CREATED_BY: header["created_by"], metadata.BUILD_CONFIG: settings})
    report = progress or (lambda step, done, total: None)
    started = time.monotonic()
    work = job.store.sub(STATE_DIR)  # absolute, as the inputs: a Ray worker's cwd differs
    warm_imports()
    with job.running(), Pool(parallel) as pool:
        kept = _kept_signatures([*against, *datasets], config) if reuse else {}
        jobs = [(p["path"], work.uri(f"signatures/{i:06d}.arrow"), kept.get(p["path"]))
                for i, p in enumerate(earlier + inputs)]
        tables, reused = [], 0
        for item, took in ordered_map(partial(_signatures, config), jobs, pool=pool):
            tables.append(item[1])
            reused += took
            report("signatures", len(tables), len(jobs))
        removed = find_duplicates(tables[len(earlier):], config, work.location, earlier=tables[:len(earlier)],
                                  progress=progress, pool=pool)
        items = [(p["path"], job.store, shard_name(i), removed[i]) for i, p in enumerate(inputs)]
        for index, (_, entry) in enumerate(ordered_map(partial(_apply, schema), items, pool=pool)):
            job.add(index, entry)
            report("write", index + 1, len(items))
    if work.exists("signatures"):
        work.sub("signatures").remove_all()
    entries = job.manifest["shards"]
    stats = nest(merge(e["stats"] for e in entries))
    stats.update({"kind": "documents", "shards": len(entries), "errors": [],
                  "dedup_examples": _first_examples(entries), "signatures_reused": reused,
                  "seconds": round(time.monotonic() - started, 3)})
    job.finish(stats)
    return DedupResult(out if "://" in str(out) else Path(out), stats)


def document_text(paragraphs: list[list[str]]) -> str:
    """The text ingest hashes and shingles (process.py): sentences joined by spaces, paragraphs by lines."""
    return "\n".join(" ".join(p) for p in paragraphs)


def _signatures(config: DedupConfig, job: tuple[str, str, Optional[str]]) -> bool:
    """Step 1 for one shard: its signature table (id, digest, signature), as ingest writes it;
    taken from ingest's table `kept` when each of the shard's rows is found there in order with
    the same id and digest (the same text: the same signature). Returns whether it was."""
    shard, target, kept = job
    table = read_table(shard)
    ids = table.column("doc_id").to_pylist()
    texts = [document_text(p) for p in table.column("paragraphs").to_pylist()]
    digests = [exact_hash(text) for text in texts]
    folder, _, name = target.rpartition("/")
    earlier = open_table(kept) if kept else None
    rows = _rows_in(earlier, ids, digests) if earlier is not None else None
    if rows is not None:
        found = earlier.take(pa.array(rows, pa.int64())).select(["id", "digest", "signature"])
        if not config.near:
            found = found.set_column(2, "signature", pa.nulls(len(rows), pa.list_(pa.uint64())))
        Store(folder).write_scratch(name, found)
        return True
    sigs = [signature(text, lang, config).tolist() for text, lang in zip(texts, table.column("lang").to_pylist())
            ] if config.near else [None] * len(ids)
    Store(folder).write_scratch(name, pa.table({
        "id": pa.array(ids, pa.string()), "digest": pa.array(digests, pa.binary()),
        "signature": pa.array(sigs, pa.list_(pa.uint64()))}))
    return False


def _rows_in(kept: pa.Table, ids: list[str], digests: list[bytes]) -> Optional[list[int]]:
    """The rows of `kept` that the shard's rows are, in order (ingest removed the others), or None."""
    rows, at = [], 0
    kept_ids, kept_digests = kept.column("id").to_pylist(), kept.column("digest").to_pylist()
    for doc_id, digest in zip(ids, digests):
        while at < len(kept_ids) and (kept_ids[at], kept_digests[at]) != (doc_id, digest):
            at += 1
        if at == len(kept_ids):
            return None
        rows.append(at)
        at += 1
    return rows


def _apply(schema: pa.Schema, item: tuple[str, Store, str, dict[int, Verdict]]) -> dict[str, Any]:
    """Step 4 for one shard: written without its removed rows; counters and examples returned."""
    shard, store, target, removed = item
    table = read_table(shard)
    counts: Counter = Counter({"records": table.num_rows})
    examples: list[dict] = []
    ids = table.column("doc_id").to_pylist()
    for row in sorted(removed):
        verdict = removed[row]
        counts[f"dedup.{verdict.reason}"] += 1
        if sum(e["reason"] == verdict.reason for e in examples) < EXAMPLES:
            text = document_text(table.column("paragraphs")[row].as_py())
            examples.append({"reason": verdict.reason, "doc_id": ids[row], "duplicate_of": verdict.duplicate_of,
                             "similarity": verdict.similarity, "text": text[:160]})
    keep = [row not in removed for row in range(table.num_rows)]
    table = table.filter(pa.array(keep, pa.bool_())).replace_schema_metadata(schema.metadata)
    validate(table)
    counts["kept"] += table.num_rows
    for row in table.select(["lang", "source", "paragraphs"]).to_pylist():
        counts[f"lang.{row['lang']}"] += 1
        counts[f"source.{row['source']}"] += 1
        counts["paragraphs"] += len(row["paragraphs"])
        counts["sentences"] += sum(len(p) for p in row["paragraphs"])
        counts["chars"] += sum(len(s) for p in row["paragraphs"] for s in p)
    entry = store.write_table(target, table)
    entry.update({"stats": dict(sorted(counts.items())), "dedup_examples": examples})
    return entry


def _first_examples(entries: list[dict]) -> list[dict]:
    out: list[dict] = []
    for example in (e for entry in entries for e in entry["dedup_examples"]):
        if sum(o["reason"] == example["reason"] for o in out) < EXAMPLES:
            out.append(example)
    return out
