"""Eval-set decontamination on real text: SST-2 and ChnSentiCorp dev sentences planted in IMDb
reviews and CLUE documents, whole and edited. Whole ones go, edited ones go or stay as n says,
and nothing else goes (the kept doc_ids are compared exactly)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from corpus_tools.cli import main
from corpus_tools.decontam.contamination import DecontaminationConfig
from corpus_tools.decontam.decontaminate import decontaminate
from corpus_tools.decontam.eval_sets import read_eval
from corpus_tools.ingest.ingest import IngestConfig, ingest
from corpus_tools.ingest.process import TextSettings
from corpus_tools.run.engine import Parallel
from corpus_tools.decontam.decontaminate import eval_sets
from tests.helpers import read_dataset, shard_digests, stats

REVIEWS, CLUE_DOCS = 120, 60


def sst(data, line: int) -> str:
    """SST-2 dev line `line` (1-based, header = 1) as a person would write it: the PTB tokens
    joined back, first letter capitalized, a final period."""
    text = (data / "eval" / "sst2" / "glue_dev.tsv").read_text(encoding="utf-8").split("\n")[line - 1].split("\t")[0]
    text = text.strip()
    for token, joined in ((" n't", "n't"), (" 's", "'s"), (" ,", ","), (" .", "."), (" ?", "?"), (" !", "!")):
        text = text.replace(token, joined)
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".?!" else text + "."


def senti(data, line: int) -> str:
    return (data / "eval" / "chnsenticorp" / "dev.tsv").read_text(encoding="utf-8").split("\n")[line - 1].split("\t")[1]


def every(text: str, step: int, replacement: str) -> str:
    """Replace every `step`-th word (en) or Han character (zh) of `text`."""
    if " " in text:
        words = text.split(" ")
        return " ".join(replacement if i % step == step - 1 else w for i, w in enumerate(words))
    return "".join(replacement if i % step == step - 1 and "\u4e00" <= c <= "\u9fff" else c for i, c in enumerate(text))


def after_first_sentence(doc: str, planted: str, end: str) -> str:
    """`planted` as a sentence of its own after the first sentence of `doc` (first if there is none)."""
    if end not in doc:
        return planted + " " + doc
    cut = doc.index(end) + len(end)
    return doc[:cut] + (" " if end == ". " else "") + planted + (" " if end == ". " else "") + doc[cut:]


@pytest.fixture(scope="module")
def corpus(data, tmp_path_factory):
    """Real reviews and documents with eval text planted in some; `remove` and `keep` say which
    document ids decontamination at the defaults (13 words, 20 characters) must remove and which
    planted ones it must keep."""
    root = tmp_path_factory.mktemp("decontaminate")
    reviews = (data / "imdb_unsup" / "unsup_12k.txt").read_text(encoding="utf-8").splitlines()[:REVIEWS]
    plant = {
        11: after_first_sentence(reviews[10], sst(data, 13), ". "),  # whole long sentence
        21: after_first_sentence(reviews[20], sst(data, 57), ". "),  # whole short sentence (5 words < 13)
        # edited: every 4th word changed, so no 13 consecutive words are left: kept
        41: after_first_sentence(reviews[40], every(sst(data, 22), 4, "banana"), ". "),
        # edited: words 2 and 5 changed, 31 consecutive words left intact: removed
        51: after_first_sentence(reviews[50], " ".join("banana" if i in (1, 4) else w
                                                      for i, w in enumerate(sst(data, 52).split(" "))), ". "),
        # the short sentence inside a longer one is not a whole-sentence match: kept
        31: after_first_sentence(reviews[30], "I thought it was " + sst(data, 34)[0].lower() + sst(data, 34)[1:-1]
                                 + " until the last act.", ". "),
        # under min_tokens (3 tokens): not used: kept
        61: after_first_sentence(reviews[60], sst(data, 575), ". "),
        71: sst(data, 29),  # a review that is just an eval sentence
    }
    for line, text in plant.items():
        reviews[line - 1] = text
    (root / "reviews.txt").write_text("\n".join(reviews) + "\n", encoding="utf-8")
    clue = (data / "zh_corpus" / "CLUECorpusSmall_sampled.txt").read_text(encoding="utf-8").splitlines()[:CLUE_DOCS]
    # each planted review ends with 。 so it is its own sentence(s) inside its host
    clue[10] = after_first_sentence(clue[10], senti(data, 2) + "。", "。")  # whole, in Traditional characters
    clue[20] = after_first_sentence(clue[20], every(senti(data, 7), 8, "某"), "。")  # a change every 8 chars: kept
    clue[41] = after_first_sentence(clue[41], "坏" + senti(data, 8)[1:] + "。", "。")  # first character changed: removed
    (root / "clue.txt").write_text("\n".join(clue) + "\n", encoding="utf-8")
    ingest([root / "reviews.txt", root / "clue.txt"], root / "docs", IngestConfig(fmt="text", shard_size=50))
    against = [data / "eval" / "sst2" / "glue_dev.tsv", data / "eval" / "chnsenticorp" / "dev.tsv"]
    remove = {f"text:reviews:{i}" for i in (11, 21, 51, 71)} | {"text:clue:11", "text:clue:42"}
    keep = {f"text:reviews:{i}" for i in (31, 41, 61)} | {"text:clue:21"}
    return {"root": root, "docs": root / "docs", "against": against, "remove": remove, "keep": keep,
            "sst": {i: sst(data, i) for i in (13, 52, 57)}}


def ids(path) -> list[str]:
    return read_dataset(path).column("doc_id").to_pylist()


def sentences(path) -> dict[str, list[str]]:
    table = read_dataset(path)
    return {d: [s for p in paras for s in p] for d, paras in
            zip(table.column("doc_id").to_pylist(), table.column("paragraphs").to_pylist())}


def test_planted_eval_text_is_removed_and_nothing_else(corpus, tmp_path):
    before = ids(corpus["docs"])
    assert corpus["remove"] | corpus["keep"] <= set(before) and len(before) > 170
    result = decontaminate(corpus["docs"], tmp_path / "clean", corpus["against"])
    assert ids(tmp_path / "clean") == [d for d in before if d not in corpus["remove"]]
    report = result.stats["decontamination"]
    assert report["eval"]["sst2/glue_dev.tsv"]["documents_removed"] == 4
    assert report["eval"]["chnsenticorp/dev.tsv"]["documents_removed"] == 2
    assert report["eval"]["sst2/glue_dev.tsv"]["too_short"] == 6  # 'bad .', 'lovely and poignant .', ...
    assert result.stats["decontaminated"]["documents"] == 6 and result.stats["kept"] == len(before) - 6
    sentences_before = sentences(corpus["docs"])
    assert report["eval"]["chnsenticorp/dev.tsv"]["sentences_removed"] == \
        len(sentences_before["text:clue:11"]) + len(sentences_before["text:clue:42"])
    assert result.stats["decontaminated"]["sentences"] == sum(len(sentences_before[d]) for d in corpus["remove"])
    where = {e["doc_id"]: e for e in report["examples"]}
    assert where["text:reviews:11"]["eval"] == "sst2/glue_dev.tsv:13"
    assert where["text:reviews:11"]["text"].startswith("it takes a strange kind of laziness")
    assert where["text:reviews:21"] == {"doc_id": "text:reviews:21", "match": "whole", "eval": "sst2/glue_dev.tsv:57",
                                        "text": corpus["sst"][57]}
    assert where["text:clue:11"]["eval"] == "chnsenticorp/dev.tsv:2"
    assert "环境和服务态度亦算不错" in where["text:clue:11"]["text"]  # Traditional eval text matched in Simplified
    assert json.loads((tmp_path / "clean" / "stats.json").read_text())["decontamination"] == report
    shown = CliRunner().invoke(main, ["inspect", str(tmp_path / "clean"), "--rows", "0"])
    assert shown.exit_code == 0 and "removed: sst2/glue_dev.tsv" in shown.output
    assert "4 documents" in shown.output and "2 documents" in shown.output


def test_longer_n_keeps_the_edited_sentence_that_13_words_catch(corpus, tmp_path):
    """Review 51 keeps 31 intact words after its edits: n = 13 catches it, n = 32 does not."""
    decontaminate(corpus["docs"], tmp_path / "n32", corpus["against"][:1], DecontaminationConfig(ngram_en=32))
    gone = set(ids(corpus["docs"])) - set(ids(tmp_path / "n32"))
    assert "text:reviews:51" not in gone and "text:reviews:11" in gone


def test_sentence_granularity_drops_only_the_eval_sentences(corpus, tmp_path):
    result = decontaminate(corpus["docs"], tmp_path / "clean", corpus["against"], DecontaminationConfig(granularity="sentence"))
    before, after = sentences(corpus["docs"]), sentences(tmp_path / "clean")
    assert set(before) - set(after) == {"text:reviews:71"}  # nothing left of it: the document goes
    changed = {d for d in after if after[d] != before[d]}
    assert changed == corpus["remove"] - {"text:reviews:71"}
    for doc_id, line in (("text:reviews:11", 13), ("text:reviews:21", 57)):
        assert corpus["sst"][line] in before[doc_id]
        assert after[doc_id] == [s for s in before[doc_id] if s != corpus["sst"][line]]
    edited = [s for s in before["text:reviews:51"] if "banana" in s]
    assert len(edited) == 1 and after["text:reviews:51"] == [s for s in before["text:reviews:51"] if s not in edited]
    assert after["text:clue:11"][0] == before["text:clue:11"][0]  # the host's own first sentence stays
    assert not any("服務態度" in s for s in after["text:clue:11"]) and any("服務態度" in s for s in before["text:clue:11"])
    assert [s for s in after["text:clue:42"] if "后悔" in s] == []
    assert result.stats["decontaminated"]["sentences"] == sum(len(before[d]) - len(after.get(d, [])) for d in corpus["remove"])


def test_ingest_option_removes_the_same_documents_with_two_workers(corpus, tmp_path):
    root = corpus["root"]
    sets = eval_sets(corpus["against"])
    result = ingest([root / "reviews.txt", root / "clue.txt"], tmp_path / "docs",
                    IngestConfig(fmt="text", shard_size=50, text=TextSettings(decontaminate=sets)),
                    parallel=Parallel(workers=2))
    assert ids(tmp_path / "docs") == [d for d in ids(corpus["docs"]) if d not in corpus["remove"]]
    assert result.stats["decontaminated"]["documents"] == 6
    assert result.stats["decontamination"]["eval"]["chnsenticorp/dev.tsv"]["documents_removed"] == 2
    examples = stats(tmp_path / "docs")["decontamination"]["examples"]
    assert len(examples) == 5 and {e["doc_id"] for e in examples} <= corpus["remove"]  # at most 3 per eval file


def test_ingest_option_at_sentence_granularity_keeps_what_the_command_keeps(corpus, tmp_path):
    root, config = corpus["root"], DecontaminationConfig(granularity="sentence")
    ingest([root / "reviews.txt", root / "clue.txt"], tmp_path / "docs",
           IngestConfig(fmt="text", shard_size=50, text=TextSettings(decontaminate=eval_sets(corpus["against"], config))))
    decontaminate(corpus["docs"], tmp_path / "command", corpus["against"], config)
    assert sentences(tmp_path / "docs") == sentences(tmp_path / "command")
    assert stats(tmp_path / "docs")["decontaminated"] == stats(tmp_path / "command")["decontaminated"]


def test_same_shards_for_one_and_two_workers_and_on_a_filesystem_uri(corpus, tmp_path):
    config = DecontaminationConfig(granularity="sentence")
    decontaminate(corpus["docs"], tmp_path / "w1", corpus["against"], config, parallel=Parallel(workers=1),
                  batch_rows=16)
    decontaminate(corpus["docs"], f"file://{tmp_path}/w2", corpus["against"], config, parallel=Parallel(workers=2),
                  batch_rows=16)
    assert shard_digests(tmp_path / "w1") == shard_digests(tmp_path / "w2")
    assert len(shard_digests(tmp_path / "w1")) == len(shard_digests(corpus["docs"])) == 4  # shard i -> shard i


def test_eval_layouts_bom_crlf_csv_jsonl_and_ner(data, tmp_path):
    mrpc = read_eval(data / "eval" / "mrpc" / "msr_paraphrase_test.txt")  # double-encoded BOM before the header
    assert len(mrpc) == 2 * 1725 and mrpc[0].line == 2 and mrpc[0].text.startswith("PCCW 's chief operating officer")
    ner = read_eval(data / "eval" / "msra_ner" / "dev.tsv")
    first = (data / "eval" / "msra_ner" / "dev.tsv").read_text(encoding="utf-8").split("\n")[1].split("\t")[0]
    assert len(ner) == 2318 and ner[0].text == first.replace(" ", "") and ner[0].text.startswith("在这里恕弟不恭之罪")
    rows = (data / "eval" / "sst2" / "glue_dev.tsv").read_text(encoding="utf-8").split("\n")[1:4]
    sentences = [r.split("\t")[0].strip() for r in rows]
    csv_text = "label,sentence\r\n" + "".join(f'1,"{s} ""quoted""\nsecond line"\r\n' for s in sentences)
    (tmp_path / "dev.csv").write_bytes(b"\xef\xbb\xbf" + csv_text.encode("utf-8"))
    found = read_eval(tmp_path / "dev.csv")
    assert [t.text for t in found] == [f'{s} "quoted"\nsecond line' for s in sentences]
    assert [t.line for t in found] == [2, 4, 6]  # the line each quoted record starts on
    (tmp_path / "dev.jsonl").write_text("".join(json.dumps({"idx": i, "sentence": s}) + "\n"
                                                for i, s in enumerate(sentences)), encoding="utf-8")
    assert [(t.line, t.text) for t in read_eval(tmp_path / "dev.jsonl")] == list(zip([1, 2, 3], sentences))


def run_cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "corpus_tools.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def test_bad_eval_files_are_one_line_errors(corpus, data, tmp_path):
    rte = (data / "eval" / "rte" / "dev.tsv").read_text(encoding="utf-8").split("\n")
    (tmp_path / "labels.tsv").write_text("\n".join("\t".join(r.split("\t")[2:]) for r in rte), encoding="utf-8")
    cases = [
        (["decontaminate", corpus["docs"], "--against", tmp_path / "missing.tsv", "--out", tmp_path / "a"],
         "missing.tsv: no such eval file"),
        (["decontaminate", corpus["docs"], "--against", tmp_path / "labels.tsv", "--out", tmp_path / "b"],
         "labels.tsv: no text column in the header ('label', 'idx')"),
        (["ingest", corpus["root"] / "reviews.txt", "--decontaminate", tmp_path / "labels.tsv", "--out", tmp_path / "c"],
         "labels.tsv: no text column"),
    ]
    for args, message in cases:
        result = CliRunner().invoke(main, [str(a) for a in args])
        assert result.exit_code == 1 and "Traceback" not in result.output
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], result.output
    real = run_cli("decontaminate", corpus["docs"], "--against", tmp_path / "missing.tsv", "--out", tmp_path / "d")
    assert real.returncode == 1 and real.stderr.strip().count("\n") == 0 and "no such eval file" in real.stderr
    assert not any((tmp_path / name).exists() for name in "abcd")
