"""What unseen real data does to ingest: language identification, binary and garbage input, XML that is
not a dump, sentences without punctuation, terminal escapes, tabular text, counts that add up for every
format, and failed runs that leave nothing behind. All on the samples in ../shared/data, or files built
from them."""
from __future__ import annotations

import csv
import gzip
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from corpus_tools.ingest.ingest import IngestConfig, ingest
from corpus_tools.ingest.readers.options import ReadOptions
from corpus_tools.text.normalize import normalize
from corpus_tools.ingest.process import TextSettings
from corpus_tools.ingest.sources import InputError
from helpers import read_dataset, rejects, stats


def run_cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "corpus_tools.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def one_line_error(result: subprocess.CompletedProcess) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("ingest ")]
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    return lines[0]


def texts(out: Path) -> list[str]:
    rows = read_dataset(out).column("paragraphs").to_pylist()
    return [" ".join(s for p in paragraphs for s in p) for paragraphs in rows]


def adds_up(s: dict) -> bool:
    parts = [s.get(group, {}) for group in ("dropped", "rejected", "dedup")]
    return s["records"] == s["kept"] + sum(sum(p.values()) for p in parts)


@pytest.fixture(scope="module")
def imdb(data) -> list[str]:
    with open(data / "imdb_unsup" / "unsup_12k.txt", encoding="utf-8") as fh:
        return [next(fh).strip() for _ in range(40)]


@pytest.fixture(scope="module")
def clue(data) -> list[str]:
    with open(data / "zh_corpus" / "CLUECorpusSmall_sampled.txt", encoding="utf-8") as fh:
        return [next(fh).strip() for _ in range(40)]


# --- 2. language identification ------------------------------------------------------------


def test_german_reddit_posts_are_identified_and_dropped_not_labelled_english(data, tmp_path):
    head = tmp_path / "RS_2017-09_head.jsonl"  # the first 40 submissions: one German, line 24
    head.write_text("".join((data / "reddit" / "RS_2017-09_head.jsonl").read_text(encoding="utf-8")
                            .splitlines(keepends=True)[:40]), encoding="utf-8")
    files = [head, data / "reddit" / "pushshift_submissions_mixed.jsonl"]
    result = ingest(files, tmp_path / "out", IngestConfig(text=TextSettings(lang="en,zh")))
    s = result.stats
    assert s["dropped"]["lang"] == 2 and s["dropped_lang"] == {"de": 2}  # "Gerade ist es ...", "Spielt Guerreiro ..."
    kept = " ".join(texts(tmp_path / "out"))
    assert "Gerade ist es" not in kept and "Spielt Guerreiro" not in kept
    assert set(s["lang"]) == {"en"} and adds_up(s)


def test_lang_en_keeps_the_english_reviews_and_counts_the_chinese_documents_as_dropped(imdb, clue, tmp_path):
    mixed = tmp_path / "mixed.txt"
    mixed.write_text("\n".join(x for pair in zip(imdb[:20], clue[:20]) for x in pair) + "\n", encoding="utf-8")
    result = ingest([mixed], tmp_path / "en", IngestConfig(text=TextSettings(lang="en")))
    assert result.stats["lang"] == {"en": 20}
    assert result.stats["dropped"]["lang"] == 20 and result.stats["dropped_lang"] == {"zh": 20}
    result = ingest([mixed], tmp_path / "all", IngestConfig())
    assert result.stats["lang"] == {"en": 20, "zh": 20}
    with pytest.raises(InputError, match="--lang: fr: datasets hold en and zh only"):
        ingest([mixed], tmp_path / "x", IngestConfig(text=TextSettings(lang="fr")))
    assert not (tmp_path / "x").exists()


# --- 3. binary and garbage input, XML that is not a dump --------------------------------------


def test_a_binary_file_is_refused_in_one_line_and_read_only_with_force(data, tmp_path):
    blob = tmp_path / "corpus.txt"  # a gzip archive saved under a text name: bytes, not text
    with open(data / "zh_corpus" / "CLUECorpusSmall_sampled.txt", "rb") as fh:
        blob.write_bytes(gzip.compress(b"".join(next(fh) for _ in range(300))))
    result = run_cli("ingest", blob, "--out", tmp_path / "out", "--quiet")
    line = one_line_error(result)
    assert str(blob) in line and "--force" in line
    assert not (tmp_path / "out").exists()

    with pytest.raises(InputError, match="--force"):  # the library refuses it the same way
        ingest([blob], tmp_path / "out", IngestConfig())
    ingest([blob], tmp_path / "forced", IngestConfig(read=ReadOptions(force=True)))
    s = stats(tmp_path / "forced")
    assert s["rejected"]["garbage"] >= 0.9 * s["records"] and adds_up(s)
    assert all(r["reason"] == "garbage" for r in rejects(tmp_path / "forced"))


