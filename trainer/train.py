"""Continual multi-task pre-training: `pretrain` is the loop, read top to bottom; `setup` builds
what it needs (a `Run`), `train_step` is one optimizer step.

Each step: the schedule picks a task (the same on every rank), the task's own warmup and decay set
the learning rate, the task's data gives a batch (this rank's slice of the global batch), the
shared encoder plus the task's head give the loss (plus MLM when mlm_always), and Adam steps.
Checkpoints hold everything needed to continue exactly: weights, optimizer, schedule (with the
task step counters), data cursors and RNG states.
"""
from __future__ import annotations

import json
import math
import os
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Optional

import torch
import torch.distributed as dist

from trainer.checkpoint import latest_checkpoint, load_checkpoint, read_weights, resolve_checkpoint, save_checkpoint
from trainer.config import ConfigError, TrainConfig
from trainer.data import Loader, TaskData
from trainer.heads import ErnieForPretraining
from trainer.masking import MaskingConfig
from trainer.model import WEIGHT_INITS, ErnieConfig, flops_per_token, local_attention_init
from trainer.probe import HeldOutProbe, heldout_indices
from trainer.runtime import autocast, default_lr, peak_flops, resolve_precision, setup_distributed, tensorboard_writer
from trainer.schedule import Schedule, ScheduleConfig
from trainer.tasks import read_tasks


@dataclass
class StepLog:
    """One line of metrics.jsonl (rank 0)."""

    step: int
    task: str
    stage: int
    loss: float
    lr: float
    tokens: int
    seconds: float
    extra: dict = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps({"step": self.step, "task": self.task, "stage": self.stage, "loss": self.loss,
                           "lr": self.lr, "tokens": self.tokens, "seconds": round(self.seconds, 4), **self.extra})


@dataclass
class Run:
    """What the loop needs, built by `setup`: the model (and its DDP wrapper), optimizer, schedule,
    per-task data, the held-out probe, precision, and where a resumed run starts."""

    config: TrainConfig
    out: Path
    rank: int
    world: int
    device: torch.device
    model: ErnieForPretraining
    net: torch.nn.Module
    optimizer: torch.optim.Optimizer
    schedule: Schedule
    data: dict[str, Loader]
    probe: Optional[HeldOutProbe]
    eval_every: int
    precision: str
    scaler: torch.amp.GradScaler
    flops: float
    start: int = 0
    tokens_seen: int = 0


def pretrain(config: TrainConfig, resume: bool = False, on_step: Optional[Callable[[StepLog], None]] = None,
             keep_model: Optional[list] = None, on_start: Optional[Callable[[dict], None]] = None) -> Path:
    """Run (or continue) pre-training; returns the run directory. `on_start` receives the plan
    (effective lr and warmups, stages, what --init loaded); `keep_model`, if given, receives the
    trained model (for tests and notebooks)."""
    run = setup(config, resume, on_start)
    metrics = open(run.out / "metrics.jsonl", "a", encoding="utf-8") if run.rank == 0 else None
    writer = tensorboard_writer(run.out) if run.rank == 0 else None
    try:
        for step in range(run.start, run.schedule.total_steps):
            started, cpu_started = time.perf_counter(), time.process_time()
            task = run.schedule.next_task(step)  # also advances the task's own step counter
            lr = run.schedule.lr(task)  # warmup and decay on that counter
            for group in run.optimizer.param_groups:
                group["lr"] = lr
            loss_value, tokens, parts, grad_norm = train_step(run, task)
            seconds = time.perf_counter() - started
            run.tokens_seen += tokens
            log = StepLog(step + 1, task, run.schedule.stage(step), loss_value, lr, tokens, seconds,
                          {**{k: v for k, v in parts.items() if k != "loss"}, "grad_norm": grad_norm,
                           "tokens_per_s": tokens / seconds if seconds else 0.0, "tokens_seen": run.tokens_seen,
                           "cpu_seconds": round(time.process_time() - cpu_started, 4)})
            if run.probe is not None and ((step + 1) % run.eval_every == 0 or step + 1 == run.schedule.total_steps):
                log.extra.update({f"heldout_{k}": v for k, v in run.probe.evaluate(run.model, run.device).items()})
            if run.device.type == "cuda":
                log.extra["mfu"] = run.flops * tokens / seconds / peak_flops(run.device, run.precision)
            if run.rank == 0:
                _write_log(log, metrics, writer, config.log_every)
            if on_step:
                on_step(log)
            if not math.isfinite(loss_value):
                raise FloatingPointError(f"step {step + 1} ({task}): loss is {loss_value}")
            if (config.save_every and (step + 1) % config.save_every == 0) or step + 1 == run.schedule.total_steps:
                _save(run.out, step + 1, run.model, run.optimizer, run.schedule, run.data, config, run.rank,
                      run.world, run.tokens_seen)
        if keep_model is not None:
            keep_model.append(run.model)
    finally:
        if metrics is not None:
            metrics.close()
        if writer is not None:
            writer.close()
    return run.out


