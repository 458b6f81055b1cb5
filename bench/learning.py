"""The learning curve: does pre-training here beat no pre-training, at which budget, and for which arm?

Per language, from the samples in ../shared/data (everything through the two CLIs):
  1. the pre-training corpus, decontaminated against the eval files it is scored on:
       en: all 12,000 IMDb unlabelled reviews (in-domain for SST-2), against SST-2 train and dev;
       zh: the zhwiki and CLUE samples (Traditional -> Simplified), against ChnSentiCorp;
     a 12k WordPiece vocab and the task shards (128 tokens);
  2. pre-training arms, each at every budget (tokens), with the trainer's defaults:
       mlm_only  knowledge_masking alone (ERNIE's phrase and entity masking)
       bert      MLM with plain word-piece masking + next_sentence (BERT's recipe, same framework)
       cmtl      the ERNIE 2.0 tasks through the continual multi-task schedule (en: the six English
                 tasks, no DuReader; zh: six with ir_relevance from DuReader)
       contrast  knowledge_masking + document_contrast (a customized task: two spans of a document,
                 encoded apart, find each other in the batch), together from step 1
       rating    knowledge_masking + review_rating (en: a review's own score, cut out of its text, as
                 a positive/negative label) on a tenth of the steps
       skipgram  skip_gram (word2vec's skip-gram on the word embeddings, no encoder pass) for 4x the
                 MLM's steps (each about a ninth of an MLM step's CPU time), two thirds of them first, then
                 beside knowledge_masking (continual)
       skipgram_cmtl  the same skip_gram first, then beside the cmtl arm's tasks (which share the
                 encoder steps, MLM on every batch)
     and no pre-training: `random` (BERT's normal(0, 0.02) init) and `random-local` (the local init that
     pre-training starts from); a gain is claimed against the better of the two;
  3. fine-tuning, the same for every init: each lr of the grid, 3 seeds, trained on the training
     file minus a seeded selection split and early-stopped on that split; the lr with the best mean
     selection score is chosen, and its 3 seeds' models are then scored once on the report set:
       en: SST-2 train_head2000.tsv (1,600 train / 400 selection) -> GLUE dev (872)
       zh: ChnSentiCorp's 1,200 rows split 800 / 400 (report); the 800 split 600 / 200 (selection)
     No init is scored on the data its lr or checkpoint was chosen on.
Writes docs/learning.json (per language, arm and budget: tokens, CPU minutes, each seed's accuracy,
the chosen lr, the held-out [MASK] accuracy, the pre-training command), docs/learning.png and the
table that docs/RESULTS.md quotes. Runs already done are reused (delete --out to start over).

    python bench/learning.py                                   # the recorded settings, both languages
    python bench/learning.py --lang en --budgets 2e6 --arms random,mlm_only   # a quicker look
    python bench/learning.py --smoke                           # seconds: what the test runs
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import random
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("ERNIE_SHARED_DATA", ROOT.parent / "shared" / "data"))
CMTL = {"en": ["knowledge_masking", "capitalization", "token_document", "sentence_reorder", "sentence_distance",
               "discourse_relation"],
        "zh": ["knowledge_masking", "token_document", "sentence_reorder", "sentence_distance", "discourse_relation",
               "ir_relevance"]}
BASIC_MASKING = ["--masking", "basic_prob=1", "--masking", "phrase_prob=0", "--masking", "entity_prob=0"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def sh(cmd: list[str], quiet: bool = True) -> str:
    """Run a command of ours; its stdout; a one-line failure with its stderr's tail."""
    done = subprocess.run(cmd, cwd=ROOT, env=ENV, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"failed ({done.returncode}): {' '.join(cmd[:6])} ...\n{done.stderr.strip()[-1500:]}")
    return done.stdout


CORPUS = [sys.executable, "-m", "corpus_tools.cli"]
TRAIN = [sys.executable, "-m", "trainer.cli"]