def test_a_record_of_binary_junk_is_a_counted_reject_among_good_records(data, imdb, tmp_path):
    junk = gzip.compress(imdb[0].encode()).replace(b"\n", b" ").replace(b"\r", b" ")
    path = tmp_path / "reviews.txt"
    path.write_bytes(("\n".join(imdb[:10]) + "\n").encode() + junk + b"\n" + ("\n".join(imdb[10:20]) + "\n").encode())
    result = ingest([path], tmp_path / "out", IngestConfig())
    assert result.stats["kept"] == 20 and result.stats["rejected"] == {"garbage": 1}
    assert [r["origin"] for r in rejects(tmp_path / "out")] == [f"{path}:11"]


def test_xml_with_entities_or_another_root_is_refused_before_any_output(data, tmp_path):
    dump = (data / "enwiki_xml" / "enwiki-10k.xml").read_text(encoding="utf-8")
    bomb = tmp_path / "bomb.xml"
    bomb.write_text('<?xml version="1.0"?>\n<!DOCTYPE mediawiki [<!ENTITY a "aaaaaaaaaa">'
                    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>\n' + dump.replace("Anarchism", "&b;"),
                    encoding="utf-8")
    line = one_line_error(run_cli("ingest", bomb, "--out", tmp_path / "out", "--quiet"))
    assert "entity" in line and str(bomb) in line and not (tmp_path / "out").exists()
    lexicon = data / "discourse_markers" / "zh_cdtb_connectives_dimlex.xml"  # real XML, another root
    for fmt in ("auto", "text"):
        with pytest.raises(InputError, match="not a MediaWiki dump .root element <dimlex>"):
            ingest([lexicon], tmp_path / "lex", IngestConfig(fmt=fmt))
    assert not (tmp_path / "lex").exists()


# --- 4. sentences without punctuation -------------------------------------------------------


