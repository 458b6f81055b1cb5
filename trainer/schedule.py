"""The continual multi-task learning schedule of ERNIE 2.0 and its per-task learning rate.

Training runs in stages: in `continual_multitask` mode stage i brings in task i and tasks 0..i-1
keep training. Each stage is a table task -> steps; inside a stage every step draws one task with
probability proportional to its remaining steps in that stage, so the stage ends with every task's
steps spent exactly. Draws come from `numpy.random.default_rng([seed, step])` and integer
arithmetic, so every DDP rank picks the same task at the same step.

The `auto` allocation follows the olfmlm replication of ERNIE 2.0 (Aroca-Ouellette & Rudzicz 2020,
`get_stage_info`): with n tasks, task j's budget B is cut into n + 1 units u = B // (n + 1); the
task gets u steps in each stage after its arrival and the rest, (j + 2) units plus the rounding
remainder, in its arrival stage. Equal budgets give stages of 2, 4, ..., 2n units.

The learning rate is per task, on the task's own step counter, with warmup over the first
`warmup_steps` of every task (ERNIE 2.0: "warmup over the first 4,000 steps for every task"), then
one of three shapes (`lr_schedule`):
- `linear` (the default): decay to 0 when the task's budget is spent, as BERT's and RoBERTa's
  schedules do, and as Cramming (Geiping & Goldstein 2022) and "How to Train BERT with an Academic
  Budget" (Izsak et al. 2021) found best for short budgets: the lr reaches 0 exactly when training
  stops, so the last steps are not wasted at a high lr;
- `noam`: inverse-sqrt decay after warmup (the Transformer's; ERNIE's released configs);
- `constant`: the peak after warmup.
"""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Mapping, Optional, Union

import numpy as np

from schemas.tasks import PAPER_TASKS

MODES = ("continual_multitask", "multitask", "sequential")
LR_SCHEDULES = ("linear", "noam", "constant")
Table = list[dict[str, int]]


@dataclass
class ScheduleConfig:
    tasks: list[str] = field(default_factory=lambda: list(PAPER_TASKS))  # the order tasks arrive in
    budgets: Optional[dict[str, int]] = None  # task -> steps; tasks left out share what max_steps leaves
    max_steps: Optional[int] = None  # the total, used only for tasks without a budget
    mode: str = "continual_multitask"  # | "multitask" | "sequential"
    stages: Optional[list[dict[str, int]]] = None  # explicit stage table (continual_multitask)
    warmup_steps: Union[None, int, dict[str, int]] = None  # per task: one value, task -> value, or
    # None: default_warmup(the task's budget)
    lr: float = 5e-5  # peak
    task_lrs: dict[str, float] = field(default_factory=dict)  # task -> its own peak (default: lr)
    lr_schedule: str = "linear"  # | "noam" | "constant"; see the module docstring
    seed: int = 0


class TaskSteps(dict):
    """Steps taken per task (task -> int); the clock of each task's own warmup."""

    def advance(self, task: str) -> int:
        self[task] = self.get(task, 0) + 1
        return self[task]


def task_lr(task_step: int, warmup: int, peak: float, kind: str = "noam", budget: Optional[int] = None) -> float:
    """Linear warmup to `peak` at step `warmup`, then `kind`: noam (inverse-sqrt decay), linear
    (to 0 at step `budget`, the task's last) or constant; 0 before step 1."""
    if warmup < 1 or task_step < 0:
        raise ValueError(f"task_lr: need warmup >= 1 and task_step >= 0, got {warmup}, {task_step}")
    if kind not in LR_SCHEDULES:
        raise ValueError(f"lr_schedule: expected one of {', '.join(LR_SCHEDULES)}, got {kind!r}")
    if task_step == 0:
        return 0.0
    if task_step <= warmup:
        return peak * task_step / warmup
    if kind == "noam":
        return peak * (warmup / task_step) ** 0.5
    if kind == "constant" or budget is None:
        return peak
    # linear: the step after the budget's last would be at 0; the last step trains at peak / (budget - warmup + 1)
    return peak * max(0.0, (budget + 1 - task_step) / (budget + 1 - warmup))


