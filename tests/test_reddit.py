"""Reddit reader, thread assembly and markdown, on the real Pushshift samples."""
from __future__ import annotations

import bz2
import json
from collections import Counter
from pathlib import Path

import pytest
import zstandard

from corpus_tools.ingest import formats
from corpus_tools.ingest.readers.options import ReadOptions
from corpus_tools.ingest.markup import to_sections
from corpus_tools.ingest.markup.markdown import markdown_paragraphs
from corpus_tools.ingest.readers import reddit
from corpus_tools.ingest.readers.records import Drop, RawDoc, Reject

COMMENTS = "pushshift_comments_mixed.jsonl"
SUBMISSIONS = "pushshift_submissions_mixed.jsonl"
# file -> (records, docs, drops by reason)
EXPECTED = {
    COMMENTS: (27, 23, {"deleted": 2, "removed": 2}),
    SUBMISSIONS: (31, 10, {"empty": 20, "removed": 1}),
    "RS_2011-01_head.jsonl": (97, 24, {"empty": 73}),
    "RS_2017-09_head.jsonl": (500, 129, {"empty": 249, "deleted": 78, "removed": 44}),
}


def sample(data: Path, name: str) -> Path:
    return data / "reddit" / name


def split(items):
    docs = [i for i in items if isinstance(i, RawDoc)]
    drops = Counter(i.reason for i in items if isinstance(i, Drop))
    rejects = [i for i in items if isinstance(i, Reject)]
    return docs, drops, rejects


@pytest.mark.parametrize("name", EXPECTED)
def test_every_record_is_a_doc_a_drop_or_a_reject(data, name):
    path = sample(data, name)
    records, n_docs, drops_by_reason = EXPECTED[name]
    assert len(path.read_text(encoding="utf-8").splitlines()) == records
    docs, drops, rejects = split(list(reddit.read(path, ReadOptions())))
    assert (len(docs), dict(drops), rejects) == (n_docs, drops_by_reason, [])
    assert len(docs) + sum(drops.values()) + len(rejects) == records


@pytest.mark.parametrize("name", EXPECTED)
def test_deleted_and_removed_bodies_never_reach_a_doc(data, name):
    for doc in reddit.read(sample(data, name), ReadOptions()):
        if isinstance(doc, RawDoc):
            assert doc.text.strip() and doc.text.strip() not in ("[deleted]", "[removed]")
            assert doc.markup == "markdown" and doc.source == "reddit"
            assert isinstance(doc.meta["created_utc"], int)


def test_comment_schemas_from_2005_to_2024_parse_alike(data):
    path = sample(data, COMMENTS)
    docs = {int(d.origin.rsplit(":", 1)[1]): d for d in reddit.read(path, ReadOptions()) if isinstance(d, RawDoc)}
    # line 1: float created_utc and a name; line 11: string created_utc; line 16: int, no name (2005)
    assert (docs[1].doc_id, docs[1].meta["created_utc"]) == ("reddit:t1_kod0bkd", 1706745600)
    assert (docs[11].doc_id, docs[11].meta["created_utc"]) == ("reddit:t1_c0cmuol", 1251763200)
    assert (docs[16].doc_id, docs[16].meta["created_utc"]) == ("reddit:t1_c13", 1134365188)
    assert docs[16].meta == {"kind": "comment", "subreddit": "reddit.com", "created_utc": 1134365188,
                             "link_id": "t3_17863", "parent_id": "t3_17863", "score": docs[16].meta["score"],
                             "author": docs[16].meta["author"]}
    assert docs[16].text == "A look at Vietnam and Mexico exposes the myth of market liberalisation."
    assert docs[16].title == "" and docs[16].origin == f"{path}:16"
    assert docs[27].doc_id == "reddit:t1_c63fp23"  # the last line, which has no newline


def test_submissions_carry_title_and_selftext_and_get_t3_names(data):
    docs = [d for d in reddit.read(sample(data, "RS_2017-09_head.jsonl"), ReadOptions()) if isinstance(d, RawDoc)]
    first = docs[0]  # no "name" field in this dump
    assert (first.doc_id, first.title) == ("reddit:t3_6xauxp", "[H] Gut Knife | Vanilla [W] 25k")
    assert first.text.startswith("I have a Gut Knife | Vanilla, looking for b/o 25 keys.")
    assert first.meta["kind"] == "submission" and first.meta["subreddit"] == "GlobalOffensiveTrade"
    assert "link_id" not in first.meta