def test_unpunctuated_text_is_cut_near_the_bound_at_clause_breaks_or_spaces(imdb, clue, tmp_path):
    flat = [re.sub(r"<br\s*/?>|[.!?]", " ", line).lower() for line in imdb]
    flat_zh = [re.sub(r"[。！？；;!?…]", "", line) for line in clue]
    path = tmp_path / "flat.txt"
    path.write_text("\n".join(flat + flat_zh) + "\n", encoding="utf-8")
    result = ingest([path], tmp_path / "out", IngestConfig(text=TextSettings(max_sentence_chars=200)))
    rows = read_dataset(tmp_path / "out").to_pylist()
    sentences = [s for row in rows for p in row["paragraphs"] for s in p]
    assert max(map(len, sentences)) <= 200
    long_docs = sum(len(t) // 200 for t in flat + flat_zh if len(t) > 200)
    assert result.stats["forced_splits"] >= long_docs > 0
    squeeze = lambda text: re.sub(r"\s", "", normalize(text))  # noqa: E731
    originals = {squeeze(t): normalize(t) for t in flat + flat_zh}
    for row in rows:  # nothing is lost: the pieces put back together are the document
        pieces = [s for p in row["paragraphs"] for s in p]
        original = originals[squeeze("".join(pieces))]
        if row["lang"] == "en":  # and English is cut between words, never inside one
            assert " ".join(pieces) == original
    ends = [s[-1] for row in rows if row["lang"] == "en" for p in row["paragraphs"] for s in p[:-1]]
    assert len(ends) > 10 and sum(e in ",;:)" for e in ends) >= len(ends) // 3  # clause breaks preferred


# --- 5. terminal escape sequences -----------------------------------------------------------


def test_ansi_colour_and_title_sequences_are_removed_whole(imdb, tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_text("\n".join(imdb[:10]) + "\n", encoding="utf-8")
    coloured = tmp_path / "coloured.txt"
    lines = [f"\x1b[1;32m{line[:50]}\x1b[0m{line[50:]}" if i % 3 == 0 else
             f"\x1b]0;terminal title\x07{line}" if i % 3 == 1 else f"[31m{line[:40]}[0m{line[40:]}"
             for i, line in enumerate(imdb[:10])]
    coloured.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ingest([plain], tmp_path / "a", IngestConfig())
    ingest([coloured], tmp_path / "b", IngestConfig())
    assert texts(tmp_path / "a") == texts(tmp_path / "b")
    assert not any(re.search(r"\[\d*m|\x1b|terminal title", t) for t in texts(tmp_path / "b"))


# --- 6. tabular text ------------------------------------------------------------------------


def test_tsv_text_field_by_name_or_index_keeps_the_label_out_of_the_text(data, tmp_path):
    source = data / "eval" / "chnsenticorp" / "dev.tsv"  # label<TAB>text_a, with a header
    rows = [line.split("\t") for line in source.read_text(encoding="utf-8").splitlines()[1:81]]
    named = tmp_path / "named.tsv"
    named.write_text("label\ttext_a\n" + "".join(f"{a}\t{b}\n" for a, b in rows), encoding="utf-8")
    headerless = tmp_path / "headerless.tsv"
    headerless.write_text("".join(f"{a}\t{b}\n" for a, b in rows), encoding="utf-8")
    as_csv = tmp_path / "rows.csv"
    with open(as_csv, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows([["label", "text_a"], *rows])

    by_name = ingest([named], tmp_path / "a", IngestConfig(read=ReadOptions(text_field="text_a"), fmt="auto"))
    ingest([headerless], tmp_path / "b", IngestConfig(read=ReadOptions(text_field="1"), fmt="tsv"))
    ingest([as_csv], tmp_path / "c", IngestConfig(read=ReadOptions(text_field="text_a")))
    first = texts(tmp_path / "a")
    assert first == texts(tmp_path / "b") == texts(tmp_path / "c") and by_name.stats["kept"] == len(first) > 70
    assert not any(re.match(r"[01]\s", t) for t in first)  # no label glued to the front
    metas = [json.loads(m) for m in read_dataset(tmp_path / "a").column("meta").to_pylist()]
    assert {m["label"] for m in metas} == {"0", "1"}
    with pytest.raises(InputError, match=r"no column 'text' in the header \(label, text_a\); pass --text-field"):
        ingest([named], tmp_path / "x", IngestConfig())  # the default --text-field is "text"
    assert not (tmp_path / "x").exists()


# --- 7. counts that add up, for every reader --------------------------------------------------


def _searchlog_inputs(data: Path, tmp: Path) -> dict[str, list[Path]]:
    lines = (data / "sogouq" / "SogouQ.sample").read_text(encoding="utf-8").splitlines()[:400]
    log = tmp / "SogouQ.sample"
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    urls = list(dict.fromkeys(line.split("\t")[4] for line in lines if line.count("\t") >= 4))[:150]
    (tmp / "titles.tsv").write_text("".join(f"{u}\t标题 {i}\n" for i, u in enumerate(urls)), encoding="utf-8")
    clicks = tmp / "clicks.tsv"
    dev = (data / "dureader" / "search.dev.json").read_text(encoding="utf-8")
    records = [json.loads(line) for line in dev.splitlines()]
    rows = [(r["question_id"], r["question"], d["title"], "1", "1" if d.get("is_selected") else "0")
            for r in records for d in r["documents"]]
    clicks.write_text("query_id\tquery\ttitle\tshown\tclicked\n" + "".join("\t".join(map(str, x)) + "\n" for x in rows),
                      encoding="utf-8")
    return {"sogouq": [log], "clicklog": [clicks], "dureader": [data / "dureader" / "search.dev.json"]}


FORMAT_SAMPLES = {
    "wiki-xml": ["enwiki_xml/enwiki-10k.xml"],
    "wikiextractor": [],
    "books": ["gutenberg/84-0.txt"],
    "reddit": ["reddit/pushshift_comments_mixed.jsonl", "reddit/pushshift_submissions_mixed.jsonl"],
    "reddit-threads": ["reddit/pushshift_comments_mixed.jsonl", "reddit/pushshift_submissions_mixed.jsonl"],
    "jsonl": ["zhwiki_extracted/wiki_00.jsonl"],
    "text": [],
    "tsv": ["eval/sst2/glue_dev.tsv"],
    "csv": [],
    "dureader": [], "clicklog": [], "sogouq": [],
}


@pytest.mark.parametrize("fmt", list(FORMAT_SAMPLES))
def test_every_record_read_is_kept_dropped_rejected_or_deduplicated(fmt, data, tmp_path):
    inputs = [data / p for p in FORMAT_SAMPLES[fmt]]
    read = ReadOptions()
    if fmt in ("dureader", "clicklog", "sogouq"):
        inputs = _searchlog_inputs(data, tmp_path)[fmt]
        read = ReadOptions(titles=str(tmp_path / "titles.tsv"))
    elif fmt == "tsv":
        read = ReadOptions(text_field="sentence")
    elif fmt == "csv":
        rte = (data / "eval" / "rte" / "dev.tsv").read_text(encoding="utf-8")
        rows = [line.split("\t") for line in rte.splitlines()]
        with open(tmp_path / "rte.csv", "w", encoding="utf-8", newline="") as fh:
            csv.writer(fh).writerows(rows + [rows[1][:1]])  # and one short row: a reject
        inputs, read = [tmp_path / "rte.csv"], ReadOptions(text_field="sentence1")
    elif fmt == "jsonl":
        read = ReadOptions(text_field="text")
        inputs = [tmp_path / "docs.jsonl"]
        lines = (data / "zhwiki_extracted" / "wiki_00.jsonl").read_text(encoding="utf-8").splitlines()[:20]
        odd = ['{"text": "  "}', '{"text": "。。。！"}', "not json"]
        inputs[0].write_text("\n".join(lines + odd + lines[:3]) + "\n", encoding="utf-8")
    elif fmt == "wikiextractor":  # the first 5 articles of each form, and one twice: a duplicate id
        doc = (data / "enwiki_extracted" / "wiki_00.doc").read_text(encoding="utf-8")
        end = doc.index("</doc>", doc.index('<doc id="736"')) + len("</doc>\n")
        (tmp_path / "wiki.doc").write_text(doc[:end], encoding="utf-8")
        lines = (data / "enwiki_extracted" / "wiki_00.jsonl").read_text(encoding="utf-8").splitlines()[:5]
        (tmp_path / "wiki.jsonl").write_text("\n".join(lines + lines[:1]) + "\n", encoding="utf-8")
        inputs = [tmp_path / "wiki.doc", tmp_path / "wiki.jsonl"]
    elif fmt == "text":
        lines = (data / "zh_corpus" / "CLUECorpusSmall_sampled.txt").read_text(encoding="utf-8").splitlines()[:300]
        (tmp_path / "clue.txt").write_text("\n".join(lines + ["", "* * *", "……", "12345"]) + "\n", encoding="utf-8")
        inputs = [tmp_path / "clue.txt"]
    elif fmt == "reddit-threads":
        read = ReadOptions(reddit_threads=True)
    config = IngestConfig(fmt="reddit" if fmt == "reddit-threads" else fmt, read=read)
    result = ingest(inputs, tmp_path / "out", config)
    s = result.stats
    assert s["records"] > 0 and adds_up(s), s
    assert s["kept"] == len(read_dataset(tmp_path / "out"))
    if fmt == "jsonl":  # whitespace-only and punctuation-only documents are empty; copies are duplicates
        assert s["dropped"]["empty"] == 2 and s["rejected"] == {"malformed_json": 1}
        assert sum(s["dedup"].values()) == 3
    if fmt == "csv":
        assert s["rejected"] == {"malformed_row": 1}
    if fmt == "text":  # "* * *", "……" and "12345": documents without words are empty
        assert s["dropped"] == {"empty": 3} and s["kept"] + sum(s.get("dedup", {}).values()) == 300
    if fmt == "wikiextractor":
        assert s["dedup"]["duplicate_id"] >= 1


# --- 8. a failed run leaves nothing that blocks the rerun ------------------------------------


def test_an_ingest_that_fails_before_its_first_shard_leaves_no_output(imdb, tmp_path):
    path = tmp_path / "reviews.txt"
    path.write_text("\n".join(imdb[:5]) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    bad = IngestConfig(text=TextSettings(spacy_model="no_such_spacy_model"))  # fails in the first batch
    with pytest.raises(InputError, match="no_such_spacy_model"):
        ingest([path], out, bad)
    assert not out.exists()
    out.mkdir()  # a crash (kill -9) leaves the manifest of an unstarted run: a plain rerun replaces it
    (out / "manifest.json").write_text(json.dumps({"kind": "documents", "complete": False, "shards": []}))
    assert ingest([path], out, IngestConfig()).stats["kept"] == 5
