"""The ingest pipeline end to end on the real samples: determinism, resume, dedup, outputs."""
from __future__ import annotations

import json

import polars as pl
import pyarrow as pa
import pytest

from corpus_tools.dedup.minhash import DedupConfig
from corpus_tools.ingest.readers.options import ReadOptions
from corpus_tools.ingest.ingest import IngestConfig, ingest
from corpus_tools.ingest.process import TextSettings
from corpus_tools.run.engine import Parallel
from corpus_tools.run.shards import OutputError
from schemas.validate import validate
from tests.helpers import read_dataset, shard_digests, stats


@pytest.fixture()
def clue_head(data, tmp_path):
    """The first 300 documents of the CLUE sample, plus exact and near duplicates of some of them."""
    lines = (data / "zh_corpus" / "CLUECorpusSmall_sampled.txt").read_text(encoding="utf-8").splitlines()[:300]
    long_ones = [line for line in lines if len(line) > 400][:4]
    # near duplicates: 30 characters in the middle replaced (char 3-gram Jaccard about 0.88)
    extra = long_ones[:2] + [line[:200] + "这是一段新加的文字用来制造近似重复的文档而已啊" + line[223:] for line in long_ones[2:4]]
    path = tmp_path / "clue.txt"
    path.write_text("\n".join(lines + extra) + "\n", encoding="utf-8")
    return path, lines, long_ones


def test_same_output_for_one_and_two_workers(clue_head, data, tmp_path):
    path, _, _ = clue_head
    inputs = [path, data / "enwiki_extracted" / "wiki_00.jsonl"]
    one = ingest(inputs, tmp_path / "w1", IngestConfig(shard_size=100), parallel=Parallel(workers=1))
    two = ingest(inputs, tmp_path / "w2", IngestConfig(shard_size=100), parallel=Parallel(workers=2))
    assert one.stats["kept"] == two.stats["kept"] > 300
    assert shard_digests(tmp_path / "w1") == shard_digests(tmp_path / "w2")
    # both small files are one unit (packed up to --unit-bytes): 339 records -> 100 per shard
    assert len(shard_digests(tmp_path / "w1")) == 4


def test_exact_and_near_duplicates_are_dropped_and_reported(clue_head, tmp_path):
    path, lines, long_ones = clue_head
    result = ingest([path], tmp_path / "out", IngestConfig(fmt="text", shard_size=1000))
    dedup = result.stats["dedup"]
    assert dedup["exact_duplicate"] >= 2 and dedup["near_duplicate"] >= 2
    reasons = {e["reason"] for e in stats(tmp_path / "out")["dedup_examples"]}
    assert reasons == {"exact_duplicate", "near_duplicate"}
    texts = ["".join(s for p in row for s in p) for row in read_dataset(tmp_path / "out").column("paragraphs").to_pylist()]
    assert not any("制造近似重复" in t for t in texts)  # the edited copies were caught
    assert result.stats["kept"] == result.stats["records"] - sum(dedup.values())


def test_near_dedup_threshold_option_is_respected(clue_head, tmp_path):
    path, _, _ = clue_head
    strict = TextSettings(dedup=DedupConfig(threshold=0.95))
    result = ingest([path], tmp_path / "out", IngestConfig(fmt="text", text=strict))
    assert result.stats["dedup"].get("near_duplicate", 0) == 0
    assert result.stats["dedup"]["exact_duplicate"] >= 2


def test_resume_skips_finished_shards_and_gives_the_same_output(clue_head, tmp_path):
    path, _, _ = clue_head
    config = IngestConfig(fmt="text", shard_size=50)
    ingest([path], tmp_path / "full", config)
    out = tmp_path / "part"
    ingest([path], out, config)
    manifest = json.loads((out / "manifest.json").read_text())
    (out / manifest["shards"][-1]["name"]).unlink()  # as if the run died before the last shard
    (out / manifest["shards"][-2]["name"]).write_bytes(b"corrupt")
    kept_mtime = (out / manifest["shards"][0]["name"]).stat().st_mtime_ns
    ingest([path], out, config, resume=True)
    assert shard_digests(out) == shard_digests(tmp_path / "full")
    assert (out / manifest["shards"][0]["name"]).stat().st_mtime_ns == kept_mtime  # not rewritten
    assert stats(out)["kept"] == stats(tmp_path / "full")["kept"]


