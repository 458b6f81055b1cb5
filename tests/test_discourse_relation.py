"""discourse_relation on real documents: markers are stripped from B, really were there, and
their list (of the build's languages, after [no-conn]) is the label table."""
from __future__ import annotations

from pathlib import Path

import pytest

from schemas.errors import InputError
from task_builders.vocab import load_vocab
from task_builders.discourse_relation import Settings
from task_builders.discourse_relation import NO_MARKER, labels, load_markers, setup, strip_marker
from tests.helpers import build_task, label_histogram, read_dataset, task_meta

_PUNCT = str.maketrans("", "", ",、，")


def _key(text: str) -> str:
    """Lowercase text without spaces and commas."""
    return "".join(text.lower().translate(_PUNCT).split())


def _tokenized(text: str, vocab) -> str:
    return _key(vocab.tokenizer.decode(vocab.tokenizer.encode(text, add_special_tokens=False).ids))


def _opens_with(b: str, marker: str) -> bool:
    """Decoded B opens with the marker: as a whole word (Latin) or as characters (Chinese)."""
    if not marker.isascii():
        return _key(b).startswith(_key(marker))
    after = b[len(marker):len(marker) + 1]
    return b.startswith(marker) and not (after.isascii() and after.isalnum())


def _check(table, docs, vocab_path, names: list[str]) -> int:
    """Every example: B no longer opens with its marker; marker + B and A are adjacent sentences."""
    vocab = load_vocab(vocab_path)
    sep = vocab.id("[SEP]")
    texts = [n.rstrip(",").replace("_", " ") for n in names]
    docs_table = read_dataset(docs)
    wanted = set(table.column("doc_id").to_pylist())
    by_doc = {d: [_tokenized(s, vocab) for p in paragraphs for s in p if s.strip()]
              for d, paragraphs in zip(docs_table.column("doc_id").to_pylist(),
                                       docs_table.column("paragraphs").to_pylist()) if d in wanted}
    for row in table.to_pylist():
        ids = row["input_ids"]
        k = ids.index(sep)
        a = _key(vocab.tokenizer.decode(ids[1:k]))
        b_text = vocab.tokenizer.decode(ids[k + 1:-1]).lower()
        assert a and b_text
        sentences = by_doc[row["doc_id"]]
        if names[row["label"]] == NO_MARKER:  # an adjacent pair as it stands
            assert any(sentences[i].startswith(a) and sentences[i + 1].startswith(_key(b_text))
                       for i in range(len(sentences) - 1)), (a[:40], b_text[:40])
            continue
        assert not _opens_with(b_text, texts[row["label"]]), (names[row["label"]], b_text[:40])
        marker = _tokenized(texts[row["label"]], vocab)
        assert any(sentences[i].startswith(a) and sentences[i + 1].startswith(marker + _key(b_text))
                   for i in range(len(sentences) - 1)), (names[row["label"]], a[:40], b_text[:40])
    return table.num_rows


def test_english_markers_are_stripped_and_were_there(docs_en, vocab_en, tmp_path):
    table = build_task("discourse_relation", docs_en, vocab_en, tmp_path, max_seq_len=128)
    meta = task_meta(tmp_path, "discourse_relation")
    markers = load_markers()
    english = [m.name for m in markers if m.lang == "en"]
    assert meta["ernie.task"] == "discourse_relation_v2"
    assert meta["ernie.label_names"] == [NO_MARKER, *english]  # an English build has no Chinese classes
    assert meta["ernie.label_table"][1] == {"marker": english[0], "lang": "en"}
    assert 60 <= len(english) <= 90 and 40 <= sum(m.lang == "zh" for m in markers) <= 70
    assert _check(table, docs_en, vocab_en, meta["ernie.label_names"]) >= 100
    labels_seen = table.column("label").to_pylist()
    used = {meta["ernie.label_names"][label] for label in labels_seen}
    assert {"however", "for example", "but"} <= used
    # [no-conn]: 10% of the examples (per batch of documents, rounded)
    assert 0.07 <= labels_seen.count(0) / len(labels_seen) <= 0.13
    histogram = label_histogram(tmp_path, "discourse_relation")
    assert set(histogram) == set(meta["ernie.label_names"]) and histogram[NO_MARKER] == labels_seen.count(0)
    assert sum(histogram.values()) == table.num_rows


def test_label_table_follows_the_languages_of_the_build():
    markers = load_markers()
    both = labels(Settings(langs=("en", "zh"))).names
    assert both == [NO_MARKER, *(m.name for m in markers)]
    assert labels(Settings(langs=("zh",))).names == [NO_MARKER, *(m.name for m in markers if m.lang == "zh")]
    assert labels(Settings(langs=("en",), no_marker_share=0)).names == [m.name for m in markers if m.lang == "en"]


