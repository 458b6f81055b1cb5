"""The fine-tuning model and where its weights come from.

`ErnieForFinetuning` is the encoder, dropout and one linear `classifier`, named as HF's
`ErnieForSequenceClassification` / `ErnieForTokenClassification`, so export is a rename-free save.
`load_init` reads an encoder from:

- a pre-training run directory (its latest checkpoint) or one checkpoint directory;
- a local HF `ErnieModel`/`BertModel` directory (or one of their task models), from safetensors only;
- a fine-tuned model directory (`finetune.json`), to evaluate or fine-tune further;
- `random`: the same architecture with fresh weights, the baseline (needs a vocab and a size).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Union

import torch
import torch.nn.functional as F
from torch import nn

from trainer.checkpoint import read_weights, resolve_checkpoint
from trainer.model import WEIGHT_INITS, ErnieConfig, ErnieModel, init_weights, local_attention_init

IGNORE = -100
HF_TYPES = ("ernie", "bert")
_CONFIG_FIELDS = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                  "hidden_act", "hidden_dropout_prob", "attention_probs_dropout_prob", "max_position_embeddings",
                  "type_vocab_size", "layer_norm_eps", "pad_token_id", "initializer_range")


class InitError(ValueError):
    """An --init that cannot be read; str() is one line."""


@dataclass
class Init:
    """An encoder to start from: its config, its weights (None: random), the vocab directory it
    was trained with and that vocab's fingerprint, and where it came from."""

    config: ErnieConfig
    weights: Optional[dict[str, torch.Tensor]]
    vocab_dir: Optional[Path]
    fingerprint: Optional[str]
    source: str
    finetuned: Optional[dict] = None  # finetune.json of a fine-tuned model


POOLINGS = ("cls", "mean")


class ErnieForFinetuning(nn.Module):
    """Encoder + dropout + Linear(hidden, num_labels): on the pooled output for classification,
    pair and regression (num_labels 1), on every position for ner. `pooling` cls is the pooler
    on [CLS] (HF's ErnieForSequenceClassification); mean is the mean of the real tokens' final
    states (the pooler unused), which reads what MLM trained rather than an untrained [CLS]."""

    def __init__(self, config: ErnieConfig, kind: str, num_labels: int, pooling: str = "cls") -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise InitError(f"pooling {pooling!r}: choose {' or '.join(POOLINGS)}")
        self.kind, self.pooling = kind, pooling
        self.ernie = ErnieModel(config)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.classifier = nn.Linear(config.hidden_size, num_labels)
        init_weights(self.classifier, config.initializer_range)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        seq, pooled = self.ernie(batch["input_ids"], batch.get("token_type_ids"), batch.get("task_type_ids"),
                                 batch.get("attention_mask"))
        if self.kind != "ner" and self.pooling == "mean":  # the mean of the real tokens' states
            real = batch["attention_mask"].unsqueeze(-1).to(seq.dtype)
            pooled = (seq * real).sum(1) / real.sum(1).clamp(min=1)
        logits = self.classifier(self.dropout(seq if self.kind == "ner" else pooled))
        return logits.squeeze(-1) if self.kind == "regression" else logits

    def loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if self.kind == "regression":
            return F.mse_loss(logits.float(), labels.float())
        if self.kind == "ner":
            return F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), labels.reshape(-1),
                                   ignore_index=IGNORE)
        return F.cross_entropy(logits.float(), labels)


def _strip(weights: dict[str, torch.Tensor], prefixes: tuple[str, ...]) -> dict[str, torch.Tensor]:
    """The encoder's tensors (embeddings, encoder, pooler) without a model prefix."""
    out = {}
    for key, value in weights.items():
        for prefix in prefixes:
            if key.startswith(prefix):
                key = key[len(prefix):]
                break
        if key.split(".", 1)[0] in ("embeddings", "encoder", "pooler"):
            out[key] = value
    return out


def _from_run(path: Path) -> Init:
    path = resolve_checkpoint(path)
    state = json.loads((path / "state.json").read_text(encoding="utf-8"))
    if "model_config" not in state:
        raise InitError(f"{path}: this checkpoint predates model configs in state.json; pre-train it again")
    run = path.parent.parent
    vocab = run / "vocab"
    weights = _strip(read_weights(path / "model.safetensors"), ("ernie.",))
    return Init(ErnieConfig(**state["model_config"]), weights, vocab if vocab.is_dir() else None,
                state.get("vocab_fingerprint"), f"checkpoint {path}")


def _from_finetuned(path: Path) -> Init:
    info = json.loads((path / "finetune.json").read_text(encoding="utf-8"))
    weights = _strip(read_weights(path / "model.safetensors"), ("ernie.",))
    return Init(ErnieConfig(**info["model_config"]), weights, path, info["vocab_fingerprint"],
                f"fine-tuned model {path}", finetuned=info)


