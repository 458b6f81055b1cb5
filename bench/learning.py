"""The learning proof: does pre-training here beat no pre-training, and does the continual
multi-task schedule (CMTL) do at least as well as MLM alone?

Per language, from the samples in ../shared/data:
  1. ingest the pre-training corpus, decontaminated against the eval set it is scored on;
  2. train a WordPiece vocab and build the task shards (en: all seven, ir_relevance from DuReader as
     in the English example; zh: six, no capitalization);
  3. pre-train two models of one size with one budget (steps x tokens per step):
       cmtl      all tasks through the continual multi-task schedule (MLM on every batch)
       mlm_only  knowledge_masking alone
  4. fine-tune each, and the same architecture from random weights, over 3 seeds:
       en: SST-2, train_head2000.tsv -> glue_dev.tsv
       zh: ChnSentiCorp, its 1,200 labelled rows split 800/400 (split seed 0)
Prints the table and writes docs/RESULTS.md and docs/learning.png. Steps already done are reused
(delete --out to start over); each pre-training runs in its own process with one torch thread, two
at a time.

    python bench/learning.py                      # both languages, the recorded settings
    python bench/learning.py --lang en --steps 300  # a quicker look
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = Path(os.environ.get("ERNIE_SHARED_DATA", ROOT.parent / "shared" / "data"))

EN_TASKS = ["knowledge_masking", "capitalization", "token_document", "sentence_reorder", "sentence_distance",
            "discourse_relation", "ir_relevance"]
ZH_TASKS = [t for t in EN_TASKS if t != "capitalization"]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def corpus(lang: str, work: Path, imdb_reviews: int) -> tuple[dict[str, tuple[list[Path], str]], list[Path]]:
    """({dataset name: (raw inputs, format)}, eval files to decontaminate against)."""
    eval_dir = DATA / "eval"
    if lang == "en":
        imdb = work / "imdb.txt"
        if not imdb.exists():
            lines = (DATA / "imdb_unsup" / "unsup_12k.txt").read_text(encoding="utf-8").splitlines()[:imdb_reviews]
            imdb.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return ({"imdb": ([imdb], "text"),
                 "wiki-books-reddit": ([DATA / "enwiki_extracted" / "wiki_00.jsonl", DATA / "gutenberg",
                                        DATA / "reddit"], "auto")},
                [eval_dir / "sst2" / "train_head2000.tsv", eval_dir / "sst2" / "glue_dev.tsv"])
    return ({"wiki-clue": ([DATA / "zhwiki_extracted", DATA / "zh_corpus"], "auto")},
            [eval_dir / "chnsenticorp" / "dev.tsv"])


def prepare(lang: str, work: Path, args) -> dict:
    """Ingest, decontaminate, vocab, task shards; returns what decontamination removed."""
    from itertools import chain

    from corpus_tools.tasks.build import build
    from corpus_tools.run.dataset import iter_sentences
    from corpus_tools.ingest.ingest import IngestConfig, ingest
    from corpus_tools.ingest.process import TextSettings
    from task_builders.vocab import train_vocab
    from task_builders.base import BuildSettings

    datasets, evals = corpus(lang, work, args.imdb_reviews)
    removed, clean = {}, []
    for name, (inputs, fmt) in datasets.items():
        docs = work / f"documents-{name}"
        if not (docs / "manifest.json").exists():
            log(f"{lang}: ingest {', '.join(p.name for p in inputs)}")
            ingest(inputs, docs, IngestConfig(fmt=fmt, text=TextSettings(t2s=lang == "zh"), workers=2),
                   overwrite=True)
        removed[name] = decontaminate(docs, work / f"clean-{name}", evals)
        clean.append(work / f"clean-{name}")
    searchlog = work / "searchlog"
    if not (searchlog / "manifest.json").exists():
        ingest([DATA / "dureader"], searchlog, overwrite=True)
    vocab = work / "vocab"
    if not (vocab / "vocab.txt").exists():
        log(f"{lang}: vocab")
        train_vocab(chain(*(iter_sentences(d) for d in clean), iter_sentences(searchlog)), vocab,
                    vocab_size=args.vocab_size, overwrite=True)
    tasks = work / "tasks"
    if not (tasks / "stats.json").exists():
        log(f"{lang}: build the tasks")
        build(["all"], [*clean, searchlog], vocab, tasks,
              BuildSettings(max_seq_len=args.max_seq_len, spacy_model=args.spacy_model), workers=2, overwrite=True)
    return removed


def decontaminate(docs: Path, out: Path, evals: list[Path]) -> dict:
    """The documents without those that share an n-gram with an eval example."""
    from corpus_tools.decontam.decontaminate import decontaminate as run

    if not (out / "stats.json").exists():
        log(f"decontaminate {docs.name} against {', '.join(p.name for p in evals)}")
        run(docs, out, against=evals, workers=2, overwrite=True)
    return json.loads((out / "stats.json").read_text())["decontamination"]


def pretrain_cmd(tasks: dict[str, str], out: Path, args) -> list[str]:
    cmd = [sys.executable, "-m", "trainer.cli", "pretrain", "--size", args.size, "--max-steps", str(args.steps),
           "--tokens-per-batch", str(args.tokens_per_batch), "--save-every", "0", "--out", str(out), "--quiet",
           "--seed", "42"]
    for name, path in tasks.items():
        cmd += ["--task", f"{name}={path}"]
    return cmd


def run_parallel(jobs: list[tuple[str, list[str]]], parallel: int) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    running: list[tuple[str, subprocess.Popen, float]] = []
    queue = list(jobs)
    while queue or running:
        while queue and len(running) < parallel:
            name, cmd = queue.pop(0)
            log(f"start {name}")
            running.append((name, subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                                   stderr=open(f"{cmd[cmd.index('--out') + 1]}.log", "w")), time.time()))
        time.sleep(2)
        for item in list(running):
            name, proc, started = item
            if proc.poll() is not None:
                running.remove(item)
                if proc.returncode:
                    raise SystemExit(f"{name} failed (exit {proc.returncode}); see its .log")
                log(f"done {name} in {time.time() - started:.0f} s")


def finetune_cmd(lang: str, init: Path | str, out: Path, work: Path, args) -> list[str]:
    eval_dir = DATA / "eval"
    cmd = [sys.executable, "-m", "trainer.cli", "finetune", "--init", str(init), "--out", str(out), "--seeds",
           args.seeds, "--epochs", str(args.epochs), "--max-seq-len", "128", "--quiet", "--overwrite"]
    if str(init) == "random":
        cmd += ["--vocab", str(work / "vocab"), "--size", args.size]
    if lang == "en":
        cmd += ["--train", str(eval_dir / "sst2" / "train_head2000.tsv"), "--dev", str(eval_dir / "sst2" / "glue_dev.tsv")]
    else:
        cmd += ["--train", str(eval_dir / "chnsenticorp" / "dev.tsv"), "--split-dev", "400", "--t2s"]
    return cmd


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lang", default="en,zh")
    parser.add_argument("--out", default=str(ROOT / "out" / "learning"))
    parser.add_argument("--size", default="tiny")
    parser.add_argument("--steps", type=int, default=1000, help="pre-training steps of each model")
    parser.add_argument("--tokens-per-batch", type=int, default=4096)
    parser.add_argument("--max-seq-len", type=int, default=128)
    parser.add_argument("--vocab-size", type=int, default=12000)
    parser.add_argument("--imdb-reviews", type=int, default=6000, help="IMDb reviews in the English corpus")
    parser.add_argument("--spacy-model", default=None)
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--epochs", type=float, default=4)
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--results", default=str(ROOT / "docs" / "RESULTS.md"))
    args = parser.parse_args()
    if args.spacy_model is None:
        from nlp_libs.spacy_loading import resolve_spacy_model

        args.spacy_model = resolve_spacy_model(None)  # the installed copy of en_core_web_sm
    started = time.time()
    out = Path(args.out)
    langs = args.lang.split(",")
    removed, pretrain_jobs, finetune_jobs = {}, [], []
    for lang in langs:
        work = out / lang
        work.mkdir(parents=True, exist_ok=True)
        removed[lang] = prepare(lang, work, args)
        names = EN_TASKS if lang == "en" else ZH_TASKS
        tasks = {t: str(work / "tasks" / t) for t in names if (work / "tasks" / t / "manifest.json").exists()}
        for variant, chosen in (("cmtl", tasks), ("mlm_only", {"knowledge_masking": tasks["knowledge_masking"]})):
            run = work / f"pretrain-{variant}"
            if not (run / "checkpoints" / "latest").exists():
                if run.exists():
                    import shutil
                    shutil.rmtree(run)
                pretrain_jobs.append((f"{lang} pretrain {variant}", pretrain_cmd(chosen, run, args)))
        for variant in ("cmtl", "mlm_only", "random"):
            init = "random" if variant == "random" else work / f"pretrain-{variant}"
            target = work / f"finetune-{variant}"
            if not (target / "results.json").exists():
                finetune_jobs.append((f"{lang} finetune {variant}", finetune_cmd(lang, init, target, work, args)))
    run_parallel(pretrain_jobs, args.parallel)
    run_parallel(finetune_jobs, args.parallel)
    report(out, langs, removed, args, time.time() - started)


def report(out: Path, langs: list[str], removed: dict, args, seconds: float) -> None:
    rows = []
    for lang in langs:
        for variant in ("random", "mlm_only", "cmtl"):
            results = json.loads((out / lang / f"finetune-{variant}" / "results.json").read_text())
            values = results["summary"]["values"]
            run = out / lang / f"pretrain-{variant}"
            minutes = steps = tokens = mlm = None
            if run.exists():
                metrics = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines() if l.strip()]
                minutes = sum(m["seconds"] for m in metrics) / 60
                steps, tokens = len(metrics), sum(m["tokens"] for m in metrics)
                tail = [m["mlm_loss"] for m in metrics[-100:] if "mlm_loss" in m]
                mlm = sum(tail) / len(tail) if tail else None
            rows.append({"lang": lang, "task": "SST-2" if lang == "en" else "ChnSentiCorp", "init": variant,
                         "values": values, "mean": statistics.fmean(values),
                         "std": statistics.pstdev(values), "median": statistics.median(values),
                         "pretrain_minutes": minutes, "pretrain_steps": steps, "pretrain_tokens": tokens,
                         "final_mlm_loss": mlm, "majority": results.get("majority")})
    lines = ["| lang | eval | init | accuracy (3 seeds) | mean ± std | median | pre-training steps / tokens / "
             "minutes | MLM loss, last 100 steps |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['lang']} | {r['task']} | {r['init']} | {', '.join(f'{v:.4f}' for v in r['values'])} | "
                     f"{r['mean']:.4f} ± {r['std']:.4f} | {r['median']:.4f} | "
                     f"{_run(r)} | {_loss(r['final_mlm_loss'])} |")
    table = "\n".join(lines)
    print(table)
    (out / "results.md").write_text(table + "\n", encoding="utf-8")
    (out / "learning.json").write_text(json.dumps({"rows": rows, "removed": removed, "args": vars(args),
                                                   "seconds": seconds}, indent=2, default=str))
    plot(rows, ROOT / "docs" / "learning.png")
    print(f"wrote {out / 'learning.json'} and docs/learning.png; total {seconds / 60:.1f} min")


def _loss(value) -> str:
    return "-" if value is None else f"{value:.2f}"


def _run(r: dict) -> str:
    if r["pretrain_steps"] is None:
        return "-"
    return f"{r['pretrain_steps']:,} / {r['pretrain_tokens'] / 1e6:.2f} M / {r['pretrain_minutes']:.1f}"


def plot(rows: list[dict], png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    langs = sorted({r["lang"] for r in rows}, key=["en", "zh"].index)
    figure, axes = plt.subplots(1, len(langs), figsize=(5 * len(langs), 4), squeeze=False)
    for axis, lang in zip(axes[0], langs):
        mine = [r for r in rows if r["lang"] == lang]
        names = [r["init"] for r in mine]
        axis.bar(names, [r["mean"] for r in mine], yerr=[r["std"] for r in mine], capsize=6,
                 color=["#999999", "#4c72b0", "#dd8452"][: len(mine)])
        for i, r in enumerate(mine):
            axis.scatter([i] * len(r["values"]), r["values"], color="black", s=12, zorder=3)
            axis.text(i + 0.2, r["mean"], f"{r['mean']:.3f}", ha="left", va="center", fontsize=9)
        if mine[0].get("majority"):
            axis.axhline(mine[0]["majority"], color="red", linestyle=":", linewidth=1, label="majority class")
            axis.legend(fontsize=8, loc="lower right")
        low = min([min(r["values"]) for r in mine] + [mine[0].get("majority") or 1.0])
        axis.set_ylim(max(0.0, low - 0.03), min(1.0, max(max(r["values"]) for r in mine) + 0.06))
        axis.set_title(f"{lang}: {mine[0]['task']} dev accuracy (3 seeds)")
        axis.set_ylabel("accuracy")
    figure.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(png, dpi=110)


if __name__ == "__main__":
    main()