def prepare(lang: str, work: Path, args) -> dict:
    """Documents, decontamination, vocab and task shards (reused when done); what was removed."""
    docs, clean, vocab, tasks = work / "documents", work / "clean", work / "vocab", work / "tasks"
    if lang == "en":
        inputs = [DATA / "imdb_unsup" / "unsup_12k.txt"]
        evals = [DATA / "eval" / "sst2" / "train_head2000.tsv", GLUE_DEV]
        extra, logs = [], []
    else:
        inputs = [DATA / "zhwiki_extracted", DATA / "zh_corpus"]
        evals = [DATA / "eval" / "chnsenticorp" / "dev.tsv"]
        extra, logs = ["--t2s"], [work.parent / "searchlog"]
    if args.smoke:
        inputs = [smoke_slice(lang, work, inputs)]
    if not (docs / "stats.json").exists():
        log(f"{lang}: ingest")
        sh(CORPUS + ["ingest", *map(str, inputs), "--out", str(docs), "--workers", "2", "--overwrite", *extra])
    if not (clean / "stats.json").exists():
        log(f"{lang}: decontaminate")
        sh(CORPUS + ["decontaminate", str(docs), *[a for e in evals for a in ("--against", str(e))], "--out",
                     str(clean), "--workers", "2", "--overwrite"])
    for searchlog in logs:
        if not (searchlog / "stats.json").exists():
            sh(CORPUS + ["ingest", str(DATA / "dureader"), "--out", str(searchlog), "--overwrite"])
    if not (vocab / "vocab.txt").exists():
        log(f"{lang}: vocab")
        sh(CORPUS + ["vocab", str(clean), *map(str, logs), "--out", str(vocab), "--vocab-size",
                     str(args.vocab_size), "--overwrite"])
    wanted = ["knowledge_masking"] + (CMTL[lang][1:] if {"cmtl", "skipgram_cmtl"} & set(args.arms) else []) + (
        ["next_sentence"] if "bert" in args.arms else []) + (["document_contrast"] if "contrast" in args.arms else []) + (
        ["review_rating"] if "rating" in args.arms and lang == "en" else []) + (
        ["skip_gram"] if {"skipgram", "skipgram_cmtl"} & set(args.arms) else [])
    missing = [t for t in wanted if not (tasks / t / "manifest.json").exists()]
    if missing:
        log(f"{lang}: build {', '.join(missing)}")
        sources = [a for d in [clean, *logs] for a in ("--docs", str(d))]
        for task in missing:  # one task per build: each writes its own OUT/<task>
            sh(CORPUS + ["build", "--task", task, *sources, "--vocab", str(vocab), "--out", str(tasks / f".{task}"),
                         "--max-seq-len", str(args.max_seq_len), "--workers", "2", "--overwrite"])
            os.replace(tasks / f".{task}" / task, tasks / task)
    return json.loads((clean / "stats.json").read_text()).get("decontamination", {})


def smoke_slice(lang: str, work: Path, inputs: list[Path]) -> Path:
    """--smoke: the first 200 lines of one sample."""
    source = inputs[0] if lang == "en" else DATA / "zh_corpus"
    files = [source] if source.is_file() else sorted(p for p in source.rglob("*") if p.is_file() and p.suffix != ".md")
    lines = files[0].read_text(encoding="utf-8").splitlines()[:200]
    out = work / f"slice{files[0].suffix or '.txt'}"
    work.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


SKIP_GRAM_LR = 2e-3  # 1e-2 was best at word2vec's scale (against 1e-3, 5e-3, 3e-2; docs/RESULTS.md), x sqrt(0.05) for scores / 0.05


