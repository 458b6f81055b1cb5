"""The language check of a source whose language is known (issue 17.2): a wiki dump that declares
English (<mediawiki xml:lang="en">), or `--lang en`, gets its documents confirmed by a function-word
check, py3langid on a sample chosen by the document id and on what the check does not confirm. What
a user relies on: the same labels as py3langid on every document, counts of how each was decided,
and a page in another language inside a declared-English dump still caught."""
from __future__ import annotations

import json
import re
import zlib
from xml.sax.saxutils import escape

import pytest

from corpus_tools.dedup.minhash import DedupConfig
from corpus_tools.ingest.ingest import IngestConfig, ingest
from corpus_tools.ingest.process import Draft, TextSettings, language_step, normalize_step
from corpus_tools.ingest.readers import wiki_xml
from corpus_tools.ingest.readers.options import ReadOptions
from corpus_tools.ingest.readers.records import RawDoc
from corpus_tools.run.engine import Parallel
from corpus_tools.text import lang
from tests.helpers import read_dataset, shard_digests, stats

NO_DEDUP = DedupConfig(exact=False, near=False)
GERMAN = "Spielt Guerreiro bei Bayern von Anfang an?"  # a real German Reddit title (pushshift_submissions_mixed)


def _config(language: str = "auto") -> IngestConfig:
    return IngestConfig(text=TextSettings(lang=language, dedup=NO_DEDUP))


def _labels(out) -> dict[str, str]:
    table = read_dataset(out)
    return dict(zip(table.column("doc_id").to_pylist(), table.column("lang").to_pylist()))


def _replace_page(text: str, title: str, body: str) -> str:
    """The dump with the wikitext of page `title` replaced by `body`."""
    start = text.index(f"<title>{title}</title>")
    head, rest = text[:start], text[start:]
    return head + re.sub(r"(<text\b[^>]*>).*?(</text>)", lambda m: m.group(1) + escape(body) + m.group(2),
                         rest, count=1, flags=re.S)


def test_a_declared_english_dump_gets_the_labels_py3langid_gives_every_page(data):
    """Page by page, the label with the cheap check and the sample is the model's (detect_lang, as
    before the check): on the enwiki sample every page the check confirms, py3langid calls English too."""
    dump = data / "enwiki_xml" / "enwiki-10k.xml"
    settings = TextSettings()
    seen = 0
    for raw in wiki_xml.read(dump, ReadOptions()):
        if not isinstance(raw, RawDoc):
            continue
        draft = normalize_step(raw, settings)
        if not isinstance(draft, Draft):
            continue
        assert raw.declared_lang == "en"
        sample = draft.title + " " + " ".join(p for _, p in draft.sections[:20])
        model = lang.detect_lang(sample, "en")
        checked = language_step(draft, settings)
        assert checked.lang == model, raw.title
        seen += 1
    assert seen == 68


def test_the_stats_count_how_each_document_was_decided_and_sampling_everything_changes_nothing(
        data, tmp_path, monkeypatch):
    dump = data / "enwiki_xml" / "enwiki-10k.xml"
    ingest([dump], tmp_path / "checked", _config())
    checked = stats(tmp_path / "checked")
    # 66 articles pass the function-word check (none of them falls in the 1-in-16 sample), 2 short
    # or list-like ones go to py3langid; all 68 are English
    assert checked["lang_check"] == {"cheap": 66, "model": 2}
    assert checked["lang"] == {"en": 68}
    sampled = [d for d in _labels(tmp_path / "checked") if zlib.crc32(d.encode()) % lang.SAMPLE_EVERY == 0]
    assert sampled == []  # the sample is a function of the ids alone

    monkeypatch.setattr(lang, "SAMPLE_EVERY", 1)  # every confirmed document also goes to py3langid
    ingest([dump], tmp_path / "all", _config())
    everything = stats(tmp_path / "all")
    assert everything["lang_check"] == {"sampled": 66, "model": 2}  # no disagreement
    assert shard_digests(tmp_path / "all") == shard_digests(tmp_path / "checked")


def test_lang_en_checks_an_undeclared_source_and_auto_keeps_the_model_on_every_document(data, tmp_path):
    reddit = [data / "reddit" / "pushshift_submissions_mixed.jsonl", data / "reddit" / "RS_2017-09_head.jsonl"]
    ingest(reddit, tmp_path / "auto", _config("auto"))
    ingest(reddit, tmp_path / "en", _config("en"))
    auto, en = stats(tmp_path / "auto"), stats(tmp_path / "en")
    assert "lang_check" not in auto  # no language known in advance: py3langid on every document, as before
    assert en["dropped_lang"] == auto["dropped_lang"] == {"de": 2}
    assert _labels(tmp_path / "en") == _labels(tmp_path / "auto")
    counted = sum(en["lang_check"].values())
    assert counted == en["kept"] + en["dropped"]["lang"]  # every document that reached the language step
    assert en["lang_check"]["cheap"] > counted / 2 and en["lang_check"]["model"] > 0


