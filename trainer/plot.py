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


def plot_run(run: Path, png: Path, smooth: int = 20) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = load_metrics(run)
    curves: dict[str, tuple[list[int], list[float]]] = defaultdict(lambda: ([], []))
    for row in rows:
        steps, losses = curves[row["task"]]
        steps.append(row["step"])
        losses.append(row["loss"])
    plan_path = Path(run) / "plan.json"
    boundaries = json.loads(plan_path.read_text())["boundaries"] if plan_path.exists() else []
    figure, axis = plt.subplots(figsize=(10, 5.5))
    for task, (steps, losses) in sorted(curves.items()):
        averaged = [sum(losses[max(0, i - smooth + 1): i + 1]) / len(losses[max(0, i - smooth + 1): i + 1])
                    for i in range(len(losses))]
        axis.plot(steps, averaged, label=task, linewidth=1.4)
    for i, step in enumerate(boundaries):
        axis.axvline(step, color="grey", linestyle="--", linewidth=0.8)
        axis.text(step, axis.get_ylim()[1], f" stage {i}", va="top", ha="left", rotation=90, fontsize=8, color="grey")
    axis.set_xlabel("step")
    axis.set_ylabel(f"loss (moving average over {smooth} steps of that task)")
    axis.set_title(f"ERNIE 2.0 continual multi-task pre-training: {Path(run).name}")
    axis.legend(fontsize=8)
    figure.tight_layout()
    png = Path(png)
    png.parent.mkdir(parents=True, exist_ok=True)
    tmp = png.with_name(png.name + ".tmp.png")
    figure.savefig(tmp, dpi=110)
    plt.close(figure)
    os.replace(tmp, png)
    return png
