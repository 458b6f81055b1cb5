"""Leaving the unigram plateau: held-out [MASK] accuracy against tokens seen, per pre-training recipe.

Every recipe pre-trains the same model on the same knowledge_masking shards with `ernie-train
pretrain` (one process each, one torch thread, `--parallel` at a time), and the trainer's own
held-out probe (trainer/probe.py) measures it every `--eval-every` steps on examples it never
trains on: accuracy at [MASK] with the real context, with the context shuffled, and the unigram
floor. The table gives, per recipe, the tokens and CPU minutes at which it left the plateau
(accuracy >= 3x floor and >= 2x shuffled), and its last numbers; the PNG draws the curves side by
side.

    python bench/efficiency.py --shards out/learning/en/tasks/knowledge_masking --tokens 6e6
    python bench/efficiency.py --shards DIR --recipes local,bert --tokens 2e6 --out out/efficiency
    python bench/efficiency.py --smoke        # a few steps of two recipes on a slice (what the test runs)

Recipes (the flags each adds to the common ones):
  local        the defaults: local weight init, linear decay, dropout 0, lr 1e-3
  bert         the same with BERT's normal(0, 0.02) init
  bert-lr5e-3  BERT init at 5x the lr
  paper        the earlier defaults: BERT init, noam, dropout 0.1 (examples/base.toml's shape)
  local-lr2e-3 local init at twice the lr
  local-mask30 local init, 30% masking
  local-noam   local init, noam decay
  mini-local   mini (4 x 256) with local init, lr 5e-4
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

RECIPES = {
    "local": [],
    "bert": ["--weight-init", "bert"],
    "bert-lr5e-3": ["--weight-init", "bert", "--lr", "5e-3"],
    "paper": ["--weight-init", "bert", "--lr-schedule", "noam", "--dropout", "0.1"],
    "local-lr2e-3": ["--lr", "2e-3"],
    "local-mask30": ["--mask-prob", "0.3"],
    "local-noam": ["--lr-schedule", "noam"],
    "mini-local": ["--size", "mini", "--lr", "5e-4"],
}


def run_recipe(name: str, shards: str, out: Path, args) -> dict:
    """Pre-train one recipe (reused when its run is complete); its metrics and CPU seconds."""
    run = out / name
    done = run / "done.json"
    if done.exists():
        return json.loads(done.read_text())
    if run.exists():
        import shutil
        shutil.rmtree(run)
    steps = max(1, int(args.tokens // args.tokens_per_batch))
    cmd = [sys.executable, "-m", "trainer.cli", "pretrain", "--task", f"knowledge_masking={shards}",
           "--size", "tiny", "--max-steps", str(steps), "--tokens-per-batch", str(args.tokens_per_batch),
           "--save-every", "0", "--seed", str(args.seed), "--out", str(run), "--quiet",
           "--eval-every", str(args.eval_every or max(1, steps // 15)), "--heldout-examples", str(args.heldout),
           *RECIPES[name]]
    return {"cmd": cmd, "run": run}


def launch(jobs: list[tuple[str, dict]], parallel: int) -> dict[str, dict]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    results, queue, running = {}, list(jobs), []
    while queue or running:
        while queue and len(running) < parallel:
            name, job = queue.pop(0)
            if "cmd" not in job:
                results[name] = job
                continue
            print(f"[{time.strftime('%H:%M:%S')}] start {name}: {' '.join(job['cmd'][3:])}", flush=True)
            proc = subprocess.Popen(job["cmd"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, text=True)
            running.append((name, job, proc))
        time.sleep(1)
        for item in list(running):
            name, job, proc = item
            if proc.poll() is None:
                continue
            running.remove(item)
            if proc.returncode:
                raise SystemExit(f"{name} failed (exit {proc.returncode}): {proc.stderr.read().strip()[-500:]}")
            results[name] = summarize(name, job["run"], job["cmd"])
            (job["run"] / "done.json").write_text(json.dumps(results[name], indent=2))
    return results


def summarize(name: str, run: Path, cmd: list[str]) -> dict:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    seconds = cpu = 0.0
    curve = []
    for row in rows:
        seconds += row["seconds"]
        cpu += row.get("cpu_seconds", 0.0)
        if "heldout_mask_accuracy" in row:
            curve.append({"step": row["step"], "tokens": row["tokens_seen"], "minutes": seconds / 60,
                          "cpu_minutes": cpu / 60,
                          **{k[len("heldout_"):]: v for k, v in row.items() if k.startswith("heldout_")}})
    left = next((c for c in curve if c["left_plateau"]), None)
    return {"recipe": name, "flags": RECIPES[name], "command": " ".join(cmd[1:]), "curve": curve,
            "left_at": None if left is None else {k: left[k] for k in ("step", "tokens", "minutes", "cpu_minutes")},
            "last": curve[-1] if curve else None, "train_minutes": seconds / 60, "cpu_minutes": cpu / 60}


def table(results: dict[str, dict]) -> str:
    lines = ["| recipe | left the plateau at (tokens / CPU minutes) | last: tokens | [MASK] accuracy | "
             "shuffled | floor | loss / shuffled loss |", "|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        last, left = r["last"], r["left_at"]
        where = "not yet" if left is None else f"{left['tokens'] / 1e6:.2f} M / {left['cpu_minutes']:.1f}"
        lines.append(f"| {name} | {where} | {last['tokens'] / 1e6:.2f} M | {last['mask_accuracy']:.3f} | "
                     f"{last['shuffled_accuracy']:.3f} | {last['unigram_floor']:.3f} | "
                     f"{last['mask_loss']:.2f} / {last['shuffled_loss']:.2f} |")
    return "\n".join(lines)


def plot(results: dict[str, dict], png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(13, 4.8))
    for name, r in results.items():
        tokens = [c["tokens"] / 1e6 for c in r["curve"]]
        line, = axes[0].plot(tokens, [c["mask_accuracy"] for c in r["curve"]], marker="o", ms=3, label=name)
        axes[0].plot(tokens, [c["shuffled_accuracy"] for c in r["curve"]], linestyle=":", color=line.get_color())
        axes[1].plot(tokens, [c["mask_loss"] for c in r["curve"]], marker="o", ms=3, color=line.get_color(),
                     label=name)
        axes[1].plot(tokens, [c["shuffled_loss"] for c in r["curve"]], linestyle=":", color=line.get_color())
    floor = next(iter(results.values()))["curve"][0]["unigram_floor"]
    axes[0].axhline(floor, color="grey", linewidth=1, label="unigram floor")
    axes[0].axhline(3 * floor, color="grey", linestyle="--", linewidth=1, label="3x floor")
    axes[0].set_title("held-out accuracy at [MASK] (dotted: context shuffled)")
    axes[1].set_title("held-out loss at [MASK] (dotted: context shuffled)")
    for axis in axes:
        axis.set_xlabel("tokens seen (millions)")
        axis.legend(fontsize=8)
    axes[0].set_ylabel("accuracy")
    axes[1].set_ylabel("cross-entropy (nats)")
    figure.tight_layout()
    from trainer.plot import save_figure

    save_figure(figure, png)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shards", help="a knowledge_masking shard directory (from ernie-corpus build)")
    parser.add_argument("--recipes", default="local,bert,paper", help=f"comma-separated, of: {', '.join(RECIPES)}")
    parser.add_argument("--tokens", type=float, default=6e6, help="pre-training tokens per recipe")
    parser.add_argument("--tokens-per-batch", type=int, default=4096)
    parser.add_argument("--eval-every", type=int, default=0, help="probe every N steps (0: 15 times a run)")
    parser.add_argument("--heldout", type=int, default=128, help="held-out examples")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--out", default=str(ROOT / "out" / "efficiency"))
    parser.add_argument("--png", default=None, help="the figure (default: OUT/efficiency.png)")
    parser.add_argument("--smoke", action="store_true",
                        help="a tiny run to check the script works: builds a slice of the IMDb sample")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.smoke:
        args.shards = str(smoke_shards(out))
        args.tokens, args.tokens_per_batch, args.eval_every, args.heldout = 6 * 1024, 1024, 3, 8
        args.recipes = "local,bert"
    if not args.shards:
        parser.error("--shards is required (or --smoke)")
    names = args.recipes.split(",")
    unknown = [n for n in names if n not in RECIPES]
    if unknown:
        parser.error(f"unknown recipe(s) {', '.join(unknown)}; recipes: {', '.join(RECIPES)}")
    results = launch([(n, run_recipe(n, args.shards, out, args)) for n in names], args.parallel)
    results = {n: results[n] for n in names}
    text = table(results)
    print(text)
    png = Path(args.png) if args.png else out / "efficiency.png"
    plot(results, png)
    (out / "efficiency.json").write_text(json.dumps(results, indent=2))
    print(f"wrote {png} and {out / 'efficiency.json'}")


def smoke_shards(out: Path) -> Path:
    """knowledge_masking shards of the first 150 IMDb reviews (for --smoke)."""
    data = Path(os.environ.get("ERNIE_SHARED_DATA", ROOT.parent / "shared" / "data"))
    work = out / "smoke-data"
    tasks = work / "tasks" / "knowledge_masking"
    if (tasks / "manifest.json").exists():
        return tasks
    work.mkdir(parents=True, exist_ok=True)
    text = work / "imdb.txt"
    lines = (data / "imdb_unsup" / "unsup_12k.txt").read_text(encoding="utf-8").splitlines()[:150]
    text.write_text("\n".join(lines) + "\n", encoding="utf-8")
    corpus = [sys.executable, "-m", "corpus_tools.cli"]
    for cmd in (["ingest", str(text), "--out", str(work / "docs"), "--overwrite"],
                ["vocab", str(work / "docs"), "--out", str(work / "vocab"), "--vocab-size", "2000", "--overwrite"],
                ["build", "--task", "knowledge_masking", "--docs", str(work / "docs"), "--vocab", str(work / "vocab"),
                 "--out", str(work / "tasks"), "--max-seq-len", "128", "--overwrite"]):
        subprocess.run(corpus + cmd, check=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                       stdout=subprocess.DEVNULL)
    return tasks


if __name__ == "__main__":
    main()