def test_a_german_and_a_chinese_page_inside_a_declared_english_dump_are_still_caught(data, tmp_path):
    text = (data / "enwiki_xml" / "enwiki-10k.xml").read_text(encoding="utf-8")
    chinese = json.loads((data / "zhwiki_extracted" / "wiki_00.jsonl").read_text(encoding="utf-8").splitlines()[0])["text"]
    text = _replace_page(text, "Gunpowder Incident", GERMAN + "\n\n" + GERMAN)
    text = _replace_page(text, "Plan USA", chinese)
    dump = tmp_path / "enwiki-mixed.xml"
    dump.write_text(text, encoding="utf-8")
    assert 'xml:lang="en"' in text

    ingest([dump], tmp_path / "auto", _config("auto"))
    found = stats(tmp_path / "auto")
    assert found["dropped_lang"] == {"de": 1}  # German: not a language a dataset holds
    assert found["lang"] == {"en": 66, "zh": 1}  # the Chinese page is labelled zh, not en
    assert found["lang_check"] == {"cheap": 64, "model": 3, "script": 1}

    ingest([dump], tmp_path / "en", _config("en"))
    assert stats(tmp_path / "en")["dropped_lang"] == {"de": 1, "zh": 1}


def test_a_page_the_cheap_check_passes_wrongly_is_corrected_and_counted_when_sampled(data, tmp_path, monkeypatch):
    """The sample is the safety net: were the check to pass the German page, py3langid on the sample
    still drops it and the disagreement is counted."""
    text = _replace_page((data / "enwiki_xml" / "enwiki-10k.xml").read_text(encoding="utf-8"),
                         "Gunpowder Incident", " ".join([GERMAN] * 5))
    dump = tmp_path / "enwiki-de.xml"
    dump.write_text(text, encoding="utf-8")
    monkeypatch.setattr(lang, "looks_english", lambda words: True)
    monkeypatch.setattr(lang, "SAMPLE_EVERY", 1)
    ingest([dump], tmp_path / "out", _config())
    found = stats(tmp_path / "out")
    assert found["dropped_lang"] == {"de": 1}
    assert found["lang_check"]["disagreed"] == 1


@pytest.mark.parametrize("workers", [2])
def test_the_sample_and_the_counts_do_not_depend_on_the_worker_count(data, tmp_path, workers):
    inputs = [data / "enwiki_extracted" / "wiki_00.jsonl", data / "reddit" / "RS_2017-09_head.jsonl"]
    ingest(inputs, tmp_path / "one", IngestConfig(text=TextSettings(lang="en", dedup=NO_DEDUP), unit_bytes=300_000))
    ingest(inputs, tmp_path / "many", IngestConfig(text=TextSettings(lang="en", dedup=NO_DEDUP), unit_bytes=300_000),
           parallel=Parallel(workers))
    assert stats(tmp_path / "one")["lang_check"] == stats(tmp_path / "many")["lang_check"]
    assert shard_digests(tmp_path / "one") == shard_digests(tmp_path / "many")


def _identify_on_every_word(text: str, fallback: str = "en", expected: str = "", key: str = "") -> tuple[str, str]:
    """`lang.identify` as it reads every Latin word of the sample (before it looked at a head first)."""
    sample = text[:lang.SAMPLE_CHARS]
    han = len(lang._CJK.findall(sample))
    latin_words = lang._LATIN_WORD.findall(sample)
    if han and han >= 0.3 * (han + len(latin_words)):
        return ("ja" if len(lang._KANA.findall(sample)) >= han else "zh"), "script"
    letters = sum(map(str.isalpha, sample[:lang.MODEL_CHARS]))
    mostly_latin = sum(map(len, latin_words)) >= 0.5 * max(letters, 1)
    if letters < lang.MIN_LETTERS and mostly_latin:
        return fallback, "script"
    if expected == "en" and lang.looks_english(latin_words):
        if zlib.crc32(key.encode("utf-8")) % lang.SAMPLE_EVERY:
            return "en", "cheap"
        found = lang._model(text, fallback, mostly_latin)
        return found, ("sampled" if found == "en" else "disagreed")
    return lang._model(text, fallback, mostly_latin), "model"


def test_identify_decides_from_the_head_of_the_sample_as_from_all_of_it(data):
    """The Latin words of the sample's first HEAD_CHARS characters are enough when there are more than
    MARKER_WORDS of them and they make the text mostly Latin: the same answers on the samples' texts
    (English, Chinese, mixed, short), whole and cut at many lengths."""
    texts = [json.loads(line)["text"] for line in (data / "enwiki_extracted" / "wiki_00.jsonl").open(encoding="utf-8")]
    texts += [json.loads(line)["text"] for line in (data / "zhwiki_extracted" / "wiki_00.jsonl").open(encoding="utf-8")]
    texts += (data / "zh_corpus" / "CLUECorpusSmall_sampled.txt").read_text(encoding="utf-8").splitlines()[:300]
    texts += (data / "imdb_unsup" / "unsup_12k.txt").read_text(encoding="utf-8").splitlines()[:300]
    for name in ("RS_2017-09_head.jsonl", "pushshift_comments_mixed.jsonl", "pushshift_submissions_mixed.jsonl"):
        for line in (data / "reddit" / name).open(encoding="utf-8"):
            record = json.loads(line)
            texts.append(f"{record.get('title', '')} {record.get('selftext', record.get('body', ''))}")
    texts.append((data / "gutenberg" / "84-0.txt").read_text(encoding="utf-8-sig")[:20000])
    seen = set()
    for k, text in enumerate(texts):
        for cut in (len(text), 150, 600, 1000, 1005, 1200, 2500):
            piece = text[:cut]
            for expected in ("en", ""):
                key = f"doc:{k}:{cut}"
                got = lang.identify(piece, "en", expected, key)
                assert got == _identify_on_every_word(piece, "en", expected, key), piece[:200]
                seen.add(got)
    assert {("en", "cheap"), ("zh", "script"), ("en", "model")} <= seen
