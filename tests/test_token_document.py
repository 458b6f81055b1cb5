"""token_document on real documents: labels agree with a recomputation from the examples' tokens."""
from __future__ import annotations

from collections import defaultdict

import pytest

from corpus_tools.vocab import load_vocab
from tests.helpers import build_task, read_dataset, stats

IGNORE = -100


def _recompute(table, vocab) -> tuple[int, int, int]:
    """Words rebuilt from the word pieces ("##" continues a word, also across examples), grouped
    by doc_id; a word is elsewhere if another example of its document has it. Returns (compared,
    disagreeing, elsewhere) label counts; words with [UNK] are not compared."""
    docs = defaultdict(list)
    for doc_id, ids, labels in zip(*(table.column(c).to_pylist() for c in ("doc_id", "input_ids", "labels"))):
        docs[doc_id].append((ids, labels))
    names = {i: token for token, i in vocab.tokenizer.get_vocab().items()}
    compared = wrong = elsewhere = 0
    for examples in docs.values():
        words = []  # [example, label, text]
        for n, (ids, labels) in enumerate(examples):
            for i, label in zip(ids[1:-1], labels[1:-1]):
                token = names[i]
                if token.startswith("##"):
                    assert label == IGNORE
                    words[-1][2] += token[2:]
                else:
                    words.append([n, label, token])
        examples_with = defaultdict(set)
        for n, _, text in words:
            examples_with[text].add(n)
        for n, label, text in words:
            if "[UNK]" in text:
                continue
            expected = int(len(examples_with[text] - {n}) > 0) if any(c.isalnum() for c in text) else IGNORE
            compared += 1
            wrong += label != expected
            elsewhere += label == 1
    return compared, wrong, elsewhere


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_labels_agree_with_a_recomputation(lang, request, tmp_path):
    docs, vocab_path = request.getfixturevalue(f"docs_{lang}"), request.getfixturevalue(f"vocab_{lang}")
    table = build_task("token_document", docs, vocab_path, tmp_path, max_seq_len=128)
    vocab = load_vocab(vocab_path)
    compared, wrong, elsewhere = _recompute(table, vocab)
    assert compared > 50_000 and wrong == 0, (compared, wrong)
    labels = [label for row in table.column("labels").to_pylist() for label in row]
    assert elsewhere > 1000 and labels.count(0) > 1000  # both labels occur
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
