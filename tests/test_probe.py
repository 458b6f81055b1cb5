"""The honest measure of MLM learning (held-out accuracy at [MASK], the unigram floor, shuffled
context), the local weight init, and the pre-training flags that go with them, on real shards."""
from __future__ import annotations

import json
import math

import numpy as np
import pyarrow.compute as pc
import pytest
import torch
from click.testing import CliRunner

from schemas.validate import read_table
from trainer.cli import main
from trainer.config import TrainConfig
from trainer.data import TaskData
from trainer.model import LOCAL_OFFSETS, ErnieConfig, ErnieModel, local_attention_init
from trainer.probe import HeldOutProbe, heldout_indices, left_plateau
from trainer.tasks import read_task
from trainer.train import pretrain


@pytest.fixture(scope="module")
def km(tiny_tasks):
    return read_task("knowledge_masking", tiny_tasks["knowledge_masking"])


def test_a_run_logs_the_probe_and_never_trains_on_its_examples(tiny_tasks, km, tmp_path):
    tasks = {k: str(tiny_tasks[k]) for k in ("knowledge_masking", "capitalization")}
    run = pretrain(TrainConfig(tasks=tasks, size="tiny", out=str(tmp_path / "run"), max_steps=12,
                               tokens_per_batch=1024, save_every=0, seed=3, eval_every=6, heldout_examples=16))
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    probed = [r for r in rows if "heldout_mask_accuracy" in r]
    assert [r["step"] for r in probed] == [6, 12]
    for r in probed:
        for key in ("mask_accuracy", "mask_loss", "shuffled_accuracy", "shuffled_loss", "unigram_floor"):
            assert 0 <= r[f"heldout_{key}"] < (math.inf if "loss" in key else 1.0001), key
        assert r["heldout_left_plateau"] in (0.0, 1.0)
        assert r["tokens_seen"] == sum(x["tokens"] for x in rows if x["step"] <= r["step"])
    # the per-step number of every selected position keeps its own name
    assert all("mlm_selected_accuracy" in r and "mlm_accuracy" not in r for r in rows)
    plan = json.loads((run / "plan.json").read_text())
    assert plan["heldout"]["task"] == "knowledge_masking" and plan["heldout"]["examples"] == 16
    assert plan["config"]["lr_schedule"] == "linear" and plan["config"]["weight_init"] == "local"

    held = heldout_indices(sum(len(read_table(s)) for s in km.shards), 16)
    data = TaskData(km, seed=3)
    data.hold_out(held)
    seen = np.concatenate(data.epoch_batches(0, 1024) + data.epoch_batches(1, 1024))
    assert len(held) == 16 and not set(seen.tolist()) & set(held.tolist())
    plain = TaskData(km, seed=3)
    assert len(np.concatenate(plain.epoch_batches(0, 1024))) > len(np.concatenate(data.epoch_batches(0, 1024)))


class _Constant(torch.nn.Module):
    """An 'MLM' that answers one id whatever the input: it must score exactly the unigram floor
    when that id is the commonest piece, on real and shuffled context alike."""

    def __init__(self, answer: int, vocab: int) -> None:
        super().__init__()
        self.answer, self.vocab = answer, vocab
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.cls = type("cls", (), {"predictions": self.logits})()

    def ernie(self, ids, types, tasks, attention):
        return torch.zeros(*ids.shape, 4), None

    def logits(self, h):
        out = torch.zeros(h.shape[0], self.vocab)
        out[:, self.answer] = 1.0
        return out


def test_the_floor_is_the_commonest_training_piece_and_a_constant_model_scores_it(km):
    n = sum(len(read_table(s)) for s in km.shards)
    held = heldout_indices(n, 32)
    probe = HeldOutProbe(km.shards, held, km.special_ids, km.task_id)
    ids = [read_table(s).column("input_ids") for s in km.shards]
    rows = [row for column in ids for row in column.to_pylist()]
    train = np.concatenate([np.asarray(r) for i, r in enumerate(rows) if i not in set(held.tolist())])
    train = train[~np.isin(train, list(km.special_ids.values()))]
    assert probe.top_id == int(np.bincount(train).argmax())
    # every target is [MASK] in the input (no 80/10/10), about 15% of the non-special pieces
    masked = sum(int((b.ids == km.special_ids["mask"]).sum()) for b in probe.batches)
    assert masked == probe.num_targets > 0
    for b in probe.batches:  # shuffling moves context pieces only: same masks, same multiset per row
        assert torch.equal(b.ids == km.special_ids["mask"], b.shuffled == km.special_ids["mask"])
        assert torch.equal(b.ids.sort(dim=1).values, b.shuffled.sort(dim=1).values)
        assert not torch.equal(b.ids, b.shuffled)
    result = probe.evaluate(_Constant(probe.top_id, km.vocab_size), torch.device("cpu"))
    assert result["mask_accuracy"] == result["shuffled_accuracy"] == pytest.approx(probe.unigram_floor)
    assert result["left_plateau"] == 0.0
    assert left_plateau({"mask_accuracy": 0.13, "shuffled_accuracy": 0.05, "unigram_floor": 0.042})
    assert not left_plateau({"mask_accuracy": 0.13, "shuffled_accuracy": 0.07, "unigram_floor": 0.042})
    assert not left_plateau({"mask_accuracy": 0.12, "shuffled_accuracy": 0.03, "unigram_floor": 0.042})


