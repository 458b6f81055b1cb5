"""Run configs: the shipped examples parse, flags override the file, mistakes are one line."""
from __future__ import annotations

from pathlib import Path

import pytest

from trainer.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parents[1]


def test_shipped_examples_parse_with_six_tasks_each():
    en = load_config(ROOT / "examples" / "tiny_en.toml", {})
    zh = load_config(ROOT / "examples" / "tiny_zh.toml", {})
    # English: no ir_relevance, the samples' only search log (DuReader) is Chinese
    assert list(en.tasks) == ["knowledge_masking", "capitalization", "token_document", "sentence_reorder",
                              "sentence_distance", "discourse_relation"]
    assert "capitalization" not in zh.tasks and len(zh.tasks) == 6
    assert en.betas == (0.9, 0.98) and en.mode == "continual_multitask" and en.size == "tiny"
    assert en.lr_schedule == zh.lr_schedule == "linear" and en.weight_init == "local"


def test_base_example_is_the_papers_setup():
    """The torchrun example of the README: base size, bf16, 4,000 warmup steps per task."""
    from trainer.model import ErnieConfig

    base = load_config(ROOT / "examples" / "base.toml", {})
    assert base.size == "base" and base.precision == "bf16" and base.warmup_steps == 4000 and len(base.tasks) == 7
    assert (base.lr_schedule, base.weight_init, base.dropout) == ("noam", "bert", 0.1)
    model = ErnieConfig.from_size(base.size, 30000)
    assert (model.num_hidden_layers, model.hidden_size, model.num_attention_heads) == (12, 768, 12)


def test_bert_example_is_mlm_plus_nsp_from_step_one_with_basic_masking():
    """The BERT arm of the comparison: knowledge_masking and next_sentence in one multitask stage."""
    from trainer.masking import MaskingConfig

    bert = load_config(ROOT / "examples" / "bert_en.toml", {})
    assert list(bert.tasks) == ["knowledge_masking", "next_sentence"] and bert.mode == "multitask"
    assert bert.mlm_always and MaskingConfig(**bert.masking).level_probs == (1.0, 0.0, 0.0)


def test_flags_override_the_file(tmp_path):
    config = load_config(ROOT / "examples" / "tiny_en.toml",
                         {"max_steps": 5, "out": str(tmp_path), "seed": None, "tasks": {"ir_relevance": "x"}})
    assert config.max_steps == 5 and config.out == str(tmp_path) and config.seed == 42
    assert config.tasks["ir_relevance"] == "x" and len(config.tasks) == 7


@pytest.mark.parametrize("text, message", [
    ("[train]\nmax_step = 3\n", "unknown key(s) in [train]: max_step"),
    ("[trainer]\nmax_steps = 3\n", "unknown section(s) trainer"),
    ("[train\n", "Expected ']'"),
])
def test_config_mistakes_are_named(tmp_path, text, message):
    path = tmp_path / "run.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    assert message in str(caught.value) and "\n" not in str(caught.value)
