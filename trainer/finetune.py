"""Fine-tuning and evaluation: one function each, read top to bottom.

finetune(config): read and encode the splits once; then, per seed, build the model from the init
(a fresh seeded classifier), train with AdamW, linear warmup and linear decay, batches of
similar length padded to their longest example, evaluate on dev every `eval_every` steps (default:
each epoch), keep the best checkpoint and stop early after `patience` evaluations without a gain.
Writes OUT/seed-N/ (best/, metrics.jsonl), OUT/best (the best seed's model), OUT/results.json and
OUT/results.md (each seed, mean ± std and median), OUT/predictions.tsv for a test file, and
TensorBoard logs in OUT/tensorboard/.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import torch
from safetensors.torch import load_file, save_file

from trainer import metrics as M
from trainer.finetune_batches import Encoded, batches, collate, encode, predict, score
from trainer.finetune_data import Columns, DataError, label_aliases, label_names_from, read_split, split_off
from trainer.finetune_model import ErnieForFinetuning, Init, InitError, build_model, check_weights, load_init
from trainer.model import ErnieConfig
from trainer.tokenizer import FinetuneTokenizer, load_tokenizer
from trainer.runtime import autocast, default_lr, resolve_precision, tensorboard_writer

MARKER = "results.json"


@dataclass
class FinetuneConfig:
    train: str
    init: str
    out: str
    kind: str = "classification"  # | pair | regression | ner
    dev: Optional[str] = None
    test: Optional[str] = None
    split_dev: Optional[float] = None  # < 1: a fraction of train, else a count; seeded by split_seed
    split_seed: int = 0
    text: Optional[str] = None
    text_pair: Optional[str] = None
    label: Optional[str] = None
    labels_file: Optional[str] = None
    vocab: Optional[str] = None  # required with init = random; else checked against the init's
    size: Optional[str] = None  # with init = random
    seeds: list[int] = field(default_factory=lambda: [1])
    epochs: float = 3.0
    max_steps: Optional[int] = None
    batch_size: int = 32
    lr: Optional[float] = None  # None: runtime.default_lr(hidden size, "finetune")
    warmup: float = 0.1  # fraction of the steps
    weight_decay: float = 0.01
    max_seq_len: int = 128
    eval_every: Optional[int] = None  # steps; None: once per epoch
    patience: int = 3  # evaluations without a better dev score before stopping
    task_id: int = 0  # the task embedding id (0 as in ERNIE 2.0's released fine-tuning)
    t2s: bool = False  # Traditional -> Simplified Chinese (OpenCC) before tokenizing
    precision: str = "auto"  # auto: bf16 on a GPU, fp32 on CPU
    dropout: float = 0.1  # hidden and attention dropout, the same for every init (not the pre-training's)
    weight_init: str = "bert"  # for init = random: bert (normal(0, 0.02)) | local (what pre-training starts from)
    reset_pooler: bool = False  # start the pooler fresh rather than from the init
    pooling: str = "cls"  # what the classifier reads: cls (the pooler, HF's) | mean (the tokens' mean state)
    overwrite: bool = False


# --- saving ------------------------------------------------------------------------------------
def save_model(model: ErnieForFinetuning, info: dict, tok: FinetuneTokenizer, out: Path) -> None:
    """OUT: model.safetensors (ernie.*, classifier.*), finetune.json, the vocab; atomically."""
    tmp = out.with_name(f".{out.name}.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()},
              str(tmp / "model.safetensors"))
    (tmp / "finetune.json").write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tok.save(tmp)
    if out.exists():
        shutil.rmtree(out)
    os.replace(tmp, out)


def load_finetuned(path: Path, device="cpu") -> tuple[ErnieForFinetuning, dict, FinetuneTokenizer]:
    path = Path(path)
    if (path / "best" / "finetune.json").exists():
        path = path / "best"
    if not (path / "finetune.json").exists():
        raise InitError(f"{path}: not a fine-tuned model (no finetune.json); give OUT or OUT/best of `ernie-train "
                        "finetune`")
    info = json.loads((path / "finetune.json").read_text(encoding="utf-8"))
    model = ErnieForFinetuning(ErnieConfig(**info["model_config"]), info["kind"], max(1, len(info["label_names"])),
                               info.get("pooling", "cls"))
    model.load_state_dict(load_file(str(path / "model.safetensors")), strict=True)
    tok = load_tokenizer(path, expect=info["vocab_fingerprint"])
    return model.to(device).eval(), info, tok


# --- the loop ----------------------------------------------------------------------------------
def _device_and_autocast(precision: str):
    """The pre-training rule (`resolve_precision`: auto is bf16 on a GPU that has it), without fp16,
    which would need a loss scaler here."""
    device = torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
    if precision == "fp16":
        raise ValueError("precision 'fp16': choose auto, fp32 or bf16")
    precision = resolve_precision(precision, device)
    return device, precision, autocast(device, precision)


def _prepare_out(out: Path, overwrite: bool) -> None:
    if out.exists() and any(out.iterdir()):
        if (out / ".finetune").exists():  # a run that failed or was stopped: nothing to keep
            shutil.rmtree(out)
        elif not overwrite:
            raise DataError(f"{out}: already exists; pass overwrite=True (--overwrite) to replace it")
        elif not (out / MARKER).exists():
            raise DataError(f"{out}: not a fine-tuning output (no {MARKER}); refusing to delete it")
        else:
            shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / ".finetune").write_text("in progress\n")


def finetune(config: FinetuneConfig, on_event: Optional[Callable[[dict], None]] = None) -> dict:
    """Fine-tune every seed; returns results.json's content. `on_event` gets progress dicts."""
    emit = on_event or (lambda event: None)
    out = Path(config.out)
    init = load_init(config.init, config.vocab, config.size)
    if init.vocab_dir is None and config.vocab is None:
        raise InitError(f"{init.source}: no vocab beside the model; pass --vocab DIR (the vocab it was trained with)")
    tok = load_tokenizer(config.vocab or init.vocab_dir, expect=init.fingerprint)
    columns = Columns(config.text, config.text_pair, config.label)
    train = read_split(config.train, config.kind, columns)
    if config.dev:
        dev = read_split(config.dev, config.kind, columns)
    elif config.split_dev:
        train, dev = split_off(train, config.split_dev, config.split_seed)
    else:
        raise DataError("no dev set: pass --dev FILE or --split-dev FRACTION")
    for split, what in ((train, "training"), (dev, "dev")):
        if not split.examples:
            raise DataError(f"{split.path}: the {what} set is empty ({len(split.rejects)} rejected lines)")
    label_names = label_names_from(train, config.kind, config.labels_file)
    label_ids = label_aliases(config.labels_file) or {name: i for i, name in enumerate(label_names)}
    if config.kind != "regression" and len(label_names) < 2:
        raise DataError(f"{config.train}: only one label ({label_names}); a classifier needs two or more")
    if config.max_seq_len > init.config.max_position_embeddings:
        raise DataError(f"max_seq_len {config.max_seq_len} exceeds the model's {init.config.max_position_embeddings} "
                        "positions")
    if init.config.use_task_id and not 0 <= config.task_id < init.config.task_type_vocab_size:
        raise DataError(f"task id {config.task_id} is outside the model's {init.config.task_type_vocab_size} task ids")
    # every init fine-tunes with the same dropout: a run pre-trained without dropout would otherwise
    # fine-tune without it while the random baseline keeps 0.1
    init.config.hidden_dropout_prob = init.config.attention_probs_dropout_prob = config.dropout
    train_data = encode(train, config.kind, tok, label_ids, config.max_seq_len, config.t2s)
    dev_data = encode(dev, config.kind, tok, label_ids, config.max_seq_len, config.t2s)
    test = read_split(config.test, config.kind, columns, labelled=False) if config.test else None
    test_data = encode(test, config.kind, tok, label_ids, config.max_seq_len, config.t2s, labelled=False) if test else None

    check_weights(init)
    _prepare_out(out, config.overwrite)
    device, precision, autocast = _device_and_autocast(config.precision)
    metric = M.MAIN[config.kind]
    lr = config.lr or default_lr(init.config.hidden_size, "finetune")
    per_epoch = math.ceil(len(train_data.ids) / config.batch_size)
    total = config.max_steps or max(1, math.ceil(config.epochs * per_epoch))
    eval_every = config.eval_every or per_epoch
    info = {"kind": config.kind, "label_names": label_names, "max_seq_len": config.max_seq_len,
            "task_id": config.task_id, "t2s": config.t2s, "model_config": asdict(init.config),
            "vocab_fingerprint": tok.fingerprint, "init": init.source, "metric": metric, "label_ids": label_ids,
            "columns": asdict(columns), "pooling": config.pooling}
    emit({"event": "start", "init": init.source, "train": len(train_data.ids), "dev": len(dev_data.ids),
          "rejected": len(train.rejects) + len(dev.rejects), "labels": label_names, "steps": total, "lr": lr,
          "warmup_steps": int(config.warmup * total), "precision": precision, "device": str(device)})
    writer = tensorboard_writer(out)
    runs = {}
    for seed in config.seeds:
        runs[seed] = _train_seed(config, seed, init, tok, train_data, dev_data, label_names, info, out, device,
                                 autocast, lr, total, per_epoch, eval_every, metric, writer, emit)
    if writer is not None:
        writer.close()
    best_seed = max(runs, key=lambda s: runs[s]["dev"][metric])
    _copy_tree(out / f"seed-{best_seed}" / "best", out / "best")
    if test_data is not None:
        model, _, _ = load_finetuned(out / "best", device)
        _write_predictions(out / "predictions.tsv", predict(model, test_data, config.kind, tok.special_ids["pad"],
                                                              config.task_id, device, autocast),
                           test_data, config.kind, label_names)
    values = [runs[s]["dev"][metric] for s in config.seeds]
    results = {"train": config.train, "dev": dev.path, "kind": config.kind, "init": init.source, "metric": metric,
               "labels": label_names, "train_examples": len(train_data.ids), "dev_examples": len(dev_data.ids),
               "rejected": train.rejects[:20] + dev.rejects[:20], "lr": lr, "steps": total,
               "seeds": {str(s): runs[s] for s in config.seeds}, "best_seed": best_seed,
               "summary": {"mean": statistics.fmean(values), "std": statistics.pstdev(values) if len(values) > 1 else 0.0,
                           "median": statistics.median(values), "values": values},
               "majority": runs[config.seeds[0]]["dev"].get("majority")}
    _write_json(out / MARKER, results)
    (out / "results.md").write_text(results_table(results), encoding="utf-8")
    (out / ".finetune").unlink(missing_ok=True)
    emit({"event": "done", **results["summary"], "metric": metric})
    return results


