"""ir_relevance on the real DuReader records: labels follow is_selected, negatives come from
other queries, unlabelled records are dropped and counted."""
from __future__ import annotations

import json
import re
from collections import Counter

from task_builders.vocab import load_vocab
from tests.helpers import build_task, stats, task_meta


def _dureader(data) -> dict[str, dict]:
    records = {}
    for split in ("train", "dev"):
        for line in (data / "dureader" / f"search.{split}.json").read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            records[f"dureader:{record['question_id']}"] = record
    return records


def _key(text: str) -> str:
    """Letters and digits only: decoding drops [UNK] pieces and spacing."""
    return re.sub(r"[\W_]", "", text.lower())


def _text(vocab, ids) -> str:
    return _key(vocab.tokenizer.decode(ids))


def _roundtrip(vocab, text: str) -> str:
    """The text as the vocab sees it (characters it lacks become [UNK], which decoding drops)."""
    return _text(vocab, vocab.tokenizer.encode(text, add_special_tokens=False).ids)


def test_labels_follow_is_selected_and_negatives_come_from_other_queries(data, searchlog, vocab_zh, tmp_path):
    table = build_task("ir_relevance", searchlog, vocab_zh, tmp_path, max_seq_len=64)
    vocab = load_vocab(vocab_zh)
    sep = vocab.id("[SEP]")
    records = _dureader(data)
    counts = Counter(table.column("label").to_pylist())
    # 30 labelled results; one random title for each of the 8 queries (test-split queries too:
    # a random title needs no click label)
    assert counts == {0: 14, 1: 16, 2: 8}
    for row in table.to_pylist():
        ids = row["input_ids"]
        cut = ids.index(sep)
        query, title = _text(vocab, ids[1:cut]), _text(vocab, ids[cut + 1 : -1])
        record = records.get(row["doc_id"])
        if record is None:  # a test-split query: only its random negative is built
            assert row["label"] == 2
            continue
        assert _roundtrip(vocab, record["question"]).startswith(query)
        own = {_roundtrip(vocab, d["title"]): d["is_selected"] for d in record["documents"]}
        matches = [selected for t, selected in own.items() if t.startswith(title)]
        if row["label"] == 2:
            assert not matches  # a title of another query
        else:
            assert matches and matches[0] == (row["label"] == 0)
        assert set(row["token_type_ids"][: cut + 1]) == {0} and set(row["token_type_ids"][cut + 1 :]) == {1}
    assert stats(tmp_path / "ir_relevance")["dropped"]["unlabelled"] == 10
    assert task_meta(tmp_path, "ir_relevance")["ernie.label_names"] == ["clicked", "shown_not_clicked", "random"]
