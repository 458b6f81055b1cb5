"""Can a pair task's label be read off the shape of its input? Per class of a `[CLS] A [SEP] B [SEP]`
task (next_sentence, sentence_distance, a plugin's): the count, the mean lengths of A and B in
word pieces, the share of A and of B that end with sentence-final punctuation before their [SEP],
and the share of examples at max_seq_len (cut by sequences.pair). Then a logistic regression on
those shape features alone, fitted on 80% of the documents and scored on the other 20%: near the
majority-class share means the shape tells nothing.

    python bench/pair_shortcuts.py OUT/next_sentence [--vocab DIR]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from corpus_tools.run.dataset import shard_paths  # noqa: E402
from corpus_tools.show.inspect_tasks import find_vocab  # noqa: E402
from schemas import metadata  # noqa: E402
from schemas.validate import read_table  # noqa: E402

FINAL = {".", "!", "?", "。", "！", "？", "…"}
CLOSING = {'"', "'", ")", "”", "’", "」", "』", "）"}


def ends_sentence(pieces: list[str]) -> bool:
    """The segment's last piece is sentence-final punctuation, or a closing quote or bracket after one."""
    if pieces and pieces[-1] in CLOSING:
        pieces = pieces[:-1]
    return bool(pieces) and pieces[-1] in FINAL


def features(path: Path, vocab_dir: str | None) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Label names, the shape features of every example, its label and its document's 80/20 side."""
    paths = shard_paths(path)
    meta = metadata.decode(read_table(paths[0]).schema)
    names = json.loads(meta[metadata.LABEL_NAMES])
    vocab = find_vocab(meta, vocab_dir)
    if vocab is None:
        raise SystemExit(f"{path}: no vocab to decode with; pass --vocab DIR")
    sep, max_len = vocab.id("[SEP]"), int(meta[metadata.MAX_SEQ_LEN])
    rows, labels, held = [], [], []
    for shard in paths:
        table = read_table(shard)
        for doc_id, ids, label in zip(*(table.column(c).to_pylist() for c in ("doc_id", "input_ids", "label"))):
            k = ids.index(sep)
            a = [vocab.tokenizer.id_to_token(i) for i in ids[1:k]]
            b = [vocab.tokenizer.id_to_token(i) for i in ids[k + 1:-1]]
            rows.append([len(a), len(b), ends_sentence(a), ends_sentence(b), len(ids) >= max_len])
            labels.append(label)
            held.append(hashlib.blake2b(doc_id.encode(), digest_size=1).digest()[0] < 52)  # ~20% of documents
    return names, np.array(rows, dtype=float), np.array(labels), np.array(held)


def shape_accuracy(x: np.ndarray, y: np.ndarray, held: np.ndarray, classes: int) -> float:
    """Held-out accuracy of a softmax regression on the standardised shape features (and lengths squared)."""
    x = np.hstack([x, x[:, :2] ** 2])
    x = (x - x[~held].mean(0)) / (x[~held].std(0) + 1e-9)
    x = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros((x.shape[1], classes))
    onehot = np.eye(classes)[y[~held]]
    for _ in range(500):
        logits = x[~held] @ w
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        w -= 0.5 * x[~held].T @ (p - onehot) / len(onehot)
    return float(((x[held] @ w).argmax(1) == y[held]).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("task", type=Path)
    parser.add_argument("--vocab")
    args = parser.parse_args()
    names, x, y, held = features(args.task, args.vocab)
    print(f"{'class':<16}{'count':>8}{'share':>7}{'mean A':>8}{'mean B':>8}{'A ends .!?':>12}"
          f"{'B ends .!?':>12}{'at max':>8}")
    for label, name in enumerate(names):
        part = x[y == label]
        if len(part):
            print(f"{name:<16}{len(part):>8}{len(part) / len(x):>7.3f}{part[:, 0].mean():>8.1f}{part[:, 1].mean():>8.1f}"
                  f"{part[:, 2].mean():>12.3f}{part[:, 3].mean():>12.3f}{part[:, 4].mean():>8.3f}")
    majority = np.bincount(y[held], minlength=len(names)).max() / held.sum()
    print(f"label from shape alone (held-out documents, {held.sum()} examples): accuracy "
          f"{shape_accuracy(x, y, held, len(names)):.3f}, majority class {majority:.3f}")


if __name__ == "__main__":
    main()
