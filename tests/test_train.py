"""Pre-training end to end on tiny real shards: every head learns, resume is exact, DDP agrees
with one process, and mistakes get one-line errors."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from trainer.cli import main
from trainer.config import TrainConfig
from trainer.train import pretrain

ROOT = Path(__file__).resolve().parents[1]


def tiny_config(tasks: dict, out: Path, **overrides) -> TrainConfig:
    values = dict(tasks={k: str(v) for k, v in tasks.items()}, size="tiny", out=str(out), max_steps=70,
                  tokens_per_batch=1024, lr=2e-3, warmup_steps=5, save_every=0, seed=3, log_every=1,
                  model={"hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0})
    values.update(overrides)
    return TrainConfig(**values)


def losses(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_every_head_learns_through_the_continual_schedule(tiny_tasks, tmp_path):
    # learning from scratch, as measured: BERT's init and noam (the local init starts the token tasks
    # lower, at 0.55 rather than 0.75 for token_document, so their relative fall is smaller)
    run = pretrain(tiny_config(tiny_tasks, tmp_path / "run", max_steps=420, weight_init="bert", lr_schedule="noam"))
    rows = losses(run)
    assert [r["step"] for r in rows] == list(range(1, 421))
    plan = json.loads((run / "plan.json").read_text())
    assert len(plan["boundaries"]) == 7
    for task in tiny_tasks:
        # each head's own loss, not its sum with the MLM loss (whose noise can hide the task's curve)
        curve = [r["task_loss"] for r in rows if r["task"] == task]
        assert len(curve) >= 20, task
        k = max(5, len(curve) // 5)
        first, last = sum(curve[:k]) / k, sum(curve[-k:]) / k
        assert last < first, f"{task}: its loss did not fall ({first:.3f} -> {last:.3f})"
        if task in ("knowledge_masking", "capitalization", "token_document"):  # measured: 13%, 30%, 27% lower
            assert last < 0.93 * first, f"{task}: its loss fell only from {first:.3f} to {last:.3f}"
    # stage i only trains tasks 0..i
    order = list(tiny_tasks)
    for r in rows:
        assert order.index(r["task"]) <= r["stage"]
    assert (run / "checkpoints" / "latest").exists()
    result = CliRunner().invoke(main, ["plot", str(run), "--out", str(tmp_path / "curves.png")])
    assert result.exit_code == 0 and (tmp_path / "curves.png").stat().st_size > 10_000


def test_resume_continues_bit_for_bit(tiny_tasks, tmp_path):
    tasks = {k: tiny_tasks[k] for k in ("knowledge_masking", "sentence_reorder", "capitalization")}
    full = pretrain(tiny_config(tasks, tmp_path / "full", max_steps=12, save_every=4,
                                model={}))  # dropout on: the RNG state must be restored too

    class Stop(Exception):
        pass

    def stop_after(log):
        if log.step == 7:
            raise Stop

    with pytest.raises(Stop):
        pretrain(tiny_config(tasks, tmp_path / "cut", max_steps=12, save_every=4, model={}), on_step=stop_after)
    pretrain(tiny_config(tasks, tmp_path / "cut", max_steps=12, save_every=4, model={}), resume=True)
    a, b = losses(full), losses(tmp_path / "cut")
    assert [r["step"] for r in b] == list(range(1, 13))
    assert [(r["task"], r["loss"]) for r in a] == [(r["task"], r["loss"]) for r in b]


def test_two_process_ddp_matches_one_process(tiny_tasks, tmp_path):
    tasks = {k: str(tiny_tasks[k]) for k in ("knowledge_masking", "sentence_distance")}
    base = dict(tasks=tasks, size="tiny", max_steps=12, tokens_per_batch=1024, lr=1e-3, warmup_steps=3,
                save_every=0, seed=5, log_every=1, mlm_always=True,
                model={"hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0})
    pretrain(TrainConfig(**base, out=str(tmp_path / "one")))  # in this process: no second torch start-up
    script = ROOT / "tests" / "ddp_worker.py"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    double = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
                             "--master-port", "29533", str(script), json.dumps({**base, "out": str(tmp_path / "two")})],
                            capture_output=True, text=True, env=env, timeout=300)
    assert double.returncode == 0, double.stderr[-3000:]
    one, two = losses(tmp_path / "one"), losses(tmp_path / "two")
    assert [r["task"] for r in one] == [r["task"] for r in two]
    for a, b in zip(one, two):
        assert abs(a["loss"] - b["loss"]) < 0.05 * abs(a["loss"]), (a, b)
    sums = [json.loads((tmp_path / "two" / f"weights-rank{r}.json").read_text()) for r in (0, 1)]
    assert sums[0] == sums[1]  # every rank ends with the same weights


@pytest.mark.parametrize("case", ["missing_dir", "no_shards", "vocab_mismatch", "unknown_task"])
def test_mistakes_get_one_line_errors(case, tiny_tasks, vocab_zh, docs_zh, tmp_path):
    from corpus_tools.tasks.build import build
    from task_builders.base import BuildSettings

    empty = tmp_path / "empty"
    empty.mkdir()
    args = {"missing_dir": ["--task", f"sentence_reorder={tmp_path / 'nope'}"],
            "no_shards": ["--task", f"sentence_reorder={empty}"],
            "unknown_task": ["--task", f"next_sentence={tiny_tasks['sentence_reorder']}"]}.get(case)
    if case == "vocab_mismatch":
        build(["sentence_reorder"], [docs_zh], vocab_zh, tmp_path / "zh", BuildSettings(max_seq_len=64))
        args = ["--task", f"knowledge_masking={tiny_tasks['knowledge_masking']}",
                "--task", f"sentence_reorder={tmp_path / 'zh' / 'sentence_reorder'}"]
    result = CliRunner().invoke(main, ["pretrain", *args, "--out", str(tmp_path / "run"), "--max-steps", "2", "--quiet"])
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in result.output
    expected = {"missing_dir": "does not exist", "no_shards": "no shards", "vocab_mismatch": "different vocabs",
                "unknown_task": "unknown task"}[case]
    assert expected in lines[0]


def test_bf16_autocast_runs_on_cpu(tiny_tasks, tmp_path):
    tasks = {k: tiny_tasks[k] for k in ("knowledge_masking", "capitalization")}
    run = pretrain(tiny_config(tasks, tmp_path / "bf16", max_steps=6, precision="bf16", loader_workers=1))
    rows = losses(run)
    assert len(rows) == 6 and all(r["loss"] == r["loss"] and r["loss"] < 50 for r in rows)
    assert json.loads((run / "plan.json").read_text())["precision"] == "bf16"


def test_a_run_from_flags_alone_learns_with_its_printed_lr_and_warmup(tiny_tasks, tmp_path):
    """No --lr and no --warmup-steps: the peak lr fits the size and each task warms up over 10% of
    its steps, so a short run reaches its peak lr and its loss falls."""
    km, sr = tiny_tasks["knowledge_masking"], tiny_tasks["sentence_reorder"]
    result = CliRunner().invoke(main, ["pretrain", "--task", f"knowledge_masking={km}", "--task",
                                       f"sentence_reorder={sr}", "--size", "tiny", "--max-steps", "80",
                                       "--tokens-per-batch", "1024", "--save-every", "0", "--out",
                                       str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert "peak lr 0.001" in result.output and "warmup" in result.output
    plan = json.loads((tmp_path / "run" / "plan.json").read_text())
    assert plan["lr"] == 1e-3
    assert plan["warmup_steps"] == {t: max(1, b // 10) for t, b in plan["budgets"].items()}
    rows = losses(tmp_path / "run")
    assert max(r["lr"] for r in rows) == pytest.approx(1e-3)
    curve = [r["task_loss"] for r in rows if r["task"] == "knowledge_masking"]
    assert sum(curve[-8:]) / 8 < sum(curve[:8]) / 8 - 0.3
    assert (tmp_path / "run" / "vocab" / "vocab.txt").exists()  # fine-tuning and export need nothing else


def test_a_refused_resume_names_the_setting_and_the_way_on(tiny_tasks, tmp_path):
    tasks = {"knowledge_masking": tiny_tasks["knowledge_masking"]}
    pretrain(tiny_config(tasks, tmp_path / "run", max_steps=4))
    result = CliRunner().invoke(main, ["pretrain", "--task", f"knowledge_masking={tiny_tasks['knowledge_masking']}",
                                       "--size", "tiny", "--max-steps", "8", "--tokens-per-batch", "1024",
                                       "--lr", "2e-3", "--warmup-steps", "5", "--seed", "3",
                                       "--out", str(tmp_path / "run"), "--resume", "--quiet"])
    assert result.exit_code == 1
    line = result.output.strip()
    assert "\n" not in line and "max_steps 4 -> 8" in line and "--init" in line, line


def test_init_continues_pre_training_with_a_new_task(tiny_tasks, tmp_path):
    """Continual pre-training: a trained model learns a newly added task from its weights."""
    first = {"knowledge_masking": tiny_tasks["knowledge_masking"], "capitalization": tiny_tasks["capitalization"]}
    kept = []
    pretrain(tiny_config(first, tmp_path / "stage1", max_steps=30), keep_model=kept)
    both = {**first, "token_document": tiny_tasks["token_document"]}
    later, plans = [], []
    pretrain(tiny_config(both, tmp_path / "stage2", max_steps=3, lr=1e-9, init=str(tmp_path / "stage1")),
             keep_model=later, on_start=plans.append)
    assert plans[0]["init"]["task_heads"] == ["capitalization"] and plans[0]["init"]["fresh_heads"] == ["token_document"]
    import torch
    before, after = kept[0].state_dict(), later[0].state_dict()
    # with a negligible lr the encoder is still the trained one
    assert torch.allclose(before["ernie.encoder.layer.0.attention.self.query.weight"],
                          after["ernie.encoder.layer.0.attention.self.query.weight"], atol=1e-6)
    assert torch.allclose(before["cls.tasks.capitalization.weight"], after["cls.tasks.capitalization.weight"], atol=1e-6)
    result = CliRunner().invoke(main, ["pretrain", "--task", f"knowledge_masking={tiny_tasks['knowledge_masking']}",
                                       "--init", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x"), "--quiet"])
    assert result.exit_code == 1 and "not a pre-training run or checkpoint" in result.output


def test_a_shard_changed_after_it_was_written_is_refused_in_one_line(tiny_tasks, tmp_path):
    """pretrain checks every shard against the sha256 its manifest records (schemas/digests.py)."""
    import shutil

    from trainer.tasks import TaskError, read_task

    copy = tmp_path / "sentence_reorder"
    shutil.copytree(tiny_tasks["sentence_reorder"], copy)
    shard = sorted(copy.glob("*.arrow"))[0]
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0x01  # one flipped bit, somewhere in the columns
    shard.write_bytes(bytes(data))
    with pytest.raises(TaskError, match="sha256") as caught:
        read_task("sentence_reorder", copy)
    assert "\n" not in str(caught.value)
