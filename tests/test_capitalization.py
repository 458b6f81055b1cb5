"""capitalization on real documents: labels follow the raw text's case, the input shows none."""
from __future__ import annotations

import unicodedata
from collections import defaultdict

import pytest

from corpus_tools.tasks import build as build_module
from corpus_tools.run.dataset import iter_sentences
from corpus_tools.ingest.sources import InputError
from task_builders.vocab import load_vocab, train_vocab
from tests.helpers import build_task, read_dataset

IGNORE = -100


@pytest.fixture(scope="module")
def built(docs_en, vocab_en, tmp_path_factory):
    return build_task("capitalization", docs_en, vocab_en, tmp_path_factory.mktemp("cap"), max_seq_len=128)


def _words(sentence: str) -> list[str]:
    """Whitespace and punctuation split, written out here independently of the builder."""
    words, current = [], ""
    for c in sentence:
        category = unicodedata.category(c)
        if c.isspace():
            words, current = words + [current] * bool(current), ""
        elif category in ("Cc", "Cf"):
            continue  # dropped by the tokenizer's text cleaning
        elif category.startswith("P") or c in "$+<=>^`|~" or "\u4e00" <= c <= "\u9fff":
            words, current = words + [current] * bool(current) + [c], ""
        else:
            current += c
    return words + [current] * bool(current)


def _by_doc(table) -> dict[str, list[int]]:
    """doc_id -> the labels at word starts, in order over the doc's examples."""
    labels: dict[str, list[int]] = defaultdict(list)
    for doc_id, row in zip(table.column("doc_id").to_pylist(), table.column("labels").to_pylist()):
        labels[doc_id] += [label for label in row if label != IGNORE]
    return labels


def test_labels_follow_the_raw_case_word_by_word(built, docs_en):
    got = _by_doc(built)
    expected, capitalized = {}, 0
    for row in read_dataset(docs_en).select(["doc_id", "paragraphs"]).to_pylist():
        words = [w for p in row["paragraphs"] for s in p for w in _words(s)]
        expected[row["doc_id"]] = [int(w[0].isupper()) for w in words if w[0].isupper() or w[0].islower()]
        capitalized += sum(w[0].isupper() for w in words)
    assert got == expected
    assert sum(map(sum, got.values())) == capitalized > 10_000


def test_input_is_lower_case_even_with_a_cased_vocab(built, docs_en, vocab_en, tmp_path):
    vocab = load_vocab(vocab_en)
    tokens = {vocab.tokenizer.id_to_token(i) for row in built.column("input_ids").to_pylist() for i in row}
    assert not any(c.isupper() for t in tokens - {"[CLS]", "[SEP]", "[UNK]"} for c in t)
    cased_path = tmp_path / "cased"
    cased = train_vocab(iter_sentences(docs_en), cased_path, vocab_size=6000, cased=True)
    assert not cased.lowercase
    table = build_task("capitalization", docs_en, cased_path, tmp_path / "out", max_seq_len=128)
    for row in table.column("input_ids").to_pylist()[:500]:
        assert not any(c.isupper() for c in cased.tokenizer.decode(row))
    assert _by_doc(table) == _by_doc(built)  # other word pieces, the same labels


def test_specials_and_inner_pieces_are_ignored(built, vocab_en):
    vocab = load_vocab(vocab_en)
    cls, sep = vocab.id("[CLS]"), vocab.id("[SEP]")
    inner = {i for token, i in vocab.tokenizer.get_vocab().items() if token.startswith("##")}
    for ids, labels in zip(built.column("input_ids").to_pylist(), built.column("labels").to_pylist()):
        assert len(ids) == len(labels) <= 128
        assert ids[0] == cls and ids[-1] == sep and labels[0] == labels[-1] == IGNORE
        assert all(label == IGNORE for i, label in zip(ids, labels) if i in inner)


def test_known_frankenstein_sentences(built, vocab_en):
    vocab = load_vocab(vocab_en)
    rows = [(r["input_ids"], r["labels"]) for r in built.to_pylist() if r["doc_id"] == "books:84-0"]
    assert rows

    def word_labels(text: str) -> list[int]:
        encoding = vocab.tokenizer.encode(text, add_special_tokens=False)
        needle, n = encoding.ids, len(encoding.ids)
        starts = [i for i, w in enumerate(encoding.word_ids) if i == 0 or w != encoding.word_ids[i - 1]]
        for ids, labels in rows:
            for at in range(len(ids) - n + 1):
                if ids[at : at + n] == needle:
                    return [labels[at + i] for i in starts]
        raise AssertionError(f"{text!r} not found")

    assert word_labels("you will rejoice to hear that no disaster") == [1, 0, 0, 0, 0, 0, 0, 0]
    assert word_labels("st. petersburgh, dec. 11th") == [1, IGNORE, 1, IGNORE, 1, IGNORE, IGNORE]
    assert word_labels("i am already far north of london") == [1, 0, 0, 0, 0, 0, 1]


def test_chinese_input_is_refused_or_skipped(docs_zh, vocab_zh, tmp_path, monkeypatch):
    with pytest.raises(InputError, match="applies to en only") as error:
        build_module.build(["capitalization"], [docs_zh], vocab_zh, tmp_path)
    assert "\n" not in str(error.value)
    from task_builders import registry

    monkeypatch.setattr(registry, "available", lambda: {"capitalization": "task_builders.capitalization"})
    [result] = build_module.build(["all"], [docs_zh], vocab_zh, tmp_path)
    assert result.task == "capitalization" and result.out is None
    assert "applies to en only" in result.skipped


@pytest.mark.parametrize("joinable", [True, False])
def test_encode_pieces_gives_each_sentence_the_pieces_of_encoding_it_alone(docs_en, vocab_en, joinable):
    """Sentences encoded joined by spaces and split back (or one by one where joining is not safe):
    the same ids, counts, offsets and word starts as one encode per sentence."""
    import numpy as np
    from tokenizers.pre_tokenizers import Whitespace

    from task_builders.sequences import _joinable, encode_pieces

    tokenizer = load_vocab(vocab_en).tokenizer
    if not joinable:
        tokenizer.pre_tokenizer = Whitespace()
    assert _joinable(tokenizer) == joinable
    odd = ["", " ", "  a  ", "\u0301abc", "x\u0301", "\x00\x01", "[SEP]x", "a[CLS]", "😀Ab", "中文A", "a" * 300, "\t\n"]
    texts = odd + list(iter_sentences(docs_en))[:2000] + odd
    pieces = encode_pieces(tokenizer, texts)
    alone = tokenizer.encode_batch(texts, add_special_tokens=False)
    assert pieces.ids.tolist() == [i for e in alone for i in e.ids]
    assert pieces.counts.tolist() == [len(e) for e in alone]
    assert list(zip(pieces.starts.tolist(), pieces.ends.tolist())) == [o for e in alone for o in e.offsets]
    starts = [k == 0 or w != e.word_ids[k - 1] for e in alone for k, w in enumerate(e.word_ids)]
    firsts = set((np.cumsum(pieces.counts) - pieces.counts).tolist())
    words = pieces.words.tolist()
    assert [k in firsts or words[k] != words[k - 1] for k in range(len(words))] == starts
