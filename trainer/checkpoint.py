"""Checkpoints: written atomically (temp directory, fsync, rename), read without unpickling.

    RUN/checkpoints/step-0000100/
      model.safetensors   weights (tied embeddings handled by safetensors' save_model)
      optimizer.pt        the optimizer state, loaded with torch.load(weights_only=True)
      rng.safetensors     torch (and CUDA) RNG states
      state.json          step, task step counters, schedule and data cursors, config
    RUN/checkpoints/latest  the name of the newest complete checkpoint
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any, Optional

import torch
from safetensors import safe_open
from safetensors.torch import load_file, load_model, save_file, save_model


def _fsync_tree(directory: Path) -> None:
    for path in directory.iterdir():
        with open(path, "rb") as fh:
            os.fsync(fh.fileno())


def save_checkpoint(run: Path, step: int, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                    state: dict[str, Any]) -> Path:
    root = Path(run) / "checkpoints"
    root.mkdir(parents=True, exist_ok=True)
    name = f"step-{step:07d}"
    tmp = root / f".{name}.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    save_model(model, str(tmp / "model.safetensors"))
    torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
    rng = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng.update({f"cuda{i}": s for i, s in enumerate(torch.cuda.get_rng_state_all())})
    save_file(rng, str(tmp / "rng.safetensors"))
    (tmp / "state.json").write_text(json.dumps(state, indent=1, default=str), encoding="utf-8")
    _fsync_tree(tmp)
    final = root / name
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    pointer = root / "latest.tmp"
    pointer.write_text(name + "\n", encoding="utf-8")
    os.replace(pointer, root / "latest")
    return final


def latest_checkpoint(run: Path) -> Optional[Path]:
    pointer = Path(run) / "checkpoints" / "latest"
    if not pointer.exists():
        return None
    path = pointer.parent / pointer.read_text(encoding="utf-8").strip()
    return path if (path / "state.json").exists() else None


def resolve_checkpoint(path: Path) -> Path:
    """A run directory -> its latest checkpoint; a checkpoint (or any other) directory as it is."""
    return latest_checkpoint(path) or Path(path)


TIED = ("ernie.embeddings.word_embeddings.weight", "cls.predictions.decoder.weight")


def read_weights(path: Path) -> dict[str, torch.Tensor]:
    """Every tensor of a model.safetensors. save_model stores tied tensors once: the word
    embeddings, tied to the MLM decoder, come back under their own name too."""
    with safe_open(str(path), framework="pt") as fh:
        weights = {key: fh.get_tensor(key) for key in fh.keys()}
    word, decoder = TIED
    if word not in weights and decoder in weights:
        weights[word] = weights[decoder]
    return weights


def load_checkpoint(path: Path, model: torch.nn.Module, optimizer: Optional[torch.optim.Optimizer],
                    device: torch.device) -> dict[str, Any]:
    """Restore weights, optimizer and RNG states in place; return state.json."""
    missing, unexpected = load_model(model, str(path / "model.safetensors"), strict=True, device=str(device))
    if optimizer is not None:
        optimizer.load_state_dict(torch.load(path / "optimizer.pt", weights_only=True, map_location=device))
    rng = load_file(str(path / "rng.safetensors"))
    torch.set_rng_state(rng["torch"])
    if torch.cuda.is_available():
        states = [rng[k] for k in sorted(rng) if k.startswith("cuda")]
        if states:
            torch.cuda.set_rng_state_all(states)
    return json.loads((path / "state.json").read_text(encoding="utf-8"))
