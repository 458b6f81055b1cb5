"""What both entry points, `pretrain` (trainer/train.py) and `finetune` (trainer/finetune.py), run on:
the device and the distributed setup, precision and autocast, the TensorBoard writer, the peak
learning rates by model width, and a GPU's peak FLOP/s for MFU. One home, so the two loops agree.
"""
from __future__ import annotations

import os
from contextlib import nullcontext
from pathlib import Path

import torch
import torch.distributed as dist

from trainer.config import ConfigError

# Peak lr by hidden size (the first width >= the model's), and for wider models.
# Pre-training: tiny 1e-3 (measured: leaves the unigram plateau, docs/BENCHMARKS.md) ... base 1e-4
# (BERT's). Fine-tuning: small models take larger steps (tiny 5e-4 ... base 5e-5, BERT's range).
LR_TABLES = {
    "pretrain": (((128, 1e-3), (256, 5e-4), (512, 2e-4), (768, 1e-4)), 5e-5),
    "finetune": (((128, 5e-4), (256, 2e-4), (512, 1e-4), (768, 5e-5)), 3e-5),
}


def default_lr(hidden_size: int, stage: str = "pretrain") -> float:
    """The peak lr for a model of this width at this stage (pretrain | finetune)."""
    table, wider = LR_TABLES[stage]
    for width, lr in table:
        if hidden_size <= width:
            return lr
    return wider


def setup_distributed() -> tuple[int, int, torch.device]:
    """(rank, world size, device). torchrun sets WORLD_SIZE/RANK/LOCAL_RANK: nccl on GPU, gloo on CPU."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if torch.cuda.is_available():
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return rank, world, device


def resolve_precision(precision: str, device: torch.device) -> str:
    """auto: bf16 on a GPU that has it, else fp32; fp16 only on a GPU."""
    if precision == "auto":
        return "bf16" if device.type == "cuda" and torch.cuda.is_bf16_supported() else "fp32"
    if precision not in ("fp32", "bf16", "fp16"):
        raise ConfigError(f"precision {precision!r}: choose auto, fp32, bf16 or fp16")
    if precision == "fp16" and device.type != "cuda":
        raise ConfigError("fp16 needs a GPU; use fp32 or bf16 on CPU")
    return precision


def autocast(device: torch.device, precision: str):
    """The autocast context of a resolved precision (a no-op for fp32)."""
    if precision == "fp32":
        return nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16 if precision == "bf16" else torch.float16)


def tensorboard_writer(out: Path):
    """A SummaryWriter on OUT/tensorboard, or None without tensorboard (metrics.jsonl has everything)."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(str(Path(out) / "tensorboard"))


def peak_flops(device: torch.device, precision: str) -> float:
    """Dense peak of the GPU at this precision (H100/H200 SXM: 989 TFLOP/s bf16/fp16; A100 otherwise)."""
    name = torch.cuda.get_device_name(device)
    tensor = 989e12 if ("H100" in name or "H200" in name) else 312e12
    return tensor if precision in ("bf16", "fp16") else tensor / 2


__all__ = ["LR_TABLES", "autocast", "default_lr", "peak_flops", "resolve_precision", "setup_distributed",
           "tensorboard_writer"]
