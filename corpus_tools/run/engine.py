"""Engines: run a function over work units in parallel.

`local` uses a process pool on this machine (workers=1: everything runs in this process);
`ray` sends each unit to a Ray task, on this machine or on the cluster named by RAY_ADDRESS.

`run_units` is what ingest and build use: a unit reads its own input and writes its own output
(to shared storage) and sends back only a small summary, so nothing but those summaries crosses
to the driver. Ray tasks, not Ray Data: a unit is one whole file, stream range or shard whose
output name and bytes are fixed by the plan, which Ray Data's row blocks and `write_*` naming do
not give; with plain tasks the driver keeps at most 2 x workers units in flight (backpressure),
and SPREAD scheduling puts them on every node. Data locality comes from shared storage, where
any node reads any unit. A unit whose worker dies (kill -9, out of memory) runs again: Ray
retries the task, the local engine restarts its pool. The engine never changes the output: the
work functions are pure functions of their unit.

`ordered_map` (decontaminate, the dedup steps) streams items through the same engines with results
in input order. A `Pool` holds one set of workers across calls: a job of several steps (ingest,
dedup) starts its processes once. `Parallel` is the two knobs (--workers, --engine), checked once,
that every job (ingest, build, dedup, decontaminate) takes as its `parallel` argument."""
from __future__ import annotations

import os
import signal
import sys
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Optional, Sequence

from schemas.errors import InputError

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor


def pool_context():
    """fork where it is safe (Linux): workers start at once with the parent's imports, where spawn
    would re-import spaCy, numpy and datasketch in every worker (seconds per run). Callers keep no
    threads alive while the pool starts (the CLI's progress display refreshes from this thread).
    multiprocessing and the process pool are imported where a pool starts: a run in one process
    never loads them."""
    import multiprocessing

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


@dataclass(frozen=True)
class Parallel:
    """How a job runs, never what it writes: `workers` processes (or Ray CPUs) on `engine`. The
    same for every job (the --workers and --engine options); checked here, once."""

    workers: int = 1
    engine: str = "local"

    def __post_init__(self) -> None:
        if not isinstance(self.workers, int) or self.workers < 1:
            raise ValueError(f"workers must be an integer >= 1, not {self.workers!r}")
        if self.engine not in ENGINES:
            raise ValueError(f"unknown engine {self.engine!r}; choose one of {', '.join(ENGINES)}")


class Pool:
    """One set of workers for several steps, as a context manager: a stage of many short steps
    (dedup) starts its processes once, not once per step. Local engine: a process pool started at
    its first use (workers > 1) and started again after one of its workers died; Ray keeps its own
    workers, so there is nothing to hold. Passing a Pool never changes a result."""

    def __init__(self, parallel: Parallel = Parallel()):
        self.workers, self.engine = parallel.workers, parallel.engine
        self._executor: Optional[ProcessPoolExecutor] = None

    def executor(self) -> Optional[ProcessPoolExecutor]:
        """The process pool; None where work runs in this process or on Ray."""
        if self.engine != "local" or self.workers == 1:
            return None
        if self._executor is None:
            from concurrent.futures import ProcessPoolExecutor

            self._executor = ProcessPoolExecutor(self.workers, mp_context=pool_context(), initializer=_die_with_parent)
        return self._executor

    def close(self) -> None:
        """Stop the processes (the next use starts new ones)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def __enter__(self) -> "Pool":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def ordered_map(fn: Callable[..., Any], items: Iterable[Any], parallel: Parallel = Parallel(),
                is_work: Callable[[Any], bool] = lambda item: True,
                pool: Optional[Pool] = None) -> Iterator[tuple[Any, Any]]:
    """Yield (item, fn(item)) for work items and (item, None) for markers, in input order; on
    `pool`'s workers if given (then `parallel` is not used), else on workers of this call."""
    if pool is None:
        with Pool(parallel) as pool:
            yield from ordered_map(fn, items, is_work=is_work, pool=pool)
        return
    if pool.engine == "ray":
        yield from _ray_map(fn, items, pool.workers, is_work)
        return
    executor = pool.executor()
    window = 2 * pool.workers
    queue: deque[tuple[Any, Optional[Any]]] = deque()
    pending = 0
    for item in items:
        if is_work(item):
            task: Future | _Done = executor.submit(fn, item) if executor else _Done(fn(item))
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


def _ray_map(fn: Callable[..., Any], items: Iterable[Any], workers: int,
             is_work: Callable[[Any], bool]) -> Iterator[tuple[Any, Any]]:
    """The same contract on Ray: a cluster if RAY_ADDRESS is set, else a local Ray with `workers` CPUs."""
    ray = _ray_init(workers)

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


RETRIES = 3  # runs of one unit after its worker died, before the job gives up


class UnitFailed(InputError):
    """A unit's worker died more than RETRIES times: the unit, not the code, is the likely cause
    (memory, a crash in a native library), so it is named in one line, as bad input is."""


