"""sentence_distance on real documents: pairs decode to adjacent, same-document and
other-document sentences of the source, in balanced classes."""
from __future__ import annotations

import random
from bisect import bisect_left
from collections import Counter

import pyarrow as pa
import pytest

from task_builders.vocab import load_vocab
from task_builders import sentence_distance
from task_builders.base import BuildSettings, Context
from tests.helpers import build_task, read_dataset, task_meta


def _key(text: str) -> str:
    """Lowercase, space-insensitive text."""
    return "".join(text.lower().split())


def _sentences(docs, vocab) -> dict[str, list[str]]:
    """doc_id -> keys of its non-empty sentences, as the tokenizer sees them."""
    table = read_dataset(docs)
    doc_ids = table.column("doc_id").to_pylist()
    documents = [[s for p in paragraphs for s in p] for paragraphs in table.column("paragraphs").to_pylist()]
    encoded = vocab.tokenizer.encode_batch([s for d in documents for s in d], add_special_tokens=False)
    keys = iter(map(_key, vocab.tokenizer.decode_batch([e.ids for e in encoded])))
    empty = iter([not e.ids for e in encoded])
    out = {}
    for doc_id, sentences in zip(doc_ids, documents):
        out[doc_id] = [key for key, skip in ((next(keys), next(empty)) for _ in sentences) if not skip]
    return out


def _index(by_doc: dict[str, list[str]]) -> list[tuple[str, str]]:
    """(sentence key, doc_id) of every sentence, sorted for prefix look-ups."""
    return sorted((key, doc_id) for doc_id, keys in by_doc.items() for key in keys)


def _docs_with(prefix: str, index: list[tuple[str, str]]) -> set[str]:
    """The documents with a sentence that starts with `prefix`."""
    found = set()
    for key, doc_id in index[bisect_left(index, (prefix, "")):]:
        if not key.startswith(prefix):
            break
        found.add(doc_id)
    return found


def _pair(ids: list[int], vocab) -> tuple[str, str]:
    sep = vocab.id("[SEP]")
    k = ids.index(sep)
    assert ids[0] == vocab.id("[CLS]") and ids[-1] == sep
    return _key(vocab.tokenizer.decode(ids[1:k])), _key(vocab.tokenizer.decode(ids[k + 1:-1]))


def _where(key: str, sentences: list[str]) -> list[int]:
    """Positions of the sentences that `key` is a (possibly truncated) prefix of."""
    return [i for i, s in enumerate(sentences) if s.startswith(key)]


def _check(table: pa.Table, docs, vocab_path, per_class: int = 100) -> Counter:
    vocab = load_vocab(vocab_path)
    by_doc = _sentences(docs, vocab)
    index = _index(by_doc)
    rows = table.to_pylist()
    random.Random(0).shuffle(rows)
    seen: Counter = Counter()
    for row in rows:
        if seen[row["label"]] >= per_class:
            continue
        seen[row["label"]] += 1
        a, b = _pair(row["input_ids"], vocab)
        assert a and b
        own = by_doc[row["doc_id"]]
        anchors = _where(a, own)
        assert anchors, f"A is not a sentence of {row['doc_id']}"
        if row["label"] == 0:
            assert any(i + 1 < len(own) and own[i + 1].startswith(b) for i in anchors)
        elif row["label"] == 1:
            assert any(abs(i - k) > 1 for i in anchors for k in _where(b, own))
        else:
            assert _docs_with(b, index) - {row["doc_id"]}
            seen["negative_also_in_own_doc"] += bool(_where(b, own))
    assert min(seen[label] for label in range(3)) == per_class
    return seen


def _balanced(table: pa.Table) -> None:
    shares = Counter(table.column("label").to_pylist())
    for label in range(3):
        assert 0.25 <= shares[label] / table.num_rows <= 0.42, shares


