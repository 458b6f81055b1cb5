"""Vocab training is deterministic: the same sentences give the same vocab.txt on every run
(HF tokenizers alone gives a different one each time, huggingface/tokenizers#1794), and the
alphabet it is trained on is the one BERT's normalizer would count."""
from __future__ import annotations

import json
from collections import Counter

import pytest
from tokenizers.implementations import BertWordPieceTokenizer

from task_builders.vocab import SPECIAL_TOKENS, train_vocab
from task_builders.wordpiece_alphabet import AlphabetCounter


@pytest.fixture(scope="module")
def english(data):
    return (data / "imdb_unsup" / "unsup_12k.txt").read_text(encoding="utf-8").splitlines()[:300]


@pytest.fixture(scope="module")
def chinese(data):
    return (data / "zh_corpus" / "CLUECorpusSmall_sampled.txt").read_text(encoding="utf-8").splitlines()[:3000]


@pytest.mark.parametrize("lang,size", [("english", 3000), ("chinese", 4000)])
def test_the_same_sentences_give_the_same_vocab_every_time(lang, size, request, tmp_path):
    sentences = request.getfixturevalue(lang)
    first = train_vocab(sentences, tmp_path / "a", vocab_size=size)
    # before the fix, five trainings in one process gave five different vocabs
    for again in ("b", "c"):
        assert train_vocab(iter(sentences), tmp_path / again, vocab_size=size).fingerprint == first.fingerprint
    assert 1000 < first.size <= size


def test_only_the_five_specials_are_special_tokens(english, tmp_path):
    vocab = train_vocab(english, tmp_path / "v", vocab_size=3000)
    added = json.loads((tmp_path / "v" / "tokenizer.json").read_text())["added_tokens"]
    assert sorted(t["content"] for t in added) == sorted(SPECIAL_TOKENS)
    # the `##c` pieces are ordinary word pieces: the text "##e" is punctuation then a word
    assert vocab.tokenizer.token_to_id("##e") is not None
    assert vocab.tokenizer.encode("##e", add_special_tokens=False).tokens[-1] == "e"
    assert vocab.tokenizer.encode("movies", add_special_tokens=False).tokens == ["movies"]
    assert not (tmp_path / "v" / "sentences.txt").exists()


def test_the_counted_alphabet_is_the_normalized_one_most_frequent_first(english, chinese):
    normalize = BertWordPieceTokenizer(lowercase=True, handle_chinese_chars=True).normalizer.normalize_str
    counter, naive = AlphabetCounter(), Counter()
    for sentence in english + chinese:
        counter.add(sentence)
        naive.update(c for c in normalize(sentence) if not c.isspace())
    kept, continuing = counter.alphabet(normalize, limit=300)
    assert kept == sorted(sorted(naive, key=lambda c: (-naive[c], ord(c)))[:300], key=ord)
    assert "e" in kept and "É" not in kept and "的" in kept  # lowercased, accents stripped
    # letters continue words, CJK characters and punctuation never do
    assert "e" in continuing and "的" not in continuing and "," not in continuing


def test_a_piece_the_counter_missed_is_fixed_by_a_second_training(english, tmp_path):
    # a zero-width space splits "ab" from "ж" for the counter; BERT's normalizer deletes it,
    # so the trainer sees "abж" and makes a "##ж" the counter did not foresee
    sentences = english + ["ж ж", "ab\u200bж ab\u200bж"]
    counter = AlphabetCounter()
    for sentence in sentences:
        counter.add(sentence)
    normalize = BertWordPieceTokenizer(lowercase=True).normalizer.normalize_str
    kept, continuing = counter.alphabet(normalize, limit=1000)
    assert "ж" in kept and "ж" not in continuing
    first = train_vocab(sentences, tmp_path / "a", vocab_size=3000)
    assert first.tokenizer.token_to_id("##ж") is not None
    assert train_vocab(sentences, tmp_path / "b", vocab_size=3000).fingerprint == first.fingerprint
