"""Fine-tuning data as tensors: examples encoded once with the model's tokenizer, batches of
similar length padded to their longest example, and predictions and scores of a model on them."""
from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np
import torch

from trainer import metrics as M
from trainer.finetune_data import DataError, Split
from trainer.finetune_model import IGNORE, ErnieForFinetuning
from trainer.tokenizer import FinetuneTokenizer


@dataclass
class Encoded:
    ids: list[list[int]]
    types: list[list[int]]
    labels: list[Any]  # int, float, or per-position label ids (ner)
    words: list[list[int]]  # ner: per position, the word index of a first piece, else -1
    examples: list


def _converter(t2s: bool) -> Callable[[str], str]:
    if not t2s:
        return lambda s: s
    import opencc

    convert = opencc.OpenCC("t2s").convert
    return convert


def encode(split: Split, kind: str, tok: FinetuneTokenizer, label_ids: dict[str, int], max_len: int,
           t2s: bool, labelled: bool = True) -> Encoded:
    convert = _converter(t2s)
    out = Encoded([], [], [], [], split.examples)
    for example in split.examples:
        if kind == "ner":
            ids, words = tok.encode_words([convert(w) for w in example.text], max_len)
            types = [0] * len(ids)
            label = [IGNORE] * len(ids)
            if labelled and example.label is not None:
                for position, word in enumerate(words):
                    if word >= 0:
                        label[position] = _label_id(example.label[word], label_ids, example.origin)
        else:
            ids, types = tok.encode(convert(example.text), convert(example.pair) if example.pair else None, max_len)
            words = []
            if not labelled or example.label is None:
                label = 0
            elif kind == "regression":
                label = float(example.label)
            else:
                label = _label_id(example.label, label_ids, example.origin)
        out.ids.append(ids)
        out.types.append(types)
        out.labels.append(label)
        out.words.append(words)
    return out


def _label_id(name: str, label_ids: dict[str, int], origin: str) -> int:
    if name not in label_ids:
        raise DataError(f"{origin}: label {name!r} never occurs in the training data "
                        f"(labels: {', '.join(sorted(label_ids))}); pass --labels FILE to name every label")
    return label_ids[name]


def batches(data: Encoded, batch_size: int, seed: Optional[int], epoch: int = 0) -> list[np.ndarray]:
    """Index batches of similar length. With a seed: shuffled, bucketed in chunks of 50 batches,
    batches shuffled; without: sorted by length (evaluation)."""
    lengths = np.array([len(x) for x in data.ids])
    if seed is None:
        order = np.argsort(lengths, kind="stable")
        return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    rng = np.random.default_rng([seed, epoch])
    order = rng.permutation(len(lengths))
    chunk = 50 * batch_size
    out = []
    for begin in range(0, len(order), chunk):
        part = order[begin:begin + chunk]
        part = part[np.argsort(lengths[part], kind="stable")]
        out.extend(part[i:i + batch_size] for i in range(0, len(part), batch_size))
    return [out[i] for i in rng.permutation(len(out))]


def collate(data: Encoded, index: np.ndarray, kind: str, pad: int, task_id: int, device) -> dict[str, torch.Tensor]:
    width = max(len(data.ids[i]) for i in index)
    ids = torch.full((len(index), width), pad, dtype=torch.long)
    types = torch.zeros((len(index), width), dtype=torch.long)
    mask = torch.zeros((len(index), width), dtype=torch.long)
    labels = torch.full((len(index), width), IGNORE, dtype=torch.long) if kind == "ner" else None
    for row, i in enumerate(index):
        n = len(data.ids[i])
        ids[row, :n] = torch.tensor(data.ids[i])
        types[row, :n] = torch.tensor(data.types[i])
        mask[row, :n] = 1
        if labels is not None:
            labels[row, :n] = torch.tensor(data.labels[i])
    if labels is None:
        values = [data.labels[i] for i in index]
        labels = torch.tensor(values, dtype=torch.float32 if kind == "regression" else torch.long)
    batch = {"input_ids": ids, "token_type_ids": types, "attention_mask": mask, "labels": labels,
             "task_type_ids": torch.full_like(ids, task_id)}
    return {k: v.to(device) for k, v in batch.items()}


@torch.no_grad()
def predict(model: ErnieForFinetuning, data: Encoded, kind: str, pad: int, task_id: int, device,
            autocast=nullcontext(), batch_size: int = 64) -> list[Any]:
    """Per example: a label id (classification), a float (regression), or per word a tag id (ner)."""
    model.eval()
    out: list[Any] = [None] * len(data.ids)
    for index in batches(data, batch_size, None):
        batch = collate(data, index, kind, pad, task_id, device)
        with autocast:
            logits = model(batch).float()
        for row, i in enumerate(index):
            if kind == "regression":
                out[i] = float(logits[row])
            elif kind == "ner":
                best = logits[row].argmax(-1).tolist()
                out[i] = [best[p] for p, w in enumerate(data.words[i]) if w >= 0]
            else:
                out[i] = int(logits[row].argmax(-1))
    return out


def score(predicted: list[Any], data: Encoded, kind: str, label_names: list[str]) -> dict[str, float]:
    if kind == "regression":
        return M.regression(predicted, data.labels)
    if kind == "ner":
        gold, tags = [], []
        for p, example in zip(predicted, data.examples):
            gold.append(example.label)
            # words cut by max_seq_len have no prediction: they count as O
            tags.append([label_names[t] for t in p] + ["O"] * (len(example.label) - len(p)))
        return M.ner(tags, gold)
    return M.classification(predicted, data.labels, len(label_names))
