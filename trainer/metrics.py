"""Downstream metrics: accuracy and F1 for classification, Pearson and Spearman for regression,
entity-level precision, recall and F1 for BIO tagging (conlleval's rules: an entity is a maximal
run of B-X I-X ...; an I-X that does not continue an X entity starts a new one)."""
from __future__ import annotations

from typing import Sequence

import numpy as np

MAIN = {"classification": "accuracy", "pair": "accuracy", "regression": "pearson", "ner": "f1"}


def classification(predicted: Sequence[int], gold: Sequence[int], num_labels: int) -> dict[str, float]:
    p, g = np.asarray(predicted), np.asarray(gold)
    out = {"accuracy": float((p == g).mean()) if len(g) else 0.0}
    f1s = []
    for label in range(num_labels):
        tp = int(((p == label) & (g == label)).sum())
        fp, fn = int(((p == label) & (g != label)).sum()), int(((p != label) & (g == label)).sum())
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    out["macro_f1"] = float(np.mean(f1s)) if f1s else 0.0
    if num_labels == 2:
        out["f1"] = f1s[1]  # of the positive class (label 1), as GLUE reports for MRPC
    counts = np.bincount(g, minlength=num_labels) if len(g) else np.zeros(num_labels)
    out["majority"] = float(counts.max() / max(len(g), 1))
    return out


def regression(predicted: Sequence[float], gold: Sequence[float]) -> dict[str, float]:
    from scipy import stats

    p, g = np.asarray(predicted, dtype=float), np.asarray(gold, dtype=float)
    if len(g) < 2 or p.std() == 0 or g.std() == 0:
        return {"pearson": 0.0, "spearman": 0.0, "mse": float(((p - g) ** 2).mean()) if len(g) else 0.0}
    return {"pearson": float(stats.pearsonr(p, g)[0]), "spearman": float(stats.spearmanr(p, g)[0]),
            "mse": float(((p - g) ** 2).mean())}


def entities(tags: Sequence[str]) -> set[tuple[int, int, str]]:
    """(start, end exclusive, type) of every entity in a BIO (or IOB1) tag sequence."""
    found, start, kind = set(), None, None
    for i, tag in enumerate(list(tags) + ["O"]):
        prefix, _, label = tag.partition("-")
        continues = prefix == "I" and kind == label
        if start is not None and not continues:
            found.add((start, i, kind))
            start, kind = None, None
        if prefix in ("B", "S") or (prefix == "I" and not continues):
            start, kind = i, label
    return found


def ner(predicted: Sequence[Sequence[str]], gold: Sequence[Sequence[str]]) -> dict[str, float]:
    tp = n_pred = n_gold = 0
    correct_tokens = total_tokens = 0
    for p, g in zip(predicted, gold):
        pe, ge = entities(p), entities(g)
        tp += len(pe & ge)
        n_pred += len(pe)
        n_gold += len(ge)
        correct_tokens += sum(a == b for a, b in zip(p, g))
        total_tokens += len(g)
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1,
            "token_accuracy": correct_tokens / total_tokens if total_tokens else 0.0}
