"""Export to HF transformers, checked against our own model on real sentences: the same token ids,
the same hidden states, the same pipeline predictions; a round trip keeps the bytes."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from trainer.cli import main
from trainer.finetune import FinetuneConfig, evaluate, finetune
from trainer.finetune_model import build_model, load_init
from trainer.tokenizer import load_tokenizer

transformers = pytest.importorskip("transformers")


def sentences(data: Path, n: int = 50) -> list[str]:
    """Real English and Chinese sentences: SST-2 dev, ChnSentiCorp (full-width punctuation)."""
    sst = [line.rsplit("\t", 1)[0] for line in (data / "eval" / "sst2" / "glue_dev.tsv").read_text().splitlines()[1:]]
    zh = [line.split("\t", 1)[1] for line in
          (data / "eval" / "chnsenticorp" / "dev.tsv").read_text(encoding="utf-8").splitlines()[1:]]
    return sst[: n - 10] + [s[:100] for s in zh[:10]]


def cli(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


def test_exported_encoder_equals_ours_in_transformers(tiny_run, data, tmp_path):
    cli("export", tiny_run, "--out", tmp_path / "hf")
    config = json.loads((tmp_path / "hf" / "config.json").read_text())
    assert config["model_type"] == "ernie" and config["use_task_id"] is True
    assert config["task_type_vocab_size"] >= 7 and config["architectures"] == ["ErnieModel"]
    assert {p.name for p in (tmp_path / "hf").iterdir()} >= {"config.json", "model.safetensors", "tokenizer.json",
                                                             "vocab.txt", "tokenizer_config.json",
                                                             "special_tokens_map.json"}
    hf_tok = transformers.AutoTokenizer.from_pretrained(str(tmp_path / "hf"))
    hf_model = transformers.AutoModel.from_pretrained(str(tmp_path / "hf")).eval()
    assert type(hf_model).__name__ == "ErnieModel"
    init = load_init(tiny_run)
    ours = build_model(init, "classification", 2, seed=0).ernie.eval()
    tok = load_tokenizer(tiny_run / "vocab")
    texts = sentences(data)
    for text in texts:
        ids, types = tok.encode(text, None, 128)
        encoded = hf_tok(text, truncation=True, max_length=128)
        assert encoded["input_ids"] == ids, text
        assert encoded["token_type_ids"] == types
    pair = hf_tok(texts[0], texts[1])
    assert pair["input_ids"] == tok.encode(texts[0], texts[1], 512)[0]
    batch = hf_tok(texts, padding=True, truncation=True, max_length=128, return_tensors="pt")
    with torch.no_grad():
        theirs = hf_model(**batch).last_hidden_state
        mine, _ = ours(batch["input_ids"], batch["token_type_ids"], None, batch["attention_mask"])
    real = batch["attention_mask"].bool()
    assert (theirs[real] - mine[real]).abs().max() < 1e-5


def test_round_trip_through_hf_keeps_the_bytes(tiny_run, tmp_path):
    cli("export", tiny_run, "--out", tmp_path / "a")
    cli("export", tmp_path / "a", "--out", tmp_path / "b")
    assert (tmp_path / "a" / "model.safetensors").read_bytes() == (tmp_path / "b" / "model.safetensors").read_bytes()
    assert json.loads((tmp_path / "a" / "config.json").read_text()) == json.loads((tmp_path / "b" / "config.json").read_text())
    # and fine-tuning starts from the export exactly as from the run
    from_run = build_model(load_init(tiny_run), "classification", 2, seed=0).state_dict()
    from_hf = build_model(load_init(tmp_path / "a"), "classification", 2, seed=0).state_dict()
    assert all(torch.equal(from_run[k], from_hf[k]) for k in from_run)


def test_export_refuses_an_existing_directory(tiny_run, tmp_path):
    (tmp_path / "hf").mkdir()
    (tmp_path / "hf" / "notes.txt").write_text("mine")
    result = CliRunner().invoke(main, ["export", str(tiny_run), "--out", str(tmp_path / "hf")])
    assert result.exit_code == 1 and "pass overwrite=True (--overwrite)" in result.output
    assert (tmp_path / "hf" / "notes.txt").read_text() == "mine"


def test_mlm_head_export_fills_masks(tiny_run, tmp_path):
    cli("export", tiny_run, "--out", tmp_path / "mlm", "--with-mlm-head")
    fill = transformers.pipeline("fill-mask", model=str(tmp_path / "mlm"), device="cpu")
    out = fill("the film is [MASK] .", top_k=3)
    assert len(out) == 3 and all("token_str" in o for o in out)
    model = transformers.AutoModelForMaskedLM.from_pretrained(str(tmp_path / "mlm"))
    ours = load_init(tiny_run)
    from safetensors import safe_open
    with safe_open(str(tmp_path / "mlm" / "model.safetensors"), "pt") as fh:
        assert torch.equal(fh.get_tensor("cls.predictions.transform.dense.weight"),
                           model.cls.predictions.transform.dense.weight.detach())
    assert torch.equal(model.ernie.embeddings.word_embeddings.weight.detach(),
                       ours.weights["embeddings.word_embeddings.weight"])


def test_text_classification_pipeline_agrees_with_evaluate(data, vocab_zh, tmp_path):
    sst = data / "eval" / "sst2"
    dev = tmp_path / "dev.tsv"  # 300 of GLUE dev's 872 sentences, scored by us and by the HF pipeline
    dev.write_text("\n".join((sst / "glue_dev.tsv").read_text(encoding="utf-8").splitlines()[:301]) + "\n",
                   encoding="utf-8")
    finetune(FinetuneConfig(train=str(sst / "train_head2000.tsv"), dev=str(dev), init="random",
                            vocab=str(vocab_zh), size="tiny", out=str(tmp_path / "ft"), max_steps=60, max_seq_len=64))
    cli("export", tmp_path / "ft", "--out", tmp_path / "hf")
    config = json.loads((tmp_path / "hf" / "config.json").read_text())
    assert config["architectures"] == ["ErnieForSequenceClassification"] and config["id2label"] == {"0": "0", "1": "1"}
    ours = evaluate(str(tmp_path / "ft"), str(dev))
    rows = [line.rsplit("\t", 1) for line in dev.read_text(encoding="utf-8").splitlines()[1:]]
    classify = transformers.pipeline("text-classification", model=str(tmp_path / "hf"), device="cpu")
    predicted = [p["label"] for p in classify([r[0] for r in rows], batch_size=64, truncation=True, max_length=64)]
    assert predicted == ours["predictions"]
    accuracy = sum(p == r[1].strip() for p, r in zip(predicted, rows)) / len(rows)
    assert abs(accuracy - ours["accuracy"]) < 1e-12


def test_token_classification_export_tags_like_ours(data, vocab_zh, tmp_path):
    ner = data / "eval" / "msra_ner"
    finetune(FinetuneConfig(train=str(ner / "dev.tsv"), split_dev=0.2, kind="ner", init="random",
                            labels_file=str(ner / "label2id.json"), vocab=str(vocab_zh), size="tiny",
                            out=str(tmp_path / "ner"), max_steps=40, max_seq_len=128))
    cli("export", tmp_path / "ner", "--out", tmp_path / "hf")
    config = json.loads((tmp_path / "hf" / "config.json").read_text())
    assert config["architectures"] == ["ErnieForTokenClassification"]
    assert config["id2label"]["0"] == "O" and len(config["id2label"]) == 7
    rows = (ner / "dev.tsv").read_text(encoding="utf-8").splitlines()[1:21]
    sample = tmp_path / "sample.tsv"
    sample.write_text("text_a\tlabel\n" + "\n".join(rows) + "\n", encoding="utf-8")
    ours = evaluate(str(tmp_path / "ner"), str(sample))["predictions"]
    model = transformers.AutoModelForTokenClassification.from_pretrained(str(tmp_path / "hf")).eval()
    tok = transformers.AutoTokenizer.from_pretrained(str(tmp_path / "hf"))
    for row, mine in zip(rows, ours):
        words = row.split("\t")[0].split()
        encoded = tok(words, is_split_into_words=True, truncation=True, max_length=128, return_tensors="pt")
        with torch.no_grad():
            best = model(**encoded).logits[0].argmax(-1).tolist()
        seen, tags = set(), []
        for position, word in enumerate(encoded.word_ids()):
            if word is not None and word not in seen:
                seen.add(word)
                tags.append(config["id2label"][str(best[position])])
        assert tags == mine[:len(tags)]
    pipe = transformers.pipeline("token-classification", model=str(tmp_path / "hf"), device="cpu")
    assert isinstance(pipe("".join(rows[0].split("\t")[0].split())), list)


def test_a_local_bert_directory_initialises_fine_tuning(vocab_en, data, tmp_path):
    """--init takes an HF BertModel directory (no task embeddings) read from safetensors: its
    encoder is ours exactly, and fine-tuning runs from it."""
    import shutil

    tok = load_tokenizer(vocab_en)
    config = transformers.BertConfig(vocab_size=tok.vocab_size, hidden_size=64, num_hidden_layers=2,
                                     num_attention_heads=2, intermediate_size=128)
    torch.manual_seed(0)
    bert = transformers.BertModel(config).eval()
    bert.save_pretrained(str(tmp_path / "bert"), safe_serialization=True)
    shutil.copyfile(vocab_en / "vocab.txt", tmp_path / "bert" / "vocab.txt")
    init = load_init(tmp_path / "bert")
    assert init.config.use_task_id is False and init.config.hidden_size == 64
    ours = build_model(init, "classification", 2, seed=0).ernie.eval()
    ids = torch.tensor([tok.encode("a charming and often affecting journey .", None, 64)[0]])
    with torch.no_grad():
        assert (bert(input_ids=ids).last_hidden_state - ours(ids)[0]).abs().max() < 1e-5
    sst = data / "eval" / "sst2"
    results = finetune(FinetuneConfig(train=str(sst / "train_head2000.tsv"), dev=str(sst / "glue_dev.tsv"),
                                      init=str(tmp_path / "bert"), out=str(tmp_path / "ft"), max_steps=5))
    assert results["init"].startswith("HF bert model") and results["steps"] == 5