def test_chinese_markers_are_whole_words_and_not_determiners(data):
    """Sentences of the zh samples (not NFKC-normalized: full-width commas) that open with a marker's
    characters: 另外一个例子 is "another example" (a determiner), 同时，/另外， are connectives."""
    index = setup(Settings(langs=("zh",)))
    names = labels(Settings(langs=("zh",))).names
    raw = "".join(path.read_text(encoding="utf-8") for path in
                  (data / "zhwiki_extracted" / "wiki_00.jsonl", data / "zh_corpus" / "CLUECorpusSmall_sampled.txt"))
    sentences = [s.strip() for s in raw.replace("\\n", "。").replace("\n", "。").split("。")]
    determiners = [s for s in sentences if s[:3] in ("另外一", "另外两", "另外几")]
    connectives = [s for s in sentences if s[:3] in ("同时，", "另外，")]
    assert len(determiners) >= 3 and len(connectives) >= 2
    for sentence in determiners:
        assert strip_marker(sentence, index.index["zh"], "zh", index.words) is None, sentence
    for sentence in connectives:
        label, rest = strip_marker(sentence, index.index["zh"], "zh", index.words)
        assert names[label] == sentence[:2] and rest == sentence[3:].lstrip()  # "，" removed without NFKC
    for sentence in ("同时代的人都知道他。", "那么多人来了。"):  # the samples lack these at a sentence start
        assert strip_marker(sentence, index.index["zh"], "zh", index.words) is None
    assert names[strip_marker("那么我们走吧。", index.index["zh"], "zh", index.words)[0]] == "那么"


def test_chinese_markers(docs_zh, vocab_zh, tmp_path):
    table = build_task("discourse_relation", docs_zh, vocab_zh, tmp_path, max_seq_len=128)
    names = task_meta(tmp_path, "discourse_relation")["ernie.label_names"]
    assert names[0] == NO_MARKER and "however" not in names  # Chinese markers only
    assert _check(table, docs_zh, vocab_zh, names) >= 100
    used = {names[label] for label in table.column("label").to_pylist()}
    assert {"但是", "因此", "例如"} <= used


def test_discovery_marker_list(data, docs_en, vocab_en, tmp_path):
    path = data / "discourse_markers" / "discovery_markers_list.txt"
    table = build_task("discourse_relation", docs_en, vocab_en, tmp_path, max_seq_len=128, markers=str(path))
    names = task_meta(tmp_path, "discourse_relation")["ernie.label_names"]
    listed = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert names == listed  # Discovery lists [no-conn] first: its labels are Discovery's
    assert _check(table, docs_en, vocab_en, names) >= 100
    assert "as_a_result," in {names[label] for label in table.column("label").to_pylist()}


def test_longest_match_and_trailing_comma(tmp_path: Path):
    path = tmp_path / "markers.txt"
    lines = ["# test list", "[no-conn]", "on", "on_the_other_hand", "absolutely,", "so,", "", "因此", "最后,"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    index = setup(Settings(markers=str(path))).index
    on, other_hand, absolutely, so, therefore, last = range(1, 7)
    assert strip_marker("On the other hand, prices rose.", index["en"], "en") == (other_hand, "Prices rose.")
    assert strip_marker("on Monday we left.", index["en"], "en") == (on, "Monday we left.")
    assert strip_marker("Once upon a time.", index["en"], "en") is None  # whole words only
    assert strip_marker("ABSOLUTELY, it works.", index["en"], "en") == (absolutely, "It works.")
    assert strip_marker("Absolutely not.", index["en"], "en") is None  # "absolutely," needs a comma
    assert strip_marker("So many people came.", index["en"], "en") is None
    assert strip_marker("So, many people came.", index["en"], "en") == (so, "Many people came.")
    assert strip_marker("因此,我们出发了。", index["zh"], "zh") == (therefore, "我们出发了。")
    assert strip_marker("因此我们出发了。", index["zh"], "zh") == (therefore, "我们出发了。")
    assert strip_marker("最后,他走了。", index["zh"], "zh") == (last, "他走了。")
    assert strip_marker("最后一个人走了。", index["zh"], "zh") is None
    assert strip_marker("So, ...", index["en"], "en") == (so, "")  # nothing sentence-like after it: dropped
    with pytest.raises(InputError):
        load_markers(str(tmp_path / "missing.txt"))
