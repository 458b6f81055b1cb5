"""The skip_gram task's pairs and loss: word2vec's skip-gram with negative sampling (SGNS) on the
encoder's own word embedding table (Mikolov et al. 2013; the settings are word2vec's and gensim's
defaults).

The data side draws, per example with its seeded rng (so a resumed or DDP run draws the same):
  - subsampling: a piece of corpus frequency f is kept with probability sqrt(t/f) + t/f (t = SUBSAMPLE,
    word2vec.c's formula), before the windows are taken, so kept pieces reach further;
  - a window shrunk per centre piece to b in 1..WINDOW (uniform), as word2vec does: near pieces
    are pairs more often than far ones;
  - negatives from the unigram distribution raised to 3/4 (specials excluded): POOL of them per
    example, shared by its pairs, each pair's loss summing over the pool x NEGATIVES / POOL, which is
    word2vec's NEGATIVES per pair in expectation (shared negatives as PyTorch-BigGraph batches them:
    the gather of NEGATIVES context rows per pair was 3/4 of a step's time; 3.6x fewer CPU seconds).
The head scores centre embedding . context vector / TEMPERATURE: log sigmoid for the true
context, log sigmoid of minus the score for each negative. The temperature keeps the vectors at
the scale of the other embeddings the encoder adds them to: at 1 (word2vec's) the word vectors grew
to 7x the position code's RMS, the position code that the local init's heads read was lost in the
embeddings' LayerNorm, and a masked LM trained after or beside them stayed on the unigram plateau
(docs/RESULTS.md); scores / 0.05 with a peak lr 0.22x as large learn the same vectors, 0.22x as long
(Adam does not see the scale of a gradient). The context vectors are the head's own table (word2vec's
second matrix), zero at the start; the centre vectors are the encoder's word embeddings, which
the other tasks share.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import torch
import torch.nn.functional as F

WINDOW = 5
NEGATIVES = 5
POOL = 20
SUBSAMPLE = 1e-3
POWER = 0.75
TEMPERATURE = 0.05


class UnigramTables:
    """From the pieces of a task's examples: each piece's keep probability and the cumulative
    distribution negatives are drawn from. Specials are never centres, contexts or negatives."""

    def __init__(self, counts: np.ndarray, special_ids: Mapping[str, int]) -> None:
        counts = counts.astype(np.float64).copy()
        counts[list(special_ids.values())] = 0
        total = counts.sum()
        if total <= 0:
            raise ValueError("skip_gram: the shards hold no word pieces")
        freq = counts / total
        with np.errstate(divide="ignore"):
            self.keep = np.where(freq > 0, np.minimum(1.0, np.sqrt(SUBSAMPLE / freq) + SUBSAMPLE / freq), 0.0)
        weights = counts ** POWER
        self.cdf = np.cumsum(weights) / weights.sum()

    def negatives(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.minimum(np.searchsorted(self.cdf, rng.random(n), side="right"), len(self.cdf) - 1)


def draw_pairs(ids: np.ndarray, tables: UnigramTables, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """(centres [P], contexts [P], negatives [POOL]) of one example's pieces (specials are skipped:
    their keep probability is 0)."""
    kept = ids[rng.random(len(ids)) < tables.keep[ids]]
    reach = rng.integers(1, WINDOW + 1, size=len(kept))
    centres, contexts = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
    for d in range(1, min(WINDOW + 1, len(kept))):
        right = np.flatnonzero(reach[:-d] >= d)  # centre j, context j + d
        left = np.flatnonzero(reach[d:] >= d) + d  # centre j, context j - d
        centres += [kept[right], kept[left]]
        contexts += [kept[right + d], kept[left - d]]
    return np.concatenate(centres), np.concatenate(contexts), tables.negatives(rng, POOL)


def loss(word_embeddings: torch.Tensor, context_table: torch.Tensor, centres: torch.Tensor, contexts: torch.Tensor,
         negatives: torch.Tensor, pair_example: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, int]:
    """(mean SGNS loss over the pairs, how many of the pairs' scores have the right sign, how many
    scores there are). negatives [B, POOL] per example; pair_example [P]: each pair's example, in
    order (an example's pairs are consecutive)."""
    if len(centres) == 0:  # still in the graph, so every rank steps every parameter the same way
        return (word_embeddings.sum() + context_table.sum()) * 0.0, torch.zeros((), dtype=torch.long), 0
    v = word_embeddings[centres]  # [P, H]
    positive = (v * context_table[contexts]).sum(-1).float() / TEMPERATURE  # [P]
    # each pair against its own example's pool, in one batched product over examples padded to the longest
    counts = torch.bincount(pair_example, minlength=len(negatives))
    slot = torch.arange(len(centres), device=v.device) - (torch.cumsum(counts, 0) - counts)[pair_example]
    padded = v.new_zeros(len(negatives), int(counts.max()), v.shape[1]).index_put((pair_example, slot), v)
    scores = torch.bmm(padded, context_table[negatives].transpose(1, 2))[pair_example, slot]  # [P, POOL]
    negative = scores.float() / TEMPERATURE
    value = -(F.logsigmoid(positive) + F.logsigmoid(-negative).sum(-1) * (NEGATIVES / negatives.shape[1])).mean()
    right = (positive.detach() > 0).sum() + (negative.detach() < 0).sum()
    return value, right, positive.numel() + negative.numel()


__all__ = ["NEGATIVES", "POOL", "SUBSAMPLE", "TEMPERATURE", "WINDOW", "UnigramTables", "draw_pairs", "loss"]