def _train_seed(config, seed, init: Init, tok, train_data, dev_data, label_names, info, out, device, autocast,
                lr, total, per_epoch, eval_every, metric, writer, emit) -> dict:
    num_labels = 1 if config.kind == "regression" else len(label_names)
    model = build_model(init, config.kind, num_labels, seed, config.weight_init, config.reset_pooler,
                        config.pooling).to(device)
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": config.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=lr, betas=(0.9, 0.999), eps=1e-8)
    warmup = max(1, int(config.warmup * total))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / max(1, total - warmup))))
    pad, seed_dir = tok.special_ids["pad"], out / f"seed-{seed}"
    seed_dir.mkdir(parents=True, exist_ok=True)
    log = open(seed_dir / "metrics.jsonl", "w", encoding="utf-8")
    best, best_step, stale, step, epoch = None, 0, 0, 0, 0
    started = time.perf_counter()
    try:
        while step < total and stale < config.patience:
            for index in batches(train_data, config.batch_size, seed, epoch):
                model.train()
                batch = collate(train_data, index, config.kind, pad, config.task_id, device)
                with autocast:
                    logits = model(batch)
                loss = model.loss(logits, batch["labels"])
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                schedule.step()
                optimizer.zero_grad(set_to_none=True)
                step += 1
                row = {"seed": seed, "step": step, "epoch": epoch, "loss": float(loss.detach()), "lr": schedule.get_last_lr()[0]}
                if writer is not None:
                    writer.add_scalar(f"seed-{seed}/train_loss", row["loss"], step)
                if step % eval_every == 0 or step == total:
                    scores = score(predict(model, dev_data, config.kind, pad, config.task_id, device, autocast),
                                   dev_data, config.kind, label_names)
                    row["dev"] = scores
                    if writer is not None:
                        writer.add_scalar(f"seed-{seed}/dev_{metric}", scores[metric], step)
                    if best is None or scores[metric] > best[metric]:
                        best, best_step, stale = scores, step, 0
                        save_model(model, {**info, "seed": seed, "step": step, "dev": scores}, tok, seed_dir / "best")
                    else:
                        stale += 1
                    emit({"event": "eval", "seed": seed, "step": step, "total": total, metric: scores[metric],
                          "best": best[metric]})
                log.write(json.dumps(row) + "\n")
                emit({"event": "step", "seed": seed, "step": step, "total": total, "loss": row["loss"]})
                if step >= total or stale >= config.patience:
                    break
            epoch += 1
    finally:
        log.close()
    return {"dev": best, "best_step": best_step, "steps": step, "seconds": round(time.perf_counter() - started, 1),
            "stopped_early": step < total}