def train_step(run: Run, task: str) -> tuple[float, int, dict, float]:
    """One optimizer step of `task` (grad_accum micro-batches): (loss, tokens, the last micro-batch's
    metrics, grad norm); loss and tokens are reduced over ranks."""
    config, net, optimizer, scaler = run.config, run.net, run.optimizer, run.scaler
    net.train()
    tokens, losses, parts = 0, [], {}
    for micro in range(config.grad_accum):
        batch = run.data[task].next_batch()
        batch["task_weight"] = float(config.weights.get(task, 1.0))
        tokens += int(batch["attention_mask"].sum())
        batch = {k: v.to(run.device) if torch.is_tensor(v) else v for k, v in batch.items()}
        sync = nullcontext() if run.world == 1 or micro == config.grad_accum - 1 else net.no_sync()
        with sync:
            with autocast(run.device, run.precision):
                loss, parts = net(batch)
            scaler.scale(loss / config.grad_accum).backward()
        losses.append(float(loss.detach()))
    scaler.unscale_(optimizer)
    grad_norm = torch.nn.utils.clip_grad_norm_(run.model.parameters(), config.clip_norm)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad(set_to_none=True)
    if run.precision == "fp16" and scaler.get_scale() < 1.0:
        _warn(f"fp16 loss scale collapsed to {scaler.get_scale():.2e}; the loss is overflowing: lower the lr "
              "or use bf16")
    loss_value = sum(losses) / len(losses)
    if run.world > 1:
        reduced = torch.tensor([loss_value, tokens], dtype=torch.float64, device=run.device)
        dist.all_reduce(reduced)
        loss_value, tokens = float(reduced[0]) / run.world, int(reduced[1])
    return loss_value, tokens, parts, float(grad_norm)


def _write_log(log: StepLog, metrics, writer, log_every: int) -> None:
    metrics.write(log.to_json() + "\n")
    if writer is not None:
        writer.add_scalar(f"loss/{log.task}", log.loss, log.step)
        writer.add_scalar(f"lr/{log.task}", log.lr, log.step)
        for key in ("heldout_mask_accuracy", "heldout_shuffled_accuracy", "heldout_unigram_floor"):
            if key in log.extra:
                writer.add_scalar(key.replace("_", "/", 1), log.extra[key], log.step)
    if log.step % log_every == 0:
        metrics.flush()


