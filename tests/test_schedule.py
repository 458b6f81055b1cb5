"""The continual multi-task schedule: budgets, stages, sampling, determinism, resume, per-task lr."""
from __future__ import annotations

import json
from collections import Counter

import pytest

from schemas.tasks import PAPER_TASKS
from trainer.schedule import Schedule, ScheduleConfig, allocate, task_lr

TASKS = list(PAPER_TASKS)


def draws(schedule: Schedule, start: int = 0, stop: int | None = None) -> list[str]:
    stop = schedule.total_steps if stop is None else stop
    return [schedule.next_task(step) for step in range(start, stop)]


def test_allocate_seven_tasks_follows_olfmlm():
    table = allocate(TASKS, {t: 8000 for t in TASKS})
    assert [list(stage) for stage in table] == [TASKS[:i + 1] for i in range(7)]
    assert [sum(stage.values()) for stage in table] == [2000 * (i + 1) for i in range(7)]
    assert table[0] == {"knowledge_masking": 2000}
    assert table[6]["ir_relevance"] == 8000 and table[6]["knowledge_masking"] == 1000


@pytest.mark.parametrize("budget", [0, 1, 7, 99, 12345])
def test_allocate_is_exact_and_peaks_at_arrival(budget):
    budgets = {t: budget + 3 * i for i, t in enumerate(TASKS)}
    table = allocate(TASKS, budgets)
    for j, task in enumerate(TASKS):
        shares = [stage.get(task, 0) for stage in table]
        assert sum(shares) == budgets[task]
        assert shares[:j] == [0] * j and shares[j] == max(shares)


def test_budgets_are_spent_exactly_and_stages_hold_arrived_tasks():
    schedule = Schedule(ScheduleConfig(tasks=TASKS, max_steps=4003, warmup_steps=10, seed=3))
    sequence = draws(schedule)
    assert len(sequence) == schedule.total_steps == 4003
    assert Counter(sequence) == schedule.budgets and sum(schedule.budgets.values()) == 4003
    assert dict(schedule.task_steps) == schedule.budgets
    per_stage = [Counter() for _ in TASKS]
    for step, task in enumerate(sequence):
        i = schedule.stage(step)
        assert TASKS.index(task) <= i
        per_stage[i][task] += 1
    assert [dict(c) for c in per_stage] == [{t: n for t, n in s.items() if n} for s in schedule.table]
    assert schedule.boundaries() == [r["start"] for r in schedule.plan_summary()]
    assert [schedule.stage(b) for b in schedule.boundaries()] == list(range(7))
    for j, task in enumerate(TASKS):  # a task trains most in the stage where it arrives
        assert max(range(7), key=lambda i: per_stage[i][task]) == j


def test_sampling_follows_remaining_budget():
    config = ScheduleConfig(tasks=["a", "b"], stages=[{"a": 300, "b": 100}])
    firsts = [Counter(draws(Schedule(ScheduleConfig(**{**vars(config), "seed": s})), 0, 200))
              for s in range(20)]
    a, b = sum(c["a"] for c in firsts), sum(c["b"] for c in firsts)
    assert 2.6 < a / b < 3.5  # expected 150:50 per run


def test_multitask_draws_every_task_from_the_start():
    schedule = Schedule(ScheduleConfig(tasks=TASKS, max_steps=1400, mode="multitask"))
    assert len(schedule.table) == 1 and schedule.boundaries() == [0]
    sequence = draws(schedule)
    assert set(sequence[:300]) == set(TASKS)
    assert Counter(sequence) == {t: 200 for t in TASKS}


def test_sequential_trains_one_task_at_a_time():
    budgets = {"a": 30, "b": 0, "c": 20}
    schedule = Schedule(ScheduleConfig(tasks=["a", "b", "c"], budgets=budgets, mode="sequential"))
    assert draws(schedule) == ["a"] * 30 + ["c"] * 20
    assert schedule.boundaries() == [0, 30, 30] and schedule.stage(30) == 2


def test_explicit_stages_are_honoured():
    stages = [{"b": 5}, {"a": 10, "b": 2}, {"c": 4}]
    schedule = Schedule(ScheduleConfig(tasks=["a", "b", "c"], stages=stages))
    sequence = draws(schedule)
    assert sequence[:5] == ["b"] * 5 and sequence[-4:] == ["c"] * 4
    assert Counter(sequence[5:17]) == {"a": 10, "b": 2}
    assert schedule.budgets == {"a": 10, "b": 7, "c": 4}


@pytest.mark.parametrize("stages, message", [
    ([{"a": 5, "z": 1}], "unknown task 'z'"),
    ([{"a": -1}], "non-negative integer"),
    ([{"a": 1.5}], "non-negative integer"),
    ([], "non-empty list"),
    ([{"a": 0}], "no steps"),
])
def test_bad_stage_tables_are_one_line_errors(stages, message):
    with pytest.raises(ValueError, match=message) as error:
        Schedule(ScheduleConfig(tasks=["a", "b"], stages=stages))
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("config, message", [
    (dict(tasks=["a"], budgets={"a": 1}, mode="round_robin"), "mode"),
    (dict(tasks=["a"], budgets={"a": 1, "b": 2}), "unknown tasks"),
    (dict(tasks=["a", "b"], budgets={"a": 1}), "missing tasks"),
    (dict(tasks=["a", "b"], budgets={"a": 9}, max_steps=5), "exceed max_steps"),
    (dict(tasks=["a"]), "no max_steps"),
    (dict(tasks=["a"], budgets={"a": 0}), "no steps"),
    (dict(tasks=["a"], stages=[{"a": 1}], mode="sequential"), "continual_multitask"),
    (dict(tasks=["a"], max_steps=5, warmup_steps=0), "warmup_steps"),
])
def test_bad_configs(config, message):
    with pytest.raises(ValueError, match=message):
        Schedule(ScheduleConfig(**config))


