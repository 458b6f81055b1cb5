"""A pytest plugin: CPU seconds per test file (this process and the children it waited for, so a
subprocess CLI or a worker pool counts), for the test suite budget in docs/BENCHMARKS.md. CPU time,
unlike --durations, barely moves with the machine's load, so two runs side by side compare.

    CPU_OUT=cpu.json PYTHONPATH=.:bench python -m pytest -q -n 0 -p cpu_per_test tests/test_build.py
"""
import json
import os
import resource
from collections import Counter

import pytest

_files: Counter = Counter()
_tests: dict = {}


def _cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    started = _cpu()  # setup (fixtures made for this test), call and teardown
    yield
    _tests[item.nodeid] = _cpu() - started
    _files[item.nodeid.split("::")[0]] += _tests[item.nodeid]


def pytest_sessionfinish(session):
    if os.environ.get("CPU_OUT"):
        with open(os.environ["CPU_OUT"], "w") as fh:
            json.dump({"files": _files, "tests": _tests, "total": _cpu()}, fh, indent=1)
    for name, seconds in _files.most_common():
        print(f"{seconds:8.1f} s CPU  {name}")
