"""The ERNIE model and heads: HF parity, sizes, tying, head shapes, overfitting a tiny batch."""
from __future__ import annotations

import pytest
import torch

from schemas.tasks import PAPER_IDS
from trainer.heads import IGNORE, ErnieForPretraining
from trainer.model import SIZES, ErnieConfig, ErnieModel, flops_per_token
from trainer.tasks import TaskSpec

transformers = pytest.importorskip("transformers")

VOCAB = 300
SPECIAL = {"pad": 0, "unk": 1, "cls": 2, "sep": 3, "mask": 4}
B, T = 4, 24


def spec(name: str, kind: str, num_classes: int) -> TaskSpec:
    return TaskSpec(name=name, task_id=PAPER_IDS[name], kind=kind, num_classes=num_classes,
                    label_names=tuple(str(i) for i in range(num_classes)), vocab_fingerprint="test",
                    vocab_size=VOCAB, special_ids=SPECIAL, max_seq_len=T, shards=())


SPECS = {"knowledge_masking": spec("knowledge_masking", "mlm", 0),
         "capitalization": spec("capitalization", "token", 2),
         "sentence_reorder": spec("sentence_reorder", "sequence", 25)}


def inputs(seed: int = 0, task: str = "sentence_reorder") -> dict:
    """Random ids with [CLS]/[SEP], two segments, and padding on some rows."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, VOCAB, (B, T), generator=g)
    ids[:, 0] = SPECIAL["cls"]
    lengths = torch.tensor([T, T - 5, T // 2, 7])
    pos = torch.arange(T)
    mask = (pos < lengths[:, None]).long()
    ids = ids.masked_fill(mask == 0, SPECIAL["pad"])
    types = ((pos >= (lengths // 2)[:, None]) & (mask == 1)).long()
    return {"task": task, "input_ids": ids, "token_type_ids": types,
            "task_type_ids": torch.full((B, T), PAPER_IDS[task]), "attention_mask": mask}


def tiny_model(**overrides) -> ErnieForPretraining:
    torch.manual_seed(0)
    return ErnieForPretraining(ErnieConfig.from_size("tiny", VOCAB, **overrides), SPECS)


@pytest.mark.parametrize("size", ["tiny", "mini"])
def test_sizes(size):
    config = ErnieConfig.from_size(size, VOCAB)
    layers, hidden, heads = SIZES[size]
    assert (config.num_hidden_layers, config.hidden_size, config.num_attention_heads) == (layers, hidden, heads)
    assert config.intermediate_size == 4 * hidden and config.type_vocab_size == 2
    model = ErnieModel(config)
    assert len(model.encoder.layer) == layers
    assert model.encoder.layer[0].attention.self.num_heads == heads
    assert model.embeddings.word_embeddings.weight.shape == (VOCAB, hidden)
    custom = ErnieConfig.from_size(size, VOCAB, num_hidden_layers=3, hidden_size=96, num_attention_heads=3)
    assert (custom.num_hidden_layers, custom.hidden_size, custom.intermediate_size) == (3, 96, 384)
    assert flops_per_token(config, 128) > 6 * 12 * layers * hidden * hidden
    with pytest.raises(ValueError, match="unknown model size"):
        ErnieConfig.from_size("huge", VOCAB)


def test_hf_parity():
    torch.manual_seed(0)
    config = ErnieConfig.from_size("tiny", VOCAB, num_hidden_layers=3, type_vocab_size=4)
    ours = ErnieModel(config).eval()
    hf = transformers.ErnieModel(transformers.ErnieConfig(**config.to_hf_dict())).eval()
    hf_only = {name for name, _ in hf.named_buffers()}  # position_ids, token_type_ids (non-persistent)
    hf_state = {k: v for k, v in hf.state_dict().items() if k not in hf_only}
    state = ours.state_dict()
    assert {k: tuple(v.shape) for k, v in state.items()} == {k: tuple(v.shape) for k, v in hf_state.items()}
    assert "embeddings.task_type_embeddings.weight" in state
    hf.load_state_dict(state, strict=True)
    x = inputs(1)
    x["token_type_ids"][1] = 3 * x["token_type_ids"][1]  # use all four type embeddings
    x["task_type_ids"][2] = PAPER_IDS["ir_relevance"]
    with torch.no_grad():
        seq, pooled = ours(x["input_ids"], x["token_type_ids"], x["task_type_ids"], x["attention_mask"])
        out = hf(input_ids=x["input_ids"], token_type_ids=x["token_type_ids"], task_type_ids=x["task_type_ids"],
                 attention_mask=x["attention_mask"])
    torch.testing.assert_close(seq, out.last_hidden_state, atol=1e-5, rtol=0)
    torch.testing.assert_close(pooled, out.pooler_output, atol=1e-5, rtol=0)


def test_mlm_head_loads_into_hf_pretraining():
    model = tiny_model()
    hf = transformers.ErnieForPreTraining(transformers.ErnieConfig(**model.config.to_hf_dict()))
    result = hf.load_state_dict(model.state_dict(), strict=False)
    assert not [k for k in result.missing_keys if not k.startswith("cls.seq_relationship")]
    assert all(k.startswith("cls.tasks.") for k in result.unexpected_keys)


def test_decoder_tied_to_word_embeddings():
    model = tiny_model()
    assert model.cls.predictions.decoder.weight is model.ernie.embeddings.word_embeddings.weight
    assert model.cls.predictions.decoder.bias is model.cls.predictions.bias
    names = [n for n, _ in model.named_parameters()]
    assert "cls.predictions.decoder.weight" not in names  # counted once, as the embeddings


def test_head_shapes_and_losses():
    model = tiny_model()
    x = inputs(2)
    seq, pooled = model.ernie(x["input_ids"], x["token_type_ids"], x["task_type_ids"], x["attention_mask"])
    assert model.cls("knowledge_masking", seq, pooled).shape == (B, T, VOCAB)
    assert model.cls("capitalization", seq, pooled).shape == (B, T, 2)
    assert model.cls("sentence_reorder", seq, pooled).shape == (B, 25)
    for task, batch in batches().items():
        loss, metrics = model(batch)
        assert torch.isfinite(loss) and loss.ndim == 0
        assert set(metrics) >= {"loss", "task_loss", "accuracy"}
        assert all(isinstance(v, float) for v in metrics.values())
        assert ("mlm_loss" in metrics) == ("mlm_labels" in batch)
        if task == "sentence_reorder":  # sequence task + MLM: the two losses add up
            assert metrics["loss"] == pytest.approx(metrics["task_loss"] + metrics["mlm_loss"], rel=1e-5)


def batches() -> dict[str, dict]:
    """A fixed batch per task: MLM labels at ~15% of real tokens, token labels at word starts."""
    out = {}
    for seed, task in enumerate(SPECS):
        x = inputs(10 + seed, task)
        g = torch.Generator().manual_seed(seed)
        real = (x["attention_mask"] == 1) & (x["input_ids"] != SPECIAL["cls"])
        if task != "capitalization":
            chosen = real & (torch.rand(B, T, generator=g) < 0.15)
            chosen[:, 1] = True
            x["mlm_labels"] = torch.where(chosen, x["input_ids"], IGNORE)
            x["input_ids"] = x["input_ids"].masked_fill(chosen, SPECIAL["mask"])
        if task == "capitalization":
            starts = real & (torch.rand(B, T, generator=g) < 0.6)
            x["token_labels"] = torch.where(starts, torch.randint(0, 2, (B, T), generator=g), IGNORE)
        if task == "sentence_reorder":
            x["labels"] = torch.randint(0, 25, (B,), generator=g)
        out[task] = x
    return out


@pytest.mark.parametrize("task", list(SPECS))
def test_overfits_tiny_batch(task):
    model = tiny_model(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    batch = batches()[task]
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    first, _ = model(batch)
    for _ in range(30):
        loss, metrics = model(batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert metrics["loss"] < 0.2 * first.item()


def test_no_labeled_positions_gives_zero_loss():
    model = tiny_model()
    batch = batches()["capitalization"]
    batch["token_labels"] = torch.full((B, T), IGNORE)
    loss, metrics = model(batch)
    loss.backward()
    assert metrics["loss"] == 0.0 and metrics["accuracy"] == 0.0


def test_bad_batches():
    model = tiny_model()
    batch = batches()["knowledge_masking"]
    with pytest.raises(ValueError, match="no head"):
        model({**batch, "task": "ir_relevance"})
    with pytest.raises(ValueError, match="no mlm_labels"):
        model({k: v for k, v in batch.items() if k != "mlm_labels"})
    with pytest.raises(ValueError, match="max_position_embeddings"):
        model.ernie(torch.zeros(1, 513, dtype=torch.long))