def test_a_malformed_line_becomes_a_reject_with_file_and_line(data, tmp_path):
    lines = sample(data, COMMENTS).read_text(encoding="utf-8").splitlines()
    lines[4] = lines[4][:60]  # cut record 5 short
    lines.insert(8, "[1, 2, 3]")  # a JSON value that is not an object
    lines.insert(9, '{"subreddit": "x", "score": 3}')  # neither body nor title
    path = tmp_path / "RC_broken.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    docs, drops, rejects = split(list(reddit.read(path, ReadOptions())))
    assert [(r.origin, r.reason) for r in rejects] == [
        (f"{path}:5", "malformed_json"), (f"{path}:9", "missing_field"), (f"{path}:10", "missing_field")]
    assert rejects[0].snippet == lines[4] and rejects[0].detail
    assert len(docs) == 22 and sum(drops.values()) == 4  # the 26 other records are kept


def test_an_overlong_line_is_rejected_and_the_rest_kept(data, tmp_path):
    lines = sample(data, COMMENTS).read_text(encoding="utf-8").splitlines()
    path = tmp_path / "RC_long.jsonl"
    path.write_text("\n".join(lines[15:20]) + "\n", encoding="utf-8")  # records 16-20, 2005
    longest = max(range(5), key=lambda i: len(lines[15 + i]))
    options = ReadOptions(max_line_chars=len(lines[15 + longest]))
    items = list(reddit.read(path, options))
    assert [(r.origin, r.reason) for r in items if isinstance(r, Reject)] == [(f"{path}:{longest + 1}", "line_too_long")]
    assert len(items) == 5