def default_warmup(budget: int) -> int:
    """ERNIE 2.0 warms every task up over 4,000 steps; a shorter run warms a task up over 10% of
    its budget instead, so that the task reaches its peak lr at all."""
    return max(1, min(4000, budget // 10))


def _steps(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{where}: steps must be a non-negative integer, got {value!r}")
    return int(value)


def equal_budgets(tasks: list[str], max_steps: int) -> dict[str, int]:
    """max_steps split evenly; the first max_steps % n tasks get one step more."""
    n, total = len(tasks), _steps(max_steps, "max_steps")
    return {t: total // n + (i < total % n) for i, t in enumerate(tasks)}


def allocate(tasks: list[str], budgets: Mapping[str, int]) -> Table:
    """The `auto` continual table: stage i holds tasks 0..i; see the module docstring for the rule."""
    n = len(tasks)
    table: Table = [{} for _ in range(n)]
    for j, task in enumerate(tasks):
        budget = _steps(budgets[task], f"budgets.{task}")
        unit = budget // (n + 1)
        table[j][task] = budget - unit * (n - 1 - j)
        for i in range(j + 1, n):
            table[i][task] = unit
    return table


def validate_table(stages: object, tasks: list[str]) -> Table:
    """An explicit stage table checked and copied; ValueError (one line) on the first problem."""
    if not isinstance(stages, (list, tuple)) or not stages:
        raise ValueError("stages: expected a non-empty list of task -> steps tables")
    table: Table = []
    for i, stage in enumerate(stages):
        if not isinstance(stage, Mapping):
            raise ValueError(f"stages[{i}]: expected a table task -> steps, got {type(stage).__name__}")
        for task in stage:
            if task not in tasks:
                raise ValueError(f"stages[{i}]: unknown task {task!r} (tasks: {', '.join(tasks)})")
        table.append({t: _steps(v, f"stages[{i}].{t}") for t, v in stage.items()})
    if not sum(sum(s.values()) for s in table):
        raise ValueError("stages: the table has no steps")
    return table


def build_table(config: ScheduleConfig) -> Table:
    """The stage table a config asks for (explicit, auto, one multitask stage, or one per task)."""
    tasks = list(config.tasks)
    if not tasks or len(set(tasks)) != len(tasks):
        raise ValueError(f"tasks: expected distinct task names, got {tasks}")
    if config.lr_schedule not in LR_SCHEDULES:
        raise ValueError(f"lr_schedule: expected one of {', '.join(LR_SCHEDULES)}, got {config.lr_schedule!r}")
    if config.mode not in MODES:
        raise ValueError(f"mode: expected one of {', '.join(MODES)}, got {config.mode!r}")
    if config.stages is not None:
        if config.mode != "continual_multitask":
            raise ValueError(f"stages: an explicit table needs mode continual_multitask, not {config.mode}")
        return validate_table(config.stages, tasks)
    given = dict(config.budgets or {})
    unknown = sorted(set(given) - set(tasks))
    if unknown:
        raise ValueError(f"budgets: unknown tasks {unknown} (tasks: {', '.join(tasks)})")
    budgets = {t: _steps(v, f"budgets.{t}") for t, v in given.items()}
    missing = [t for t in tasks if t not in budgets]
    if missing:
        if config.max_steps is None:
            raise ValueError(f"budgets: missing tasks {missing} and no max_steps to share among them")
        rest = _steps(config.max_steps, "max_steps") - sum(budgets.values())
        if rest < 0:
            raise ValueError(f"budgets: {sum(budgets.values())} steps exceed max_steps {config.max_steps}")
        budgets.update(equal_budgets(missing, rest))
    budgets = {t: budgets[t] for t in tasks}  # in the order tasks arrive
    if not sum(budgets.values()):
        raise ValueError("budgets: the schedule has no steps")
    if config.mode == "multitask":
        return [budgets]
    if config.mode == "sequential":
        return [{t: budgets[t]} for t in tasks]
    return allocate(tasks, budgets)


class Schedule:
    """Which task trains at each global step, and at what learning rate; resumable exactly."""

    def __init__(self, config: ScheduleConfig) -> None:
        self.config = config
        self.table = build_table(config)
        lengths = [sum(s.values()) for s in self.table]
        self.starts = [sum(lengths[:i]) for i in range(len(lengths))]
        self.total_steps = sum(lengths)
        self.budgets = {t: sum(s.get(t, 0) for s in self.table) for t in config.tasks}
        warmup = config.warmup_steps
        self.warmups = {t: (default_warmup(self.budgets[t]) if warmup is None
                            else warmup[t] if isinstance(warmup, Mapping) else warmup) for t in config.tasks}
        for t, w in self.warmups.items():
            if isinstance(w, bool) or not isinstance(w, int) or w < 1:
                raise ValueError(f"warmup_steps.{t}: expected an integer >= 1, got {w!r}")
        self.step = 0  # the next global step to draw
        self.current = 0  # the stage being drawn from
        self.remaining = dict(self.table[0])
        self.task_steps = TaskSteps({t: 0 for t in config.tasks})
        self.last_task: Optional[str] = None

    def stage(self, step: int) -> int:
        """The stage index of global step `step` (an empty stage is never returned)."""
        if not 0 <= step < self.total_steps:
            raise ValueError(f"stage: step {step} is outside 0..{self.total_steps - 1}")
        return bisect_right(self.starts, step) - 1

    def boundaries(self) -> list[int]:
        """The global step where each stage starts."""
        return list(self.starts)

    def plan_summary(self) -> list[dict]:
        """One row per stage: index, first step, length and task -> steps, for the CLI."""
        return [{"stage": i, "start": self.starts[i], "steps": sum(s.values()), "tasks": dict(s)}
                for i, s in enumerate(self.table)]

    def next_task(self, step: int) -> str:
        """The task of global step `step`; steps come in order (asking again for the last is fine)."""
        if step == self.step - 1 and self.last_task is not None:
            return self.last_task
        if step != self.step:
            raise ValueError(f"next_task: expected step {self.step}, got {step}")
        if step >= self.total_steps:
            raise ValueError(f"next_task: the schedule ends at step {self.total_steps}")
        while not sum(self.remaining.values()):
            self.current += 1
            self.remaining = dict(self.table[self.current])
        total = sum(self.remaining.values())
        pick = int(np.random.default_rng([self.config.seed, step]).integers(total))
        for task, left in self.remaining.items():
            if pick < left:
                break
            pick -= left
        self.remaining[task] -= 1
        self.task_steps.advance(task)
        self.step, self.last_task = step + 1, task
        return task

    def lr(self, task: str) -> float:
        """The learning rate of `task` at its latest step (call after next_task)."""
        return task_lr(self.task_steps[task], self.warmups[task], self.config.task_lrs.get(task, self.config.lr),
                       self.config.lr_schedule, self.budgets[task])

    def state_dict(self) -> dict:
        """JSON-able state; load it into a Schedule built from the same config to resume exactly."""
        return {"step": self.step, "stage": self.current, "remaining": dict(self.remaining),
                "task_steps": dict(self.task_steps), "last_task": self.last_task,
                "seed": self.config.seed, "table": [dict(s) for s in self.table]}

    def load_state_dict(self, state: Mapping) -> None:
        if state["table"] != self.table or state["seed"] != self.config.seed:
            raise ValueError("schedule: the saved state is for another stage table or seed")
        self.step, self.current = int(state["step"]), int(state["stage"])
        self.remaining = {t: int(state["remaining"][t]) for t in self.table[self.current]}
        self.task_steps = TaskSteps({t: int(v) for t, v in state["task_steps"].items()})
        self.last_task = state["last_task"]
