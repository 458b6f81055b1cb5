"""--workers and --engine the same way for every job: one `Parallel`, checked once, taken as the
`parallel` argument of ingest, build, dedup and decontaminate (and of the dedup stage), and never
part of a job's output settings."""
from __future__ import annotations

import dataclasses
import inspect

import pytest

from corpus_tools.decontam.decontaminate import decontaminate
from corpus_tools.dedup.datasets import dedup
from corpus_tools.dedup.stages import find_duplicates
from corpus_tools.ingest.ingest import IngestConfig, ingest
from corpus_tools.run.engine import ENGINES, Parallel, Pool
from corpus_tools.tasks.build import build


@pytest.mark.parametrize("job", [ingest, build, dedup, decontaminate, find_duplicates], ids=lambda f: f.__name__)
def test_every_job_takes_one_parallel_argument_defaulting_to_the_flags_defaults(job):
    params = inspect.signature(job).parameters
    assert params["parallel"].default == Parallel(workers=1, engine="local")
    assert "workers" not in params and "engine" not in params


def test_the_output_settings_hold_no_parallel_knob():
    names = {f.name for f in dataclasses.fields(IngestConfig)}
    assert not names & {"workers", "engine", "parallel"}


@pytest.mark.parametrize("kwargs, message", [
    ({"workers": 0}, "workers must be an integer >= 1, not 0"),
    ({"workers": "2"}, "workers must be an integer >= 1, not '2'"),
    ({"engine": "spark"}, f"unknown engine 'spark'; choose one of {', '.join(ENGINES)}"),
])
def test_bad_knobs_are_refused_once_in_one_line(kwargs, message):
    with pytest.raises(ValueError) as caught:
        Parallel(**kwargs)
    assert str(caught.value) == message and "\n" not in message


def test_a_pool_takes_its_workers_and_engine_from_parallel():
    with Pool(Parallel(workers=3, engine="ray")) as pool:
        assert (pool.workers, pool.engine) == (3, "ray") and pool.executor() is None