def test_compressed_copies_read_identically(data, tmp_path):
    raw = sample(data, SUBMISSIONS).read_bytes()
    (tmp_path / "s.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(raw))
    (tmp_path / "s.jsonl.bz2").write_bytes(bz2.compress(raw))

    def key(path: Path):
        return [(type(i).__name__, getattr(i, "doc_id", ""), getattr(i, "text", ""), getattr(i, "meta", {}),
                 getattr(i, "reason", ""), getattr(i, "origin", ":").rsplit(":", 1)[1])
                for i in reddit.read(path, ReadOptions())]

    plain = key(sample(data, SUBMISSIONS))
    assert key(tmp_path / "s.jsonl.zst") == plain
    assert key(tmp_path / "s.jsonl.bz2") == plain


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_assemble_threads_groups_a_submission_and_its_comments_in_time_order(tmp_path):
    comments = write_jsonl(tmp_path / "RC_hand.jsonl", [
        {"id": "c3", "body": "Third, but listed first.", "link_id": "t3_abc", "parent_id": "t1_c1",
         "created_utc": "1500000300", "subreddit": "books"},
        {"id": "c1", "body": "First &amp; [best](https://example.com).", "link_id": "t3_abc", "parent_id": "t3_abc",
         "created_utc": 1500000100, "subreddit": "books"},
        {"id": "gone", "body": "[deleted]", "link_id": "t3_abc", "created_utc": 1500000150, "subreddit": "books"},
        {"id": "c2", "body": "Second.", "link_id": "t3_abc", "created_utc": 1500000200.0, "subreddit": "books"},
        {"id": "o1", "body": "A comment on a post we do not have.", "link_id": "t3_zzz", "created_utc": 1,
         "subreddit": "misc"},
    ])
    submissions = write_jsonl(tmp_path / "RS_hand.jsonl", [
        {"id": "abc", "title": "A link post", "selftext": "", "created_utc": 1500000000, "subreddit": "books",
         "url": "https://example.com/article"},
        {"id": "lonely", "title": "Nobody answered", "selftext": "", "created_utc": 1500000000, "subreddit": "books"},
    ])
    options = ReadOptions(reddit_threads=True)
    items = [*reddit.read(comments, options), *reddit.read(submissions, options)]
    out = list(reddit.assemble_threads(items))
    drops = out[:4]  # passed through at once; c1, c2 and abc join c3's thread: each record is counted once
    assert [d.reason for d in drops] == ["merged_into_thread", "deleted", "merged_into_thread", "merged_into_thread"]
    thread, orphan, lonely = out[4:]  # 7 records in, 7 out
    assert thread.doc_id == "reddit:thread:t3_abc" and thread.title == "A link post"
    assert thread.text == "First &amp; [best](https://example.com).\n\nSecond.\n\nThird, but listed first."
    assert thread.meta == {"kind": "thread", "link_id": "t3_abc", "n_comments": 3, "subreddit": "books",
                           "created_utc": 1500000000}
    assert thread.origin == f"{submissions}:1"
    assert markdown_paragraphs(thread.text) == [("", "First & best."), ("", "Second."), ("", "Third, but listed first.")]
    assert (orphan.doc_id, orphan.title, orphan.meta["n_comments"]) == ("reddit:thread:t3_zzz", "", 1)
    assert lonely == Drop("empty")  # a link post with no comments has no text


def test_link_posts_are_drops_outside_thread_mode_and_anchors_inside(data):
    path = sample(data, SUBMISSIONS)
    assert Counter(type(i).__name__ for i in reddit.read(path, ReadOptions())) == {"RawDoc": 10, "Drop": 21}
    anchors = [d for d in reddit.read(path, ReadOptions(reddit_threads=True))]
    assert all(isinstance(d, RawDoc) for d in anchors) and len(anchors) == 31
    memo = next(d for d in anchors if d.doc_id == "reddit:t3_1v3sg")
    assert (memo.text, memo.title, memo.meta["selftext_status"]) == ("", "NUMBERS & WEB SITES", "empty")


def test_markdown_links_reduce_to_their_label_and_urls_vanish(data):
    docs = {d.doc_id: d for d in reddit.read(sample(data, COMMENTS), ReadOptions()) if isinstance(d, RawDoc)}
    paragraphs = [p for _, p in to_sections("markdown", docs["reddit:t1_kod0bke"].text)]
    assert "You predicted the price of Bitcoin would drop below $35,001.00 by Jan 31 2024 23:59:59 UTC" in paragraphs
    assert not any("http" in p or "](" in p for p in paragraphs)
    assert markdown_paragraphs(docs["reddit:t1_c0cmuol"].text) == [
        ("", "um. proves that we were the original CMU. take THAT")]  # www.cmu.edu and *emphasis*
    assert markdown_paragraphs(docs["reddit:t1_c0cmuoo"].text)[0] == (
        "", "Nebraska Diocese of Grand Island (no priests listed in the database)")  # &gt; quotes


def test_markdown_strips_markup_and_keeps_words():
    text = ("# Title\n\n&gt; quoted\n&gt; on two lines\n\n- one\n- **two**\n1. ~~three~~ ^four\n\n"
            "```\ncode()\n```\n\n    indented_code()\n\n|a|b|\n|--|--|\n|c|d|\n\n* * *\n\n&amp;#x200B;\n\n"
            "see [the docs](https://example.com/x_(y)) or <https://example.org> \\*literally\\* u/some_user")
    assert markdown_paragraphs(text) == [
        ("", "Title"), ("", "quoted on two lines"), ("", "one two three four"), ("", "a b c d"),
        ("", "see the docs or *literally* u/some_user")]


@pytest.mark.parametrize("name", EXPECTED)
def test_detect_picks_reddit_for_the_samples(data, name):
    assert formats.detect(sample(data, name)) == "reddit"


def test_sniff_looks_at_the_content_when_the_name_says_nothing(data):
    for name in EXPECTED:
        head = sample(data, name).read_text(encoding="utf-8")[:8192]
        assert reddit.sniff(Path("dump.jsonl"), head), name
    assert not reddit.sniff(Path("x.jsonl"), '{"text": "hello", "subreddit": "x"}')
    assert not reddit.sniff(data / "gutenberg" / "1342.txt", "The Project Gutenberg EBook")