def evaluate(model_dir: str, data: str, columns: Optional[Columns] = None) -> dict:
    """The metrics of a fine-tuned model on a labelled file (read as it was trained)."""
    device, _, autocast = _device_and_autocast("auto")
    model, info, tok = load_finetuned(Path(model_dir), device)
    columns = columns or Columns(**info.get("columns", {}))
    split = read_split(data, info["kind"], columns)
    if not split.examples:
        raise DataError(f"{data}: no examples ({len(split.rejects)} rejected lines)")
    label_ids = info.get("label_ids") or {name: i for i, name in enumerate(info["label_names"])}
    encoded = encode(split, info["kind"], tok, label_ids, info["max_seq_len"], info["t2s"])
    predicted = predict(model, encoded, info["kind"], tok.special_ids["pad"], info["task_id"], device, autocast)
    return {"data": str(data), "examples": len(encoded.ids), "rejected": len(split.rejects), "metric": info["metric"],
            **score(predicted, encoded, info["kind"], info["label_names"]),
            "predictions": [_name(p, info["kind"], info["label_names"]) for p in predicted]}


def _name(p, kind, names):
    if kind == "regression":
        return p
    if kind == "ner":
        return [names[t] for t in p]
    return names[p]


def _write_predictions(path: Path, predicted, data: Encoded, kind: str, names: list[str]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write("index\tprediction\ttext\n")
        for i, (p, example) in enumerate(zip(predicted, data.examples)):
            text = " ".join(example.text) if kind == "ner" else example.text
            value = " ".join(_name(p, kind, names)) if kind == "ner" else _name(p, kind, names)
            fh.write(f"{i}\t{value}\t{text}\n")
    os.replace(tmp, path)


def results_table(results: dict) -> str:
    metric = results["metric"]
    lines = [f"| seed | dev {metric} | best step | steps | seconds |", "|---|---|---|---|---|"]
    for seed, run in results["seeds"].items():
        lines.append(f"| {seed} | {run['dev'][metric]:.4f} | {run['best_step']} | {run['steps']} | {run['seconds']} |")
    s = results["summary"]
    lines.append(f"| mean ± std | {s['mean']:.4f} ± {s['std']:.4f} | | | |")
    lines.append(f"| median | {s['median']:.4f} | | | |")
    head = (f"Fine-tuned {results['kind']} on {results['train']} ({results['train_examples']} examples), "
            f"scored on {results['dev']} ({results['dev_examples']}); init: {results['init']}\n\n")
    return head + "\n".join(lines) + "\n"


def _write_json(path: Path, value: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value, indent=2, ensure_ascii=False, default=float) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _copy_tree(src: Path, dst: Path) -> None:
    tmp = dst.with_name(f".{dst.name}.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    shutil.copytree(src, tmp)
    if dst.exists():
        shutil.rmtree(dst)
    os.replace(tmp, dst)

