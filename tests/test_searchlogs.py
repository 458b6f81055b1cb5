"""Search-log readers (DuReader, SogouQ, generic click logs) on the real samples."""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from corpus_tools.ingest.readers.options import ReadOptions
from corpus_tools.ingest.readers import clicklog, dureader, jsonl, sogouq, text
from corpus_tools.ingest.readers.records import Drop, Reject, SearchRecord
from corpus_tools.ingest.sources import InputError, read_head

SPLITS = ("search.train.json", "search.dev.json", "search.test.json")


def records(items) -> list[SearchRecord]:
    return [r for r in items if isinstance(r, SearchRecord)]


def raw_documents(path: Path) -> list[dict]:
    """The documents of a DuReader file in file order, parsed independently of the reader."""
    docs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            docs.extend(json.loads(line)["documents"])
    return docs


# --- DuReader ------------------------------------------------------------------------------


@pytest.mark.parametrize("split, selected, total", [("search.train.json", 9, 20), ("search.dev.json", 5, 10)])
def test_dureader_is_selected_maps_to_clicked_for_every_document(data, split, selected, total):
    path = data / "dureader" / split
    items = list(dureader.read(path, ReadOptions()))
    recs = records(items)
    assert len(recs) == len(items) == total
    assert [r.clicked for r in recs] == [d["is_selected"] for d in raw_documents(path)]
    assert sum(r.clicked for r in recs) == selected


def test_dureader_train_and_dev_have_14_selected_of_30_labelled_documents(data):
    recs = [r for split in SPLITS[:2] for r in dureader.read(data / "dureader" / split, ReadOptions())]
    assert (sum(r.clicked for r in recs), len(recs)) == (14, 30)


def test_dureader_test_split_records_have_clicked_none(data):
    recs = records(dureader.read(data / "dureader" / "search.test.json", ReadOptions()))
    assert len(recs) == 10
    assert all(r.clicked is None for r in recs)


@pytest.mark.parametrize("split", SPLITS)
def test_dureader_every_record_is_shown_with_a_nonempty_title_and_origin(data, split):
    path = data / "dureader" / split
    recs = records(dureader.read(path, ReadOptions()))
    assert recs and all(r.shown is True for r in recs)
    assert all(r.title.strip() and r.query.strip() for r in recs)
    assert [r.title for r in recs] == [d["title"] for d in raw_documents(path)]
    assert all(r.source == "dureader" and r.url == "" for r in recs)
    assert all(r.origin.startswith(f"{path}:") for r in recs)


def test_dureader_query_id_is_shared_by_the_documents_of_one_question(data):
    path = data / "dureader" / "search.dev.json"
    recs = records(dureader.read(path, ReadOptions()))
    by_query = defaultdict(list)
    for r in recs:
        by_query[r.query_id].append(r)
    assert sorted(by_query) == ["dureader:186572", "dureader:186573"]
    first = by_query["dureader:186572"]
    assert {r.query for r in first} == {"2017有什么好看的小说"}
    assert {r.origin for r in first} == {f"{path}:1"}
    # rank is bs_rank_pos (not the list index): this question's documents sit at 0, 1, 4, 6, 8
    assert [r.rank for r in first] == [0, 1, 4, 6, 8]
    assert [r.result_id for r in first][:3] == ["dureader:186572:0", "dureader:186572:1", "dureader:186572:4"]
    assert len({r.result_id for r in recs}) == len(recs)
    assert first[0].meta == {"question_type": "ENTITY", "fact_or_opinion": "OPINION"}


def test_dureader_rank_falls_back_to_the_index_and_missing_label_is_none(tmp_path):
    path = tmp_path / "mini.json"
    path.write_text(json.dumps({"question_id": 7, "question": "q", "documents": [{"title": "a"}, {"title": "b", "is_selected": True}]}) + "\n",
                    encoding="utf-8")
    recs = records(dureader.read(path, ReadOptions()))
    assert [(r.rank, r.clicked, r.result_id) for r in recs] == [(0, None, "dureader:7:0"), (1, True, "dureader:7:1")]
    assert recs[0].meta == {}


