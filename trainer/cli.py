"""The `ernie-train` command line: pretrain, plot, finetune, evaluate, export."""
from __future__ import annotations

import time
from pathlib import Path

import click

from schemas.cli_errors import OneLineErrors, err, escape
from schemas.errors import InputError, OutputError, SchemaError
from trainer.config import ConfigError, load_config


class TrainErrors(OneLineErrors):
    # Every trainer error is a ValueError with a one-line message (ConfigError, TaskError, DataError,
    # InitError, VocabError, ExportError), so naming ValueError keeps this module free of torch.
    user_errors = (ConfigError, InputError, OutputError, SchemaError, FloatingPointError, ValueError)


def _task_pair(ctx, param, values):
    pairs = {}
    for value in values:
        name, sep, directory = value.partition("=")
        if not sep or not name or not directory:
            raise click.BadParameter(f"{value!r}: use NAME=SHARD_DIR, e.g. sentence_reorder=out/tasks/sentence_reorder")
        pairs[name] = directory
    return pairs


MASKING_KEYS = ("mask_prob", "replace_mask", "replace_random", "basic_prob", "phrase_prob", "entity_prob")


def _masking_pairs(ctx, param, values):
    pairs = {}
    for value in values:
        key, sep, number = value.partition("=")
        if not sep or key not in MASKING_KEYS:
            raise click.BadParameter(f"{value!r}: use KEY=VALUE with KEY one of {', '.join(MASKING_KEYS)}")
        try:
            pairs[key] = float(number)
        except ValueError:
            raise click.BadParameter(f"{value!r}: {number!r} is not a number") from None
    return pairs


def _number_pairs(example: str, rule: str, ok):
    """A click callback: repeated TASK=NUMBER options as {task: float}, each number passing ok()."""
    def parse(ctx, param, values):
        pairs = {}
        for value in values:
            task, sep, number = value.partition("=")
            try:
                pairs[task] = float(number)
            except ValueError:
                raise click.BadParameter(f"{value!r}: use {example}") from None
            if not sep or not task or not ok(pairs[task]):
                raise click.BadParameter(f"{value!r}: use {rule}")
        return pairs
    return parse


_weight_pairs = _number_pairs("TASK=WEIGHT, e.g. sentence_reorder=0.3", "TASK=WEIGHT with a weight >= 0",
                              lambda w: w >= 0)
_lr_pairs = _number_pairs("TASK=LR, e.g. skip_gram=2e-3", "TASK=LR with 0 < LR < 1", lambda lr: 0 < lr < 1)


def _budget_pairs(ctx, param, values):
    pairs = {}
    for value in values:
        task, sep, number = value.partition("=")
        if not sep or not task or not number.isdigit() or int(number) < 1:
            raise click.BadParameter(f"{value!r}: use TASK=STEPS with a whole number of steps >= 1, e.g. review_rating=500")
        pairs[task] = int(number)
    return pairs


