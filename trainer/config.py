"""Run configuration: one TOML file, overridden by CLI flags; a run can also start from flags alone.

    [tasks]                       # introduction order = stage order
    knowledge_masking = "out/demo/tasks-en/knowledge_masking"
    sentence_reorder = "out/demo/tasks-en/sentence_reorder"

    [model]    size = "tiny"      # tiny | mini | base | large, plus overrides (hidden_size = 192, ...)
    [schedule] mode = "continual_multitask"   budgets = { knowledge_masking = 300 }   stages = [...]
    [optim]    lr = 1e-3  task_lrs = { skip_gram = 2e-3 }  warmup_steps = 20  weight_decay = 0.01  betas = [0.9, 0.98]  clip_norm = 1.0
    [train]    max_steps = 1000  tokens_per_batch = 4096  grad_accum = 1  precision = "fp32"  loader_workers = 0
               save_every = 500  log_every = 10  seed = 42  out = "runs/tiny"  mlm_always = true
    [masking]  mask_prob = 0.15 ...
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Optional


@dataclass
class TrainConfig:
    tasks: dict[str, str] = field(default_factory=dict)  # task -> shard dir, in introduction order
    size: str = "tiny"
    model: dict[str, Any] = field(default_factory=dict)  # ErnieConfig overrides
    weight_init: str = "local"  # local (heads start reading neighbours: model.local_attention_init) | bert
    mode: str = "continual_multitask"  # | multitask | sequential
    budgets: dict[str, int] = field(default_factory=dict)  # steps per task (default: equal shares)
    stages: Optional[list[dict[str, int]]] = None  # an explicit stage table
    weights: dict[str, float] = field(default_factory=dict)  # task -> weight of its own loss (default 1; not MLM's)
    lr: Optional[float] = None  # peak; None: runtime.default_lr(hidden size, "pretrain")
    task_lrs: dict[str, float] = field(default_factory=dict)  # task -> its own peak (default: lr)
    lr_schedule: str = "linear"  # after warmup: linear (to 0 at the task's last step) | noam | constant
    warmup_steps: Optional[int] = None  # per task, on its own step counter; None: min(4000, 10% of its budget)
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.98)
    eps: float = 1e-6
    clip_norm: float = 1.0
    max_steps: int = 1000
    tokens_per_batch: int = 4096  # global, over all ranks
    grad_accum: int = 1
    loader_workers: int = 0  # DataLoader worker processes per task (0: batches built in the training process)
    precision: str = "auto"  # auto (fp32 on CPU, bf16 on GPU) | fp32 | bf16 | fp16
    mlm_always: bool = True  # add the MLM loss to every batch
    masking: dict[str, Any] = field(default_factory=dict)  # MaskingConfig overrides
    dropout: Optional[float] = 0.0  # hidden and attention dropout in pre-training (Cramming: none in short
    # runs); None: the model's (0.1); examples/base.toml keeps BERT's 0.1
    max_seq_len: Optional[int] = None  # crop examples to this many tokens (None: as built)
    eval_every: int = 0  # held-out probe every N steps (0: ten times a run)
    heldout_examples: int = 128  # examples of the MLM task held out for the probe (0: no probe)
    save_every: int = 500
    log_every: int = 10
    seed: int = 42
    out: str = "runs/ernie"
    init: Optional[str] = None  # a pre-training run or checkpoint whose weights start a new schedule

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


SECTIONS = {"schedule": ("mode", "budgets", "stages", "weights"),
            "optim": ("lr", "task_lrs", "lr_schedule", "warmup_steps", "weight_decay", "betas", "eps", "clip_norm"),
            "train": ("max_steps", "tokens_per_batch", "grad_accum", "loader_workers", "precision", "mlm_always",
                      "save_every", "dropout", "max_seq_len", "eval_every", "heldout_examples",
                      "log_every", "seed", "out", "init")}


class ConfigError(ValueError):
    """A bad config file or flag; str() is one line."""


def load_config(path: Optional[Path], overrides: dict[str, Any]) -> TrainConfig:
    """The TOML file (if any), then every flag that was given."""
    config = TrainConfig()
    if path is not None:
        try:
            raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: {exc}") from None
        config.tasks.update({name: str(d) for name, d in raw.pop("tasks", {}).items()})  # relative to the cwd
        model = raw.pop("model", {})
        config.size = model.pop("size", config.size)
        config.weight_init = model.pop("weight_init", config.weight_init)
        config.model = model
        config.masking = raw.pop("masking", {})
        for section, names in SECTIONS.items():
            values = raw.pop(section, {})
            unknown = set(values) - set(names)
            if unknown:
                raise ConfigError(f"{path}: unknown key(s) in [{section}]: {', '.join(sorted(unknown))}")
            for name, value in values.items():
                setattr(config, name, tuple(value) if name == "betas" else value)
        if raw:
            raise ConfigError(f"{path}: unknown section(s) {', '.join(sorted(raw))}; "
                              f"use tasks, model, schedule, optim, train, masking")
    for name, value in overrides.items():
        if value is None:
            continue
        if name == "tasks":
            config.tasks.update(value)
        else:
            setattr(config, name, value)
    return config
