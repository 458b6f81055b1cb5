"""review_rating on real IMDb reviews: a reviewer's own score labels the review, the score is cut
out of the text so it cannot be read off the input, no other text is lost, reviews without a
score give nothing, and `build --task all` leaves the task out."""
from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from corpus_tools.cli import main
from task_builders.review_rating import rating
from task_builders.vocab import load_vocab
from tests.helpers import cli_build, read_dataset, sample_corpus, task_meta

# Looser than the builder's pattern on purpose: anything that reads as a score over 10 or 5.
SCORE = re.compile(r"\d+(\.\d+)?\s*(/|out of)\s*(10|5)(?!\d)|\b(one|two|three|four|five|six|seven|eight|nine|ten)"
                   r"\s*out of\s*(ten|five)\b", re.IGNORECASE)


@pytest.fixture(scope="module")
def reviews(data, tmp_path_factory):
    """The first 1,500 IMDb reviews as a documents dataset, a vocab, and review_rating built on them."""
    root = tmp_path_factory.mktemp("rating")
    docs, vocab = sample_corpus(data, root, reviews=1500, shard_size=500, vocab_size=4000)
    cli_build("review_rating", docs, vocab, root / "tasks", max_seq_len=128)
    return root


def _documents(root) -> dict[str, str]:
    table = read_dataset(root / "docs")
    return {d: " ".join(s for p in paragraphs for s in p)
            for d, paragraphs in zip(table.column("doc_id").to_pylist(), table.column("paragraphs").to_pylist())}


def test_the_reviewers_score_labels_the_review_and_is_cut_out(reviews):
    tokenizer = load_vocab(reviews / "vocab").tokenizer
    rows = read_dataset(reviews / "tasks" / "review_rating").to_pylist()
    documents = _documents(reviews)
    labelled = {}
    for row in rows:
        text = tokenizer.decode(row["input_ids"])
        assert not SCORE.search(text), text  # the label is not in the input
        assert len(row["input_ids"]) <= 128
        labelled.setdefault(row["doc_id"], set()).add(row["label"])
    assert all(len(labels) == 1 for labels in labelled.values())  # one label per review
    assert 50 < len(labelled) < 0.2 * len(documents)
    for doc_id, text in documents.items():
        scores = [float(m.group(1)) * 10 / float(m.group(3)) for m in
                  re.finditer(r"(?<![\w.])(\d{1,2}(?:\.\d)?)\s*(/|out of)\s*(10|5)(?![\d.]*\d)", text)]
        if scores and all(s >= 7 for s in scores):
            assert labelled.get(doc_id) == {0}, (doc_id, scores)
        elif scores and all(s <= 4 for s in scores):
            assert labelled.get(doc_id) == {1}, (doc_id, scores)
        elif not SCORE.search(text):
            assert doc_id not in labelled  # no score, no example
    meta = task_meta(reviews / "tasks", "review_rating")
    assert meta["ernie.label_names"] == ["positive", "negative"]
    counts = [sum(r["label"] == k for r in rows) for k in (0, 1)]
    assert counts[1] > 0.1 * len(rows) and counts[0] > counts[1]  # both kinds, most reviewers liked it


def test_no_text_but_the_score_is_lost(reviews):
    """The examples of a review, read back in order, are the review without its score."""
    tokenizer = load_vocab(reviews / "vocab").tokenizer
    rows = read_dataset(reviews / "tasks" / "review_rating").to_pylist()
    documents = _documents(reviews)
    checked = 0
    for doc_id in dict.fromkeys(r["doc_id"] for r in rows):
        text = documents[doc_id]
        if not text.isascii():
            continue  # accents are stripped by the vocab; compare plain text only
        back = "".join(tokenizer.decode(r["input_ids"]) for r in rows if r["doc_id"] == doc_id)
        assert re.sub(r"\s", "", back) == re.sub(r"\s", "", rating(text)[1].lower())
        checked += 1
    assert checked > 30


def test_ratings_are_read_as_a_reader_would():
    assert rating("Miller).4/10 - If there's nothing") == ([4.0], "Miller). - If there's nothing")
    assert rating("I'd give it 100 out of 10.")[0] == [10.0]
    assert rating("Three and a half: 3.5/5 stars.")[0] == [7.0]
    assert rating("one out of ten!")[0] == [1.0]
    for no_score in ("the 9/11 attacks", "open 24/7", "page 3/100", "half (1/2) an hour", "v2.5/10"):
        assert rating(no_score) == ([], no_score)


def test_build_all_leaves_it_out_and_chinese_input_is_refused(reviews, docs_zh, vocab_zh, tmp_path):
    result = CliRunner().invoke(main, ["build", "--task", "all", "--docs", str(reviews / "docs"), "--vocab",
                                       str(reviews / "vocab"), "--out", str(tmp_path / "all"), "--max-seq-len", "64",
                                       "--quiet"])
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "all" / "review_rating").exists() and (tmp_path / "all" / "document_contrast").exists()
    zh = CliRunner().invoke(main, ["build", "--task", "review_rating", "--docs", str(docs_zh), "--vocab", str(vocab_zh),
                                   "--out", str(tmp_path / "zh"), "--quiet"])
    assert zh.exit_code == 1 and "applies to en only" in zh.output