def run_units(fn: Callable[[Any], Any], units: Sequence[Any], parallel: Parallel = Parallel(),
              label: str = "unit", pool: Optional[Pool] = None,
              describe: Callable[[Any], str] = str) -> Iterator[tuple[int, Any]]:
    """Yield (index, fn(units[index])) as units finish, in any order; every unit exactly once. On
    `pool`'s workers if given (then `parallel` is not used), else on workers of this call.
    `describe(unit)` names a unit in the error when its worker keeps dying (its input and range)."""
    if pool is None:
        with Pool(parallel) as pool:
            yield from run_units(fn, units, label=label, pool=pool, describe=describe)
        return
    if pool.engine == "ray":
        yield from _ray_units(fn, units, pool.workers, label, describe)
    else:
        yield from _local_units(fn, units, pool, label, describe)


def _die_with_parent() -> None:
    """Pool workers get SIGKILL when the driver dies (Linux), instead of lingering as orphans."""
    if sys.platform == "linux":
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _local_units(fn, units, pool: Pool, label, describe) -> Iterator[tuple[int, Any]]:
    if len(units) <= 1 or pool.executor() is None:
        for index, unit in enumerate(units):
            yield index, fn(unit)
        return
    from concurrent.futures.process import BrokenProcessPool

    todo = deque(range(len(units)))
    deaths = [0] * len(units)
    alone: set[int] = set()  # in flight when a worker died: each runs alone until it finishes
    while todo:
        executor = pool.executor()
        running: dict[Future, int] = {}
        try:
            while todo or running:
                while todo and len(running) < 2 * pool.workers and not (running and (
                        todo[0] in alone or alone.intersection(running.values()))):
                    index = todo.popleft()
                    running[executor.submit(fn, units[index])] = index
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in sorted(finished, key=running.__getitem__):
                    if isinstance(future.exception(), BrokenProcessPool):
                        raise BrokenProcessPool
                    alone.discard(running[future])
                    yield running.pop(future), future.result()
        except BrokenProcessPool:
            # A worker died and took the pool with it: which unit it ran is unknown, so every unit
            # in flight runs again, in a new pool, each alone; one that kills its worker when it runs
            # alone RETRIES + 1 times stops the job, named.
            pool.close()
            if len(running) == 1:
                index = next(iter(running.values()))
                deaths[index] += 1
                if deaths[index] > RETRIES:
                    raise _failed(label, index, units[index], deaths[index], describe) from None
            alone.update(running.values())
            for index in sorted(running.values(), reverse=True):
                todo.appendleft(index)
        except BaseException:
            pool.close()  # units in flight are not waited for by a pool that lives on
            raise


def _failed(label: str, index: int, unit: Any, deaths: int, describe: Callable[[Any], str]) -> UnitFailed:
    return UnitFailed(f"{describe(unit)} ({label} unit {index}): the worker process running it died {deaths} "
                      "times (killed by the system, e.g. out of memory, or a crash in a native library); rerun "
                      "with fewer --workers, or leave this input out")


def _ray_init(workers: int):
    try:
        import ray
    except ImportError:
        raise InputError("--engine ray needs Ray: pip install 'ernie-stack[ray]'") from None
    if not ray.is_initialized():
        if os.environ.get("RAY_ADDRESS"):
            ray.init(address=os.environ["RAY_ADDRESS"], log_to_driver=False)
        else:
            ray.init(num_cpus=max(1, workers), include_dashboard=False, log_to_driver=False, configure_logging=False)
    return ray


def _ray_units(fn, units, workers, label, describe) -> Iterator[tuple[int, Any]]:
    ray = _ray_init(workers)

    def call(index: int, unit: Any) -> Any:  # ray.remote takes functions, not partials
        return fn(unit)

    # max_retries re-runs a task whose worker process or node died; an exception in fn is a bug or
    # bad input, not retried.
    remote = ray.remote(num_cpus=1, max_retries=RETRIES, scheduling_strategy="SPREAD")(call)
    width = 2 * max(1, workers, int(ray.cluster_resources().get("CPU", 1)))
    todo = deque(range(len(units)))
    running: dict[Any, int] = {}
    while todo or running:
        while todo and len(running) < width:
            index = todo.popleft()
            running[remote.remote(index, units[index])] = index
        finished, _ = ray.wait(list(running), num_returns=1)
        for ref in finished:
            index = running.pop(ref)
            try:
                result = ray.get(ref)
            except (ray.exceptions.WorkerCrashedError, ray.exceptions.OutOfMemoryError):  # on every run
                raise _failed(label, index, units[index], RETRIES + 1, describe) from None
            yield index, result


def where() -> str:
    """The Ray node id when in a Ray worker, else this host's name: recorded per unit in the job's state."""
    if "ray" in sys.modules:
        import ray

        if ray.is_initialized():
            try:
                return ray.get_runtime_context().get_node_id()
            except Exception:  # noqa: BLE001 - outside a task the context may have no node
                pass
    import socket

    return socket.gethostname()