def test_budgets_left_out_share_what_max_steps_leaves():
    budgets = {"b": 100}
    schedule = Schedule(ScheduleConfig(tasks=["a", "b", "c"], budgets=budgets, max_steps=401))
    assert schedule.budgets == {"a": 151, "b": 100, "c": 150} and schedule.total_steps == 401
    assert Schedule(ScheduleConfig(tasks=["a", "b"], budgets={}, max_steps=9)).budgets == {"a": 5, "b": 4}
    assert Schedule(ScheduleConfig(tasks=["a"], budgets={"a": 50}, max_steps=9)).total_steps == 50


def test_same_seed_same_sequence_other_seed_differs():
    make = lambda seed: draws(Schedule(ScheduleConfig(tasks=TASKS, max_steps=2000, seed=seed)))
    assert make(7) == make(7)
    assert make(7) != make(8)


def test_steps_come_in_order():
    schedule = Schedule(ScheduleConfig(tasks=["a", "b"], max_steps=10))
    first = schedule.next_task(0)
    assert schedule.next_task(0) == first  # asking again for the last step does not advance
    with pytest.raises(ValueError, match="expected step 1"):
        schedule.next_task(5)
    draws(schedule, 1)
    with pytest.raises(ValueError, match="ends at step 10"):
        schedule.next_task(10)


def test_state_dict_round_trip_mid_stage():
    config = ScheduleConfig(tasks=TASKS, max_steps=3000, seed=11)
    full = draws(Schedule(config))
    first = Schedule(config)
    cut = 1234
    assert first.stage(cut) == first.stage(cut - 1)  # mid-stage
    head = draws(first, 0, cut)
    state = json.loads(json.dumps(first.state_dict()))
    resumed = Schedule(config)
    resumed.load_state_dict(state)
    assert head + draws(resumed, cut) == full
    assert resumed.task_steps == Schedule(config).budgets
    with pytest.raises(ValueError, match="another stage table or seed"):
        Schedule(ScheduleConfig(tasks=TASKS, max_steps=3000, seed=12)).load_state_dict(state)


@pytest.mark.parametrize("shape", ["noam", "linear"])
def test_warmup_is_per_task(shape):
    config = ScheduleConfig(tasks=["a", "b"], budgets={"a": 3000, "b": 3000}, warmup_steps=100, lr=1e-3,
                            lr_schedule=shape)
    schedule = Schedule(config)
    stage_one = schedule.boundaries()[1]
    draws(schedule, 0, stage_one)
    assert schedule.task_steps["a"] == stage_one > 100
    step = stage_one
    while schedule.next_task(step) != "b":
        step += 1
    assert schedule.task_steps["b"] == 1
    assert schedule.lr("b") == pytest.approx(1e-3 / 100)
    done = schedule.task_steps["a"]
    expected = (100 / done) ** 0.5 if shape == "noam" else (3001 - done) / (3001 - 100)  # a's budget: 3000
    assert schedule.lr("a") == pytest.approx(1e-3 * expected)
    assert schedule.lr("a") > 10 * schedule.lr("b")


def test_per_task_warmup_table():
    schedule = Schedule(ScheduleConfig(tasks=["a", "b"], max_steps=10, warmup_steps={"a": 1, "b": 4}, lr=1.0))
    schedule.next_task(0)
    task = schedule.last_task
    assert schedule.lr(task) == pytest.approx(1.0 if task == "a" else 0.25)


def test_noam_values():
    assert task_lr(0, 4000, 1e-4) == 0.0
    assert task_lr(1, 4000, 1e-4) == pytest.approx(1e-4 / 4000)
    assert task_lr(2000, 4000, 1e-4) == pytest.approx(0.5e-4)
    assert task_lr(4000, 4000, 1e-4) == pytest.approx(1e-4)
    assert task_lr(16000, 4000, 1e-4) == pytest.approx(0.5e-4)
    with pytest.raises(ValueError):
        task_lr(1, 0, 1e-4)


def test_linear_and_constant_values():
    # linear: warmup, then down to 0 at the step after the budget's last; never negative
    assert task_lr(50, 100, 1e-3, "linear", 1000) == pytest.approx(0.5e-3)
    assert task_lr(100, 100, 1e-3, "linear", 1000) == pytest.approx(1e-3)
    assert task_lr(550, 100, 1e-3, "linear", 1000) == pytest.approx(1e-3 * 451 / 901)
    assert task_lr(1000, 100, 1e-3, "linear", 1000) == pytest.approx(1e-3 / 901)
    assert task_lr(1001, 100, 1e-3, "linear", 1000) == 0.0
    assert task_lr(5000, 100, 1e-3, "constant", 1000) == pytest.approx(1e-3)
    with pytest.raises(ValueError, match="lr_schedule"):
        task_lr(5, 1, 1e-3, "cosine", 10)


def test_linear_decay_reaches_zero_at_each_tasks_last_step():
    config = ScheduleConfig(tasks=["a", "b"], budgets={"a": 60, "b": 40}, warmup_steps=5, lr=1.0,
                            lr_schedule="linear")
    schedule = Schedule(config)
    last = {}
    for step in range(schedule.total_steps):
        task = schedule.next_task(step)
        last[task] = schedule.lr(task)
    assert last == {"a": pytest.approx(1 / 56), "b": pytest.approx(1 / 36)}
    with pytest.raises(ValueError, match="lr_schedule"):
        Schedule(ScheduleConfig(tasks=["a"], max_steps=10, lr_schedule="cosine"))
