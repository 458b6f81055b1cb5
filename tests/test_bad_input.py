"""Bad input never gives a traceback: a one-line error and a non-zero exit, or a counted,
quarantined reject, and never a lost good record."""
from __future__ import annotations

import bz2
import gzip
import json
import subprocess
import sys
import time

import pytest
import zstandard
from click.testing import CliRunner

from corpus_tools.cli import main
from tests.helpers import read_dataset, rejects, stats


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """The real console entry point, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "corpus_tools.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def cli(*args) -> "click.testing.Result":
    return CliRunner().invoke(main, [str(a) for a in args])


def one_line_error(result) -> str:
    output = (result.stderr if hasattr(result, "stderr") and isinstance(result.stderr, str) else result.output).strip()
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert lines[0].startswith("error:"), output
    return lines[0]


@pytest.fixture(scope="module")
def clue_lines(data):
    return (data / "zh_corpus" / "CLUECorpusSmall_sampled.txt").read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize("suffix", [".bz2", ".gz", ".zst"])
def test_truncated_archive_keeps_earlier_records_and_names_file_and_position(suffix, clue_lines, tmp_path):
    raw = ("\n".join(clue_lines) + "\n").encode("utf-8")
    packed = {".bz2": bz2.compress, ".gz": gzip.compress, ".zst": zstandard.ZstdCompressor().compress}[suffix](raw)
    path = tmp_path / f"clue.txt{suffix}"
    path.write_bytes(packed[: len(packed) // 2])
    out = tmp_path / "out"
    args = ("ingest", path, "--out", out, "--quiet", "--no-dedup")
    if suffix == ".bz2":  # the console entry point once; in this process for the others (no second interpreter)
        result = run_cli(*args)
        assert result.returncode == 1
    else:
        result = cli(*args)
        assert result.exit_code == 1
    line = one_line_error(result)
    assert str(path) in line and "compressed byte" in line
    kept = read_dataset(out).column("doc_id").to_pylist()
    assert 500 < len(kept) < len(clue_lines)  # everything before the fault is there
    assert kept == [f"text:clue.txt:{n}" for n in range(1, len(kept) + 1)]
    assert stats(out)["errors"] == [line.removeprefix("error: ")]


def test_invalid_utf8_is_replaced_and_counted(clue_lines, tmp_path):
    path = tmp_path / "bad.txt"
    body = "\n".join(clue_lines[:20]).encode("utf-8")
    path.write_bytes(body.replace("。".encode(), b"\xff\xfe", 3))
    out = tmp_path / "out"
    result = cli("ingest", path, "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    assert stats(out)["utf8_replaced"] == 6
    text = "".join(s for row in read_dataset(out).column("paragraphs").to_pylist() for p in row for s in p)
    assert text.count("\ufffd") >= 6 - 0  # replaced, not dropped
    assert len(read_dataset(out)) == 20


def test_malformed_json_line_is_quarantined_with_file_and_line(clue_lines, tmp_path):
    path = tmp_path / "docs.jsonl"
    lines = [json.dumps({"id": str(i), "text": t}, ensure_ascii=False) for i, t in enumerate(clue_lines[:30])]
    lines[11] = lines[11][:-5]  # cut: malformed
    lines[20] = '{"id": "x", "body": "no text field"}'
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    result = cli("ingest", path, "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    bad = rejects(out)
    assert [(r["origin"], r["reason"]) for r in bad] == [(f"{path}:12", "malformed_json"), (f"{path}:21", "missing_field")]
    assert read_dataset(out).num_rows == 28
    assert stats(out)["rejected"] == {"malformed_json": 1, "missing_field": 1}


def test_xml_entity_bomb_is_refused_quickly(tmp_path):
    bomb = tmp_path / "bomb.xml"
    entities = "".join(f'<!ENTITY e{i} "{"&e%d;" % (i - 1) * 10}">' for i in range(1, 10))
    bomb.write_text(f'<?xml version="1.0"?><!DOCTYPE mediawiki [<!ENTITY e0 "lol">{entities}]>'
                    f"<mediawiki><page><title>&e9;</title><ns>0</ns><id>1</id><revision><text>&e9;</text></revision></page></mediawiki>")
    started = time.monotonic()
    result = run_cli("ingest", bomb, "--out", tmp_path / "out", "--quiet")
    assert time.monotonic() - started < 60  # a real expansion would need gigabytes
    assert result.returncode == 1
    assert "refused" in one_line_error(result)


@pytest.mark.parametrize("case", ["wrong_format", "empty", "missing", "no_titles"])
def test_user_mistakes_get_one_line_errors(case, data, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    args = {
        "wrong_format": (data / "zh_corpus" / "CLUECorpusSmall_sampled.txt", "--format", "wiki-xml"),
        "empty": (empty,),
        "missing": (tmp_path / "nope.jsonl",),
        "no_titles": (data / "sogouq" / "SogouQ.sample",),
    }[case]
    result = cli("ingest", *args, "--out", tmp_path / "out", "--quiet")
    assert result.exit_code == 1
    line = one_line_error(result)
    expected = {"wrong_format": "does not look like --format wiki-xml", "empty": "empty input",
                "missing": "no such file", "no_titles": "--titles"}[case]
    assert expected in line
    assert not (tmp_path / "out").exists()  # nothing half-made


def test_ten_megabyte_line_is_processed_in_bounded_memory(clue_lines, tmp_path):
    path = tmp_path / "huge.txt"
    english = "The quick brown fox jumps over the lazy dog near the U.S. border, said Mr. Smith. "
    huge = english * (10_000_000 // len(english))
    path.write_text(clue_lines[0] + "\n" + huge + "\n" + clue_lines[1] + "\n", encoding="utf-8")
    out = tmp_path / "out"
    probe = ("import resource, runpy, sys; sys.argv = ['ernie-corpus'] + sys.argv[1:];"
             "code = 0\ntry: runpy.run_module('corpus_tools.cli', run_name='__main__')\n"
             "except SystemExit as e: code = e.code or 0\n"
             "print('MAXRSS', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); sys.exit(code)")
    result = subprocess.run([sys.executable, "-c", probe, "ingest", str(path), "--out", str(out), "--quiet"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    peak_mb = int(result.stdout.split("MAXRSS")[1]) / 1024
    assert peak_mb < 1500, f"peak RSS {peak_mb:.0f} MB for a 10 MB line"
    table = read_dataset(out)
    assert table.num_rows == 3
    sentences = table.column("paragraphs").to_pylist()[1][0]
    assert len(sentences) > 100_000 and sentences[0] == english.strip()
