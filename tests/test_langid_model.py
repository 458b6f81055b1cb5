"""py3langid's model from the cache of its arrays: the same answers as py3langid's own loader on
real text in four languages, no inflating once cached, and the package's loader when the cache
cannot be written."""
from __future__ import annotations

import json
import lzma

import pytest
from py3langid.langid import MODEL_FILE, LanguageIdentifier

from corpus_tools.text import langid_model


@pytest.fixture(scope="module")
def texts(data):
    wiki = [json.loads(line)["text"][:400] for line in
            (data / "enwiki_extracted" / "wiki_00.jsonl").read_text(encoding="utf-8").splitlines()[:5]]
    reddit = [json.loads(line).get("body", "")[:400] for line in
              (data / "reddit" / "pushshift_comments_mixed.jsonl").read_text(encoding="utf-8").splitlines()[:40]]
    chinese = (data / "zh_corpus" / "CLUECorpusSmall_sampled.txt").read_text(encoding="utf-8").splitlines()[:5]
    book = (data / "gutenberg" / "84-0.txt").read_text(encoding="utf-8-sig")[5000:5400]
    return [t for t in wiki + reddit + chinese + [book, "Das ist ein Test der Sprache, und wir sind hier."] if t]


def test_the_cached_model_answers_as_the_packages_own_loader(texts, tmp_path, monkeypatch):
    monkeypatch.setenv(langid_model.CACHE_ENV, str(tmp_path))
    reference = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    cached = langid_model.load_identifier()  # writes the cache
    assert len(list(tmp_path.glob("py3langid-*/*.npy"))) == len(langid_model.ARRAYS)
    again = langid_model.load_identifier()  # reads it
    assert {reference.classify(t)[0] for t in texts} >= {"en", "de", "zh"}
    for text in texts:
        assert cached.classify(text) == again.classify(text) == reference.classify(text)
        assert cached.rank(text)[:3] == reference.rank(text)[:3]


def test_once_cached_the_model_is_not_inflated_again(texts, tmp_path, monkeypatch):
    monkeypatch.setenv(langid_model.CACHE_ENV, str(tmp_path))
    first = langid_model.load_identifier()

    def no_inflating(*args, **kwargs):
        raise AssertionError("the cached arrays should be read, not the LZMA file")

    monkeypatch.setattr(lzma, "open", no_inflating)
    assert langid_model.load_identifier().classify(texts[0]) == first.classify(texts[0])


def test_an_unwritable_cache_falls_back_to_the_packages_loader(texts, tmp_path, monkeypatch):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    monkeypatch.setenv(langid_model.CACHE_ENV, str(blocked))
    identifier = langid_model.load_identifier()
    assert identifier.classify(texts[0]) == LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True).classify(texts[0])
    assert blocked.read_text() == "not a folder"
