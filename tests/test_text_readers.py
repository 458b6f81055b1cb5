"""Plain text and JSONL document readers, on the CLUE sample and small hand-written files."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from corpus_tools.ingest.readers.options import ReadOptions
from corpus_tools.ingest.readers import jsonl, text
from corpus_tools.ingest.readers.records import Drop, RawDoc, Reject
from corpus_tools.ingest.sources import InputError, read_head


@pytest.fixture(scope="module")
def clue(data) -> Path:
    return data / "zh_corpus" / "CLUECorpusSmall_sampled.txt"


@pytest.fixture(scope="module")
def clue_lines(clue) -> list[str]:
    return clue.read_text(encoding="utf-8").splitlines()


def docs(items) -> list[RawDoc]:
    return [d for d in items if isinstance(d, RawDoc)]


# --- text ----------------------------------------------------------------------------------


def test_clue_sample_yields_one_document_per_line_with_stable_ids(clue, clue_lines):
    nonempty = [n for n, line in enumerate(clue_lines, 1) if line.strip()]
    assert len(clue_lines) == len(nonempty) == 2500
    items = list(text.read(clue, ReadOptions()))
    assert len(items) == len(docs(items)) == 2500
    assert [d.doc_id for d in items] == [f"text:CLUECorpusSmall_sampled:{n}" for n in nonempty]
    assert [d.origin for d in items] == [f"{clue}:{n}" for n in nonempty]
    assert [d.text for d in items] == clue_lines
    assert all(d.markup == "blocks" and d.source == "text" and d.title == "" for d in items)
    assert items[0].text.startswith("兰州公交集团:明起至8月底三条公交线暂不经过靖远路站")
    assert [d.doc_id for d in text.read(clue, ReadOptions())] == [d.doc_id for d in items]


def test_text_source_option_labels_documents(clue):
    first = next(iter(text.read(clue, ReadOptions(source="clue"))))
    assert (first.source, first.doc_id) == ("clue", "clue:CLUECorpusSmall_sampled:1")


def test_text_line_mode_skips_empty_lines_and_keeps_line_numbers(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("第一行\n\n   \n第四行\n", encoding="utf-8")
    items = list(text.read(path, ReadOptions()))
    assert [(d.doc_id, d.text) for d in items] == [("text:notes:1", "第一行"), ("text:notes:4", "第四行")]


BLOCKS = "First paragraph,\nhard wrapped.\n\n\nSecond paragraph\nalso wrapped\nthree lines.\n\nThird.\n"


def test_text_block_mode_splits_at_blank_lines_and_keeps_hard_wraps(tmp_path):
    path = tmp_path / "essay.txt"
    path.write_text(BLOCKS, encoding="utf-8")
    items = list(text.read(path, ReadOptions(text_unit="block")))
    assert [(d.doc_id, d.text) for d in items] == [
        ("text:essay:1", "First paragraph,\nhard wrapped."),
        ("text:essay:5", "Second paragraph\nalso wrapped\nthree lines."),
        ("text:essay:9", "Third."),
    ]
    assert [d.origin for d in items] == [f"{path}:1", f"{path}:5", f"{path}:9"]


def test_text_block_mode_reads_compressed_crlf_input(tmp_path):
    path = tmp_path / "essay.txt.gz"
    path.write_bytes(gzip.compress(BLOCKS.replace("\n", "\r\n").encode("utf-8")))
    items = list(text.read(path, ReadOptions(text_unit="block")))
    assert [d.text for d in items][1] == "Second paragraph\nalso wrapped\nthree lines."


def test_text_unknown_unit_is_a_one_line_input_error(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("x\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        text.read(path, ReadOptions(text_unit="sentence"))
    assert "\n" not in str(info.value) and "sentence" in str(info.value)


def test_text_overlong_line_is_rejected_and_reading_goes_on(tmp_path):
    path = tmp_path / "long.txt"
    path.write_text("short\n" + "x" * 500 + "\nafter\n", encoding="utf-8")
    items = list(text.read(path, ReadOptions(max_line_chars=100)))
    assert isinstance(items[1], Reject) and (items[1].origin, items[1].reason) == (f"{path}:2", "line_too_long")
    assert [(d.doc_id, d.text) for d in docs(items)] == [("text:long:1", "short"), ("text:long:3", "after")]


def test_text_sniff_is_the_fallback_and_jsonl_sniff_rejects_plain_text(clue):
    head = read_head(clue)
    assert text.sniff(clue, head)
    assert not jsonl.sniff(clue, head)


# --- jsonl ---------------------------------------------------------------------------------


def write_jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_jsonl_copy_of_clue_with_a_malformed_line_rejects_it_and_keeps_the_others(tmp_path, clue_lines):
    sample = clue_lines[:20]
    lines = [json.dumps({"text": t, "id": f"c{i}", "title": f"doc {i}", "lang": "zh", "tags": ["x"]}, ensure_ascii=False)
             for i, t in enumerate(sample)]
    lines.insert(5, '{"text": "unterminated')
    path = write_jsonl(tmp_path / "clue.jsonl", lines)
    items = list(jsonl.read(path, ReadOptions(source="clue")))
    rejects = [r for r in items if isinstance(r, Reject)]
    assert len(rejects) == 1
    reject = rejects[0]
    assert (reject.origin, reject.reason) == (f"{path}:6", "malformed_json")
    assert reject.detail and "\n" not in reject.detail and reject.snippet == '{"text": "unterminated'
    kept = docs(items)
    assert [d.text for d in kept] == sample
    assert [d.doc_id for d in kept] == [f"clue:c{i}" for i in range(20)]
    assert kept[5].origin == f"{path}:7"
    assert all(d.markup == "blocks" and d.source == "clue" for d in kept)
    assert kept[0].title == "doc 0" and kept[0].meta == {"lang": "zh"}  # nested values are left out


def test_jsonl_without_ids_numbers_documents_by_line(tmp_path):
    path = write_jsonl(tmp_path / "mine.jsonl", [json.dumps({"text": "a"}), "", json.dumps({"text": "b", "id": 12})])
    items = list(jsonl.read(path, ReadOptions()))
    assert [(d.doc_id, d.source, d.title) for d in items] == [("text:mine:1", "text", ""), ("text:12", "text", "")]


def test_jsonl_missing_or_non_string_text_is_a_missing_field_reject(tmp_path):
    path = write_jsonl(tmp_path / "bad.jsonl", [json.dumps({"body": "x"}), json.dumps({"text": 3}), "[1, 2]",
                                                json.dumps({"text": "  "}), json.dumps({"text": "ok"})])
    items = list(jsonl.read(path, ReadOptions()))
    assert [(r.origin, r.reason) for r in items if isinstance(r, Reject)] == [
        (f"{path}:1", "missing_field"), (f"{path}:2", "missing_field"), (f"{path}:3", "malformed_json")]
    assert "'text'" in items[0].detail
    assert [d.reason for d in items if isinstance(d, Drop)] == ["empty"]
    assert [d.text for d in docs(items)] == ["ok"]


def test_jsonl_text_field_option_picks_the_text(tmp_path):
    path = write_jsonl(tmp_path / "c.jsonl", [json.dumps({"content": "正文", "text": "not this"})])
    (doc,) = jsonl.read(path, ReadOptions(text_field="content"))
    assert doc.text == "正文" and doc.meta == {"text": "not this"}  # only the text field is left out


def test_jsonl_sniff_needs_an_object_with_text_on_the_first_nonblank_line(tmp_path):
    good = write_jsonl(tmp_path / "g.jsonl", ["", json.dumps({"text": "x"})])
    assert jsonl.sniff(good, read_head(good))
    other = write_jsonl(tmp_path / "o.jsonl", [json.dumps({"body": "x"})])
    assert not jsonl.sniff(other, read_head(other))
    long_line = write_jsonl(tmp_path / "long.jsonl", [json.dumps({"text": "字" * 20000})])
    assert "\n" not in read_head(long_line) and jsonl.sniff(long_line, read_head(long_line))
