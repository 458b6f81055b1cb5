"""Engines: run a function over work items in parallel, results in input order.

`local` uses a process pool on this machine (workers=1: everything runs in this process);
`ray` sends each item to a Ray task, on this machine or on the cluster named by RAY_ADDRESS.
Items that are not work (markers) pass through in order. At most 2 x workers items are in
flight, so memory stays bounded. The engine never changes the output: the work functions are
pure and results are consumed in input order."""
from __future__ import annotations

import multiprocessing
import sys
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, Callable, Iterable, Iterator, Optional


def pool_context():
    """fork where it is safe (Linux): workers start at once with the parent's imports, where spawn
    would re-import spaCy, numpy and datasketch in every worker (seconds per run). Callers keep no
    threads alive while the pool starts (the CLI's progress display refreshes from this thread)."""
    if sys.platform == "linux":
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


class _Done:
    def __init__(self, value: Any):
        self.value = value

    def result(self) -> Any:
        return self.value

    def done(self) -> bool:
        return True


ENGINES = ("local", "ray")


def ordered_map(fn: Callable[..., Any], items: Iterable[Any], workers: int = 1,
                is_work: Callable[[Any], bool] = lambda item: True, engine: str = "local") -> Iterator[tuple[Any, Any]]:
    """Yield (item, fn(item)) for work items and (item, None) for markers, in input order."""
    if engine == "ray":
        yield from _ray_map(fn, items, workers, is_work)
        return
    if engine != "local":
        raise ValueError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    workers = max(1, workers)
    pool = ProcessPoolExecutor(workers, mp_context=pool_context()) if workers > 1 else None
    window = 2 * workers
    queue: deque[tuple[Any, Optional[Any]]] = deque()
    pending = 0
    try:
        for item in items:
            if is_work(item):
                task: Future | _Done = pool.submit(fn, item) if pool else _Done(fn(item))
                queue.append((item, task))
                pending += 1
            else:
                queue.append((item, None))
            while queue and (pending > window or queue[0][1] is None or queue[0][1].done()):
                head, task = queue.popleft()
                if task is not None:
                    pending -= 1
                yield head, (task.result() if task is not None else None)
        while queue:
            head, task = queue.popleft()
            yield head, (task.result() if task is not None else None)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)


def _ray_map(fn: Callable[..., Any], items: Iterable[Any], workers: int,
             is_work: Callable[[Any], bool]) -> Iterator[tuple[Any, Any]]:
    """The same contract on Ray: a cluster if RAY_ADDRESS is set, else a local Ray with `workers` CPUs."""
    import os

    try:
        import ray
    except ImportError:
        from corpus_tools.sources import InputError

        raise InputError("--engine ray needs Ray: pip install 'ernie-stack[ray]'") from None
    if not ray.is_initialized():
        if os.environ.get("RAY_ADDRESS"):
            ray.init(address=os.environ["RAY_ADDRESS"], log_to_driver=False)
        else:
            ray.init(num_cpus=max(1, workers), include_dashboard=False, log_to_driver=False, configure_logging=False)
    def call(item: Any) -> Any:  # ray.remote takes functions, not partials
        return fn(item)

    remote = ray.remote(call)
    window = 2 * max(1, workers)
    queue: deque[tuple[Any, Any]] = deque()
    pending = 0
    for item in items:
        queue.append((item, remote.remote(item) if is_work(item) else None))
        pending += queue[-1][1] is not None
        while queue and (pending > window or queue[0][1] is None):
            head, ref = queue.popleft()
            pending -= ref is not None
            yield head, (ray.get(ref) if ref is not None else None)
    while queue:
        head, ref = queue.popleft()
        yield head, (ray.get(ref) if ref is not None else None)
