"""`ernie-corpus dedup`: documents datasets deduplicated together, or against earlier ones."""
from __future__ import annotations

import json
import random
from pathlib import Path

import pyarrow as pa
import pytest
from click.testing import CliRunner

from corpus_tools.cli import main
from corpus_tools.dedup.datasets import dedup
from corpus_tools.run.engine import Parallel
from corpus_tools.run.shards import write_table
from schemas import metadata, schema_for
from tests.helpers import read_dataset, shard_digests, stats


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _edit(paragraphs: list[list[str]], rng: random.Random) -> list[list[str]]:
    """About one word in 150 replaced: a near copy of a real document."""
    out = []
    for paragraph in paragraphs:
        sentences = []
        for sentence in paragraph:
            words = sentence.split()
            for i in range(len(words)):
                if rng.random() < 1 / 150:
                    words[i] = "indeed"
            sentences.append(" ".join(words))
        out.append(sentences)
    return out


@pytest.fixture(scope="module")
def later(docs_en, data, tmp_path_factory):
    """A second documents dataset, as if from next month's dump: near copies, exact copies and a
    reused id of documents in docs_en, and new documents (real IMDb reviews), in two shards."""
    rng = random.Random(3)
    rows = read_dataset(docs_en).to_pylist()
    long = [r for r in rows if sum(len(s.split()) for p in r["paragraphs"] for s in p) > 300]
    near = [{**r, "doc_id": f"later:{r['doc_id']}", "paragraphs": _edit(r["paragraphs"], rng)} for r in long[:3]]
    exact = [{**r, "doc_id": f"copy:{r['doc_id']}"} for r in long[3:5]]
    reviews = (data / "imdb_unsup" / "unsup_12k.txt").read_text(encoding="utf-8").splitlines()[:6]
    fresh = [{"doc_id": f"imdb:{i}", "source": "imdb", "lang": "en", "title": "", "paragraphs": [[t]],
              "headings": [""], "meta": "{}"} for i, t in enumerate(reviews[1:])]
    reused = {**fresh[0], "doc_id": rows[0]["doc_id"], "paragraphs": [[reviews[0]]]}
    out = tmp_path_factory.mktemp("later") / "docs"
    out.mkdir()
    schema = schema_for("documents", {metadata.CREATED_BY: "test"})
    write_table(out / "part-00000.arrow", pa.Table.from_pylist(near + fresh[:2] + [reused], schema=schema))
    write_table(out / "part-00001.arrow", pa.Table.from_pylist(exact + fresh[2:], schema=schema))
    return out, {"fresh": [r["doc_id"] for r in fresh], "of": {r["doc_id"] for r in long[:5]} | {rows[0]["doc_id"]}}


def _ids(out: Path) -> list[str]:
    return read_dataset(out).column("doc_id").to_pylist()


def test_dedup_of_two_datasets_removes_the_later_copies_and_keeps_the_layout(docs_en, later, tmp_path):
    docs, planted = later
    result = cli("dedup", docs_en, docs, "--out", tmp_path / "both", "--workers", "2", "--quiet")
    assert result.exit_code == 0, result.output
    first = len(json.loads((docs_en / "manifest.json").read_text())["shards"])
    manifest = json.loads((tmp_path / "both" / "manifest.json").read_text())
    assert len(manifest["shards"]) == first + 2 and manifest["complete"]
    assert _ids(tmp_path / "both") == _ids(docs_en) + planted["fresh"]  # docs_en was deduplicated already
    summary = stats(tmp_path / "both")
    assert summary["dedup"] == {"near_duplicate": 3, "exact_duplicate": 2, "duplicate_id": 1}
    assert summary["records"] == summary["kept"] + 6
    assert {e["duplicate_of"] for e in summary["dedup_examples"]} == planted["of"]
    assert summary["signatures_reused"] == first  # ingest's, for docs_en; computed for the other
    # the same shards from one worker, signatures all computed afresh
    again = dedup([docs_en, docs], tmp_path / "one", parallel=Parallel(workers=1), reuse=False)
    assert again.stats["signatures_reused"] == 0
    assert shard_digests(tmp_path / "one") == shard_digests(tmp_path / "both")


def test_dedup_against_an_earlier_dataset_writes_only_the_new_one(docs_en, later, tmp_path):
    docs, planted = later
    result = cli("dedup", docs, "--against", docs_en, "--out", f"file://{tmp_path}/new", "--quiet")  # through pyarrow.fs
    assert result.exit_code == 0, result.output
    assert _ids(tmp_path / "new") == planted["fresh"]
    assert len(json.loads((tmp_path / "new" / "manifest.json").read_text())["shards"]) == 2
    assert stats(tmp_path / "new")["dedup"] == {"near_duplicate": 3, "exact_duplicate": 2, "duplicate_id": 1}
    assert not (tmp_path / "new" / ".state" / "signatures").exists()


def test_dedup_refuses_bad_input_and_output_in_one_line(docs_en, later, tmp_path):
    docs, _ = later
    assert cli("dedup", docs, "--out", tmp_path / "out", "--quiet").exit_code == 0
    again = cli("dedup", docs, "--out", tmp_path / "out", "--quiet")
    assert again.exit_code == 1 and "--overwrite" in again.output and "Traceback" not in again.output
    assert cli("dedup", docs, "--out", tmp_path / "out", "--overwrite", "--quiet").exit_code == 0
    missing = cli("dedup", tmp_path / "nothing", "--out", tmp_path / "x")
    assert missing.exit_code == 1 and "no such dataset" in missing.output
    into_input = cli("dedup", docs, "--out", docs, "--overwrite")
    assert into_input.exit_code == 1 and "another directory" in into_input.output
    twice = cli("dedup", docs, "--against", docs, "--out", tmp_path / "y")
    assert twice.exit_code == 1 and "once" in twice.output
    assert "Example" in cli("dedup", "--help").output
