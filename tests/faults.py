"""Faults for the tests, kept out of the production code: a worker that kills itself (kill -9)
while it runs one unit of a `run_units` call, and a driver that kills itself after taking N results
of one. They wrap `run_units` where a job module imported it (`corpus_tools.ingest.ingest`,
`corpus_tools.tasks.build`), so the engine itself has no hook. A killed worker is never the driver:
a unit run in the driver's own process (one worker, or one unit) runs normally."""
from __future__ import annotations

import functools
import importlib
import inspect
import os
import signal
import sys
from pathlib import Path
from typing import Any, Callable, Optional

from corpus_tools.run import engine


class KillWorker:
    """Runs `fn`, except that the worker process running unit `target` SIGKILLs itself: once (it
    first creates `marker`, and a worker finding it runs the unit), or every time (`marker` None)."""

    def __init__(self, fn: Callable[[Any], Any], target: Any, marker: Optional[str], driver: int):
        self.fn, self.target, self.marker, self.driver = fn, target, marker, driver

    def __call__(self, unit: Any) -> Any:
        if unit == self.target and os.getpid() != self.driver:
            if self.marker is None:
                os.kill(os.getpid(), signal.SIGKILL)
            try:
                fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                pass
            else:
                os.close(fd)
                os.kill(os.getpid(), signal.SIGKILL)
        return self.fn(unit)


def _label(args: tuple, kwargs: dict) -> tuple[inspect.BoundArguments, str]:
    bound = inspect.signature(engine.run_units).bind(*args, **kwargs)
    return bound, bound.arguments.get("label", "unit")


def kill_worker(monkeypatch, module: str, label: str, index: int, marker: Optional[Path] = None) -> None:
    """The worker that runs unit `index` of `module`'s run_units call labelled `label` kills itself:
    once if `marker` (a file path) is given, else every time."""
    job = importlib.import_module(module)
    real = job.run_units
    if "ray" in sys.modules:  # Ray workers unpickle KillWorker without importing the tests
        import ray.cloudpickle

        ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])

    @functools.wraps(real)
    def run_units(*args, **kwargs):
        bound, name = _label(args, kwargs)
        if name == label:
            units = bound.arguments["units"]
            bound.arguments["fn"] = KillWorker(bound.arguments["fn"], units[index],
                                               None if marker is None else str(marker), os.getpid())
        return real(*bound.args, **bound.kwargs)

    monkeypatch.setattr(job, "run_units", run_units)


def kill_driver(module: str, label: str, after: int) -> None:
    """In this process (one started for it): the driver SIGKILLs itself once it has taken `after`
    results of `module`'s run_units call labelled `label`, as a crash or `kill -9` would."""
    job = importlib.import_module(module)
    real = job.run_units

    @functools.wraps(real)
    def run_units(*args, **kwargs):
        _, name = _label(args, kwargs)
        for taken, result in enumerate(real(*args, **kwargs), 1):
            yield result
            if name == label and taken == after:
                os.kill(os.getpid(), signal.SIGKILL)

    job.run_units = run_units
