"""`ernie-corpus inspect` on task shards: decoded examples with their labels spelled out,
histograms, and --validate catching broken shards."""
from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from click.testing import CliRunner

from corpus_tools.tasks.build import builder
from corpus_tools.cli import main
from corpus_tools.run.shards import write_table
from schemas.validate import read_table


def inspect(*args):
    return CliRunner().invoke(main, ["inspect", *map(str, args)])


@pytest.mark.parametrize("task", ["knowledge_masking", "capitalization", "token_document", "sentence_reorder",
                                  "sentence_distance", "discourse_relation", "ir_relevance"])
def test_every_task_inspects_readably(task, tiny_tasks):
    result = inspect(tiny_tasks[task], "--rows", "2", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["task"] == f"{task}_v{builder(task).VERSION}" and summary["rows"] > 0 and summary["labels"]
    assert sum(summary["label_histogram"].values()) > 0  # recorded in the shard metadata at build time
    sample = summary["samples"][0]
    assert sample["length"] <= 64
    if task == "sentence_reorder":
        assert len(sample["shown"]) >= max(2, len(sample["permutation"]))  # sentences; segments are not marked
    elif task in ("sentence_distance", "discourse_relation", "ir_relevance"):
        assert sample["a"] and sample["b"] and sample["label"] in summary["labels"]
    else:
        assert sample["text"].startswith("[CLS]")
    human = inspect(tiny_tasks[task], "--rows", "1").output
    assert summary["task"] in human and "Traceback" not in human


def test_knowledge_spans_are_bracketed_and_labels_named(tiny_tasks):
    summary = json.loads(inspect(tiny_tasks["knowledge_masking"], "--rows", "20", "--json").output)
    texts = " ".join(s["text"] for s in summary["samples"])
    assert "[" in texts.replace("[CLS]", "").replace("[SEP]", "") and "}|" in texts
    assert any(k.startswith("entity ") for k in summary["labels"]) and "phrase" in summary["labels"]
    ir = json.loads(inspect(tiny_tasks["ir_relevance"], "--rows", "40", "--json").output)
    assert set(ir["labels"]) == {"clicked", "shown_not_clicked", "random"}
    discourse = json.loads(inspect(tiny_tasks["discourse_relation"], "--rows", "5", "--json").output)
    assert all(s["label"] in json.loads(discourse["metadata"]["ernie.label_names"]) for s in discourse["samples"])


def test_validate_names_a_label_out_of_range(tiny_tasks, tmp_path):
    shard = sorted(tiny_tasks["sentence_reorder"].glob("part-*.arrow"))[0]
    table = read_table(shard)
    broken = table.set_column(table.schema.get_field_index("label"), table.schema.field("label"),
                              pc.add(table.column("label"), 100).cast(pa.int32()))
    write_table(tmp_path / "part-00000.arrow", broken)
    result = inspect(tmp_path / "part-00000.arrow")
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [f"error: {tmp_path / 'part-00000.arrow'}: label outside [0, 5)"]


def test_validate_refuses_another_vocab(tiny_tasks, vocab_en):
    result = inspect(tiny_tasks["sentence_reorder"], "--vocab", vocab_en)
    assert result.exit_code == 1 and "built with vocab" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_shard_changed_after_it_was_written_fails_its_manifest_sha256_even_with_labels_in_range(tiny_tasks,
                                                                                                  tmp_path):
    import shutil

    copy = tmp_path / "sentence_reorder"
    shutil.copytree(tiny_tasks["sentence_reorder"], copy)
    shard = sorted(copy.glob("part-*.arrow"))[0]
    table = read_table(shard)
    labels = pc.add(table.column("label"), 1)
    shifted = pc.if_else(pc.equal(labels, 5), 0, labels).cast(pa.int32())  # every label still in [0, 5)
    tampered = table.set_column(table.schema.get_field_index("label"), table.schema.field("label"), shifted)
    write_table(tmp_path / "tampered.arrow", tampered)
    shutil.move(tmp_path / "tampered.arrow", shard)
    result = inspect(copy)
    assert result.exit_code == 1, result.output
    line = result.output.strip()
    assert "\n" not in line and line.startswith(f"error: {shard}: its sha256 ") and "its manifest records" in line
    assert inspect(copy, "--no-validate").exit_code == 0  # what --validate adds
