"""Fine-tuning step time: our ErnieForFinetuning against HF `transformers.ErnieForSequenceClassification`
at the same size, batch and sequence length, on CPU.

One step is forward + cross-entropy + backward + AdamW step, fp32, dropout on. Both models get the
same ids, padding mask, token types, task ids and labels; after warmup the steps alternate between
the two, so machine noise hits both alike. Prints a markdown row; the goal is ours/HF <= 1.0.

    .venv/bin/python bench/finetune.py [--size tiny] [--batch 32] [--seq 128] [--threads 1] [--header]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from trainer.finetune_model import ErnieForFinetuning  # noqa: E402
from trainer.model import ErnieConfig  # noqa: E402


def make_batch(batch: int, seq: int, vocab: int, seed: int = 0) -> dict:
    """Random ids, rows padded to lengths between seq/2 and seq, two segments, binary labels."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, vocab, (batch, seq), generator=g)
    lengths = torch.randint(seq // 2, seq + 1, (batch,), generator=g)
    lengths[0] = seq
    pos = torch.arange(seq)
    mask = (pos < lengths[:, None]).long()
    ids[:, 0] = 2
    ids = ids.masked_fill(mask == 0, 0)
    return {"input_ids": ids, "attention_mask": mask,
            "token_type_ids": ((pos >= (lengths // 2)[:, None]) & (mask == 1)).long(),
            "task_type_ids": torch.zeros(batch, seq, dtype=torch.long),
            "labels": torch.randint(0, 2, (batch,), generator=g)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="tiny")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument("--vocab", type=int, default=30522)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--header", action="store_true", help="print the table header too")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    import transformers

    config = ErnieConfig.from_size(args.size, args.vocab)
    torch.manual_seed(0)
    ours = ErnieForFinetuning(config, "classification", 2).train()
    hf_config = transformers.ErnieConfig(**{k: v for k, v in config.to_hf_dict().items()}, num_labels=2)
    hf_config._attn_implementation = "sdpa"
    theirs = transformers.ErnieForSequenceClassification(hf_config).train()
    batch = make_batch(args.batch, args.seq, args.vocab)
    labels = batch["labels"]
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    optims = {"ours": torch.optim.AdamW(ours.parameters(), lr=1e-4),
              "hf": torch.optim.AdamW(theirs.parameters(), lr=1e-4)}

    def step(name: str) -> float:
        started = time.perf_counter()
        if name == "ours":
            loss = ours.loss(ours(batch), labels)
        else:
            loss = theirs(**inputs, labels=labels).loss
        loss.backward()
        optims[name].step()
        optims[name].zero_grad(set_to_none=True)
        return time.perf_counter() - started

    for _ in range(args.warmup):
        step("ours")
        step("hf")
    times = {"ours": [], "hf": []}
    for _ in range(args.steps):
        for name in ("ours", "hf"):
            times[name].append(step(name))
    mine, hf = statistics.median(times["ours"]), statistics.median(times["hf"])
    tokens = int(batch["attention_mask"].sum())
    if args.header:
        print("| size | batch × seq | threads | ours ms/step | HF ms/step | ours/HF | ours tokens/s |")
        print("|---|---|---|---|---|---|---|")
    print(f"| {args.size} | {args.batch} × {args.seq} | {args.threads} | {mine * 1e3:.1f} | {hf * 1e3:.1f} | "
          f"{mine / hf:.2f} | {tokens / mine:,.0f} |")


if __name__ == "__main__":
    main()
