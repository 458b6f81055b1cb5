"""The local engine: run a function over work items in worker processes, results in input order.

Items that are not work (markers) pass through in order. With workers=1 everything runs in this
process. At most `window` items are in flight, so memory stays bounded."""
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


def ordered_map(fn: Callable[..., Any], items: Iterable[Any], workers: int = 1,
                is_work: Callable[[Any], bool] = lambda item: True,
                initializer: Optional[Callable[[], None]] = None) -> Iterator[tuple[Any, Any]]:
    """Yield (item, fn(item)) for work items and (item, None) for markers, in input order."""
    workers = max(1, workers)
    pool = ProcessPoolExecutor(workers, mp_context=pool_context(), initializer=initializer) if workers > 1 else None
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