def setup(config: TrainConfig, resume: bool = False, on_start: Optional[Callable[[dict], None]] = None) -> Run:
    """Check the config against the shards and the run directory, build the model, optimizer,
    schedule, data and probe, load a checkpoint to resume, write plan.json; one-line ConfigErrors."""
    rank, world, device = setup_distributed()
    out = Path(config.out)
    specs = read_tasks(config.tasks)
    first = next(iter(specs.values()))
    if config.tokens_per_batch % world:
        raise ConfigError(f"tokens_per_batch {config.tokens_per_batch} is not divisible by {world} ranks")
    checkpoint = latest_checkpoint(out) if resume else None
    if resume and checkpoint is None:
        raise ConfigError(f"{out}: no checkpoint to resume from")
    if not resume and rank == 0 and (out / "metrics.jsonl").exists():
        raise ConfigError(f"{out}: a run is already there; pass resume=True (--resume) to continue it or choose "
                          "another out (--out)")
    if checkpoint is not None:
        check_resumable(checkpoint, config)
    if resume and config.init:
        raise ConfigError("init (--init) starts a new run from trained weights; it cannot be combined with --resume")
    for key in ("weights", "task_lrs"):
        unknown = sorted(set(getattr(config, key)) - set(specs))
        if unknown:
            raise ConfigError(f"{key}: unknown task(s) {', '.join(unknown)} (tasks: {', '.join(specs)})")
    bad = {t: v for t, v in config.task_lrs.items() if not (isinstance(v, (int, float)) and 0 < v < 1)}
    if bad:
        raise ConfigError(f"task_lrs: a peak lr must be in (0, 1), got {bad}")
    if config.weight_init not in WEIGHT_INITS:
        raise ConfigError(f"weight_init {config.weight_init!r}: choose {' or '.join(WEIGHT_INITS)}")

    torch.manual_seed(config.seed)
    # task embeddings: the default's room (16), more when the run's task ids go past it
    task_types = max(ErnieConfig.task_type_vocab_size, 1 + max(s.task_id for s in specs.values()))
    dropout = {} if config.dropout is None else {"hidden_dropout_prob": config.dropout,
                                                 "attention_probs_dropout_prob": config.dropout}
    model_config = ErnieConfig.from_size(config.size, first.vocab_size, pad_token_id=first.special_ids["pad"],
                                         max_position_embeddings=max(512, max(s.max_seq_len for s in specs.values())),
                                         **{"task_type_vocab_size": task_types, **dropout, **config.model})
    model = ErnieForPretraining(model_config, specs)
    if config.weight_init == "local":
        local_attention_init(model.ernie)
    loaded = load_init_weights(model, config.init) if config.init and checkpoint is None else None
    model = model.to(device)
    lr = config.lr or default_lr(model_config.hidden_size, "pretrain")
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": config.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}],
                                  lr=lr, betas=tuple(config.betas), eps=config.eps)
    schedule = Schedule(ScheduleConfig(tasks=list(specs), budgets=dict(config.budgets), mode=config.mode,
                                       stages=config.stages, max_steps=config.max_steps,
                                       warmup_steps=config.warmup_steps, lr=lr, task_lrs=dict(config.task_lrs),
                                       lr_schedule=config.lr_schedule,
                                       seed=config.seed))
    masking = MaskingConfig(**config.masking)
    task_data = {name: TaskData(spec, config.seed, rank, world, masking=masking, mlm_on_every_batch=config.mlm_always,
                                max_seq_len=config.max_seq_len) for name, spec in specs.items()}
    probe, eval_every = None, config.eval_every or max(1, schedule.total_steps // 10)
    name = next((n for n, s in specs.items() if s.kind == "mlm"), None)
    if config.heldout_examples and name:  # the MLM task's held-out examples: never trained on
        held = heldout_indices(len(task_data[name]), config.heldout_examples)
        if len(held):
            task_data[name].hold_out(held)
            if rank == 0:
                spec = specs[name]
                probe = HeldOutProbe(spec.shards, held, spec.special_ids, spec.task_id, max_len=config.max_seq_len)
    data = {n: Loader(d, config.tokens_per_batch, config.loader_workers) for n, d in task_data.items()}
    precision = resolve_precision(config.precision, device)
    run = Run(config, out, rank, world, device, model, model, optimizer, schedule, data, probe, eval_every, precision,
              torch.amp.GradScaler(device.type, enabled=precision == "fp16"),
              flops_per_token(model_config, first.max_seq_len))
    if checkpoint is not None:
        state = load_checkpoint(checkpoint, model, optimizer, device)
        run.start, run.tokens_seen = state["step"], state.get("tokens_seen", 0)
        schedule.load_state_dict(state["schedule"])
        for task, cursor in state["data"].items():
            data[task].load_state_dict(cursor)
    if world > 1:
        run.net = torch.nn.parallel.DistributedDataParallel(model, find_unused_parameters=True)

    plan = {"config": config.to_dict(), "stages": schedule.plan_summary(), "boundaries": schedule.boundaries(),
            "world_size": world, "precision": precision, "lr": lr, "warmup_steps": dict(schedule.warmups),
            "budgets": dict(schedule.budgets), "model": asdict(model_config), "init": loaded,
            "vocab_fingerprint": first.vocab_fingerprint, "eval_every": eval_every if probe else None,
            "heldout": None if probe is None else {"task": name, "examples": len(probe.indices),
                                                   "targets": probe.num_targets, "unigram_floor": probe.unigram_floor}}
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        if checkpoint is not None:
            _truncate_metrics(out / "metrics.jsonl", run.start)
        else:
            plan["vocab"] = copy_vocab(first, out / "vocab")
        (out / "plan.json").write_text(json.dumps(plan, indent=2, default=str))
        if on_start:
            on_start(plan)
    return run


def _save(out, step, model, optimizer, schedule, data, config, rank, world, tokens_seen=0) -> None:
    """Every rank's data cursor is the same function of the step, so rank 0 writes for all."""
    if world > 1:
        dist.barrier()
    if rank == 0:
        save_checkpoint(out, step, model, optimizer, {"step": step, "tokens_seen": tokens_seen,
                                                      "schedule": schedule.state_dict(),
                                                      "data": {n: d.state_dict() for n, d in data.items()},
                                                      "config": config.to_dict(),
                                                      "model_config": asdict(model.config),
                                                      "vocab_fingerprint": next(iter(data.values())).data.spec.vocab_fingerprint,
                                                      "tasks": {n: {"task_id": d.data.spec.task_id,
                                                                    "kind": d.data.spec.kind,
                                                                    "num_classes": d.data.spec.num_classes}
                                                                for n, d in data.items()}})
    if world > 1:
        dist.barrier()


# Settings a resumed run may change: they do not alter what the remaining steps compute.
RESUMABLE_CHANGES = ("out", "save_every", "log_every", "loader_workers")


def check_resumable(checkpoint: Path, config: TrainConfig) -> None:
    """A one-line ConfigError naming the settings that differ from the checkpoint's run."""
    saved = json.loads((checkpoint / "state.json").read_text(encoding="utf-8")).get("config", {})
    now = json.loads(json.dumps(config.to_dict(), default=str))
    changed = [f"{k} {saved.get(k)!r} -> {now.get(k)!r}" for k in now
               if k not in RESUMABLE_CHANGES and k in saved and saved[k] != now[k]]
    if changed:
        raise ConfigError(f"cannot resume {checkpoint.parent.parent}: {'; '.join(changed)} differ from the run's "
                          "settings; resume with the run's settings, or start a new schedule from its weights "
                          f"with --init {checkpoint.parent.parent} --out NEW_RUN")


def load_init_weights(model: ErnieForPretraining, init: str) -> dict:
    """Continual pre-training: the encoder and MLM head of a trained run (or checkpoint), plus the
    heads of tasks it also trained (same name and shape); new tasks' heads start fresh."""
    path = resolve_checkpoint(Path(init))
    if not (path / "model.safetensors").exists():
        raise ConfigError(f"--init {init}: not a pre-training run or checkpoint (no checkpoints/latest or "
                          "model.safetensors)")
    own = model.state_dict()
    weights = read_weights(path / "model.safetensors")
    taken = {k: v for k, v in weights.items() if k in own and own[k].shape == v.shape}
    encoder = [k for k in own if k.startswith("ernie.")]
    missing = [k for k in encoder if k not in taken]
    if missing:
        raise ConfigError(f"--init {init}: its encoder does not fit this model ({missing[0]} missing or of another "
                          "shape); use the same [model] size and vocab")
    model.load_state_dict({**own, **taken}, strict=True)
    heads = sorted({k.split(".")[2] for k in taken if k.startswith("cls.tasks.")})
    return {"from": str(path), "tensors": len(taken), "task_heads": heads,
            "fresh_heads": sorted({k.split(".")[2] for k in own if k.startswith("cls.tasks.") and k not in taken})}


def copy_vocab(spec, out: Path) -> Optional[str]:
    """RUN/vocab: the vocab the shards were built with (fingerprint checked), so that a run
    directory is all that fine-tuning and export need. None when the vocab is not found."""
    import shutil

    from trainer.tokenizer import VOCAB_FILES, fingerprint

    source = Path(spec.vocab_path) if spec.vocab_path else None
    if source is None or not (source / "vocab.txt").exists() or fingerprint(source / "vocab.txt") != spec.vocab_fingerprint:
        return None
    out.mkdir(parents=True, exist_ok=True)
    for name in VOCAB_FILES:
        if (source / name).exists():
            shutil.copyfile(source / name, out / name)
    return str(source)


def _truncate_metrics(path: Path, step: int) -> None:
    """On resume, forget logged steps after the checkpoint (they are trained again)."""
    if path.exists():
        kept = [line for line in path.read_text(encoding="utf-8").splitlines()
                if line.strip() and json.loads(line)["step"] <= step]
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text("".join(line + "\n" for line in kept), encoding="utf-8")
        os.replace(tmp, path)


def _warn(message: str) -> None:
    import warnings

    warnings.warn(message, RuntimeWarning, stacklevel=2)
