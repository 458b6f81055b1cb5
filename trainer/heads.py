"""Pre-training heads and the model the trainer steps: ErnieModel + an MLM head + one linear head
per token or sequence task.

Names follow HF `ErnieForPreTraining` (`ernie.*`, `cls.predictions.*`), so its encoder and MLM head
load into `transformers.ErnieForPreTraining` with `strict=False` (our task heads are `cls.tasks.*`).
"""
from __future__ import annotations

from typing import Mapping, Optional

import torch
import torch.nn.functional as F
from torch import nn

from trainer import skip_gram
from trainer.model import ErnieConfig, ErnieModel, init_weights
from trainer.tasks import TaskSpec

IGNORE = -100
KINDS = ("mlm", "token", "sequence", "contrastive", "skip_gram")
TEMPERATURE = 0.05  # of the contrastive head's cosine similarities (SimCSE's)


class PredictionHeadTransform(nn.Module):
    """dense + gelu + LayerNorm before the vocab projection."""

    def __init__(self, config: ErnieConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(F.gelu(self.dense(x)))


class MLMHead(nn.Module):
    """Transform, then the vocab projection; its weight is the word embeddings' when given (tied),
    its bias is `bias` (HF keeps `decoder.bias` and `bias` as one tensor too)."""

    def __init__(self, config: ErnieConfig, word_embeddings: Optional[nn.Parameter] = None) -> None:
        super().__init__()
        self.transform = PredictionHeadTransform(config)
        self.decoder = nn.Linear(config.hidden_size, config.vocab_size)
        self.bias = nn.Parameter(torch.zeros(config.vocab_size))
        self.decoder.bias = self.bias
        if word_embeddings is not None:
            self.decoder.weight = word_embeddings

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.transform(x))


class PretrainingHeads(nn.Module):
    """The MLM head (`predictions`) and, in `tasks`, a Linear(hidden, num_classes) per token task
    (applied at every position) and per sequence task (applied to the pooled output). A
    contrastive task has no weights of its own: it compares mean token states (see contrast). A
    skip_gram task has a context vector per word piece ([V, H], zero at the start, as word2vec's
    second matrix): trainer/skip_gram.py."""

    def __init__(self, config: ErnieConfig, specs: Mapping[str, TaskSpec],
                 word_embeddings: Optional[nn.Parameter] = None) -> None:
        super().__init__()
        for spec in specs.values():
            if spec.kind not in KINDS:
                raise ValueError(f"{spec.name}: unknown head kind {spec.kind!r}; kinds are {', '.join(KINDS)}")
        self.kinds = {name: spec.kind for name, spec in specs.items()}
        self.predictions = MLMHead(config, word_embeddings)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.tasks = nn.ModuleDict({name: nn.Linear(config.hidden_size, spec.num_classes)
                                    for name, spec in specs.items() if spec.kind in ("token", "sequence")})
        for module in (self.predictions.transform, self.tasks):
            module.apply(lambda m: init_weights(m, config.initializer_range))
        for name, spec in specs.items():  # after init_weights, which would draw an Embedding's weights
            if spec.kind == "skip_gram":
                self.tasks[name] = nn.Embedding(config.vocab_size, config.hidden_size, _weight=torch.zeros(
                    config.vocab_size, config.hidden_size))
        if word_embeddings is None:
            nn.init.normal_(self.predictions.decoder.weight, std=config.initializer_range)

    def forward(self, task: str, sequence_output: torch.Tensor, pooled_output: torch.Tensor) -> torch.Tensor:
        """Logits of one task's head on every position: [B, T, V] (mlm), [B, T, C] (token) or [B, C]."""
        kind = self.kinds[task]
        if kind == "mlm":
            return self.predictions(sequence_output)
        if kind in ("contrastive", "skip_gram"):
            raise ValueError(f"{task}: a {kind} task has no logits of its own")
        x = sequence_output if kind == "token" else pooled_output
        return self.tasks[task](self.dropout(x))