def test_english_pairs_match_their_labels(docs_en, vocab_en, tmp_path):
    table = build_task("sentence_distance", docs_en, vocab_en, tmp_path, max_seq_len=128)
    meta = task_meta(tmp_path, "sentence_distance")
    assert meta["ernie.label_names"] == ["adjacent", "same_document", "other_document"]
    assert table.num_rows > 5000
    assert max(map(len, table.column("input_ids").to_pylist())) <= 128
    _balanced(table)
    seen = _check(table, docs_en, vocab_en)
    assert seen["negative_also_in_own_doc"] <= 5  # only sentences that recur across documents


def test_chinese_pairs_match_their_labels(docs_zh, vocab_zh, tmp_path):
    table = build_task("sentence_distance", docs_zh, vocab_zh, tmp_path, max_seq_len=128)
    assert table.num_rows > 3000
    _balanced(table)
    _check(table, docs_zh, vocab_zh, per_class=80)


@pytest.fixture(scope="module")
def ctx(vocab_en) -> Context:
    return Context("sentence_distance", load_vocab(vocab_en), BuildSettings(max_seq_len=64))


def _docs(*documents: list[str]) -> pa.Table:
    return pa.table({"doc_id": [f"t:{i}" for i in range(len(documents))], "lang": ["en"] * len(documents),
                     "paragraphs": [[list(d)] for d in documents]})


def test_impossible_classes_fall_back_and_are_counted(ctx):
    ctx = Context(ctx.task, ctx.vocab, ctx.settings)  # a new shard: nothing in the reservoir yet
    alone = sentence_distance.build(_docs([f"Sentence number {n} is here." for n in range(6)]), ctx)
    assert len(alone) == 5 and set(alone.columns["label"]) <= {0, 1}
    assert alone.counts["fallback.no_other_document"] > 0

    short = sentence_distance.build(_docs(["Only one sentence."], ["First of two.", "", "Second of two."]), ctx)
    assert short.counts["one_sentence_doc"] == 1
    assert len(short) == 1 and short.columns["doc_id"] == ["t:1"]  # one anchor; empty sentence skipped
    assert short.columns["label"][0] in (0, 2)  # never 1: no sentence two steps away


def test_choices_depend_on_seed_and_batch_only(ctx):
    docs = _docs(*[[f"Document {d} says {n}." for n in range(8)] for d in range(4)])
    first, again = sentence_distance.build(docs, ctx), sentence_distance.build(docs, ctx)
    assert first.columns == again.columns
    other = Context("sentence_distance", ctx.vocab, BuildSettings(max_seq_len=64, seed=7))
    assert sentence_distance.build(docs, other).columns != first.columns


def test_a_document_alone_in_its_batch_draws_negatives_from_the_shards_earlier_batches(ctx):
    ctx = Context(ctx.task, ctx.vocab, ctx.settings)
    first = _docs(*[[f"Earlier document {d} sentence {n}." for n in range(5)] for d in range(2)])
    alone = _docs([f"Lonely book line {n} goes on." for n in range(9)])
    sentence_distance.build(first, ctx)
    out = sentence_distance.build(alone, ctx)
    assert "fallback.no_other_document" not in out.counts and out.counts["negative.reservoir"] > 0
    assert sorted(Counter(out.columns["label"]).values()) == [2, 3, 3]  # 8 anchors, the cycle 0, 1, 2
    negatives = [_pair(ids, ctx.vocab)[1] for ids, label in zip(out.columns["input_ids"], out.columns["label"])
                 if label == 2]
    assert negatives and all(b.startswith("earlierdocument") for b in negatives)
    again = Context(ctx.task, ctx.vocab, ctx.settings)  # the same shard again: the same choices
    sentence_distance.build(first, again)
    assert sentence_distance.build(alone, again).columns == out.columns


def test_whole_books_get_all_three_classes(data, vocab_en, tmp_path):
    """The three Gutenberg samples, each longer than a batch: 67/33/0% before the reservoir."""
    from corpus_tools.ingest.ingest import ingest

    ingest([data / "gutenberg"], tmp_path / "books")
    table = build_task("sentence_distance", tmp_path / "books", vocab_en, tmp_path / "tasks")
    shares = Counter(table.column("label").to_pylist())
    assert min(shares[label] / table.num_rows for label in range(3)) > 0.2, shares