def test_the_local_init_makes_heads_read_their_neighbours_on_real_text(km):
    ids = torch.from_numpy(pc.list_flatten(read_table(km.shards[0]).column("input_ids")).to_numpy()[:4 * 64]
                           .astype(np.int64).reshape(4, 64))
    for size in ("tiny", "mini"):
        torch.manual_seed(0)
        model = ErnieModel(ErnieConfig.from_size(size, km.vocab_size))
        local_attention_init(model)
        model.eval()
        x = model.embeddings(ids)
        attention = model.encoder.layer[0].attention.self
        heads, dim = attention.num_heads, x.shape[-1] // attention.num_heads
        q = attention.query(x).view(4, 64, heads, dim).transpose(1, 2)
        k = attention.key(x).view(4, 64, heads, dim).transpose(1, 2)
        weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(dim), -1).detach()
        for head, offset in list(enumerate(LOCAL_OFFSETS))[:heads]:
            by_offset = {d: float(torch.diagonal(weights[:, head], offset=d, dim1=-2, dim2=-1).mean())
                         for d in range(-4, 5)}
            assert max(by_offset, key=by_offset.get) == offset, (size, head, by_offset)
            assert by_offset[offset] > 20 / 64  # uniform would be 1/64
        # the word embeddings leave the position half alone at the start
        assert float(model.embeddings.word_embeddings.weight.detach()[:, : x.shape[-1] // 2].abs().max()) == 0.0


def test_cropping_keeps_the_first_pieces_and_the_final_sep(km):
    data = TaskData(km, seed=1, max_seq_len=16)
    full = TaskData(km, seed=1)
    indices = np.flatnonzero(full.lengths > 16)[:8]
    assert len(indices)
    cropped, whole = data.collate(indices, 0), full.collate(indices, 0)
    assert cropped["input_ids"].shape[1] == 16
    sep = km.special_ids["sep"]
    assert bool((cropped["input_ids"][:, -1] == sep).all())
    assert bool((cropped["mlm_labels"][:, -1] == -100).all())  # the kept [SEP] is never a target
    assert bool((cropped["attention_mask"] == 1).all())
    # the held-out probe crops its examples the same way
    probe = HeldOutProbe(km.shards, indices, km.special_ids, km.task_id, max_len=16)
    for b in probe.batches:
        last = b.attention.sum(1) - 1
        assert bool((b.ids[torch.arange(len(last)), last] == sep).all()) and b.ids.shape[1] == 16
    # the unmasked first 15 pieces are the example's own
    keep = cropped["mlm_labels"][:, :15] == -100
    assert torch.equal(cropped["input_ids"][:, :15][keep & (whole["mlm_labels"][:, :15] == -100)],
                       whole["input_ids"][:, :15][keep & (whole["mlm_labels"][:, :15] == -100)])


def test_the_new_flags_reach_the_run(tiny_tasks, tmp_path):
    out = tmp_path / "flags"
    result = CliRunner().invoke(main, ["pretrain", "--task", f"knowledge_masking={tiny_tasks['knowledge_masking']}",
                                       "--size", "tiny", "--max-steps", "4", "--tokens-per-batch", "512", "--out",
                                       str(out), "--lr-schedule", "noam", "--weight-init", "bert", "--dropout", "0",
                                       "--mask-prob", "0.3", "--masking", "basic_prob=1", "--max-seq-len", "32",
                                       "--eval-every", "2", "--heldout-examples", "8", "--save-every", "0", "--quiet"])
    assert result.exit_code == 0, result.output
    plan = json.loads((out / "plan.json").read_text())
    config = plan["config"]
    assert (config["lr_schedule"], config["weight_init"], config["dropout"], config["max_seq_len"]) == (
        "noam", "bert", 0.0, 32)
    assert config["masking"] == {"basic_prob": 1.0, "mask_prob": 0.3}
    assert plan["model"]["hidden_dropout_prob"] == plan["model"]["attention_probs_dropout_prob"] == 0.0
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "heldout_mask_accuracy" in r] == [2, 4]
    bad = CliRunner().invoke(main, ["pretrain", "--task", f"knowledge_masking={tiny_tasks['knowledge_masking']}",
                                    "--masking", "mask_rate=0.2", "--out", str(tmp_path / "bad")])
    assert bad.exit_code != 0 and "mask_prob" in bad.output
    unknown = CliRunner().invoke(main, ["pretrain", "--task", f"knowledge_masking={tiny_tasks['knowledge_masking']}",
                                        "--weight", "sentence_reorder=0.3", "--out", str(tmp_path / "bad2")])
    assert unknown.exit_code == 1 and "weights: unknown task(s) sentence_reorder" in unknown.output


def test_a_task_weight_scales_only_the_tasks_own_loss(tiny_tasks):
    from trainer.heads import ErnieForPretraining
    from trainer.tasks import read_tasks

    specs = read_tasks({k: tiny_tasks[k] for k in ("knowledge_masking", "sentence_reorder")})
    torch.manual_seed(0)
    model = ErnieForPretraining(ErnieConfig.from_size("tiny", specs["knowledge_masking"].vocab_size,
                                                      hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0),
                                specs).eval()
    batch = TaskData(specs["sentence_reorder"], seed=1, mlm_on_every_batch=True).next_batch(1024)
    full, parts = model(batch)
    half, parts_half = model({**batch, "task_weight": 0.5})
    assert parts_half["task_loss"] == pytest.approx(parts["task_loss"])
    assert float(half.detach()) == pytest.approx(0.5 * parts["task_loss"] + parts["mlm_loss"], rel=1e-5)
    assert float(full.detach()) == pytest.approx(parts["task_loss"] + parts["mlm_loss"], rel=1e-5)


def test_a_task_budget_from_the_command_line_sets_its_steps(tiny_tasks, tmp_path):
    out = tmp_path / "budget"
    tasks = [a for t in ("knowledge_masking", "sentence_reorder") for a in ("--task", f"{t}={tiny_tasks[t]}")]
    result = CliRunner().invoke(main, ["pretrain", *tasks, "--mode", "multitask", "--size", "tiny", "--max-steps", "6",
                                       "--tokens-per-batch", "256", "--budget", "sentence_reorder=2", "--out", str(out),
                                       "--save-every", "0", "--heldout-examples", "0", "--quiet"])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "plan.json").read_text())["budgets"] == {"knowledge_masking": 4, "sentence_reorder": 2}
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert sorted(r["task"] for r in rows) == ["knowledge_masking"] * 4 + ["sentence_reorder"] * 2
    bad = CliRunner().invoke(main, ["pretrain", *tasks, "--budget", "sentence_reorder=half", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and "use TASK=STEPS" in bad.output


def test_a_task_lr_from_the_command_line_sets_that_tasks_peak_only(tiny_tasks, tmp_path):
    out = tmp_path / "task-lr"
    tasks = [a for t in ("knowledge_masking", "sentence_reorder") for a in ("--task", f"{t}={tiny_tasks[t]}")]
    result = CliRunner().invoke(main, ["pretrain", *tasks, "--mode", "multitask", "--size", "tiny", "--max-steps", "8",
                                       "--tokens-per-batch", "256", "--lr", "1e-3", "--task-lr", "sentence_reorder=4e-3",
                                       "--lr-schedule", "constant", "--warmup-steps", "1", "--out", str(out),
                                       "--save-every", "0", "--heldout-examples", "0", "--quiet"])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "plan.json").read_text())["config"]["task_lrs"] == {"sentence_reorder": 4e-3}
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert {r["task"]: r["lr"] for r in rows} == {"knowledge_masking": pytest.approx(1e-3),
                                                  "sentence_reorder": pytest.approx(4e-3)}
    for bad_value, message in (("sentence_reorder=fast", "use TASK=LR"), ("sentence_reorder=2", "0 < LR < 1")):
        bad = CliRunner().invoke(main, ["pretrain", *tasks, "--task-lr", bad_value, "--out", str(tmp_path / "x")])
        assert bad.exit_code == 2 and message in bad.output
    unknown = CliRunner().invoke(main, ["pretrain", *tasks, "--task-lr", "skip_gram=1e-2", "--out", str(tmp_path / "y"),
                                        "--quiet"])
    assert unknown.exit_code == 1 and "task_lrs: unknown task(s) skip_gram" in unknown.output
