"""skip_gram, a customized word-aware task: on real reviews its windows hold every piece of their
document in order; the trainer reads the head from the metadata and draws pairs the way word2vec
does (within a shrunk window, frequent pieces subsampled, negatives from the unigram to the 3/4),
the same for the same seed; the loss runs on the word embeddings alone and learns."""
from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
import torch
from task_builders.vocab import load_vocab
from tests.helpers import cli_build, read_dataset, sample_corpus, shard_digests, task_meta
from trainer import skip_gram
from trainer.data import TaskData
from trainer.tasks import read_task

MAX_LEN = 64


@pytest.fixture(scope="module")
def corpus(data, tmp_path_factory):
    """The first 300 IMDb reviews, in shards of 100 documents."""
    return sample_corpus(data, tmp_path_factory.mktemp("skip-gram"), reviews=300, shard_size=100, vocab_size=3000)


def _build(corpus, out, workers: int):
    return cli_build("skip_gram", *corpus, out, MAX_LEN, workers)


@pytest.fixture(scope="module")
def built(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("skip-gram-tasks")
    return out, _build(corpus, out, workers=1)


def test_windows_hold_every_piece_of_their_document_in_order(built, corpus):
    out, table = built
    docs, vocab_dir = corpus
    vocab = load_vocab(vocab_dir)
    cls, sep = vocab.id("[CLS]"), vocab.id("[SEP]")
    meta = task_meta(out, "skip_gram")
    assert meta["ernie.head"] == "skip_gram" and meta["ernie.label_names"] == ["context"]
    assert list(meta["ernie.label_histogram"]) == ["context"]  # a window is its one "class"
    windows: dict[str, list[int]] = {}
    for row in table.to_pylist():
        ids = row["input_ids"]
        assert ids[0] == cls and ids[-1] == sep and 3 <= len(ids) <= MAX_LEN and set(row["token_type_ids"]) == {0}
        windows.setdefault(row["doc_id"], []).extend(ids[1:-1])
    source = read_dataset(docs)
    assert len(windows) == source.num_rows > 250  # every ingested review (ingest may drop a duplicate)
    for doc_id, paragraphs in zip(source.column("doc_id").to_pylist(), source.column("paragraphs").to_pylist()):
        encoded = vocab.tokenizer.encode_batch([s for p in paragraphs for s in p], add_special_tokens=False)
        assert windows[doc_id] == [t for e in encoded for t in e.ids], doc_id  # nothing lost, nothing moved


def test_same_shards_for_one_and_two_workers(built, corpus, tmp_path):
    out, _ = built
    _build(corpus, tmp_path, workers=2)
    assert len(shard_digests(out / "skip_gram")) == 3
    assert shard_digests(tmp_path / "skip_gram") == shard_digests(out / "skip_gram")


def test_pairs_are_drawn_as_word2vec_draws_them(built):
    spec = read_task("skip_gram", built[0] / "skip_gram")
    assert spec.kind == "skip_gram" and spec.num_classes == 1
    data = TaskData(spec, seed=3)
    tables = data.unigram
    counts = np.bincount(np.concatenate([np.asarray(r) for r in data.table.column("input_ids").to_pylist()]),
                         minlength=spec.vocab_size)
    specials = sorted(spec.special_ids.values())
    assert tables.keep[specials].max() == 0  # specials: never a centre or context
    counts[specials] = 0
    most = int(np.argmax(counts))  # "the": kept least, about one time in five
    assert tables.keep[most] == tables.keep[tables.keep > 0].min() and tables.keep[most] < 0.5
    assert tables.keep[np.flatnonzero(counts == 1)].min() == 1.0  # a piece seen once is always kept
    # every pair lies within WINDOW pieces of one example (among the kept ones, so within its text)
    row = np.asarray(data.table.column("input_ids")[0].as_py())
    rng = np.random.default_rng(0)
    centres, contexts, negatives = skip_gram.draw_pairs(row, tables, rng)
    assert len(centres) == len(contexts) > 0 and negatives.shape == (skip_gram.POOL,)
    assert not (set(centres) | set(contexts) | set(negatives.ravel())) & set(specials)
    assert set(centres) <= set(row.tolist()) and set(contexts) <= set(row.tolist())
    again = skip_gram.draw_pairs(row, tables, np.random.default_rng(0))
    assert all(np.array_equal(a, b) for a, b in zip((centres, contexts, negatives), again))
    # negatives follow the unigram to the 3/4: the most frequent pieces are drawn most
    drawn = Counter(tables.negatives(np.random.default_rng(1), 200_000).tolist())
    expected = counts.astype(float) ** skip_gram.POWER
    expected[specials] = 0
    p = expected / expected.sum()
    for piece in np.argsort(p)[-20:]:  # the 20 most frequent: within 6 standard deviations of p
        assert abs(drawn[int(piece)] / 200_000 - p[piece]) < 6 * np.sqrt(p[piece] / 200_000), piece
    assert drawn.most_common(1)[0][0] in np.argsort(p)[-3:]


def test_near_pieces_are_pairs_more_often_than_far_ones():
    ids = np.arange(10, 60)  # 50 distinct pieces, each rare in a corpus of a million: none subsampled
    counts = np.zeros(64)
    counts[ids], counts[63] = 1, 1e6
    tables = skip_gram.UnigramTables(counts, {"pad": 0, "unk": 1, "cls": 2, "sep": 3, "mask": 4})
    assert tables.keep[ids].min() == 1.0
    distance = Counter()
    for seed in range(50):
        centres, contexts, _ = skip_gram.draw_pairs(ids, tables, np.random.default_rng(seed))
        distance.update(np.abs(centres - contexts).tolist())
    assert set(distance) == set(range(1, skip_gram.WINDOW + 1))
    shares = [distance[d] for d in range(1, skip_gram.WINDOW + 1)]
    assert shares == sorted(shares, reverse=True)  # d is in a window of reach b >= d: (W - d + 1) / W of the time


def test_batches_are_the_same_for_the_same_seed_and_new_each_epoch(built):
    spec = read_task("skip_gram", built[0] / "skip_gram")
    one, two = TaskData(spec, seed=5), TaskData(spec, seed=5)
    a, b = one.next_batch(1024), two.next_batch(1024)
    assert all(torch.equal(a[k], b[k]) for k in ("input_ids", "centres", "contexts", "negatives", "pair_example"))
    # each example's pairs come together, in the batch's order, each example with its own pool
    assert torch.equal(a["pair_example"], torch.sort(a["pair_example"]).values)
    assert a["negatives"].shape == (len(a["input_ids"]), skip_gram.POOL)
    first = one.collate(np.arange(4), epoch=0)
    later = one.collate(np.arange(4), epoch=1)
    assert torch.equal(first["input_ids"], later["input_ids"]) and not torch.equal(first["negatives"], later["negatives"])


def test_pre_training_learns_on_the_word_embeddings_alone(built, tmp_path):
    from safetensors.torch import load_file

    from trainer.config import TrainConfig
    from trainer.train import pretrain

    run = pretrain(TrainConfig(tasks={"skip_gram": str(built[0] / "skip_gram")}, size="tiny",
                               out=str(tmp_path / "run"), max_steps=100, tokens_per_batch=1024, lr=5e-3,
                               warmup_steps=5, save_every=0, seed=1, log_every=1, heldout_examples=0))
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    first = sum(r["task_loss"] for r in rows[:5]) / 5
    last = sum(r["task_loss"] for r in rows[-5:]) / 5
    assert abs(first - 6 * np.log(2)) < 0.1  # zero context vectors: every score 0, loss (1 + K) ln 2
    assert last < 0.8 * first, (first, last)
    weights = load_file(str(sorted((run / "checkpoints").glob("step-*"))[-1] / "model.safetensors"))
    assert weights["cls.tasks.skip_gram.weight"].abs().sum() > 0  # the context table was trained
    # no encoder ran: its layers are still at their initial values (a second run of 0 steps = the init)
    init = pretrain(TrainConfig(tasks={"skip_gram": str(built[0] / "skip_gram")}, size="tiny",
                                out=str(tmp_path / "init"), max_steps=1, tokens_per_batch=1024, lr=1e-12,
                                warmup_steps=1, save_every=0, seed=1, log_every=1, heldout_examples=0))
    start = load_file(str(sorted((init / "checkpoints").glob("step-*"))[-1] / "model.safetensors"))
    layer = "ernie.encoder.layer.0.attention.self.query.weight"
    assert torch.allclose(weights[layer], start[layer])
    words = "cls.predictions.decoder.weight" if "cls.predictions.decoder.weight" in weights else \
        "ernie.embeddings.word_embeddings.weight"
    assert not torch.allclose(weights[words], start[words], atol=1e-3)


def test_each_pair_is_scored_against_its_own_examples_pool():
    """The batched loss equals word2vec's objective written out pair by pair: log sigmoid of the
    true context's score, plus NEGATIVES / POOL x the log sigmoids of minus the scores of the pool
    of the pair's own example (examples without pairs included)."""
    torch.manual_seed(0)
    words, context = torch.randn(40, 8), torch.randn(40, 8)
    pair_example = torch.tensor([0, 0, 2, 2, 2])
    centres, contexts = torch.tensor([5, 6, 7, 8, 9]), torch.tensor([10, 11, 12, 13, 14])
    pools = torch.randint(15, 40, (3, skip_gram.POOL))
    value, right, scores = skip_gram.loss(words, context, centres, contexts, pools, pair_example)
    t = skip_gram.TEMPERATURE
    expected, correct = 0.0, 0
    for c, o, e in zip(centres, contexts, pair_example):
        pos = words[c] @ context[o] / t
        neg = context[pools[e]] @ words[c] / t
        expected -= float(torch.nn.functional.logsigmoid(pos) + torch.nn.functional.logsigmoid(-neg).sum()
                          * skip_gram.NEGATIVES / skip_gram.POOL)
        correct += int(pos > 0) + int((neg < 0).sum())
    assert float(value) == pytest.approx(expected / 5, rel=1e-5)
    assert int(right) == correct and scores == 5 * (1 + skip_gram.POOL)