def pretrain_cmd(lang: str, arm: str, budget: float, work: Path, args) -> list[str]:
    tasks = work / "tasks"
    steps = max(1, int(budget // args.tokens_per_batch))
    cmd = TRAIN + ["pretrain", "--size", args.size, "--max-steps", str(steps), "--tokens-per-batch",
                   str(args.tokens_per_batch), "--save-every", "0", "--seed", "42", "--quiet",
                   "--out", str(work / f"pretrain-{arm}-{budget / 1e6:g}M")]
    if args.smoke:
        cmd += ["--heldout-examples", "8"]
    if arm == "mlm_only":
        return cmd + ["--task", f"knowledge_masking={tasks / 'knowledge_masking'}"]
    if arm == "bert":
        return cmd + ["--task", f"knowledge_masking={tasks / 'knowledge_masking'}", "--task",
                      f"next_sentence={tasks / 'next_sentence'}", "--mode", "multitask", *BASIC_MASKING]
    if arm == "contrast":
        return cmd + ["--task", f"knowledge_masking={tasks / 'knowledge_masking'}", "--task",
                      f"document_contrast={tasks / 'document_contrast'}", "--mode", "multitask",
                      "--weight", "document_contrast=0.2"]
    if arm == "rating":  # the customized review_rating task on a tenth of the steps, knowledge-masked MLM on the rest
        return cmd + ["--task", f"knowledge_masking={tasks / 'knowledge_masking'}", "--task",
                      f"review_rating={tasks / 'review_rating'}", "--mode", "multitask", "--budget",
                      f"review_rating={max(1, steps // 10)}"]
    if arm in ("skipgram", "skipgram_cmtl"):  # the word-aware task first, then beside the others (continual)
        cmd[cmd.index("--max-steps") + 1] = str(5 * steps)
        cmd += ["--task", f"skip_gram={tasks / 'skip_gram'}", "--mode", "continual_multitask",
                "--budget", f"skip_gram={4 * steps}", "--task-lr", f"skip_gram={SKIP_GRAM_LR:g}"]
        if arm == "skipgram":  # beside the MLM alone; skipgram_cmtl: beside the CMTL tasks, sharing the steps
            return cmd + ["--task", f"knowledge_masking={tasks / 'knowledge_masking'}",
                          "--budget", f"knowledge_masking={steps}"]
    return cmd + [a for t in CMTL[lang] for a in ("--task", f"{t}={tasks / t}")]


GLUE_DEV = DATA / "eval" / "sst2" / "glue_dev.tsv"


def eval_rows(lang: str) -> tuple[list[dict], list[dict], list[dict]]:
    """The rows of train (fine-tuning), selection (lr and checkpoint) and report (scored once)."""
    if lang == "en":
        train, select = split(read_tsv(DATA / "eval" / "sst2" / "train_head2000.tsv"), 400)
        return train, select, read_tsv(GLUE_DEV)
    pool, report = split(read_tsv(DATA / "eval" / "chnsenticorp" / "dev.tsv"), 400)
    train, select = split(pool, 200)
    return train, select, report


def eval_files(lang: str, work: Path, args) -> dict[str, Path]:
    """train, selection and report (eval_rows) as files: GLUE dev as it is, the others written."""
    files = {}
    train, select, held = eval_rows(lang)
    report = GLUE_DEV if lang == "en" else write_tsv(work / "chnsenticorp-report.tsv", held)
    if args.smoke:
        train, select = train[:64], select[:32]
        report = write_tsv(work / "report-slice.tsv", read_tsv(report)[:32])
    files["train"] = write_tsv(work / "finetune-train.tsv", train)
    files["select"] = write_tsv(work / "finetune-select.tsv", select)
    files["report"] = report
    return files


def read_tsv(path: Path) -> list[dict]:
    """GLUE-style TSV (quotes are text), BOM dropped."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))


def write_tsv(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fields = list(rows[0])
    lines = ["\t".join(fields)] + ["\t".join(row[f] or "" for f in fields) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")  # the fields hold no tab: read at tabs
    return path


def split(rows: list[dict], count: int) -> tuple[list[dict], list[dict]]:
    """A seeded split (seed 0): (the rest, `count` rows), each in file order."""
    chosen = set(random.Random(0).sample(range(len(rows)), count))
    return [r for i, r in enumerate(rows) if i not in chosen], [r for i, r in enumerate(rows) if i in chosen]


def finetune(lang: str, init: str, name: str, work: Path, files: dict, args) -> dict:
    """The lr grid on the selection split, then the chosen lr's seeds scored on the report set."""
    done = work / f"finetune-{name}.json"
    if done.exists():
        return json.loads(done.read_text())
    grid = {}
    for lr in args.lrs:
        out = work / "finetune" / f"{name}-lr{lr:g}"
        cmd = TRAIN + ["finetune", "--init", init, "--train", str(files["train"]), "--dev", str(files["select"]),
                       "--out", str(out), "--seeds", args.seeds, "--epochs", str(args.epochs), "--lr", f"{lr:g}",
                       "--max-seq-len", "128", "--pooling", args.pooling, "--quiet", "--overwrite"]
        if init == "random":
            cmd += ["--vocab", str(work / "vocab"), "--size", args.size]
        if name == "random-local":
            cmd += ["--weight-init", "local"]
        if lang == "zh":
            cmd += ["--t2s"]
        if not (out / "results.json").exists():
            sh(cmd)
        results = json.loads((out / "results.json").read_text())
        grid[f"{lr:g}"] = {"select_mean": results["summary"]["mean"], "select": results["summary"]["values"],
                           "out": str(out)}
    best = max(grid, key=lambda lr: grid[lr]["select_mean"])
    report = []
    for seed in args.seeds.split(","):
        scored = json.loads(sh(TRAIN + ["evaluate", str(Path(grid[best]["out"]) / f"seed-{seed}" / "best"),
                                        "--data", str(files["report"]), "--json"]))
        report.append(scored["accuracy"])
    result = {"lr": float(best), "grid": grid, "values": report, "mean": statistics.fmean(report),
              "std": statistics.pstdev(report)}
    done.write_text(json.dumps(result, indent=2))
    return result


def pretrain_summary(run: Path, cmd: list[str]) -> dict:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    probes = [r for r in rows if "heldout_mask_accuracy" in r]
    last = probes[-1] if probes else {}
    words = sum(r["tokens"] for r in rows if r["task"] == "skip_gram")  # read by the word embeddings alone
    return {"steps": len(rows), "tokens": rows[-1]["tokens_seen"] - words, "skip_gram_tokens": words, "cpu_minutes": sum(r["cpu_seconds"] for r in rows) / 60,
            "wall_minutes": sum(r["seconds"] for r in rows) / 60,
            "heldout_mask_accuracy": last.get("heldout_mask_accuracy"),
            "heldout_shuffled_accuracy": last.get("heldout_shuffled_accuracy"),
            "heldout_unigram_floor": last.get("heldout_unigram_floor"),
            "left_plateau": bool(last.get("heldout_left_plateau")),
            "command": " ".join(["ernie-train", *cmd[3:]])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lang", default="en,zh")
    parser.add_argument("--arms", default="random,random-local,mlm_only,bert,cmtl",
                        help="random (BERT's init, no pre-training), random-local (the weights pre-training starts "
                             "from), mlm_only, bert, cmtl, contrast, rating (en only), skipgram, skipgram_cmtl")
    parser.add_argument("--budgets", default="2e6,5e6,10e6", help="pre-training tokens, comma-separated")
    parser.add_argument("--arm-budgets", action="append", default=[], metavar="ARM=B1/B2",
                        help="this arm only at these of the budgets, e.g. bert=2e6/8e6 (repeatable)")
    parser.add_argument("--out", default=str(ROOT / "out" / "learning"))
    parser.add_argument("--size", default="tiny")
    parser.add_argument("--tokens-per-batch", type=int, default=4096)
    parser.add_argument("--max-seq-len", type=int, default=128)
    parser.add_argument("--vocab-size", type=int, default=12000)
    parser.add_argument("--lrs", default="1e-4,2e-4,5e-4,1e-3", help="the fine-tuning lr grid")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--epochs", type=float, default=5)
    parser.add_argument("--pooling", default="mean", choices=["mean", "cls"],
                        help="what every init's classifier reads (mean: the token states' mean; cls: the pooler)")
    parser.add_argument("--parallel", type=int, default=2, help="pre-training and fine-tuning jobs at a time")
    parser.add_argument("--json", default=str(ROOT / "docs" / "learning.json"))
    parser.add_argument("--png", default=str(ROOT / "docs" / "learning.png"))
    parser.add_argument("--smoke", action="store_true",
                        help="a slice of each sample, arms random, mlm_only, rating (en) and skipgram, 2 steps, 1 lr, 1 seed")
    args = parser.parse_args()
    if args.smoke:
        args.budgets, args.tokens_per_batch, args.lrs, args.seeds, args.epochs = "4096", 2048, "5e-4", "1", 1
        args.vocab_size, args.arms = 2000, "random,mlm_only,rating,skipgram"
    args.arms = args.arms.split(",")
    args.lrs = [float(x) for x in args.lrs.split(",")]
    budgets = [float(b) for b in args.budgets.split(",")]
    args.arm_budgets = {arm: [float(b) for b in value.split("/")]
                        for arm, _, value in (item.partition("=") for item in args.arm_budgets)}
    out = Path(args.out)
    record = json.loads(Path(args.json).read_text()) if Path(args.json).exists() and not args.smoke else {}
    record.setdefault("runs", {})
    for lang in args.lang.split(","):
        work = out / lang
        removed = prepare(lang, work, args)
        files = eval_files(lang, work, args)
        jobs = [(arm, b) for b in budgets for arm in args.arms if not arm.startswith("random")
                and b in args.arm_budgets.get(arm, budgets) and (arm != "rating" or lang == "en")]  # reviews: en
        pending = [(a, b, pretrain_cmd(lang, a, b, work, args)) for a, b in jobs]
        pending = [(a, b, c) for a, b, c in pending if not (Path(c[c.index("--out") + 1]) / "checkpoints").exists()]

        def pretrain(job):
            arm, budget, cmd = job
            run = Path(cmd[cmd.index("--out") + 1])
            if run.exists():
                import shutil
                shutil.rmtree(run)
            log(f"{lang}: pretrain {arm} {budget / 1e6:g} M tokens")
            sh(cmd)

        with ThreadPoolExecutor(args.parallel) as pool:
            list(pool.map(pretrain, pending))

        def tune(item):
            arm, budget = item
            if arm.startswith("random"):
                return item, {"tokens": 0, **finetune(lang, "random", arm, work, files, args)}
            cmd = pretrain_cmd(lang, arm, budget, work, args)
            run = Path(cmd[cmd.index("--out") + 1])
            name = f"{arm}-{budget / 1e6:g}M"
            return item, {**pretrain_summary(run, cmd), **finetune(lang, str(run), name, work, files, args)}

        items = [(a, 0.0) for a in args.arms if a.startswith("random")] + jobs
        with ThreadPoolExecutor(args.parallel) as pool:
            for (arm, budget), result in pool.map(tune, items):
                key = f"{lang}/{arm}/{budget / 1e6:g}M"
                record["runs"][key] = {"lang": lang, "arm": arm, "budget": budget, **result}
                log(f"{key}: {result['mean']:.4f} ± {result['std']:.4f} (lr {result['lr']:g})")
        record.setdefault("decontamination", {})[lang] = removed
    record["settings"] = {k: v for k, v in vars(args).items() if k not in ("json", "png")}
    if args.smoke:
        print(table(record))
        return
    Path(args.json).write_text(json.dumps(record, indent=2, default=str))
    print(table(record))
    plot(record, Path(args.png))
    log(f"wrote {args.json} and {args.png}")


def table(record: dict) -> str:
    lines = ["| lang | arm | tokens | CPU min | held-out [MASK] acc (floor) | chosen lr | accuracy, 3 seeds | mean ± std |",
             "|---|---|---|---|---|---|---|---|"]
    for key, r in sorted(record["runs"].items(), key=lambda kv: (kv[1]["lang"], kv[1]["arm"], kv[1]["budget"])):
        held = ("-" if r.get("heldout_mask_accuracy") is None
                else f"{r['heldout_mask_accuracy']:.3f} ({r['heldout_unigram_floor']:.3f})")
        cpu = "-" if r.get("cpu_minutes") is None else f"{r['cpu_minutes']:.1f}"
        lines.append(f"| {r['lang']} | {r['arm']} | {r.get('tokens', 0) / 1e6:.2f} M | {cpu} | {held} | {r['lr']:g} | "
                     f"{', '.join(f'{v:.4f}' for v in r['values'])} | {r['mean']:.4f} ± {r['std']:.4f} |")
    return "\n".join(lines)


def plot(record: dict, png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    langs = sorted({r["lang"] for r in record["runs"].values()}, key=["en", "zh"].index)
    figure, axes = plt.subplots(1, len(langs), figsize=(6.5 * len(langs), 4.6), squeeze=False)
    names = {"en": "SST-2 (GLUE dev)", "zh": "ChnSentiCorp (400 held out)"}
    for axis, lang in zip(axes[0], langs):
        runs = [r for r in record["runs"].values() if r["lang"] == lang]
        for arm, color in (("random", "grey"), ("random-local", "#bbbbbb")):
            base = next((r for r in runs if r["arm"] == arm), None)
            if base:
                axis.axhspan(base["mean"] - base["std"], base["mean"] + base["std"], color=color, alpha=0.25)
                axis.axhline(base["mean"], color=color, linewidth=1.2, label=f"{arm} init (mean ± std)")
        for arm, color in (("mlm_only", "#4c72b0"), ("bert", "#55a868"), ("cmtl", "#dd8452"), ("contrast", "#8172b3"),
                           ("rating", "#c44e52"), ("skipgram", "#937860"), ("skipgram_cmtl", "#da8bc3")):
            mine = sorted((r for r in runs if r["arm"] == arm), key=lambda r: r["tokens"])
            if mine:
                x = [r["tokens"] / 1e6 for r in mine]
                axis.errorbar(x, [r["mean"] for r in mine], yerr=[r["std"] for r in mine], marker="o", capsize=4,
                              color=color, label=arm)
        axis.set_xscale("log")
        axis.set_xticks(sorted({round(r["tokens"] / 1e6) for r in runs if r["tokens"]}) or [1])
        axis.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        axis.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        axis.set_xlabel("pre-training tokens through the encoder (millions, log scale)")
        axis.set_ylabel("accuracy, mean of 3 seeds")
        axis.set_title(f"{lang}: {names[lang]}")
        axis.legend(fontsize=7, loc="best", framealpha=0.8)
    figure.tight_layout()
    from trainer.plot import save_figure

    save_figure(figure, png)


if __name__ == "__main__":
    main()
