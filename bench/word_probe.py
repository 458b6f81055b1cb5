"""What a model's word embeddings alone know of a sentence's polarity: a linear probe on the mean of
a sentence's word-embedding rows (no encoder), against random vectors and a bag of pieces.

The split is bench/learning.py's. en: SST-2 train_head2000.tsv, 1,600 sentences to fit and 400
(seed 0) to choose the L2 strength; the chosen probe is scored once on GLUE dev (872). zh
(--lang zh): ChnSentiCorp, 600 to fit, 200 to choose, 400 scored once. A logistic
regression (torch L-BFGS, sklearn's objective: C x the summed log loss + half the squared
weights) on features standardized with the training sentences' mean and deviation.

    python bench/word_probe.py out/learning/en/pretrain-bert-32M out/learning/en/pretrain-skipgram-4M
    python bench/word_probe.py --lang zh out/learning/zh/pretrain-skipgram-4M random bag
    python bench/word_probe.py --smoke RUN      # a few seconds: what the test runs

Each INIT is a pre-training run or checkpoint; its vocab is the run's own copy (RUN/vocab) unless
--vocab is given. `random` (normal vectors of --hidden dimensions) and `bag` (one dimension per
piece) are the baselines, over the first run's vocab.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from learning import eval_rows  # noqa: E402  (the fine-tuning split of the learning curve)

from trainer.checkpoint import TIED, read_weights, resolve_checkpoint  # noqa: E402
from trainer.tokenizer import load_tokenizer  # noqa: E402

GRID = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)


def sentences(lang: str, smoke: bool) -> dict[str, tuple[list[str], torch.Tensor]]:
    """train, select and dev (the report set) as bench/learning.py splits them."""
    train, select, dev = eval_rows(lang)
    field = "sentence" if lang == "en" else "text_a"
    if smoke:
        train, select, dev = train[:64], select[:32], dev[:32]
    return {name: ([r[field] for r in part], torch.tensor([int(r["label"]) for r in part]))
            for name, part in (("train", train), ("select", select), ("dev", dev))}


def features(table: torch.Tensor, pieces: list[list[int]]) -> torch.Tensor:
    """The mean of each sentence's rows of `table` (zeros for a sentence without a piece)."""
    out = torch.zeros(len(pieces), table.shape[1])
    for i, ids in enumerate(pieces):
        if ids:
            out[i] = table[ids].mean(0)
    return out


def fit(x: torch.Tensor, y: torch.Tensor, c: float) -> torch.Tensor:
    """Weights (with a bias row) of a logistic regression: min C * sum(log loss) + |w|^2 / 2."""
    x = torch.cat([x, torch.ones(len(x), 1)], 1).double()
    w = torch.zeros(x.shape[1], dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([w], max_iter=500, tolerance_grad=1e-9, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = c * torch.nn.functional.binary_cross_entropy_with_logits(x @ w, y.double(), reduction="sum") \
            + 0.5 * w[:-1].pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return w.detach()


def accuracy(w: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> float:
    x = torch.cat([x, torch.ones(len(x), 1)], 1).double()
    return float(((x @ w > 0).long() == y).double().mean())


def probe(table: torch.Tensor, encoded: dict) -> tuple[float, float, float]:
    """(selection accuracy, its C, dev accuracy of that probe)."""
    x = {name: features(table, pieces) for name, (pieces, _) in encoded.items()}
    mean, std = x["train"].mean(0), x["train"].std(0).clamp(min=1e-8)
    x = {name: (v - mean) / std for name, v in x.items()}
    y = {name: labels for name, (_, labels) in encoded.items()}
    best = max(((accuracy(w, x["select"], y["select"]), c, w) for c in GRID
                for w in [fit(x["train"], y["train"], c)]), key=lambda t: t[0])
    return best[0], best[1], accuracy(best[2], x["dev"], y["dev"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inits", nargs="+", metavar="INIT", help="pre-training runs or checkpoints; random; bag")
    parser.add_argument("--vocab", help="vocab directory [default: the first run's RUN/vocab]")
    parser.add_argument("--hidden", type=int, default=128, help="dimensions of `random` [default: 128]")
    parser.add_argument("--lang", choices=("en", "zh"), default="en",
                        help="en: SST-2; zh: ChnSentiCorp (bench/learning.py's splits) [default: en]")
    parser.add_argument("--smoke", action="store_true", help="64 / 32 / 32 sentences")
    args = parser.parse_args()
    torch.set_num_threads(1)
    runs = [Path(i) for i in args.inits if i not in ("random", "bag")]
    vocab = Path(args.vocab) if args.vocab else (runs[0] / "vocab" if runs else None)
    if vocab is None or not vocab.is_dir():
        raise SystemExit("word_probe: give --vocab DIR (no run with a vocab/ folder among the inits)")
    tokenizer = load_tokenizer(vocab).tokenizer  # the fine-tuning tokenizer (NFKC, the vocab's case)
    texts = sentences(args.lang, args.smoke)
    encoded = {name: ([tokenizer.encode(t, add_special_tokens=False).ids for t in sents], labels)
               for name, (sents, labels) in texts.items()}
    size = tokenizer.get_vocab_size()
    report = "GLUE dev" if args.lang == "en" else "ChnSentiCorp report (400)"
    print(f"| init | selection accuracy (C) | {report} accuracy |\n|---|---|---|")
    for init in args.inits:
        if init == "random":
            table = torch.randn(size, args.hidden, generator=torch.Generator().manual_seed(0))
        elif init == "bag":
            table = torch.eye(size)
        else:
            found = resolve_checkpoint(Path(init)) / "model.safetensors"
            if not found.is_file():
                raise SystemExit(f"word_probe: no checkpoint in {init} (give a pre-training run, a checkpoint, random or bag)")
            weights = read_weights(found)
            table = weights[TIED[0]].float()
        select, c, dev = probe(table, encoded)
        print(f"| {init} | {select:.3f} ({c:g}) | {dev:.4f} |", flush=True)


if __name__ == "__main__":
    main()
