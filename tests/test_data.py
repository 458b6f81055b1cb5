"""TaskData on the real tiny task shards: token budgets, padding, label keys, determinism, ranks, resume."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from schemas.tasks import IGNORE
from trainer.data import TaskData
from trainer.tasks import read_task

TASKS = ("knowledge_masking", "capitalization", "token_document", "sentence_reorder", "sentence_distance",
         "discourse_relation", "ir_relevance")
KEYS = {"mlm": "mlm_labels", "token": "token_labels", "sequence": "labels"}


@pytest.fixture(scope="module")
def specs(tiny_tasks):
    return {name: read_task(name, tiny_tasks[name]) for name in TASKS}


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(a[k] == b[k] if k == "task" else torch.equal(a[k], b[k]) for k in a)


def _rows(data: TaskData, indices, column: str) -> list:
    return data.table.take(indices).column(column).to_pylist()


@pytest.mark.parametrize("name", TASKS)
def test_batches_of_a_whole_epoch(specs, name):
    spec = specs[name]
    data = TaskData(spec, seed=3)
    budget = 300
    plan = data.epoch_batches(0, budget)
    assert sorted(np.concatenate(plan).tolist()) == list(range(len(data)))  # one rank drops nothing
    pad = spec.special_ids["pad"]
    for k in range(data.batches_per_epoch(budget)):
        batch = data.next_batch(budget)
        ids, mask = batch["input_ids"], batch["attention_mask"]
        b, t = ids.shape
        assert b * t <= budget or b == 1
        assert batch["task"] == name and set(batch) == {"task", "input_ids", "token_type_ids", "task_type_ids",
                                                        "attention_mask", KEYS[spec.kind]}
        assert all(v.dtype == torch.long for v in batch.values() if isinstance(v, torch.Tensor))
        assert (batch["task_type_ids"] == spec.task_id).all()
        lengths = torch.as_tensor(data.lengths[plan[k]])
        assert torch.equal(mask.sum(1), lengths) and mask[:, 0].all() and t == int(lengths.max())
        assert torch.equal(mask.bool(), ids != pad)  # padding exactly where the mask is 0 (masking adds no pads)
        assert (batch["token_type_ids"][mask == 0] == 0).all()
        original = _rows(data, plan[k], "input_ids")
        if spec.kind == "mlm":
            labels = batch["mlm_labels"]
            assert (labels[mask == 0] == IGNORE).all() and (labels != IGNORE).any()
            for row, ids_row, lab in zip(original, ids, labels):
                row = torch.tensor(row)
                n = len(row)
                picked = lab[:n] != IGNORE
                assert torch.equal(lab[:n][picked], row[picked]) and torch.equal(ids_row[:n][~picked], row[~picked])
        else:
            assert [r[:len(o)] for r, o in zip(ids.tolist(), original)] == original
        if spec.kind == "token":
            expect = _rows(data, plan[k], "labels")
            got = batch["token_labels"]
            assert [g[:len(e)] for g, e in zip(got.tolist(), expect)] == expect
            assert (got[mask == 0] == IGNORE).all()
        if spec.kind == "sequence":
            assert batch["labels"].tolist() == _rows(data, plan[k], "label")
    assert data.state_dict()["epoch"] == 0
    data.next_batch(budget)
    assert data.state_dict()["epoch"] == 1 and data.state_dict()["position"] == 1


def test_an_example_over_the_budget_comes_alone(specs):
    data = TaskData(specs["sentence_reorder"], seed=0)
    for _ in range(20):
        batch = data.next_batch(40)
        b, t = batch["input_ids"].shape
        assert b * t <= 40 or b == 1
        if t > 40:
            return
    pytest.fail("no example longer than 40 tokens seen")


def test_same_seed_same_batches_and_masks(specs):
    spec = specs["knowledge_masking"]
    one, two, other = TaskData(spec, seed=7), TaskData(spec, seed=7), TaskData(spec, seed=8)
    a = [one.next_batch(512) for _ in range(10)]
    assert all(_same(x, two.next_batch(512)) for x in a)
    assert not any(_same(x, other.next_batch(512)) for x in a)


def test_masks_are_fresh_each_epoch(specs):
    data = TaskData(specs["knowledge_masking"], seed=1)
    budget = 2048
    masks = []
    for epoch in range(2):
        plan = data.epoch_batches(epoch, budget)
        by_example = {}
        for k in range(len(plan)):
            batch = data.next_batch(budget)
            for i, labels in zip(plan[k], batch["mlm_labels"]):
                by_example[int(i)] = tuple((labels != IGNORE).nonzero().flatten().tolist())
        masks.append(by_example)
    assert data.epoch_batches(0, budget)[0].tolist() != data.epoch_batches(1, budget)[0].tolist()
    changed = sum(masks[0][i] != masks[1][i] for i in masks[0])
    assert changed > 0.8 * len(masks[0])


@pytest.mark.parametrize("name", ["sentence_distance", "ir_relevance"])
def test_ranks_split_each_global_batch(specs, name):
    """Every rank walks the same global batches and takes its own examples of each: together the
    ranks see exactly what one process sees, and never the same example."""
    spec = specs[name]
    ranks = [TaskData(spec, seed=2, rank=r, world_size=2) for r in range(2)]
    budget = 256 if name == "sentence_distance" else 300
    counts = [r.batches_per_epoch(budget) for r in ranks]
    assert counts[0] == counts[1] > 0
    plan = ranks[0].epoch_batches(0, budget)
    seen = [[], []]
    for k in range(counts[0]):
        parts = [data.next_batch(budget) for data in ranks]
        for r, (data, batch) in enumerate(zip(ranks, parts)):
            indices = plan[k][r::2]
            assert batch["labels"].tolist() == _rows(data, indices, "label")
            assert [row[:n] for row, n in zip(batch["input_ids"].tolist(), data.lengths[indices])] == \
                _rows(data, indices, "input_ids")
            seen[r].extend(indices.tolist())
        assert sorted(seen[0][-len(plan[k][0::2]):] + seen[1][-len(plan[k][1::2]):]) == sorted(plan[k].tolist())
    assert not set(seen[0]) & set(seen[1])
    assert all(r.state_dict() == ranks[0].state_dict() for r in ranks)


@pytest.mark.parametrize("name", ["knowledge_masking", "ir_relevance"])
def test_resume_gives_the_same_next_batches(specs, name):
    spec = specs[name]
    data = TaskData(spec, seed=4, mlm_on_every_batch=True)
    for _ in range(5):  # ir_relevance has two batches an epoch: this crosses epochs
        data.next_batch(512)
    state = json.loads(json.dumps(data.state_dict()))
    resumed = TaskData(spec, seed=4, mlm_on_every_batch=True)
    resumed.load_state_dict(state)
    for _ in range(6):
        assert _same(data.next_batch(512), resumed.next_batch(512))
    with pytest.raises(ValueError):
        TaskData(spec, seed=5).load_state_dict(state)


def test_mlm_on_every_batch(specs):
    spec = specs["capitalization"]
    plain, masked = TaskData(spec, seed=9), TaskData(spec, seed=9, mlm_on_every_batch=True)
    a, b = plain.next_batch(512), masked.next_batch(512)
    assert "mlm_labels" not in a and torch.equal(a["token_labels"], b["token_labels"])
    picked = b["mlm_labels"] != IGNORE
    assert picked.any() and torch.equal(b["mlm_labels"][picked], a["input_ids"][picked])
    assert torch.equal(b["input_ids"][~picked], a["input_ids"][~picked])
    assert (b["input_ids"][picked] == spec.special_ids["mask"]).float().mean() > 0.6


def test_budget_change_starts_a_new_epoch(specs):
    data = TaskData(specs["sentence_reorder"], seed=0)
    data.next_batch(512)
    data.next_batch(1024)
    assert data.state_dict()["epoch"] == 1 and data.state_dict()["position"] == 1
    assert data.state_dict()["tokens_per_batch"] == 1024


def test_loader_workers_give_the_same_batches_and_cursor(specs):
    """Batches built ahead in DataLoader worker processes arrive in the same order, and the cursor
    counts consumed batches, so a checkpoint taken mid-stream resumes exactly."""
    from trainer.data import Loader

    spec = specs["knowledge_masking"]
    plain = Loader(TaskData(spec, seed=9), 512, workers=0)
    ahead = Loader(TaskData(spec, seed=9), 512, workers=2)
    for _ in range(7):
        a, b = plain.next_batch(), ahead.next_batch()
        assert torch.equal(a["input_ids"], b["input_ids"]) and torch.equal(a["mlm_labels"], b["mlm_labels"])
    assert ahead.state_dict() == plain.state_dict()
    resumed = Loader(TaskData(spec, seed=9), 512, workers=2)
    resumed.load_state_dict(ahead.state_dict())
    assert torch.equal(resumed.next_batch()["input_ids"], plain.next_batch()["input_ids"])
