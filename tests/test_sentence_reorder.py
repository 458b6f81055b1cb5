"""sentence_reorder on real documents: labels decode to permutations that restore the text."""
from __future__ import annotations

from math import factorial

from corpus_tools.vocab import load_vocab
from schemas.labels import restore_order
from tests.helpers import build_task, task_meta


def _segments(ids: list[int], cls: int, sep: int) -> list[list[int]]:
    assert ids[0] == cls and ids[-1] == sep
    parts, current = [], []
    for token in ids[1:]:
        if token == sep:
            parts.append(current)
            current = []
        else:
            current.append(token)
    return parts


def test_labels_restore_the_original_span(docs_en, vocab_en, tmp_path):
    table = build_task("sentence_reorder", docs_en, vocab_en, tmp_path, max_seq_len=128)
    meta = task_meta(tmp_path, "sentence_reorder")
    assert int(meta["ernie.num_classes"]) == sum(factorial(n) for n in (1, 2, 3)) == 9
    perms = meta["ernie.label_table"]
    vocab = load_vocab(vocab_en)
    cls, sep = vocab.id("[CLS]"), vocab.id("[SEP]")
    from corpus_tools.dataset import iter_sentences

    # every restored span is a run of consecutive sentences of the corpus, in order
    corpus = [t for s in iter_sentences(docs_en) for t in vocab.tokenizer.encode(s, add_special_tokens=False).ids]
    text = " ".join(map(str, corpus))
    rows = table.to_pylist()
    assert len(rows) > 1000
    shuffled_seen = 0
    for row in rows[:400]:
        parts = _segments(row["input_ids"], cls, sep)
        perm = perms[row["label"]]
        assert len(parts) == len(perm)
        restored = [t for part in restore_order(parts, perm) for t in part]
        assert " ".join(map(str, restored)) in text
        shuffled_seen += perm != sorted(perm)
        assert len(row["input_ids"]) <= 128
        types = row["token_type_ids"]
        assert types[0] == 0 and set(types) <= {0, 1}
    assert shuffled_seen > 100
    assert {row["label"] for row in rows} == set(range(9))


def test_max_segments_four_gives_33_classes(docs_en, vocab_en, tmp_path):
    table = build_task("sentence_reorder", docs_en, vocab_en, tmp_path, max_seq_len=256, max_segments=4)
    assert int(task_meta(tmp_path, "sentence_reorder")["ernie.num_classes"]) == 33
    assert max(table.column("label").to_pylist()) > 9  # four-segment permutations occur