def test_resume_with_other_settings_is_refused(clue_head, tmp_path):
    path, _, _ = clue_head
    ingest([path], tmp_path / "out", IngestConfig(fmt="text", shard_size=50))
    with pytest.raises(OutputError, match="other inputs or settings"):
        ingest([path], tmp_path / "out", IngestConfig(fmt="text", shard_size=60), resume=True)


def test_existing_output_needs_overwrite(clue_head, tmp_path):
    path, _, _ = clue_head
    ingest([path], tmp_path / "out", IngestConfig(fmt="text"))
    with pytest.raises(OutputError, match="--overwrite"):
        ingest([path], tmp_path / "out", IngestConfig(fmt="text"))
    ingest([path], tmp_path / "out", IngestConfig(fmt="text"), overwrite=True)
    stranger = tmp_path / "stranger"
    stranger.mkdir()
    (stranger / "precious.txt").write_text("keep me")
    with pytest.raises(OutputError, match="refusing to delete"):
        ingest([path], stranger, IngestConfig(fmt="text"), overwrite=True)
    assert (stranger / "precious.txt").exists()


def test_shards_open_with_pyarrow_and_polars_and_validate(data, tmp_path):
    out = tmp_path / "out"
    ingest([data / "zhwiki_extracted" / "wiki_00.jsonl"], out, IngestConfig(shard_size=20))
    table = read_dataset(out)
    frame = pl.concat([pl.read_ipc_stream(p) for p in sorted(out.glob("part-*.arrow"))])
    assert frame.height == table.num_rows == stats(out)["kept"]
    assert frame["doc_id"].to_list() == table.column("doc_id").to_pylist()
    meta = validate(out / "part-00000.arrow", expect="documents")
    assert json.loads(meta["ernie.build_config"])["shard_size"] == 20
    assert set(table.column("lang").cast(pa.string()).to_pylist()) == {"zh"}
    first = table.slice(0, 1).to_pylist()[0]
    assert first["title"] == "数学" and first["paragraphs"][0][0].startswith("数学是")


def test_t2s_converts_traditional_chinese(data, tmp_path):
    """The zhwiki sample is mostly simplified already but mixes in traditional forms (於, 乾)."""
    source = tmp_path / "zh.jsonl"
    lines = (data / "zhwiki_extracted" / "wiki_00.jsonl").read_text(encoding="utf-8").splitlines()
    extra = {"id": "t1", "title": "數學", "url": "", "text": "數學\n\n數學是研究數量、結構以及空間等概念的一門學科。"}
    source.write_text("\n".join(lines + [json.dumps(extra, ensure_ascii=False)]) + "\n", encoding="utf-8")
    plain = read_dataset(ingest([source], tmp_path / "a", IngestConfig()).out)
    simplified = read_dataset(ingest([source], tmp_path / "b", IngestConfig(text=TextSettings(t2s=True))).out)
    before = "".join(s for row in plain.column("paragraphs").to_pylist() for p in row for s in p)
    after = "".join(s for row in simplified.column("paragraphs").to_pylist() for p in row for s in p)
    for traditional in "於數學結構間門":
        assert traditional in before and traditional not in after
    assert "数学是研究数量、结构以及空间等概念的一门学科。" in after
    assert simplified.column("title").to_pylist()[-1] == "数学"


def test_searchlog_dataset_from_dureader(data, tmp_path):
    inputs = [data / "dureader" / f"search.{split}.json" for split in ("train", "dev", "test")]
    result = ingest(inputs, tmp_path / "log", IngestConfig())
    assert result.kind == "searchlog"
    table = read_dataset(tmp_path / "log")
    validate(table, expect="searchlog")
    clicked = table.column("clicked").to_pylist()
    assert clicked.count(True) == 14 and clicked.count(None) == 10 and clicked.count(False) == 16
    assert set(table.column("lang").cast(pa.string()).to_pylist()) == {"zh"}