def test_dureader_malformed_and_incomplete_lines_are_rejected_and_reading_goes_on(data, tmp_path):
    lines = (data / "dureader" / "search.dev.json").read_text(encoding="utf-8").splitlines()
    path = tmp_path / "dev.json"
    path.write_text("\n".join([lines[0], '{"question": "broken', json.dumps({"question": "no docs", "question_id": 1}), lines[1]]) + "\n",
                    encoding="utf-8")
    items = list(dureader.read(path, ReadOptions()))
    rejects = [r for r in items if isinstance(r, Reject)]
    assert [(r.origin, r.reason) for r in rejects] == [(f"{path}:2", "malformed_json"), (f"{path}:3", "missing_field")]
    assert "\n" not in rejects[0].detail and rejects[0].snippet == '{"question": "broken'
    assert "documents" in rejects[1].detail
    assert len(records(items)) == 10
    assert {r.origin for r in records(items)} == {f"{path}:1", f"{path}:4"}


def test_dureader_sniff_accepts_the_samples_whose_first_line_is_longer_than_the_head(data):
    for split in SPLITS:
        path = data / "dureader" / split
        head = read_head(path)
        assert "\n" not in head  # the first record does not fit in the head
        assert dureader.sniff(path, head)
        assert not clicklog.sniff(path, head) and not sogouq.sniff(path, head) and not jsonl.sniff(path, head)


@pytest.mark.parametrize("sample", ["zh_corpus/CLUECorpusSmall_sampled.txt", "reddit/RS_2011-01_head.jsonl",
                                    "reddit/pushshift_comments_mixed.jsonl", "gutenberg/1342.txt", "eval/sst2/glue_dev.tsv"])
def test_searchlog_sniffers_reject_other_samples(data, sample):
    path = data / sample
    head = read_head(path)
    assert not dureader.sniff(path, head) and not clicklog.sniff(path, head) and not sogouq.sniff(path, head)


# --- SogouQ --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sogou_lines(data) -> list[list[str]]:
    """The sample's lines split into their 5 fields, parsed independently of the reader."""
    return [line.split("\t") for line in (data / "sogouq" / "SogouQ.sample").read_text(encoding="utf-8").splitlines()]


def test_sogouq_without_titles_raises_a_one_line_input_error_naming_titles(data):
    path = data / "sogouq" / "SogouQ.sample"
    with pytest.raises(InputError) as info:
        sogouq.read(path, ReadOptions())  # raised before any line is read, not on iteration
    message = str(info.value)
    assert "\n" not in message and "--titles" in message and str(path) in message


def test_sogouq_with_a_missing_titles_file_raises_a_one_line_input_error(data, tmp_path):
    with pytest.raises(InputError) as info:
        sogouq.read(data / "sogouq" / "SogouQ.sample", ReadOptions(titles=str(tmp_path / "absent.tsv")))
    assert "\n" not in str(info.value) and "absent.tsv" in str(info.value)


def test_sogouq_titles_come_from_the_table_and_untitled_urls_are_dropped(data, sogou_lines, tmp_path):
    path = data / "sogouq" / "SogouQ.sample"
    assert len(sogou_lines) == 10_000
    urls = list(dict.fromkeys(fields[4] for fields in sogou_lines[:300]))
    table = {url: f"标题 {i}" for i, url in enumerate(urls)}
    titles = tmp_path / "titles.tsv"
    titles.write_text("a line without a tab\n" + "".join(f"{u}\t{t}\n" for u, t in table.items()), encoding="utf-8")

    items = list(sogouq.read(path, ReadOptions(titles=str(titles))))
    recs = records(items)
    expected = [n for n, fields in enumerate(sogou_lines, 1) if fields[4] in table]
    assert [r.origin for r in recs] == [f"{path}:{n}" for n in expected]
    assert all(r.title == table[r.url] for r in recs)
    drops = [r for r in items if isinstance(r, Drop)]
    assert Counter(d.reason for d in drops) == {"no_title": 10_000 - len(expected)}
    assert not [r for r in items if isinstance(r, Reject)]

    first = recs[0]  # 00:00:00 2982199073774412 [360安全卫士] "8 3" download.it.com.cn/...
    assert (first.query, first.rank, first.shown, first.clicked) == ("360安全卫士", 7, True, True)
    assert first.url == "download.it.com.cn/softweb/software/firewall/antivirus/20067/17938.html"
    assert first.meta == {"time": "00:00:00", "user_id": "2982199073774412", "click_order": 3}
    assert first.result_id == "sogouq:SogouQ:1" and first.source == "sogouq"
    # queries are the text inside the brackets, ranks are 0-based
    for r in recs:
        fields = sogou_lines[int(r.origin.rsplit(":", 1)[1]) - 1]
        assert f"[{r.query}]" == fields[2]
        assert r.rank == int(fields[3].split()[0]) - 1 >= 0
    # URLs with literal escapes are matched as written
    escaped = [r for r in recs if "\\xa1" in r.url]
    assert escaped and escaped[0].title == table[escaped[0].url]