def _at_labels(x: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows of x [B, T, H] and labels [B, T] where the label is not IGNORE: ([N, H], [N])."""
    labels = labels.reshape(-1)
    where = (labels != IGNORE).nonzero().squeeze(1)
    return x.reshape(-1, x.shape[-1]).index_select(0, where), labels.index_select(0, where)


def segment_mask(token_type_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """[B, T, T]: a token attends only to the real tokens of its own segment, so an example's two
    segments are encoded as if apart (in one forward pass)."""
    same = token_type_ids[:, :, None] == token_type_ids[:, None, :]
    return same & attention_mask.bool()[:, None, :]


def contrast(seq: torch.Tensor, token_type_ids: torch.Tensor, attention_mask: torch.Tensor,
             groups: Optional[torch.Tensor] = None) -> tuple[torch.Tensor, torch.Tensor]:
    """In-batch contrastive loss (InfoNCE, as SimCSE and DeCLUTR) between each example's segment 0
    and segment 1: each is the mean of its real tokens' final states (what `finetune --pooling
    mean` reads), cosine similarity / TEMPERATURE against every segment of the other side; the
    partner is the class, both ways. Examples of one `groups` value (one document) are not each
    other's negatives. Returns (loss, number of segment 0s whose nearest segment 1 is its partner)."""
    real = attention_mask.bool()
    views = []
    for segment in (0, 1):
        weight = (real & (token_type_ids == segment)).unsqueeze(-1).to(seq.dtype)
        views.append(F.normalize((seq * weight).sum(1) / weight.sum(1).clamp(min=1), dim=-1))
    logits = (views[0] @ views[1].T).float() / TEMPERATURE
    if groups is not None:
        same = groups[:, None] == groups[None, :]
        logits = logits.masked_fill(same & ~torch.eye(len(groups), dtype=torch.bool, device=logits.device), -1e4)
    target = torch.arange(len(logits), device=logits.device)
    loss = (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
    return loss, (logits.detach().argmax(-1) == target).sum()


def _loss_and_correct(logits: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean cross-entropy (0, still in the graph, when there is no target) and the number right."""
    loss = F.cross_entropy(logits, target, reduction="sum") / max(target.numel(), 1)
    return loss, (logits.detach().argmax(-1) == target).sum()


class ErnieForPretraining(nn.Module):
    """ErnieModel + PretrainingHeads. forward(batch) -> (loss, metrics).

    batch: "task" (a name in specs), "input_ids", "token_type_ids", "task_type_ids",
    "attention_mask" (LongTensor [B, T]); "mlm_labels" [B, T] (IGNORE = -100; required for mlm
    tasks, optional for the others); "token_labels" [B, T] for token tasks; "labels" [B] for
    sequence tasks, optionally "groups" [B] for contrastive tasks (see contrast); "centres",
    "contexts", "pair_example" [P] and "negatives" [B, POOL] for skip_gram tasks, which run no
    encoder (trainer/skip_gram.py); optionally
    "task_weight" (a float, default 1). loss = task_weight x the task's loss
    + the MLM loss when mlm_labels is given (an mlm task's own loss is the MLM loss, unweighted). metrics: loss, task_loss, accuracy (of the task), and mlm_loss,
    mlm_selected_accuracy when mlm_labels is given (over every selected position, the 10% that
    80/10/10 leaves unchanged included, so a copy of the input scores ~10%: see trainer/probe.py for
    the held-out accuracy at [MASK]); plain floats.
    """

    def __init__(self, config: ErnieConfig, specs: Mapping[str, TaskSpec]) -> None:
        super().__init__()
        for spec in specs.values():
            if spec.vocab_size > config.vocab_size:
                raise ValueError(f"{spec.name}: vocab size {spec.vocab_size} exceeds the model's {config.vocab_size}")
            if spec.task_id >= config.task_type_vocab_size:
                raise ValueError(f"{spec.name}: task id {spec.task_id} needs task_type_vocab_size > {spec.task_id}")
            if spec.max_seq_len > config.max_position_embeddings:
                raise ValueError(f"{spec.name}: max_seq_len {spec.max_seq_len} exceeds max_position_embeddings "
                                 f"{config.max_position_embeddings}")
        self.config = config
        self.ernie = ErnieModel(config)
        self.cls = PretrainingHeads(config, specs, self.ernie.embeddings.word_embeddings.weight)

    def forward(self, batch: Mapping[str, torch.Tensor | str]) -> tuple[torch.Tensor, dict[str, float]]:
        task = batch["task"]
        kind = self.cls.kinds.get(task)
        if kind is None:
            raise ValueError(f"batch of task {task!r}, which the model has no head for ({', '.join(self.cls.kinds)})")
        if kind == "skip_gram":  # the word embeddings alone: no encoder, no MLM
            task_loss, right, scores = skip_gram.loss(self.ernie.embeddings.word_embeddings.weight,
                                                      self.cls.tasks[task].weight, batch["centres"],
                                                      batch["contexts"], batch["negatives"], batch["pair_example"])
            loss = float(batch.get("task_weight", 1.0)) * task_loss
            values = torch.stack([loss.detach().float(), task_loss.detach().float(),
                                  right.float() / max(scores, 1)]).tolist()
            return loss, dict(zip(("loss", "task_loss", "accuracy"), values))
        mask = batch.get("attention_mask")
        if kind == "contrastive":  # the two segments are encoded apart
            mask = segment_mask(batch["token_type_ids"], mask if mask is not None else torch.ones_like(batch["input_ids"]))
        seq, pooled = self.ernie(batch["input_ids"], batch.get("token_type_ids"), batch.get("task_type_ids"), mask)
        mlm_labels = batch.get("mlm_labels")
        if kind == "mlm" and mlm_labels is None:
            raise ValueError(f"batch of mlm task {task!r} has no mlm_labels")
        stats: dict[str, torch.Tensor] = {}
        if mlm_labels is not None:
            h, target = _at_labels(seq, mlm_labels)  # the vocab projection only where a token is predicted
            mlm_loss, correct = _loss_and_correct(self.cls.predictions(h), target)
            stats.update(mlm_loss=mlm_loss.detach(), mlm_selected_accuracy=correct / max(target.numel(), 1))
        if kind == "mlm":
            loss = task_loss = mlm_loss
            accuracy = stats["mlm_selected_accuracy"]
        else:
            if kind == "contrastive":
                real = batch.get("attention_mask")
                task_loss, correct = contrast(seq, batch["token_type_ids"], real if real is not None
                                              else torch.ones_like(batch["input_ids"]), batch.get("groups"))
                accuracy = correct / seq.shape[0]
            else:
                head = self.cls.tasks[task]
                if kind == "token":
                    h, target = _at_labels(seq, batch["token_labels"])
                else:
                    h, target = pooled, batch["labels"].reshape(-1)
                task_loss, correct = _loss_and_correct(head(self.cls.dropout(h)), target)
                accuracy = correct / max(target.numel(), 1)
            weighted = float(batch.get("task_weight", 1.0)) * task_loss
            loss = weighted + mlm_loss if mlm_labels is not None else weighted
        stats.update(loss=loss.detach(), task_loss=task_loss.detach(), accuracy=accuracy)
        values = torch.stack([v.float() for v in stats.values()]).tolist()  # one device sync
        return loss, dict(zip(stats, values))


__all__ = ["IGNORE", "ErnieForPretraining", "MLMHead", "PretrainingHeads"]