def test_documents_and_search_logs_cannot_mix(data, tmp_path):
    from corpus_tools.ingest.sources import InputError

    with pytest.raises(InputError, match="separate outputs"):
        ingest([data / "dureader" / "search.dev.json", data / "zh_corpus"], tmp_path / "x", IngestConfig())


def test_an_article_in_two_extracts_is_kept_once(data, tmp_path):
    """Ayn Rand (curid 339) is in both WikiExtractor samples, with different text versions."""
    result = ingest([data / "enwiki_extracted"], tmp_path / "out", IngestConfig())
    ids = read_dataset(tmp_path / "out").column("doc_id").to_pylist()
    assert ids.count("wikipedia:339") == 1
    assert len(ids) == len(set(ids)) == 35 + 27 - 1
    assert result.stats["dedup"]["duplicate_id"] == 1


def test_reddit_threads_option_makes_one_document_per_thread(data, tmp_path):
    result = ingest([data / "reddit"], tmp_path / "threads",
                    IngestConfig(read=ReadOptions(reddit_threads=True)))
    table = read_dataset(tmp_path / "threads")
    assert table.num_rows == result.stats["kept"] > 0
    assert all(i.startswith("reddit:thread:t3_") for i in table.column("doc_id").to_pylist())
    assert "[deleted]" not in json.dumps(table.column("paragraphs").to_pylist())