def test_sogouq_query_id_is_per_user_and_query(data, sogou_lines, tmp_path):
    titles = tmp_path / "titles.tsv"
    titles.write_text("".join(f"{fields[4]}\tt\n" for fields in sogou_lines), encoding="utf-8")
    recs = records(sogouq.read(data / "sogouq" / "SogouQ.sample", ReadOptions(titles=str(titles))))
    assert len(recs) == 10_000
    ids = defaultdict(set)
    for r in recs:
        ids[(r.meta["user_id"], r.query)].add(r.query_id)
    assert all(len(v) == 1 for v in ids.values())
    assert len({r.query_id for r in recs}) == len(ids)
    # the same query from two users (lines 2 and 19) gets two ids; one user's repeated query shares one
    assert recs[1].query == recs[18].query == "哄抢救灾物资" and recs[1].query_id != recs[18].query_id
    assert len([r for r in recs if r.meta["user_id"] == "7650543509505572" and r.query == "儿童孤独症的治疗"]) == 19


def test_sogouq_unparseable_line_is_rejected_and_reading_goes_on(data, sogou_lines, tmp_path):
    log = tmp_path / "log.sample"
    good = ["\t".join(fields) for fields in sogou_lines[:3]]
    log.write_text("\n".join([good[0], "00:00:00\tuser\tno brackets\t1 1\tx.com", good[1], "00:00:01\tu\t[q]\t0 1\tx.com", good[2]]) + "\n",
                   encoding="utf-8")
    titles = tmp_path / "titles.tsv"
    titles.write_text("".join(f"{fields[4]}\tt\n" for fields in sogou_lines[:3]), encoding="utf-8")
    items = list(sogouq.read(log, ReadOptions(titles=str(titles))))
    assert [(r.origin, r.reason) for r in items if isinstance(r, Reject)] == [(f"{log}:2", "malformed_line"), (f"{log}:4", "malformed_line")]
    assert [r.origin for r in records(items)] == [f"{log}:1", f"{log}:3", f"{log}:5"]


def test_sogouq_sniff_matches_the_sample_only(data):
    path = data / "sogouq" / "SogouQ.sample"
    head = read_head(path)
    assert sogouq.sniff(path, head)
    assert not dureader.sniff(path, head) and not clicklog.sniff(path, head) and not jsonl.sniff(path, head)
    assert text.sniff(path, head)  # the fallback accepts anything


# --- generic click logs --------------------------------------------------------------------

CLICKS = [
    {"query": "板蓝根颗粒的功效", "title": "板兰根冲剂_百度百科", "url": "baike.baidu.com/x", "shown": True, "clicked": True, "rank": 0},
    {"query": "板蓝根颗粒的功效", "title": "板蓝根的功效多", "url": "", "shown": "yes", "clicked": "No", "rank": 1},
    {"query": "oracle 时间格式", "title": "oracle常用的时间格式转换", "clicked": "1", "query_id": "q7"},
    {"query": "oracle 时间格式", "title": "在oracle中怎么定义时间格式", "shown": "FALSE", "clicked": "0", "rank": "3"},
]


def tsv_cell(value) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


@pytest.fixture
def click_files(tmp_path) -> tuple[Path, Path]:
    jsonl_path = tmp_path / "clicks.jsonl"
    jsonl_path.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in CLICKS), encoding="utf-8")
    columns = ["query_id", "query", "title", "url", "shown", "clicked", "rank"]
    tsv_path = tmp_path / "clicks.tsv"
    rows = ["\t".join(columns)] + ["\t".join(tsv_cell(c.get(k, "")) for k in columns) for c in CLICKS]
    tsv_path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return jsonl_path, tsv_path


