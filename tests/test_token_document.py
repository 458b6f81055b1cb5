"""token_document on real documents: labels agree with a recomputation from the examples' tokens
(English words from word pieces, Chinese words from jieba), in groups of three segments."""
from __future__ import annotations

from collections import defaultdict

import pytest

from task_builders.nlp import JiebaBackend
from task_builders.vocab import load_vocab
from tests.helpers import build_task, read_dataset, stats, task_meta

IGNORE = -100
GROUP = 3  # BuildSettings.group_segments


def _groups(examples: list) -> list[list[int]]:
    """Example indices of a document in groups of GROUP; a last group of one joins the one before."""
    groups = [list(range(i, min(i + GROUP, len(examples)))) for i in range(0, len(examples), GROUP)]
    if len(groups) > 1 and len(groups[-1]) == 1:
        last = groups.pop()
        groups[-1] += last
    return groups


def _words(pieces, names, lang) -> list[list]:
    """[example, label, text] per word of a group's (example, id, label) pieces. en: a piece without
    "##" starts a word (a word cut between two examples continues; the first piece of a group
    starts one). zh: a labelled piece starts a word, and later pieces with a letter or digit
    continue it (punctuation is its own word)."""
    words = []
    for n, i, label in pieces:
        token = names[i]
        if lang == "en" and token.startswith("##") and words:
            assert label == IGNORE
            words[-1][2] += token[2:]
        elif lang == "zh" and label == IGNORE and words and any(c.isalnum() for c in token):
            words[-1][2] += token[2:] if token.startswith("##") else token
        else:
            words.append([n, label, token])
    return words


def _recompute(table, vocab, lang) -> tuple[int, int, int, dict]:
    """(compared, disagreeing, elsewhere) label counts and the words seen; words with [UNK] are not compared."""
    docs = defaultdict(list)
    for doc_id, ids, labels in zip(*(table.column(c).to_pylist() for c in ("doc_id", "input_ids", "labels"))):
        docs[doc_id].append((ids, labels))
    names = {i: token for token, i in vocab.tokenizer.get_vocab().items()}
    compared = wrong = elsewhere = 0
    seen = defaultdict(set)  # doc_id -> words
    for doc_id, examples in docs.items():
        for group in _groups(examples):
            pieces = [(n, i, label) for n in group for i, label in zip(examples[n][0][1:-1], examples[n][1][1:-1])]
            words = _words(pieces, names, lang)
            examples_with = defaultdict(set)
            for n, _, text in words:
                examples_with[text].add(n)
            for n, label, text in words:
                seen[doc_id].add(text)
                if "[UNK]" in text:
                    continue
                expected = int(len(examples_with[text] - {n}) > 0) if any(c.isalnum() for c in text) else IGNORE
                compared += 1
                wrong += label != expected
                elsewhere += label == 1
    return compared, wrong, elsewhere, seen


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_labels_agree_with_a_recomputation(lang, request, tmp_path):
    docs, vocab_path = request.getfixturevalue(f"docs_{lang}"), request.getfixturevalue(f"vocab_{lang}")
    # one worker: test_build checks that two give the same shards, and a pool here only adds start-ups
    table = build_task("token_document", docs, vocab_path, tmp_path, max_seq_len=128)
    vocab = load_vocab(vocab_path)
    compared, wrong, elsewhere, seen = _recompute(table, vocab, lang)
    # zh words are rebuilt from the labels, which cannot rejoin a jieba word that mixes digits and
    # punctuation ("3.5", "1,000"): those few disagree; English words are rebuilt exactly
    assert compared > 30_000 and wrong <= (0 if lang == "en" else compared * 0.005), (compared, wrong)
    labels = [label for row in table.column("labels").to_pylist() for label in row]
    assert elsewhere > 1000 and labels.count(0) > 1000  # both labels occur
    meta = task_meta(tmp_path, "token_document")
    assert meta["ernie.task"] == "token_document_v2"
    rate = labels.count(1) / (labels.count(0) + labels.count(1))
    assert 0.3 <= rate <= 0.7, rate  # 0.85 (en) and 0.84 (zh, single characters) with whole documents
    assert 0.25 <= float(meta["ernie.positive_rate"]) <= 0.75  # the first shard's own rate
    if lang == "zh":  # Chinese words are jieba's, not single characters
        jieba = JiebaBackend()
        rows = read_dataset(docs).slice(0, 40).select(["doc_id", "paragraphs"]).to_pylist()
        jieba_words = {s[a:b].lower() for r in rows for p in r["paragraphs"] for s in p for a, b, _ in jieba.tag(s)}
        multi = [w for r in rows for w in seen[r["doc_id"]] if len(w) >= 2 and all("\u4e00" <= c <= "\u9fff" for c in w)]
        assert len(multi) > 2000 and sum(w in jieba_words for w in multi) / len(multi) > 0.9
    cls, sep = vocab.id("[CLS]"), vocab.id("[SEP]")
    for ids, labels in zip(table.column("input_ids").to_pylist(), table.column("labels").to_pylist()):
        assert len(ids) == len(labels) <= 128 and ids[0] == cls and ids[-1] == sep
        assert labels[0] == labels[-1] == IGNORE and cls not in ids[1:-1] and sep not in ids[1:-1]

    # segments cover their document, every token once and in order; a document that fits in one
    # segment is cut in two at its middle sentence; only one-sentence documents are dropped
    examples = defaultdict(list)
    for doc_id, ids in zip(table.column("doc_id").to_pylist(), table.column("input_ids").to_pylist()):
        examples[doc_id].append(ids[1:-1])
    rows = read_dataset(docs).select(["doc_id", "paragraphs"]).to_pylist()
    encoded = iter(vocab.tokenizer.encode_batch([s for r in rows for p in r["paragraphs"] for s in p],
                                                add_special_tokens=False))
    one_sentence = cut_in_two = 0
    for row in rows:
        tokens = [e.ids for e in (next(encoded) for p in row["paragraphs"] for _ in p) if e.ids]
        got = examples[row["doc_id"]]
        if len(tokens) == 1 and len(tokens[0]) <= 126:
            one_sentence += 1
            assert not got
        elif sum(map(len, tokens)) <= 126:
            cut_in_two += 1
            half = len(tokens) // 2
            assert got == [[t for s in tokens[:half] for t in s], [t for s in tokens[half:] for t in s]]
        else:
            assert len(got) >= 2 and [t for e in got for t in e] == [t for s in tokens for t in s]
    assert stats(tmp_path / "token_document")["dropped"]["one_sentence_doc"] == one_sentence > 0
    assert cut_in_two > 0
