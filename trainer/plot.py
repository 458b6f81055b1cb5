"""Per-task loss curves of a run, with stage boundaries (matplotlib, written atomically)."""
from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path

from trainer.config import ConfigError


def load_metrics(run: Path) -> list[dict]:
    path = Path(run) / "metrics.jsonl"
    if not path.exists():
        raise ConfigError(f"{run}: no metrics.jsonl; is this a run directory?")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _smoothed(values: list[float], smooth: int) -> list[float]:
    return [sum(values[max(0, i - smooth + 1): i + 1]) / len(values[max(0, i - smooth + 1): i + 1])
            for i in range(len(values))]


def _plot_probe(axis, probes: list[dict]) -> None:
    """What the model has learned: held-out accuracy at [MASK], with shuffled context, and the
    unigram floor (trainer/probe.py)."""
    steps = [r["step"] for r in probes]
    floor = probes[-1]["heldout_unigram_floor"]
    axis.plot(steps, [r["heldout_mask_accuracy"] for r in probes], marker="o", ms=3, label="real context")
    axis.plot(steps, [r["heldout_shuffled_accuracy"] for r in probes], marker="o", ms=3, linestyle=":",
              label="context shuffled")
    axis.axhline(floor, color="grey", linewidth=1, label=f"unigram floor ({floor:.3f})")
    axis.axhline(3 * floor, color="grey", linestyle="--", linewidth=1, label="3x floor (off the plateau)")
    left = next((r for r in probes if r.get("heldout_left_plateau")), None)
    if left:
        axis.axvline(left["step"], color="green", linewidth=0.8)
        axis.text(left["step"], axis.get_ylim()[1], " left the plateau", va="top", fontsize=8, color="green")
    axis.set_xlabel("step")
    axis.set_ylabel("accuracy at [MASK], held-out examples")
    axis.set_title("what the MLM has learned (held out)")
    axis.legend(fontsize=8)


def plot_run(run: Path, png: Path, smooth: int = 20) -> Path:
    """Two panels: each task's own loss (its head's loss; the MLM loss for knowledge_masking) and the
    MLM loss measured on each task's batches. Their sum, which the optimizer sees, hides the task's
    own curve (the MLM part is larger and falls slower)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = load_metrics(run)
    curves: dict[str, dict[str, tuple[list[int], list[float]]]] = {"task_loss": defaultdict(lambda: ([], [])),
                                                                    "mlm_loss": defaultdict(lambda: ([], []))}
    for row in rows:
        for key in curves:
            value = row.get(key, row["loss"] if key == "task_loss" else None)
            if value is not None:
                steps, values = curves[key][row["task"]]
                steps.append(row["step"])
                values.append(value)
    plan_path = Path(run) / "plan.json"
    boundaries = json.loads(plan_path.read_text())["boundaries"] if plan_path.exists() else []
    probes = [r for r in rows if "heldout_mask_accuracy" in r]
    figure, axes = plt.subplots(1, 3 if probes else 2, figsize=(22 if probes else 15, 5.5))
    titles = {"task_loss": "task loss (each task's own head)", "mlm_loss": "MLM loss on each task's batches"}
    colors = {}
    if probes:
        _plot_probe(axes[2], probes)
    for axis, key in zip(axes, curves):
        for task, (steps, values) in sorted(curves[key].items()):
            line, = axis.plot(steps, _smoothed(values, smooth), label=task, linewidth=1.4, color=colors.get(task))
            colors[task] = line.get_color()
        for i, step in enumerate(boundaries):
            axis.axvline(step, color="grey", linestyle="--", linewidth=0.8)
            axis.text(step, axis.get_ylim()[1], f" stage {i}", va="top", ha="left", rotation=90, fontsize=8,
                      color="grey")
        axis.set_xlabel("step")
        axis.set_ylabel(f"moving average over {smooth} steps of that task")
        axis.set_title(titles[key])
        if curves[key]:
            axis.legend(fontsize=8)
    figure.suptitle(f"ERNIE 2.0 continual multi-task pre-training: {Path(run).name}")
    figure.tight_layout()
    return save_figure(figure, png)


def save_figure(figure, png: Path) -> Path:
    """Write a matplotlib figure as a PNG atomically (a temporary name, then a move) and close it."""
    import matplotlib.pyplot as plt

    png = Path(png)
    png.parent.mkdir(parents=True, exist_ok=True)
    tmp = png.with_name(png.name + ".tmp.png")
    figure.savefig(tmp, dpi=110)
    plt.close(figure)
    os.replace(tmp, png)
    return png