def test_large_files_split_into_line_ranges_give_the_same_documents(clue_head, tmp_path):
    """Byte ranges cut at line breaks keep each line's number, so ids, rows and stats do not change."""
    path, _, _ = clue_head
    whole = ingest([path], tmp_path / "whole", IngestConfig(fmt="text", shard_size=1000))
    split = ingest([path], tmp_path / "split", IngestConfig(fmt="text", shard_size=1000,
                                                             unit_bytes=path.stat().st_size // 4),
                   parallel=Parallel(workers=2))
    assert whole.stats["units"] == 1 and split.stats["units"] >= 4
    assert read_dataset(tmp_path / "split").equals(read_dataset(tmp_path / "whole"))
    for key in ("records", "kept", "dedup"):
        assert split.stats[key] == whole.stats[key]


def test_output_on_a_filesystem_uri_is_written_through_pyarrow_fs(clue_head, tmp_path):
    path, _, _ = clue_head
    config = IngestConfig(fmt="text", shard_size=100)
    ingest([path], tmp_path / "plain", config)
    result = ingest([path], f"file://{tmp_path}/uri", config)
    assert result.stats["kept"] == stats(tmp_path / "plain")["kept"]
    assert shard_digests(tmp_path / "uri") == shard_digests(tmp_path / "plain")


def test_a_killed_worker_process_reruns_its_unit_with_the_same_output(clue_head, tmp_path, monkeypatch):
    from tests.faults import kill_worker

    path, _, _ = clue_head
    config = IngestConfig(fmt="text", shard_size=50, unit_bytes=path.stat().st_size // 4)
    ingest([path], tmp_path / "calm", config)
    marker = tmp_path / "killed-once"
    kill_worker(monkeypatch, "corpus_tools.ingest.ingest", "read", 2, marker)  # the worker reading unit 2: kill -9
    ingest([path], tmp_path / "killed", config, parallel=Parallel(workers=2))
    assert marker.exists()
    assert shard_digests(tmp_path / "killed") == shard_digests(tmp_path / "calm")
    assert stats(tmp_path / "killed")["kept"] == stats(tmp_path / "calm")["kept"]


def test_a_unit_that_kills_its_worker_every_time_ends_in_a_one_line_error_naming_its_input(clue_head, tmp_path,
                                                                                           monkeypatch):
    from click.testing import CliRunner

    from corpus_tools.cli import main
    from tests.faults import kill_worker

    path, _, _ = clue_head
    size = path.stat().st_size // 4
    kill_worker(monkeypatch, "corpus_tools.ingest.ingest", "read", 1)  # every run of unit 1: kill -9
    result = CliRunner().invoke(main, ["ingest", str(path), "--out", str(tmp_path / "out"), "--format", "text",
                                       "--workers", "2", "--unit-bytes", str(size), "--quiet"])
    assert result.exit_code == 1, result.output
    line = result.output.strip()
    assert "\n" not in line and line.startswith("error: ") and "internal error" not in line
    assert f"{path} bytes " in line and "(read unit 1)" in line and "died 4 times" in line


def test_resume_after_the_driver_is_killed_continues_from_finished_units(clue_head, tmp_path):
    path, _, _ = clue_head
    size = path.stat().st_size // 5
    ingest([path], tmp_path / "calm", IngestConfig(fmt="text", shard_size=50, unit_bytes=size))
    out = tmp_path / "out"
    died = _ingest_process(path, out, size, kill_driver_after=("read", 3))
    assert died.returncode == -9, died.stderr[-2000:]
    finished = {p.name: p.stat().st_mtime_ns for p in (out / ".state").glob("unit-?????.json")}
    assert len(finished) >= 3 and not (out / "stats.json").exists()
    ingest([path], out, IngestConfig(fmt="text", shard_size=50, unit_bytes=size), parallel=Parallel(workers=2),
           resume=True)
    assert {n: (out / ".state" / n).stat().st_mtime_ns for n in finished} == finished  # not read again
    assert shard_digests(out) == shard_digests(tmp_path / "calm")


def _ingest_process(path, out, unit_bytes: int, kill_driver_after: tuple[str, int]):
    """`ernie-corpus ingest` in its own process (so that it can be killed), two workers; the driver
    kills itself after taking N results of the run_units call labelled LABEL (tests/faults.py)."""
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    label, after = kill_driver_after
    code = ("import sys; from tests.faults import kill_driver; "
            f"kill_driver('corpus_tools.ingest.ingest', {label!r}, {after}); "
            "from corpus_tools.ingest.ingest import IngestConfig, ingest; "
            "from corpus_tools.run.engine import Parallel; "
            f"ingest([sys.argv[1]], sys.argv[2], IngestConfig(fmt='text', shard_size=50, unit_bytes={unit_bytes}), "
            "parallel=Parallel(workers=2))")
    return subprocess.run([sys.executable, "-c", code, str(path), str(out)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300, cwd=ROOT)


def test_zstd_frames_cut_mid_line_give_the_same_documents(clue_head, tmp_path):
    """A multi-frame .zst whose frames end mid-line: each unit owns the lines that start in its frames,
    and a counting pass numbers them as in the whole file (text ids carry the line number)."""
    import zstandard

    path, _, _ = clue_head
    raw = path.read_bytes()
    compressor = zstandard.ZstdCompressor()
    framed = tmp_path / "clue.txt.zst"
    framed.write_bytes(b"".join(compressor.compress(raw[i:i + 20000]) for i in range(0, len(raw), 20000)))
    whole = ingest([framed], tmp_path / "whole", IngestConfig(fmt="text", shard_size=1000))  # one unit
    split = ingest([framed], tmp_path / "split", IngestConfig(fmt="text", shard_size=1000,
                                                               unit_bytes=framed.stat().st_size // 4),
                   parallel=Parallel(workers=2))
    assert whole.stats["units"] == 1 and split.stats["units"] >= 4
    assert read_dataset(tmp_path / "split").equals(read_dataset(tmp_path / "whole"))
    plain = ingest([path], tmp_path / "plain", IngestConfig(fmt="text", shard_size=1000))

    def lines(out):  # text ids end with the document's line number
        return [i.rpartition(":")[2] for i in read_dataset(out).column("doc_id").to_pylist()]

    assert lines(tmp_path / "split") == lines(plain.out)
