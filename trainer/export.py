"""Export to a directory that HF transformers loads offline.

- a pre-training run or checkpoint -> `ErnieModel` (`--with-mlm-head`: `ErnieForMaskedLM`, so the
  fill-mask pipeline works);
- a fine-tuned model -> `ErnieForSequenceClassification` or `ErnieForTokenClassification`, with
  `id2label`, for the text- and token-classification pipelines;
- an HF ERNIE/BERT directory -> `ErnieModel` again (a round trip gives byte-identical weights).

The directory holds config.json, model.safetensors and the tokenizer: tokenizer.json (the exact
tokenizer fine-tuning used: NFKC + the vocab's BERT normalizer, the `[CLS] A [SEP] B [SEP]`
template), vocab.txt, tokenizer_config.json and special_tokens_map.json.
Weights are written with safetensors only; nothing is pickled.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Optional, Union

import torch
from safetensors.torch import save_file

from trainer.checkpoint import read_weights, resolve_checkpoint
from trainer.finetune_model import InitError, load_init
from trainer.model import ErnieConfig
from trainer.tokenizer import SPECIALS, load_tokenizer

HF_VERSION = "4.40.0"  # the oldest transformers these files are written for


class ExportError(ValueError):
    """An export that cannot be made; str() is one line."""


def hf_config(config: ErnieConfig, architecture: str, **extra) -> dict:
    values = {k: v for k, v in config.to_hf_dict().items()}
    values.update(model_type="ernie", architectures=[architecture], position_embedding_type="absolute",
                  torch_dtype="float32", transformers_version=HF_VERSION, **extra)
    return values


def _tokenizer_files(vocab_dir: Path, fingerprint: Optional[str], out: Path, max_len: int) -> None:
    tok = load_tokenizer(vocab_dir, expect=fingerprint)
    tok.save(out)
    (out / "vocab.json").unlink(missing_ok=True)
    specials = {f"{k}_token": v for k, v in SPECIALS.items()}
    # PreTrainedTokenizerFast reads tokenizer.json as it is; BertTokenizer would rebuild the
    # normalizer and drop the NFKC step the model was trained with.
    (out / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast", "do_lower_case": tok.lowercase, "model_max_length": max_len,
        "model_input_names": ["input_ids", "token_type_ids", "attention_mask"], "clean_up_tokenization_spaces": True,
        **specials}, indent=2) + "\n")
    (out / "special_tokens_map.json").write_text(json.dumps(specials, indent=2) + "\n")


def export(source: Union[str, Path], out: Union[str, Path], with_mlm_head: bool = False,
           overwrite: bool = False) -> dict:
    """Write the HF directory; returns {"architecture", "out", "tensors"}."""
    source, out = Path(source), Path(out)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise ExportError(f"{out}: already exists; pass overwrite=True (--overwrite) to replace it")
    if out.exists() and any(out.iterdir()) and not (out / "config.json").exists():
        raise ExportError(f"{out}: not an exported model (no config.json); refusing to delete it")
    init = load_init(source)
    if init.vocab_dir is None:
        raise ExportError(f"{init.source}: no vocab beside the model (RUN/vocab); the run's vocab was not found "
                          "when it started")
    state: dict[str, torch.Tensor]
    extra: dict = {}
    max_len = init.config.max_position_embeddings
    if init.finetuned is not None:
        info = init.finetuned
        if info.get("pooling", "cls") != "cls" and info["kind"] != "ner":
            raise ExportError(f"{init.source}: fine-tuned with --pooling {info['pooling']}, but HF's "
                              "ErnieForSequenceClassification reads the pooler on [CLS]; fine-tune with --pooling cls "
                              "to export a classifier, or export the pre-trained run's encoder")
        weights = read_weights(source / "model.safetensors" if (source / "model.safetensors").exists()
                        else source / "best" / "model.safetensors")
        names = info["label_names"]
        if info["kind"] == "ner":
            architecture = "ErnieForTokenClassification"
            state = {k: v for k, v in weights.items() if not k.startswith("ernie.pooler.")}
        else:
            architecture = "ErnieForSequenceClassification"
            state = dict(weights)
        if info["kind"] == "regression":
            extra = {"num_labels": 1, "problem_type": "regression"}
        else:
            extra = {"id2label": {str(i): n for i, n in enumerate(names)},
                     "label2id": {n: i for i, n in enumerate(names)},
                     "problem_type": "single_label_classification" if info["kind"] != "ner" else None}
        extra = {k: v for k, v in extra.items() if v is not None}
        max_len = info["max_seq_len"]
        if info.get("task_id", 0) != 0:
            extra["ernie_task_id"] = info["task_id"]  # HF passes task id 0 unless task_type_ids are given
    elif with_mlm_head:
        architecture = "ErnieForMaskedLM"
        checkpoint = resolve_checkpoint(source)
        if not (checkpoint / "state.json").exists():
            raise InitError(f"{source}: --with-mlm-head needs a pre-training run or checkpoint")
        weights = read_weights(checkpoint / "model.safetensors")
        state = {k: v for k, v in weights.items() if (k.startswith("ernie.") and not k.startswith("ernie.pooler."))
                 or k.startswith("cls.predictions.")}
        if "cls.predictions.decoder.weight" not in state:
            state["cls.predictions.decoder.weight"] = state["ernie.embeddings.word_embeddings.weight"]
        state["cls.predictions.decoder.bias"] = state["cls.predictions.bias"]
        extra = {"tie_word_embeddings": True}
    else:
        architecture = "ErnieModel"
        state = dict(init.weights)
        if "embeddings.task_type_embeddings.weight" not in state and init.config.use_task_id:
            raise ExportError(f"{init.source}: no task embeddings in its weights")
    tmp = out.with_name(f".{out.name}.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    # tensors that share storage (tied weights) are written as separate copies, in sorted order
    save_file({k: v.detach().clone().contiguous() for k, v in sorted(state.items())}, str(tmp / "model.safetensors"),
              metadata={"format": "pt"})
    (tmp / "config.json").write_text(json.dumps(hf_config(init.config, architecture, **extra), indent=2,
                                                sort_keys=True) + "\n")
    _tokenizer_files(init.vocab_dir, init.fingerprint, tmp, max_len)
    if out.exists():
        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    os.replace(tmp, out)
    return {"architecture": architecture, "out": str(out), "tensors": len(state), "source": init.source}

