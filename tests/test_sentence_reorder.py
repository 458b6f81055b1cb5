"""sentence_reorder on real documents: every sentence is separated alike (the input does not tell
the number of segments), labels restore the text, classes are balanced."""
from __future__ import annotations

from collections import Counter
from itertools import combinations

from click.testing import CliRunner

from corpus_tools.cli import main
from task_builders.vocab import load_vocab
from schemas.labels import reorder_table, restore_order
from tests.helpers import build_task, label_histogram, read_dataset, stats, task_meta


def _sentences(ids: list[int], cls: int, sep: int) -> list[list[int]]:
    assert ids[0] == cls and ids[-1] == sep
    parts, current = [], []
    for token in ids[1:]:
        if token == sep:
            parts.append(current)
            current = []
        else:
            current.append(token)
    return parts


def _restorable(shown: list[list[int]], perm: list[int], text: str) -> bool:
    """Some cut of the shown sentences into len(perm) segments restores a run of the corpus."""
    for cuts in combinations(range(1, len(shown)), len(perm) - 1):
        bounds = [0, *cuts, len(shown)]
        segments = [shown[a:b] for a, b in zip(bounds, bounds[1:])]
        restored = [t for segment in restore_order(segments, perm) for s in segment for t in s]
        if " " + " ".join(map(str, restored)) + " " in text:
            return True
    return False


def test_sentences_are_separated_alike_and_labels_restore_the_span(docs_en, vocab_en, tmp_path):
    table = build_task("sentence_reorder", docs_en, vocab_en, tmp_path, max_seq_len=128)
    meta = task_meta(tmp_path, "sentence_reorder")
    assert meta["ernie.task"] == "sentence_reorder_v2"
    perms = meta["ernie.label_table"]
    assert perms == reorder_table(3) == [[0], [1, 0], [0, 2, 1], [1, 0, 2], [2, 1, 0]]
    vocab = load_vocab(vocab_en)
    cls, sep = vocab.id("[CLS]"), vocab.id("[SEP]")
    documents = read_dataset(docs_en).column("paragraphs").to_pylist()
    sentences = [s for doc in documents for p in doc for s in p]
    encoded = [e.ids for e in vocab.tokenizer.encode_batch(sentences, add_special_tokens=False)]
    whole = {tuple(ids) for ids in encoded if ids}
    text = " " + " ".join(str(t) for ids in encoded for t in ids) + " "
    rows = table.to_pylist()
    seps_by_label: dict[int, list[int]] = {}
    for row in rows[:300]:
        shown = _sentences(row["input_ids"], cls, sep)
        assert all(tuple(s) in whole for s in shown)  # one [SEP] after every whole sentence
        assert len(shown) >= 2 and len(row["input_ids"]) <= 128
        perm = perms[row["label"]]
        assert _restorable(shown, perm, text)
        seps_by_label.setdefault(row["label"], []).append(len(shown))
        types = row["token_type_ids"]  # alternate per sentence, not per segment
        starts = [1] + [i + 1 for i, t in enumerate(row["input_ids"]) if t == sep][:-1]
        assert [types[i] for i in starts] == [k % 2 for k in range(len(shown))]
    # the [SEP] count says nothing about n: every class occurs with many sentences
    assert all(max(counts) >= 4 for counts in seps_by_label.values())
    labels = Counter(row["label"] for row in rows)
    assert set(labels) == set(range(5))
    shares = [labels[k] / len(rows) for k in range(5)]
    assert all(0.12 <= share <= 0.32 for share in shares), shares  # balanced, ideal 0.2
    assert label_histogram(tmp_path, "sentence_reorder") == {",".join(map(str, p)): labels[k] for k, p in enumerate(perms)}


def test_one_sentence_documents_give_no_example(docs_zh, vocab_zh, tmp_path):
    table = build_task("sentence_reorder", docs_zh, vocab_zh, tmp_path, max_seq_len=128)
    documents = read_dataset(docs_zh).select(["doc_id", "paragraphs"]).to_pylist()
    single = {d["doc_id"] for d in documents if sum(len(p) for p in d["paragraphs"]) == 1}
    assert len(single) > 10
    assert not single & set(table.column("doc_id").to_pylist())
    assert stats(tmp_path / "sentence_reorder")["dropped"]["one_sentence_span"] >= len(single)
    human = CliRunner().invoke(main, ["inspect", str(tmp_path / "sentence_reorder"), "--rows", "1"]).output
    assert "label histogram" in human and "2,1,0" in human


def test_max_segments_four_gives_16_classes_and_class_0_keeps_its_floor(docs_en, vocab_en, tmp_path):
    table = build_task("sentence_reorder", docs_en, vocab_en, tmp_path, max_seq_len=256, max_segments=4,
                       min_unshuffled_share=0.15)
    assert int(task_meta(tmp_path, "sentence_reorder")["ernie.num_classes"]) == 16
    labels = table.column("label").to_pylist()
    assert max(labels) > 4  # four-segment permutations occur
    assert 0.11 <= labels.count(0) / len(labels) <= 0.22  # the floor 0.15, not 1/16
