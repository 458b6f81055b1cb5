"""document_contrast, a customized task with a head the paper's tasks do not have: on real
documents both spans of an example come from its own document, every sentence is used, the
shards do not depend on the worker count; the trainer reads the head from the metadata, encodes
the two spans apart, and the in-batch loss learns."""
from __future__ import annotations

import json
from collections import Counter

import pytest
import torch

from task_builders.vocab import load_vocab
from tests.helpers import cli_build, read_dataset, sample_corpus, shard_digests, task_meta
from trainer.heads import contrast, segment_mask
from trainer.model import ErnieConfig, ErnieModel
from trainer.tasks import read_task

MAX_LEN = 64


@pytest.fixture(scope="module")
def corpus(data, tmp_path_factory):
    """The first 200 IMDb reviews and the first 6 Wikipedia articles, in shards of 50 documents."""
    return sample_corpus(data, tmp_path_factory.mktemp("contrast"), reviews=200, articles=6, shard_size=50,
                         vocab_size=3000)


def _build(corpus, out, workers: int):
    return cli_build("document_contrast", *corpus, out, MAX_LEN, workers)


@pytest.fixture(scope="module")
def built(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("contrast-tasks")
    return out, _build(corpus, out, workers=1)


def _sentences(corpus) -> dict[str, list[tuple[int, ...]]]:
    """doc_id -> its non-empty sentences as word-piece ids."""
    docs, vocab = corpus
    tokenizer = load_vocab(vocab).tokenizer
    table = read_dataset(docs)
    out = {}
    for doc_id, paragraphs in zip(table.column("doc_id").to_pylist(), table.column("paragraphs").to_pylist()):
        encoded = tokenizer.encode_batch([s for p in paragraphs for s in p], add_special_tokens=False)
        out[doc_id] = [tuple(e.ids) for e in encoded if e.ids]
    return out


def _spans(row: dict, sep: int) -> tuple[list[int], list[int]]:
    ids = row["input_ids"]
    k = ids.index(sep)
    return ids[1:k], ids[k + 1:-1]


def test_both_spans_are_consecutive_sentences_of_the_examples_own_document(built, corpus):
    out, table = built
    sentences = _sentences(corpus)
    sep = load_vocab(corpus[1]).id("[SEP]")
    half = (MAX_LEN - 3) // 2
    meta = task_meta(out, "document_contrast")
    assert meta["ernie.head"] == "contrastive" and meta["ernie.label_names"] == ["partner"]
    used: dict[str, Counter] = {}
    rows = table.to_pylist()
    assert len(rows) > 200
    for row in rows:
        doc = sentences[row["doc_id"]]
        flat = [t for s in doc for t in s]
        for span in _spans(row, sep):
            assert 0 < len(span) <= half
            # a run of whole sentences from a sentence start (cut to half a sequence at most)
            starts = [sum(map(len, doc[:i])) for i in range(len(doc))]
            assert any(flat[s:s + len(span)] == span for s in starts), row["doc_id"]
            used.setdefault(row["doc_id"], Counter())[tuple(span)] += 1
        assert row["token_type_ids"].count(0) == len(_spans(row, sep)[0]) + 2
    # every sentence of a document with two or more is in some span: no text is lost
    for doc_id, doc in sentences.items():
        if len(doc) < 2:
            assert doc_id not in used
            continue
        text = [t for span in used[doc_id] for t in span]
        assert all(set(s[:half]) <= set(text) for s in doc), doc_id
    assert max(len(r["input_ids"]) for r in rows) <= MAX_LEN


def test_same_seed_gives_identical_shards_for_one_and_two_workers(built, corpus, tmp_path):
    out, _ = built
    _build(corpus, tmp_path, workers=2)
    assert len(shard_digests(out / "document_contrast")) > 1
    assert shard_digests(tmp_path / "document_contrast") == shard_digests(out / "document_contrast")


def test_the_trainer_reads_a_contrastive_head_from_the_metadata_alone(built):
    spec = read_task("document_contrast", built[0] / "document_contrast")
    assert spec.kind == "contrastive" and spec.num_classes == 1


def test_the_two_segments_are_encoded_apart():
    torch.manual_seed(0)
    model = ErnieModel(ErnieConfig(vocab_size=50, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                   intermediate_size=64, hidden_dropout_prob=0.0,
                                   attention_probs_dropout_prob=0.0)).eval()
    ids = torch.tensor([[2, 10, 11, 12, 3, 20, 21, 3, 0], [2, 10, 11, 12, 3, 30, 31, 32, 3]])
    types = torch.tensor([[0, 0, 0, 0, 0, 1, 1, 1, 0], [0, 0, 0, 0, 0, 1, 1, 1, 1]])
    real = torch.tensor([[1] * 8 + [0], [1] * 9])
    seq, _ = model(ids, types, None, segment_mask(types, real))
    assert torch.allclose(seq[0, :5], seq[1, :5], atol=1e-5)  # A does not see B (nor the padding)
    joint, _ = model(ids, types, None, real)
    assert not torch.allclose(joint[0, :5], joint[1, :5], atol=1e-3)  # which it would without the mask


def test_the_loss_finds_partners_and_ignores_same_document_negatives():
    h = 8
    a, b = torch.randn(4, h), torch.randn(4, h)
    seq = torch.stack([torch.cat([a[i:i + 1].expand(2, h), b[i:i + 1].expand(2, h)]) for i in range(4)])
    types = torch.tensor([[0, 0, 1, 1]] * 4)
    real = torch.ones(4, 4, dtype=torch.long)
    loss, right = contrast(seq, types, real)
    seq_partnered = torch.stack([torch.cat([a[i:i + 1].expand(2, h), a[i:i + 1].expand(2, h)]) for i in range(4)])
    good, all_right = contrast(seq_partnered, types, real)
    assert int(all_right) == 4 and good < loss
    # two examples of one document: neither is the other's negative, so the loss is lower
    grouped, _ = contrast(seq, types, real, torch.tensor([0, 0, 1, 2]))
    assert grouped < loss


def test_pre_training_with_the_task_learns_to_find_partners(built, corpus, tmp_path):
    from trainer.config import TrainConfig
    from trainer.train import pretrain

    run = pretrain(TrainConfig(tasks={"document_contrast": str(built[0] / "document_contrast")}, size="tiny",
                               out=str(tmp_path / "run"), max_steps=300, tokens_per_batch=1024, lr=1e-3,
                               warmup_steps=5, save_every=0, seed=4, log_every=1, heldout_examples=0))
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    rows = [r for r in rows if r.get("task") == "document_contrast"]
    first = sum(r["task_loss"] for r in rows[:20]) / 20
    last = sum(r["task_loss"] for r in rows[-20:]) / 20
    # measured over seeds 1-5 with this lr and length: last / first 0.61-0.78, final accuracy
    # 0.25-0.38; at 150 steps and lr 2e-3 one seed in five did not learn at all
    assert last < 0.85 * first, (first, last)
    # a batch holds about 1024 / 60 examples: chance is about 1 in 17
    assert sum(r["accuracy"] for r in rows[-20:]) / 20 > 0.15
