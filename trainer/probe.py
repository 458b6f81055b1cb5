"""The honest measure of MLM learning: accuracy at [MASK] on held-out examples, beside the unigram
floor and beside the same examples with their context shuffled.

Why: the per-step `mlm_selected_accuracy` counts every selected position, and 80/10/10 leaves 10% of
them unchanged, so a model that copies its input scores about 10% while knowing nothing. Here a
fixed set of held-out examples (never trained on) gets 15% of its word pieces replaced by [MASK],
every one of them. Three numbers then say what the model has learned:

- `unigram_floor`: the accuracy of always answering the most frequent training piece;
- `mask_accuracy` (and `mask_loss`): the model on the real examples;
- `shuffled_accuracy` (and `shuffled_loss`): the same masks, the unmasked pieces of each example
  permuted at random. A model that only counts which words are present (a bag of words) scores
  the same on both; one that reads word order scores higher on the real ones.

A model has **left the unigram plateau** when its real-context accuracy is at least 3x the floor
and at least 2x its shuffled-context accuracy (`left_plateau`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch
import torch.nn.functional as F

from schemas.tasks import IGNORE
from schemas.validate import read_table

MASK_PROB = 0.15
PLATEAU_FLOOR_RATIO = 3.0  # real-context accuracy >= 3 x the unigram floor
PLATEAU_SHUFFLE_RATIO = 2.0  # ... and >= 2 x the shuffled-context accuracy


def heldout_indices(num_examples: int, count: int, salt: int = 0) -> np.ndarray:
    """Which examples of a task are held out: `count` of them (at most 5% of the task), drawn by a
    fixed seed so that every run on the same shards holds out the same ones; sorted. Empty for a
    task of fewer than 100 examples (too small to spare any)."""
    if num_examples < 100 or count < 1:
        return np.zeros(0, dtype=np.int64)
    count = min(count, num_examples // 20)
    rng = np.random.default_rng([20191, salt, num_examples])
    return np.sort(rng.choice(num_examples, size=count, replace=False)).astype(np.int64)


def left_plateau(record: Mapping[str, float]) -> bool:
    """Item 1 of the test: real accuracy >= 3 x floor and >= 2 x shuffled accuracy."""
    acc = record["mask_accuracy"]
    return acc >= PLATEAU_FLOOR_RATIO * record["unigram_floor"] and acc >= PLATEAU_SHUFFLE_RATIO * record[
        "shuffled_accuracy"]


@dataclass
class _Batch:
    ids: torch.Tensor  # [B, T] with [MASK] at the targets
    shuffled: torch.Tensor  # the same, unmasked pieces permuted within each example
    types: torch.Tensor
    attention: torch.Tensor
    labels: torch.Tensor  # [B, T] IGNORE but at the targets


class HeldOutProbe:
    """Fixed masked batches of held-out examples; `evaluate(model)` gives the numbers above."""

    def __init__(self, shards, indices: np.ndarray, special_ids: Mapping[str, int], task_id: int,
                 max_len: Optional[int] = None, batch_size: int = 32, seed: int = 0) -> None:
        tables = [read_table(p).select(["input_ids", "token_type_ids"]).replace_schema_metadata(None)
                  for p in shards]
        table = pa.concat_tables(tables)
        all_ids = pc.list_flatten(table.column("input_ids")).to_numpy().astype(np.int64)
        lengths = pc.list_value_length(table.column("input_ids")).to_numpy().astype(np.int64)
        self.indices = np.asarray(indices, dtype=np.int64)
        self.task_id = int(task_id)
        specials = np.asarray(sorted({int(v) for v in special_ids.values()}), dtype=np.int64)
        # the floor: the most frequent non-special piece of the *training* examples
        train = np.ones(len(lengths), dtype=bool)
        train[self.indices] = False
        train_ids = all_ids[np.repeat(train, lengths)]
        counts = np.bincount(train_ids, minlength=int(all_ids.max(initial=0)) + 1)
        counts[specials[specials < len(counts)]] = 0
        self.top_id = int(counts.argmax())
        rng = np.random.default_rng([seed, 7])
        rows = table.take(pa.array(self.indices, type=pa.int64()))
        examples, types_ = [], []
        for ids, tt in zip(rows.column("input_ids").to_pylist(), rows.column("token_type_ids").to_pylist()):
            ids, tt = np.asarray(ids, dtype=np.int64), np.asarray(tt, dtype=np.int64)
            if max_len is not None and len(ids) > max_len:  # cropped as training crops (TaskData): [SEP] kept
                ids, tt = np.append(ids[:max_len - 1], ids[-1]), np.append(tt[:max_len - 1], tt[-1])
            examples.append(ids)
            types_.append(tt)
        self.batches: list[_Batch] = []
        self.num_targets = 0
        top_hits = 0
        for begin in range(0, len(examples), batch_size):
            group = range(begin, min(begin + batch_size, len(examples)))
            width = max(len(examples[i]) for i in group)
            shape = (len(group), width)
            ids = np.full(shape, special_ids["pad"], dtype=np.int64)
            shuffled = ids.copy()
            types = np.zeros(shape, dtype=np.int64)
            attention = np.zeros(shape, dtype=np.int64)
            labels = np.full(shape, IGNORE, dtype=np.int64)
            for row, i in enumerate(group):
                x = examples[i]
                n = len(x)
                free = np.flatnonzero(~np.isin(x, specials))
                k = min(len(free), max(1, int(round(MASK_PROB * len(free))))) if len(free) else 0
                chosen = np.sort(rng.choice(free, size=k, replace=False)) if k else free[:0]
                masked = x.copy()
                masked[chosen] = special_ids["mask"]
                rest = np.setdiff1d(free, chosen)
                mixed = masked.copy()
                mixed[rest] = masked[rng.permutation(rest)]
                ids[row, :n], shuffled[row, :n] = masked, mixed
                types[row, :n] = types_[i]
                attention[row, :n] = 1
                labels[row, chosen] = x[chosen]
                self.num_targets += k
                top_hits += int((x[chosen] == self.top_id).sum())
            self.batches.append(_Batch(*(torch.from_numpy(a) for a in (ids, shuffled, types, attention, labels))))
        self.unigram_floor = top_hits / max(self.num_targets, 1)

    @torch.no_grad()
    def evaluate(self, model, device: Optional[torch.device] = None) -> dict[str, float]:
        """mask_accuracy, mask_loss, shuffled_accuracy, shuffled_loss, unigram_floor, targets and
        left_plateau (0/1), for an ErnieForPretraining (its encoder and MLM head)."""
        was_training = model.training
        model.eval()
        device = device or next(model.parameters()).device
        out: dict[str, float] = {}
        try:
            for name, field_ in (("mask", "ids"), ("shuffled", "shuffled")):
                right, loss = 0, 0.0
                for batch in self.batches:
                    ids = getattr(batch, field_).to(device)
                    tasks = torch.full_like(ids, self.task_id)
                    seq, _ = model.ernie(ids, batch.types.to(device), tasks, batch.attention.to(device))
                    labels = batch.labels.to(device).reshape(-1)
                    where = (labels != IGNORE).nonzero().squeeze(1)
                    logits = model.cls.predictions(seq.reshape(-1, seq.shape[-1]).index_select(0, where)).float()
                    target = labels.index_select(0, where)
                    right += int((logits.argmax(-1) == target).sum())
                    loss += float(F.cross_entropy(logits, target, reduction="sum"))
                n = max(self.num_targets, 1)
                out[f"{name}_accuracy"], out[f"{name}_loss"] = right / n, loss / n
        finally:
            model.train(was_training)
        out["unigram_floor"] = self.unigram_floor
        out["targets"] = float(self.num_targets)
        out["left_plateau"] = float(left_plateau(out))
        return out


__all__ = ["HeldOutProbe", "heldout_indices", "left_plateau", "PLATEAU_FLOOR_RATIO", "PLATEAU_SHUFFLE_RATIO"]
