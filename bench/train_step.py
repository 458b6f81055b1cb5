"""Training step time: our ErnieForPretraining (MLM + a sequence head) against HF
`transformers.BertForPreTraining` (MLM + next-sentence head) at the same size and batch.

One step is forward + backward + AdamW step, fp32, dropout on (train mode). Both models see the
same ids, padding mask and MLM labels (15% of real tokens); steps alternate between the two after
warmup, so machine noise hits both alike. Prints a markdown row; the goal is ours/HF <= 1.0.

    .venv/bin/python bench/train_step.py [--size mini] [--batch 16] [--seq 128] [--threads 2]
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

from schemas.tasks import PAPER_IDS  # noqa: E402
from trainer.heads import IGNORE, ErnieForPretraining  # noqa: E402
from trainer.model import ErnieConfig, flops_per_token  # noqa: E402
from trainer.tasks import TaskSpec  # noqa: E402

TASK = "sentence_distance"


def make_batch(batch: int, seq: int, vocab: int, seed: int = 0) -> dict:
    """Random ids, rows padded to lengths between seq/2 and seq, 15% of real tokens masked."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, vocab, (batch, seq), generator=g)
    lengths = torch.randint(seq // 2, seq + 1, (batch,), generator=g)
    lengths[0] = seq
    pos = torch.arange(seq)
    mask = (pos < lengths[:, None]).long()
    ids[:, 0] = 2
    ids = ids.masked_fill(mask == 0, 0)
    chosen = (mask == 1) & (pos > 0) & (torch.rand(batch, seq, generator=g) < 0.15)
    return {"task": TASK, "input_ids": ids.masked_fill(chosen, 4), "attention_mask": mask,
            "token_type_ids": ((pos >= (lengths // 2)[:, None]) & (mask == 1)).long(),
            "task_type_ids": torch.full((batch, seq), PAPER_IDS[TASK]),
            "mlm_labels": torch.where(chosen, ids, IGNORE), "labels": torch.randint(0, 3, (batch,), generator=g)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="mini")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--seq", type=int, default=128)
    parser.add_argument("--vocab", type=int, default=30522)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--header", action="store_true", help="print the table header too")
    args = parser.parse_args()

    import transformers

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    config = ErnieConfig.from_size(args.size, args.vocab)
    spec = TaskSpec(name=TASK, task_id=PAPER_IDS[TASK], kind="sequence", num_classes=3, label_names=("0", "1", "2"),
                    vocab_fingerprint="bench", vocab_size=args.vocab, special_ids={}, max_seq_len=args.seq, shards=())
    ours = ErnieForPretraining(config, {TASK: spec}).train()
    hf_config = transformers.BertConfig(**{k: v for k, v in config.to_hf_dict().items()
                                           if k not in ("use_task_id", "task_type_vocab_size")})
    hf = transformers.BertForPreTraining(hf_config).train()
    batch = make_batch(args.batch, args.seq, args.vocab)
    hf_inputs = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"],
                 "token_type_ids": batch["token_type_ids"], "labels": batch["mlm_labels"],
                 "next_sentence_label": batch["labels"] % 2}

    def step_ours(optimizer: torch.optim.Optimizer) -> None:
        loss, _ = ours(batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    def step_hf(optimizer: torch.optim.Optimizer) -> None:
        loss = hf(**hf_inputs).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    sides = [(step_ours, torch.optim.AdamW(ours.parameters(), lr=1e-4)),
             (step_hf, torch.optim.AdamW(hf.parameters(), lr=1e-4))]
    for step, optimizer in sides:
        for _ in range(args.warmup):
            step(optimizer)
    times: list[list[float]] = [[], []]
    for _ in range(args.steps):
        for i, (step, optimizer) in enumerate(sides):
            start = time.perf_counter()
            step(optimizer)
            times[i].append(time.perf_counter() - start)
    ours_s, hf_s = (statistics.median(t) for t in times)
    tokens = args.batch * args.seq
    tflops = flops_per_token(config, args.seq) * tokens / ours_s / 1e12
    if args.header:
        print("| size | batch x seq | vocab | threads | ours ms/step | HF BertForPreTraining ms/step | ours/HF "
              "| ours tokens/s | ours TFLOP/s |")
        print("|---|---|---|---|---|---|---|---|---|")
    print(f"| {args.size} | {args.batch} x {args.seq} | {args.vocab} | {args.threads} | {ours_s * 1e3:.0f} "
          f"| {hf_s * 1e3:.0f} | {ours_s / hf_s:.2f} | {tokens / ours_s:,.0f} | {tflops:.3f} |")


if __name__ == "__main__":
    main()
