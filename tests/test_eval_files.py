"""One reader of eval files (schemas/eval_files.py) for fine-tuning and decontamination: on every
eval sample, decontamination sees each text that fine-tuning reads, from the same line; and the
quirks (lone CR, non-UTF-8, quoted TSV cells, CSV rows over several lines) are read one way."""
from __future__ import annotations

import pytest

from corpus_tools.decontam.eval_sets import read_eval
from schemas.errors import InputError
from trainer.finetune_data import DataError, guess_kind, read_split

SAMPLES = ["chnsenticorp/dev.tsv", "msra_ner/dev.tsv", "rte/dev.tsv", "sst2/glue_dev.tsv", "sst2/train_head2000.tsv",
           "xnli_zh/dev.tsv", "mrpc/msr_paraphrase_test.txt"]


def finetune_texts(path) -> set[tuple[int, str]]:
    kind = "ner" if "ner" in str(path) else guess_kind(path)
    split = read_split(path, kind)
    assert split.examples and not split.rejects
    out = set()
    for example in split.examples:
        line = int(example.origin.rsplit(":", 1)[1])
        out.add((line, "".join(example.text) if kind == "ner" else example.text))
        if example.pair is not None:
            out.add((line, example.pair))
    return out


@pytest.mark.parametrize("name", SAMPLES)
def test_decontamination_sees_every_text_fine_tuning_reads_on_the_same_line(data, name):
    path = data / "eval" / name
    decontam = {(t.line, t.text.strip()) for t in read_eval(path)}
    fine_tuning = finetune_texts(path)
    assert fine_tuning and fine_tuning <= decontam


def test_a_lone_carriage_return_ends_a_line_for_both(tmp_path):
    path = tmp_path / "dev.tsv"
    path.write_bytes(b"sentence\tlabel\rfirst one here\t1\r\nsecond one here\t0\n")
    assert [(t.line, t.text) for t in read_eval(path)] == [(2, "first one here"), (3, "second one here")]
    assert [(e.origin.rsplit(":", 1)[1], e.text) for e in read_split(path, "classification").examples] == \
        [("2", "first one here"), ("3", "second one here")]


def test_a_file_that_is_not_utf8_is_refused_by_both(tmp_path):
    path = tmp_path / "dev.tsv"
    path.write_bytes("sentence\tlabel\ncaf\u00e9 au lait\t1\n".encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8"):
        read_eval(path)
    with pytest.raises(DataError, match="not UTF-8"):
        read_split(path, "classification")


def test_tsv_quotes_are_text_and_csv_rows_keep_their_first_line_for_both(tmp_path):
    tsv = tmp_path / "dev.tsv"
    tsv.write_text('sentence\tlabel\n"quoted" start\t1\n', encoding="utf-8")
    assert [t.text for t in read_eval(tsv)] == ['"quoted" start']
    assert [e.text for e in read_split(tsv, "classification").examples] == ['"quoted" start']
    csv = tmp_path / "dev.csv"
    csv.write_text('sentence,label\n"over\ntwo lines",1\nnext,0\n', encoding="utf-8")
    assert [(t.line, t.text) for t in read_eval(csv)] == [(2, "over\ntwo lines"), (4, "next")]
    assert [e.origin.rsplit(":", 1)[1] for e in read_split(csv, "classification").examples] == ["2", "4"]