def comparable(r: SearchRecord) -> tuple:
    return (r.query_id, r.query, r.title, r.url, r.shown, r.clicked, r.rank, r.source, r.meta)


def test_clicklog_jsonl_and_tsv_give_the_same_records(click_files):
    jsonl_path, tsv_path = click_files
    from_json = list(clicklog.read(jsonl_path, ReadOptions()))
    from_tsv = list(clicklog.read(tsv_path, ReadOptions()))
    assert all(isinstance(r, SearchRecord) for r in from_json + from_tsv)
    assert [comparable(r) for r in from_json] == [comparable(r) for r in from_tsv]
    assert [(r.shown, r.clicked, r.rank) for r in from_json] == [(True, True, 0), (True, False, 1), (True, True, None), (False, False, 3)]
    assert [r.result_id.rsplit(":", 1)[1] for r in from_json] == ["1", "2", "3", "4"]
    assert [r.origin for r in from_tsv] == [f"{tsv_path}:{n}" for n in (2, 3, 4, 5)]


def test_clicklog_query_id_is_a_stable_hash_of_the_query_unless_given(click_files):
    recs = list(clicklog.read(click_files[0], ReadOptions()))
    assert recs[0].query_id == recs[1].query_id == "clicklog:" + clicklog.query_hash("板蓝根颗粒的功效")
    assert recs[0].query_id != recs[3].query_id
    assert recs[2].query_id == "clicklog:q7"
    assert [r.query_id for r in clicklog.read(click_files[0], ReadOptions())] == [r.query_id for r in recs]


def test_clicklog_clicked_but_not_shown_is_rejected(tmp_path):
    path = tmp_path / "clicks.jsonl"
    path.write_text(json.dumps({"query": "q", "title": "t", "shown": "no", "clicked": "yes"}) + "\n"
                    + json.dumps({"query": "q", "title": "t2", "clicked": False}) + "\n", encoding="utf-8")
    items = list(clicklog.read(path, ReadOptions()))
    assert isinstance(items[0], Reject) and (items[0].origin, items[0].reason) == (f"{path}:1", "clicked_not_shown")
    assert isinstance(items[1], SearchRecord) and items[1].shown is True and items[1].clicked is False


def test_clicklog_missing_fields_bad_booleans_and_broken_lines_are_rejected(tmp_path):
    path = tmp_path / "clicks.jsonl"
    path.write_text("\n".join([
        json.dumps({"query": "q", "clicked": True}),
        json.dumps({"query": "q", "title": "t", "clicked": "maybe"}),
        '{"query": "q", "title": ',
        json.dumps({"query": "q", "title": "t", "clicked": True}),
    ]) + "\n", encoding="utf-8")
    items = list(clicklog.read(path, ReadOptions()))
    assert [(r.origin, r.reason) for r in items if isinstance(r, Reject)] == [
        (f"{path}:1", "missing_field"), (f"{path}:2", "bad_value"), (f"{path}:3", "malformed_json")]
    assert "title" in items[0].detail and "clicked" in items[1].detail
    assert [r.origin for r in records(items)] == [f"{path}:4"]


def test_clicklog_tsv_row_with_the_wrong_number_of_cells_is_rejected(tmp_path):
    path = tmp_path / "clicks.tsv"
    path.write_text("Query\tTitle\tClicked\nq\tt\ttrue\nq\tonly two\n", encoding="utf-8")
    items = list(clicklog.read(path, ReadOptions()))
    assert isinstance(items[0], SearchRecord) and items[0].clicked is True
    assert isinstance(items[1], Reject) and (items[1].origin, items[1].reason) == (f"{path}:3", "malformed_line")


def test_clicklog_sniff_accepts_jsonl_and_tsv_headers(click_files, tmp_path):
    for path in click_files:
        assert clicklog.sniff(path, read_head(path))
        assert not dureader.sniff(path, read_head(path)) and not sogouq.sniff(path, read_head(path))
    other = tmp_path / "other.tsv"
    other.write_text("query\ttitle\turl\nq\tt\tu\n", encoding="utf-8")
    assert not clicklog.sniff(other, read_head(other))