@click.group(cls=TrainErrors, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option("0.1.0", prog_name="ernie-train")
def main() -> None:
    """Train ERNIE 2.0 models from the task shards built by `ernie-corpus build`.

    \b
    pretrain  continual multi-task pre-training (CPU, one GPU, or torchrun for many)
    plot      per-task loss curves (task and MLM losses apart) with stage boundaries
    finetune  fine-tune a pre-trained (or random) model on a labelled task; several seeds
    evaluate  score a fine-tuned model on a labelled file
    export    a run or fine-tuned model -> an HF transformers directory (ErnieModel, ...)
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
@click.option("--lr", type=float, default=None,
              help="Peak learning rate [default: by width: tiny 1e-3, mini 5e-4, base 1e-4, large 5e-5].")
@click.option("--lr-schedule", type=click.Choice(["linear", "noam", "constant"]), default=None,
              help="After each task's warmup: linear decay to 0 at its last step (default; BERT, Cramming), "
                   "noam (inverse square root; the paper's), or constant.")
@click.option("--warmup-steps", type=click.IntRange(1), default=None,
              help="Warmup, per task, on its own steps [default: min(4000, 10% of the task's steps)].")
@click.option("--weight-init", type=click.Choice(["local", "bert"]), default=None,
              help="local (default): heads start out reading the previous/next tokens, which gets a small model "
                   "off the unigram plateau in minutes; bert: plain normal(0, 0.02).")
@click.option("--dropout", type=click.FloatRange(0, 1, max_open=True), default=None,
              help="Hidden and attention dropout in pre-training [default: 0, as Cramming for short runs; "
                   "examples/base.toml: BERT's 0.1].")
@click.option("--mask-prob", type=click.FloatRange(0, 1, min_open=True), default=None,
              help="Share of tokens the MLM predicts [default: 0.15].")
@click.option("--masking", "masking", multiple=True, callback=_masking_pairs, metavar="KEY=VALUE",
              help="A masking setting (repeatable): mask_prob, replace_mask, replace_random, basic_prob, phrase_prob, "
                   "entity_prob; e.g. BERT's plain word-piece masking: --masking basic_prob=1 --masking phrase_prob=0 "
                   "--masking entity_prob=0.")
@click.option("--weight", "weights", multiple=True, callback=_weight_pairs, metavar="TASK=W",
              help="Weight of a task's own loss (repeatable; default 1; the MLM on its batches keeps weight 1).")
@click.option("--task-lr", "task_lrs", multiple=True, callback=_lr_pairs, metavar="TASK=LR",
              help="A task's own peak lr (repeatable; [optim] task_lrs) [default: --lr]; e.g. skip_gram=2e-3: its "
                   "steps touch only the word embeddings and its own table.")
@click.option("--budget", "budgets", multiple=True, callback=_budget_pairs, metavar="TASK=STEPS",
              help="Steps of a task (repeatable; [schedule] budgets); the tasks left out share what --max-steps "
                   "leaves [default: equal shares].")
@click.option("--max-seq-len", type=click.IntRange(8), default=None,
              help="Crop examples to this many tokens (their first ones, then [SEP]) [default: as built].")
@click.option("--eval-every", type=click.IntRange(0), default=None,
              help="Held-out [MASK] accuracy, with the unigram floor and shuffled context, every N steps "
                   "[default 0: ten times a run]; see metrics.jsonl heldout_*.")
@click.option("--heldout-examples", type=click.IntRange(0), default=None,
              help="Examples of the MLM task held out (never trained on) for that probe [default: 128; 0: none].")
@click.option("--init", "init", default=None, metavar="RUN",
              help="Start a new schedule from the weights of a trained run or checkpoint (continual pre-training "
                   "of new tasks).")
@click.option("--precision", type=click.Choice(["auto", "fp32", "bf16", "fp16"]), default=None)
@click.option("--quiet", is_flag=True, help="No progress display.")
def pretrain(config_path, tasks, size, max_steps, save_every, out, resume, seed, mode, tokens_per_batch, lr,
             lr_schedule, warmup_steps, weight_init, dropout, mask_prob, masking, weights, task_lrs, budgets, max_seq_len, eval_every,
             heldout_examples, init, precision, quiet) -> None:
    """Continual multi-task pre-training.

    \b
    Stage i brings in task i and the earlier tasks continue; inside a stage each step trains one
    task, drawn in proportion to the budget it has left. Every task has its own warmup and decay.

    \b
    What it has learned: every --eval-every steps, the MLM accuracy at [MASK] on held-out examples,
    beside the unigram floor (always answering the commonest piece) and the same examples with their
    context shuffled (metrics.jsonl heldout_*). A model has left the unigram plateau when its accuracy
    is >= 3x the floor and >= 2x the shuffled one (heldout_left_plateau = 1).

    \b
    Examples:
      ernie-train pretrain --config examples/tiny_en.toml
      ernie-train pretrain --task knowledge_masking=out/tasks/knowledge_masking \\
                           --task sentence_reorder=out/tasks/sentence_reorder --size tiny --max-steps 200
      torchrun --nproc-per-node 8 -m trainer.cli pretrain --config examples/base.toml
    """
    from trainer.train import pretrain as run

    config = load_config(config_path, {"tasks": tasks, "size": size, "max_steps": max_steps, "save_every": save_every,
                                       "out": out, "seed": seed, "mode": mode, "tokens_per_batch": tokens_per_batch,
                                       "lr": lr, "lr_schedule": lr_schedule, "warmup_steps": warmup_steps,
                                       "weight_init": weight_init, "dropout": dropout, "max_seq_len": max_seq_len,
                                       "eval_every": eval_every, "heldout_examples": heldout_examples,
                                       "precision": precision, "init": init})
    config.masking = {**config.masking, **masking, **({} if mask_prob is None else {"mask_prob": mask_prob})}
    config.weights = {**config.weights, **weights}
    config.task_lrs = {**config.task_lrs, **task_lrs}
    config.budgets = {**config.budgets, **budgets}
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    import os

    show = not quiet and int(os.environ.get("RANK", "0")) == 0
    with Progress(TextColumn("[bold]pretrain"), BarColumn(), TextColumn("{task.fields[info]}"), TimeElapsedColumn(),
                  console=err.console, disable=not show, auto_refresh=False) as bar:
        progress = bar.add_task("pretrain", total=config.max_steps, info="")
        last = [0.0]

        def on_step(log) -> None:
            bar.update(progress, completed=log.step,
                       info=f"stage {log.stage}  {log.task:<18} loss {log.loss:7.4f}  {log.extra.get('tokens_per_s', 0):,.0f} tok/s")
            if time.monotonic() - last[0] > 0.2:
                bar.refresh()
                last[0] = time.monotonic()

        def on_start(plan) -> None:
            if not show:
                return
            warm = sorted(set(plan["warmup_steps"].values()))
            err.print(f"pretrain: {len(plan['budgets'])} tasks, {sum(plan['budgets'].values())} steps in "
                      f"{len(plan['stages'])} stages; peak lr {plan['lr']:g}, warmup "
                      f"{', '.join(f'{t} {w}' for t, w in plan['warmup_steps'].items()) if len(warm) > 1 else warm[0]}"
                      f" steps per task; {plan['precision']}", highlight=False, markup=False)
            if plan.get("init"):
                i = plan["init"]
                err.print(f"init: {i['tensors']} tensors from {i['from']} (task heads kept: "
                          f"{', '.join(i['task_heads']) or 'none'}; new: {', '.join(i['fresh_heads']) or 'none'})",
                          highlight=False, markup=False)
            if "vocab" in plan and plan["vocab"] is None:
                err.print("warning: the shards' vocab was not found, so the run has no vocab/; fine-tuning and "
                          "export will need --vocab", highlight=False, markup=False)

        run_dir = run(config, resume=resume, on_step=on_step, on_start=on_start)
    if show:
        err.print(f"done: {escape(str(run_dir))} (metrics.jsonl, checkpoints/, tensorboard/); plot with "
                  f"`ernie-train plot {escape(str(run_dir))}`", highlight=False)


@main.command()
@click.argument("run", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", "png", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The PNG to write (default: RUN/curves.png).")
@click.option("--smooth", type=click.IntRange(1), default=20, show_default=True, help="Moving-average window (steps).")
def plot(run, png, smooth) -> None:
    """Draw per-task loss curves of RUN, with the stage boundaries."""
    from trainer.plot import plot_run

    path = plot_run(run, png or run / "curves.png", smooth)
    err.print(f"wrote {escape(str(path))}")


def _seeds(ctx, param, value):
    try:
        seeds = [int(x) for x in value.split(",") if x.strip()]
    except ValueError:
        raise click.BadParameter(f"{value!r}: use comma-separated integers, e.g. 1,2,3") from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise click.BadParameter(f"{value!r}: give one or more distinct seeds, e.g. 1,2,3")
    return seeds


@main.command()
@click.option("--init", required=True, metavar="RUN|CHECKPOINT|HF_DIR|random",
              help="The encoder to start from: a pre-training run (its latest checkpoint), a checkpoint, a local HF "
                   "ErnieModel/BertModel directory (safetensors), a fine-tuned model, or `random` (the baseline; "
                   "needs --vocab and --size).")
@click.option("--train", "train", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Labelled training file: TSV, CSV or JSONL with a header; NER: text_a/label columns or CoNLL.")
@click.option("--dev", type=click.Path(exists=True, dir_okay=False), default=None, help="Labelled dev file.")
@click.option("--test", type=click.Path(exists=True, dir_okay=False), default=None,
              help="A file to predict (labels optional); writes OUT/predictions.tsv.")
@click.option("--split-dev", type=click.FloatRange(0, min_open=True), default=None,
              help="No dev file: hold out this fraction (< 1) or count of --train, seeded by --split-seed.")
@click.option("--split-seed", type=int, default=0, show_default=True)
@click.option("--kind", type=click.Choice(["classification", "pair", "regression", "ner"]), default=None,
              help="classification (one text), pair (two texts), regression (a float label, MSE; Pearson and "
                   "Spearman), ner (BIO tags; entity F1) [default: pair if the file has a second text column, "
                   "else classification].")
@click.option("--text", default=None, help="Text column [default: sentence, text_a, sentence1, question, ...].")
@click.option("--text-pair", default=None, help="Second text column [default: text_b, sentence2, ...].")
@click.option("--label", default=None, help="Label column [default: label, Quality, ...].")
@click.option("--labels", "labels_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Label names as JSON: a list, or name -> id (several names may share an id).")
@click.option("--vocab", default=None, help="Vocab directory (required with --init random; else checked).")
@click.option("--size", type=click.Choice(["tiny", "mini", "base", "large"]), default=None,
              help="Model size for --init random.")
@click.option("--out", required=True, help="Output directory: best/, seed-N/, results.json, results.md.")
@click.option("--seeds", default="1", callback=_seeds, show_default=True,
              help="Comma-separated seeds; each is a full run; results give each, mean ± std and median.")
@click.option("--epochs", type=click.FloatRange(0, min_open=True), default=3.0, show_default=True)
@click.option("--max-steps", type=click.IntRange(1), default=None, help="Stop after this many steps (overrides --epochs).")
@click.option("--batch-size", type=click.IntRange(1), default=32, show_default=True)
@click.option("--lr", type=float, default=None, help="Peak lr [default: by width: tiny 5e-4 ... base 5e-5].")
@click.option("--warmup", type=click.FloatRange(0, 1), default=0.1, show_default=True,
              help="Linear warmup over this fraction of the steps, then linear decay.")
@click.option("--max-seq-len", type=click.IntRange(8), default=128, show_default=True)
@click.option("--eval-every", type=click.IntRange(1), default=None, help="Evaluate every N steps [default: each epoch].")
@click.option("--patience", type=click.IntRange(1), default=3, show_default=True,
              help="Stop after this many evaluations without a better dev score.")
@click.option("--task-id", type=click.IntRange(0), default=0, show_default=True, help="The task embedding id.")
@click.option("--dropout", type=click.FloatRange(0, 1, max_open=True), default=0.1, show_default=True,
              help="Hidden and attention dropout, the same for every init (whatever the pre-training used).")
@click.option("--weight-init", type=click.Choice(["bert", "local"]), default="bert", show_default=True,
              help="For --init random: BERT's normal(0, 0.02), or the weights pre-training starts from (local).")
@click.option("--reset-pooler", is_flag=True, help="Start the pooler (dense + tanh on [CLS]) fresh, not from --init.")
@click.option("--pooling", type=click.Choice(["cls", "mean"]), default="cls", show_default=True,
              help="What the classifier reads: cls, the pooler on [CLS] (HF ErnieForSequenceClassification, "
                   "exportable); mean, the mean of the tokens' final states (better from a short MLM "
                   "pre-training, whose [CLS] is untrained; not exportable as a classifier).")
@click.option("--t2s", is_flag=True, help="Convert Traditional to Simplified Chinese before tokenizing (OpenCC).")
@click.option("--precision", type=click.Choice(["auto", "fp32", "bf16"]), default="auto", show_default=True)
@click.option("--overwrite", is_flag=True, help="Replace an existing OUT.")
@click.option("--quiet", is_flag=True)
def finetune(init, train, dev, test, split_dev, split_seed, kind, text, text_pair, label, labels_file, vocab, size,
             out, seeds, epochs, max_steps, batch_size, lr, warmup, max_seq_len, eval_every, patience, task_id, dropout,
             weight_init, reset_pooler, pooling, t2s, precision, overwrite, quiet) -> None:
    """Fine-tune on a labelled task and report the dev metric of every seed.

    \b
    Examples:
      ernie-train finetune --init runs/tiny-en --train ../shared/data/eval/sst2/train_head2000.tsv \\
          --dev ../shared/data/eval/sst2/glue_dev.tsv --out runs/sst2 --seeds 1,2,3
      ernie-train finetune --init random --vocab out/demo/vocab-en --size tiny --train ... --out runs/sst2-random
      ernie-train finetune --init runs/tiny-zh --kind ner --train ../shared/data/eval/msra_ner/dev.tsv \\
          --split-dev 0.2 --labels ../shared/data/eval/msra_ner/label2id.json --out runs/msra
    """
    from trainer.finetune import FinetuneConfig, finetune as run
    from trainer.finetune_data import guess_kind

    config = FinetuneConfig(train=train, init=init, out=out, kind=kind or guess_kind(train, text_pair), dev=dev,
                            test=test, split_dev=split_dev, split_seed=split_seed, text=text, text_pair=text_pair,
                            label=label, labels_file=labels_file, vocab=vocab, size=size, seeds=seeds, epochs=epochs,
                            max_steps=max_steps, batch_size=batch_size, lr=lr, warmup=warmup, max_seq_len=max_seq_len,
                            eval_every=eval_every, patience=patience, task_id=task_id, t2s=t2s, precision=precision,
                            dropout=dropout, weight_init=weight_init, reset_pooler=reset_pooler, pooling=pooling,
                            overwrite=overwrite)

    def on_event(event: dict) -> None:
        if quiet:
            return
        kind_ = event["event"]
        if kind_ == "start":
            err.print(f"finetune {config.kind}: {event['train']} train / {event['dev']} dev examples "
                      f"({event['rejected']} rejected), {len(event['labels'])} labels; init {event['init']}; "
                      f"{event['steps']} steps per seed, lr {event['lr']:g}, warmup {event['warmup_steps']}, "
                      f"{event['precision']} on {event['device']}", highlight=False, markup=False)
        elif kind_ == "eval":
            metric = [k for k in event if k not in ("event", "seed", "step", "total", "best")][0]
            err.print(f"  seed {event['seed']} step {event['step']}/{event['total']}: dev {metric} "
                      f"{event[metric]:.4f} (best {event['best']:.4f})", highlight=False, markup=False)

    results = run(config, on_event=on_event)
    s = results["summary"]
    click.echo(f"{results['metric']}: " + ", ".join(f"seed {k} {v['dev'][results['metric']]:.4f}"
                                                   for k, v in results["seeds"].items())
               + f"; mean {s['mean']:.4f} ± {s['std']:.4f}, median {s['median']:.4f}"
               + (f" (majority class {results['majority']:.4f})" if results.get("majority") is not None else ""))
    click.echo(f"wrote {out}/best, {out}/results.json, {out}/results.md" + (f", {out}/predictions.tsv" if test else ""))


@main.command()
@click.argument("model", type=click.Path(exists=True, file_okay=False))
@click.option("--data", required=True, type=click.Path(exists=True, dir_okay=False), help="A labelled file.")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON (with the predictions).")
def evaluate(model, data, as_json) -> None:
    """Print the task's metrics for a fine-tuned MODEL (OUT or OUT/best of `finetune`) on --data."""
    import json

    from trainer.finetune import evaluate as run

    result = run(model, data)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
        return
    keys = [k for k, v in result.items() if isinstance(v, float)]
    click.echo(f"{result['data']}: {result['examples']} examples ({result['rejected']} rejected); "
               + ", ".join(f"{k} {result[k]:.4f}" for k in keys))


@main.command()
@click.argument("source", type=click.Path(exists=True, file_okay=False), metavar="RUN_OR_CHECKPOINT")
@click.option("--out", required=True, help="The HF model directory to write.")
@click.option("--with-mlm-head", is_flag=True, help="Export ErnieForMaskedLM (fill-mask) instead of ErnieModel.")
@click.option("--overwrite", is_flag=True, help="Replace an existing export.")
def export(source, out, with_mlm_head, overwrite) -> None:
    """Write a pre-training run, a checkpoint or a fine-tuned model as an HF transformers directory.

    \b
    HF_HUB_OFFLINE=1 python -c "from transformers import AutoModel, AutoTokenizer; \\
        AutoModel.from_pretrained('hf/ernie-tiny'); AutoTokenizer.from_pretrained('hf/ernie-tiny')"
    """
    from trainer.export import export as run

    result = run(source, out, with_mlm_head=with_mlm_head, overwrite=overwrite)
    click.echo(f"wrote {result['out']}: {result['architecture']} ({result['tensors']} tensors) from {result['source']}")


if __name__ == "__main__":
    main()
