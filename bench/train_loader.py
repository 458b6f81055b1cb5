"""Loader throughput against what a training step consumes, per task, measured side by side.

For each task directory: examples/s that TaskData.next_batch produces (dynamic masking, padding,
tensors) and examples/s that one training step of the model consumes at the same token budget
(forward + backward + AdamW, CPU, fp32). A ratio above 1 means the loader keeps up in-process;
the trainer calls it synchronously, so its time adds to every step.

    .venv/bin/python bench/train_loader.py [--tasks out/demo/tasks-en] [--size mini] [--tokens 4096]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from trainer.data import TaskData  # noqa: E402
from trainer.heads import ErnieForPretraining  # noqa: E402
from trainer.model import ErnieConfig  # noqa: E402
from trainer.tasks import read_tasks  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", default="out/demo/tasks-en", help="a `build` output directory")
    parser.add_argument("--size", default="mini")
    parser.add_argument("--tokens", type=int, default=4096)
    parser.add_argument("--steps", type=int, default=8)
    args = parser.parse_args()
    torch.set_num_threads(2)
    root = Path(args.tasks)
    specs = read_tasks({p.name: p for p in sorted(root.iterdir()) if (p / "manifest.json").exists()})
    first = next(iter(specs.values()))
    model = ErnieForPretraining(ErnieConfig.from_size(args.size, first.vocab_size), specs)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.98))
    print(f"| task | loader ex/s | step ex/s ({args.size}, {args.tokens} tokens) | loader / step |")
    print("|---|---|---|---|")
    for name, spec in specs.items():
        data = TaskData(spec, seed=0, mlm_on_every_batch=True)
        data.next_batch(args.tokens)
        started, examples = time.perf_counter(), 0
        for _ in range(args.steps * 4):
            examples += len(data.next_batch(args.tokens)["input_ids"])
        loader = examples / (time.perf_counter() - started)
        batches = [data.next_batch(args.tokens) for _ in range(args.steps + 1)]
        model.train()
        for i, batch in enumerate(batches):
            if i == 1:
                started, examples = time.perf_counter(), 0
            loss, _ = model(batch)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            examples += len(batch["input_ids"]) if i else 0
        step = examples / (time.perf_counter() - started)
        print(f"| {name} | {loader:,.0f} | {step:,.0f} | {loader / step:.1f} |", flush=True)


if __name__ == "__main__":
    main()
