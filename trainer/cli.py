"""The `ernie-train` command line: pretrain and plot."""
from __future__ import annotations

import time
from pathlib import Path

import click
from rich.console import Console

from corpus_tools.cli import OneLineErrors
from corpus_tools.shards import OutputError
from corpus_tools.sources import InputError
from schemas import SchemaError
from trainer.config import ConfigError, load_config
from trainer.tasks import TaskError

err = Console(stderr=True)


class TrainErrors(OneLineErrors):
    user_errors = (ConfigError, TaskError, InputError, OutputError, SchemaError, FloatingPointError, ValueError)


def _task_pair(ctx, param, values):
    pairs = {}
    for value in values:
        name, sep, directory = value.partition("=")
        if not sep or not name or not directory:
            raise click.BadParameter(f"{value!r}: use NAME=SHARD_DIR, e.g. sentence_reorder=out/tasks/sentence_reorder")
        pairs[name] = directory
    return pairs


@click.group(cls=TrainErrors, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option("0.1.0", prog_name="ernie-train")
def main() -> None:
    """Train ERNIE 2.0 models from the task shards built by `ernie-corpus build`.

    \b
    pretrain  continual multi-task pre-training (CPU, one GPU, or torchrun for many)
    plot      per-task loss curves with stage boundaries
    """


@main.command()
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A TOML run config (see examples/); flags below override it.")
@click.option("--task", "tasks", multiple=True, callback=_task_pair, metavar="NAME=SHARD_DIR",
              help="A task and its shard directory; repeat in the order tasks are introduced.")
@click.option("--size", type=click.Choice(["tiny", "mini", "base", "large"]), default=None,
              help="Model size: tiny 2/128/2, mini 4/256/4, base 12/768/12, large 24/1024/16.")
@click.option("--max-steps", type=click.IntRange(1), default=None, help="Total optimizer steps.")
@click.option("--save-every", type=click.IntRange(0), default=None, help="Checkpoint every N steps (0: only at the end).")
@click.option("--out", default=None, help="Run directory: checkpoints, metrics.jsonl, tensorboard/.")
@click.option("--resume", is_flag=True, help="Continue exactly from the run's latest checkpoint.")
@click.option("--seed", type=int, default=None)
@click.option("--mode", type=click.Choice(["continual_multitask", "multitask", "sequential"]), default=None)
@click.option("--tokens-per-batch", type=click.IntRange(16), default=None, help="Global token budget per step.")
@click.option("--lr", type=float, default=None, help="Peak learning rate.")
@click.option("--warmup-steps", type=click.IntRange(1), default=None, help="Noam warmup, per task.")
@click.option("--precision", type=click.Choice(["auto", "fp32", "bf16", "fp16"]), default=None)
@click.option("--quiet", is_flag=True, help="No progress display.")
def pretrain(config_path, tasks, size, max_steps, save_every, out, resume, seed, mode, tokens_per_batch, lr,
             warmup_steps, precision, quiet) -> None:
    """Continual multi-task pre-training.

    \b
    Stage i brings in task i and the earlier tasks continue; inside a stage each step trains one
    task, drawn in proportion to the budget it has left. Every task has its own Noam warmup.

    \b
    Examples:
      ernie-train pretrain --config examples/tiny_en.toml
      ernie-train pretrain --task knowledge_masking=out/tasks/knowledge_masking \\
                           --task sentence_reorder=out/tasks/sentence_reorder --size tiny --max-steps 200
      torchrun --nproc-per-node 8 -m trainer.cli pretrain --config base.toml
    """
    from trainer.train import pretrain as run

    config = load_config(config_path, {"tasks": tasks, "size": size, "max_steps": max_steps, "save_every": save_every,
                                       "out": out, "seed": seed, "mode": mode, "tokens_per_batch": tokens_per_batch,
                                       "lr": lr, "warmup_steps": warmup_steps, "precision": precision})
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    import os

    show = not quiet and int(os.environ.get("RANK", "0")) == 0
    with Progress(TextColumn("[bold]pretrain"), BarColumn(), TextColumn("{task.fields[info]}"), TimeElapsedColumn(),
                  console=err, disable=not show, auto_refresh=False) as bar:
        progress = bar.add_task("pretrain", total=config.max_steps, info="")
        last = [0.0]

        def on_step(log) -> None:
            bar.update(progress, completed=log.step,
                       info=f"stage {log.stage}  {log.task:<18} loss {log.loss:7.4f}  {log.extra.get('tokens_per_s', 0):,.0f} tok/s")
            if time.monotonic() - last[0] > 0.2:
                bar.refresh()
                last[0] = time.monotonic()

        run_dir = run(config, resume=resume, on_step=on_step)
    if show:
        err.print(f"done: {run_dir} (metrics.jsonl, checkpoints/, tensorboard/); plot with `ernie-train plot {run_dir}`")


@main.command()
@click.argument("run", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "png", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The PNG to write (default: RUN/curves.png).")
@click.option("--smooth", type=click.IntRange(1), default=20, show_default=True, help="Moving-average window (steps).")
def plot(run, png, smooth) -> None:
    """Draw per-task loss curves of RUN, with the stage boundaries."""
    from trainer.plot import plot_run

    path = plot_run(run, png or run / "curves.png", smooth)
    err.print(f"wrote {path}")


if __name__ == "__main__":
    main()