def _from_hf(path: Path) -> Init:
    config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    kind = config.get("model_type")
    if kind not in HF_TYPES:
        raise InitError(f"{path}: a {kind!r} model; --init takes ERNIE or BERT models ({', '.join(HF_TYPES)})")
    if config.get("position_embedding_type", "absolute") != "absolute":
        raise InitError(f"{path}: position_embedding_type {config['position_embedding_type']!r} is not supported")
    files = sorted(path.glob("*.safetensors"))
    if not files:
        bins = [p.name for p in path.glob("*.bin")]
        if bins:
            raise InitError(f"{path}: only {bins[0]} (a pickle, never loaded here); convert it once with "
                            "`python -c \"from transformers import AutoModel; AutoModel.from_pretrained('DIR')"
                            ".save_pretrained('DIR', safe_serialization=True)\"` in a trusted environment")
        raise InitError(f"{path}: no model.safetensors")
    weights: dict[str, torch.Tensor] = {}
    for file in files:
        weights.update(read_weights(file))
    fields = {k: config[k] for k in _CONFIG_FIELDS if k in config}
    if fields.get("hidden_act", "gelu") != "gelu":
        raise InitError(f"{path}: hidden_act {fields['hidden_act']!r} is not supported; only gelu")
    use_task_id = bool(config.get("use_task_id", False)) and kind == "ernie"
    ours = ErnieConfig(**fields, use_task_id=use_task_id,
                       task_type_vocab_size=int(config.get("task_type_vocab_size", 3)))
    vocab = path if (path / "vocab.txt").exists() else None
    from trainer.tokenizer import fingerprint
    return Init(ours, _strip(weights, ("ernie.", "bert.")), vocab,
                fingerprint(vocab / "vocab.txt") if vocab else None, f"HF {kind} model {path}")


def load_init(init: Union[str, Path], vocab: Optional[Union[str, Path]] = None, size: Optional[str] = None,
              **overrides: Any) -> Init:
    """Resolve --init (see the module docstring); `vocab` and `size` are for `random`."""
    if str(init) == "random":
        if vocab is None or size is None:
            raise InitError("--init random needs --vocab DIR and --size tiny|mini|base|large")
        from trainer.tokenizer import load_tokenizer
        tok = load_tokenizer(vocab)
        config = ErnieConfig.from_size(size, tok.vocab_size, pad_token_id=tok.special_ids["pad"], **overrides)
        return Init(config, None, tok.directory, tok.fingerprint, f"random {size}")
    path = Path(init)
    if not path.is_dir():
        raise InitError(f"--init {path}: no such directory; give a pre-training run, a checkpoint, an HF model "
                        "directory, a fine-tuned model or `random`")
    if (path / "best" / "finetune.json").exists():  # the OUT of `ernie-train finetune`
        path = path / "best"
    if (path / "checkpoints" / "latest").exists() or (path / "state.json").exists():
        return _from_run(path)
    if (path / "finetune.json").exists():
        return _from_finetuned(path)
    if (path / "config.json").exists():
        return _from_hf(path)
    raise InitError(f"--init {path}: not a pre-training run (checkpoints/latest), a checkpoint (state.json), an HF "
                    "model (config.json) or a fine-tuned model (finetune.json)")


def build_model(init: Init, kind: str, num_labels: int, seed: int, weight_init: str = "bert",
                reset_pooler: bool = False, pooling: str = "cls") -> ErnieForFinetuning:
    """The fine-tuning model with the init's encoder; the classifier starts fresh (seeded), unless
    the init is a fine-tuned model of the same kind and labels. A random init is `weight_init`'s
    (bert, or local: the weights pre-training starts from); `reset_pooler` starts the pooler fresh."""
    check_weights(init)
    torch.manual_seed(seed)
    model = ErnieForFinetuning(init.config, kind, num_labels, pooling)
    if init.weights is None:
        if weight_init not in WEIGHT_INITS:
            raise InitError(f"weight init {weight_init!r}: choose {' or '.join(WEIGHT_INITS)}")
        if weight_init == "local":
            local_attention_init(model.ernie)
    else:
        expected = model.ernie.state_dict()
        weights = _complete(init.weights, expected)
        if reset_pooler:
            weights = {**weights, **{k: v for k, v in expected.items() if k.startswith("pooler.")}}
        model.ernie.load_state_dict({k: weights[k] for k in expected}, strict=True)
    return model


def _complete(weights: dict[str, torch.Tensor], expected: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Weights plus what a model may lack: task embeddings (a BERT) and the pooler (a token
    classifier), taken from `expected` (fresh weights)."""
    weights = dict(weights)
    for key, value in expected.items():
        if key not in weights and (key.startswith("pooler.") or key.startswith("embeddings.task_type")):
            weights[key] = value
    return weights


def check_weights(init: Init) -> None:
    """A one-line InitError if the init's weights do not fit its config (checked on the meta device,
    without allocating the model)."""
    if init.weights is None:
        return
    with torch.device("meta"):
        expected = ErnieModel(init.config).state_dict()
    weights = _complete(init.weights, expected)
    missing = sorted(set(expected) - set(weights))
    if missing:
        raise InitError(f"{init.source}: its weights lack {missing[0]} (and {len(missing) - 1} more)")
    for key, value in expected.items():
        if weights[key].shape != value.shape:
            raise InitError(f"{init.source}: {key} has shape {tuple(weights[key].shape)}, the config says "
                            f"{tuple(value.shape)}")

