"""The benchmark scripts keep running while the code under them moves: every bench/*.py script
(found by glob, so a new one is covered without editing this file) answers --help, a module that
is no script (the pytest plugin) imports, and the scripts that have a setting of a few seconds
run it for real, through the same public functions they time."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
FILES = sorted(BENCH.glob("*.py"))
SCRIPTS = [p for p in FILES if '__name__ == "__main__"' in p.read_text(encoding="utf-8")]
MODULES = [p for p in FILES if p not in SCRIPTS]

# The smallest real run of each script that has one of a few seconds (learning, ingest, wikitext and
# decontaminate have none: they build corpora or grow samples to megabytes; train_loader needs a
# built task folder and has its own test below).
SMALLEST = {
    "build.py": ["--copies", "1", "--parts", "1"],
    "dedup.py": ["--docs", "300", "--table-rows", "100", "--workers", "1"],
    "e2e.py": ["--copies", "1", "--runs", "1"],
    "signatures.py": ["--docs", "100", "--rounds", "1"],
    "sentences.py": ["--smoke"],
    "train_step.py": ["--size", "tiny", "--steps", "1", "--warmup", "0", "--batch", "2", "--seq", "16",
                      "--vocab", "100", "--threads", "1"],
    "finetune.py": ["--steps", "1", "--warmup", "0", "--batch", "2", "--seq", "16", "--vocab", "100"],
}


def run(script: Path, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{BENCH}"}
    return subprocess.run([sys.executable, str(script), *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_the_bench_folder_holds_scripts_and_the_smallest_settings_name_real_ones():
    assert len(SCRIPTS) >= 10 and set(SMALLEST) <= {p.name for p in SCRIPTS}


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_every_bench_script_answers_help(script):
    done = run(script, "--help", timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage:" in done.stdout


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_a_bench_module_that_is_no_script_imports(module):
    done = subprocess.run([sys.executable, "-c", f"import {module.stem}"], cwd=BENCH, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.parametrize("name", sorted(SMALLEST))
def test_a_bench_script_runs_its_smallest_setting(name):
    done = run(BENCH / name, *SMALLEST[name])
    assert done.returncode == 0, done.stderr[-2000:]
    assert "|" in done.stdout  # every script prints its results as a markdown table


def test_the_loader_bench_runs_on_a_built_task_folder(tiny_tasks):
    folder = tiny_tasks["sentence_reorder"].parent
    done = run(BENCH / "train_loader.py", "--tasks", str(folder), "--size", "tiny", "--tokens", "256", "--steps", "1")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "| sentence_reorder |" in done.stdout


@pytest.mark.parametrize("name,args", [("efficiency.py", ["--smoke"]), ("learning.py", ["--smoke", "--lang", "en"])])
def test_the_learning_benches_run_their_smoke_setting(name, args, tmp_path):
    """Two recipes (efficiency) or two arms (learning) through the real CLIs on a slice of IMDb: a few
    steps each, so a change to the trainer or the corpus commands cannot break them unseen."""
    done = run(BENCH / name, *args, "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "|" in done.stdout


def test_the_word_probe_runs_on_a_vocab(tiny_tasks):
    vocab = tiny_tasks["knowledge_masking"].parent.parent / "vocab"
    done = run(BENCH / "word_probe.py", "--smoke", "random", "bag", "--vocab", str(vocab))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "| random |" in done.stdout and "| bag |" in done.stdout
    zh = run(BENCH / "word_probe.py", "--smoke", "--lang", "zh", "bag", "--vocab", str(vocab))
    assert zh.returncode == 0, zh.stderr[-2000:]
    assert "ChnSentiCorp" in zh.stdout and "| bag |" in zh.stdout
