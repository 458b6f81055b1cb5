"""The ERNIE 2.0 encoder: a post-LN BERT with a task-type embedding, in plain PyTorch.

Parameter names and shapes match `transformers.ErnieModel` with `use_task_id=True` one to one, so
`hf_model.load_state_dict(ours.state_dict())` works (HF's `position_ids` and `token_type_ids` are
non-persistent buffers and take no part). Attention runs through
`torch.nn.functional.scaled_dot_product_attention`.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Optional

import torch
import torch.nn.functional as F
from torch import nn

# name: (num_hidden_layers, hidden_size, num_attention_heads)
SIZES = {"tiny": (2, 128, 2), "mini": (4, 256, 4), "base": (12, 768, 12), "large": (24, 1024, 16)}


@dataclass
class ErnieConfig:
    vocab_size: int
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: Optional[int] = None  # None: 4 * hidden_size
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 512
    type_vocab_size: int = 2  # HF's ernie-3.0 checkpoints use 4
    task_type_vocab_size: int = 16  # >= the 7 ERNIE 2.0 tasks, room for more
    use_task_id: bool = True
    layer_norm_eps: float = 1e-12
    pad_token_id: int = 0
    initializer_range: float = 0.02

    def __post_init__(self) -> None:
        if self.intermediate_size is None:
            self.intermediate_size = 4 * self.hidden_size
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(f"hidden_size {self.hidden_size} is not a multiple of "
                             f"num_attention_heads {self.num_attention_heads}")
        if self.hidden_act != "gelu":
            raise ValueError(f"hidden_act {self.hidden_act!r} is not supported; use 'gelu'")

    @classmethod
    def from_size(cls, name: str, vocab_size: int, **overrides: Any) -> "ErnieConfig":
        """A named size (tiny, mini, base, large); any field can be overridden for custom sizes."""
        if name not in SIZES:
            raise ValueError(f"unknown model size {name!r}; sizes are {', '.join(SIZES)}")
        layers, hidden, heads = SIZES[name]
        fields = dict(num_hidden_layers=layers, hidden_size=hidden, num_attention_heads=heads)
        return cls(vocab_size=vocab_size, **{**fields, **overrides})

    def to_hf_dict(self) -> dict[str, Any]:
        """Keyword arguments for `transformers.ErnieConfig` describing the same model."""
        return asdict(self)


class ErnieEmbeddings(nn.Module):
    """word + position + token type + task type embeddings, LayerNorm, dropout."""

    def __init__(self, config: ErnieConfig) -> None:
        super().__init__()
        h = config.hidden_size
        self.word_embeddings = nn.Embedding(config.vocab_size, h, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, h)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, h)
        if config.use_task_id:
            self.task_type_embeddings = nn.Embedding(config.task_type_vocab_size, h)
        self.LayerNorm = nn.LayerNorm(h, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, input_ids: torch.Tensor, token_type_ids: Optional[torch.Tensor] = None,
                task_type_ids: Optional[torch.Tensor] = None) -> torch.Tensor:
        seq_len = input_ids.shape[1]
        if seq_len > self.position_embeddings.num_embeddings:
            raise ValueError(f"sequence length {seq_len} exceeds max_position_embeddings "
                             f"{self.position_embeddings.num_embeddings}")
        x = self.word_embeddings(input_ids) + self.position_embeddings.weight[:seq_len]
        if token_type_ids is None:
            x = x + self.token_type_embeddings.weight[0]
        else:
            x = x + self.token_type_embeddings(token_type_ids)
        if hasattr(self, "task_type_embeddings"):
            x = x + (self.task_type_embeddings.weight[0] if task_type_ids is None
                     else self.task_type_embeddings(task_type_ids))
        return self.dropout(self.LayerNorm(x))


class ErnieSelfAttention(nn.Module):
    def __init__(self, config: ErnieConfig) -> None:
        super().__init__()
        h = config.hidden_size
        self.num_heads = config.num_attention_heads
        self.query = nn.Linear(h, h)
        self.key = nn.Linear(h, h)
        self.value = nn.Linear(h, h)
        self.dropout_p = config.attention_probs_dropout_prob

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor]) -> torch.Tensor:
        b, t, h = x.shape
        q, k, v = (proj(x).view(b, t, self.num_heads, h // self.num_heads).transpose(1, 2)
                   for proj in (self.query, self.key, self.value))  # each [B, heads, T, head_dim]
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask,
                                           dropout_p=self.dropout_p if self.training else 0.0)
        return y.transpose(1, 2).reshape(b, t, h)


class ErnieSelfOutput(nn.Module):
    """dense, dropout, residual, LayerNorm (also used, with a wider input, after the MLP)."""

    def __init__(self, config: ErnieConfig, in_features: int) -> None:
        super().__init__()
        self.dense = nn.Linear(in_features, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.dense(x)) + residual)


class ErnieAttention(nn.Module):
    def __init__(self, config: ErnieConfig) -> None:
        super().__init__()
        self.self = ErnieSelfAttention(config)
        self.output = ErnieSelfOutput(config, config.hidden_size)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor]) -> torch.Tensor:
        return self.output(self.self(x, mask), x)


class ErnieIntermediate(nn.Module):
    def __init__(self, config: ErnieConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(self.dense(x))


class ErnieLayer(nn.Module):
    """One post-LN Transformer block."""

    def __init__(self, config: ErnieConfig) -> None:
        super().__init__()
        self.attention = ErnieAttention(config)
        self.intermediate = ErnieIntermediate(config)
        self.output = ErnieSelfOutput(config, config.intermediate_size)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor]) -> torch.Tensor:
        x = self.attention(x, mask)
        return self.output(self.intermediate(x), x)


class ErnieEncoder(nn.Module):
    def __init__(self, config: ErnieConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList(ErnieLayer(config) for _ in range(config.num_hidden_layers))

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor]) -> torch.Tensor:
        for layer in self.layer:
            x = layer(x, mask)
        return x


class ErniePooler(nn.Module):
    """dense + tanh on the [CLS] position."""

    def __init__(self, config: ErnieConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.dense(x[:, 0]))


def init_weights(module: nn.Module, std: float) -> None:
    """BERT init: normal(0, std) weights, zero biases and padding rows, LayerNorm ones/zeros."""
    if isinstance(module, nn.Linear):
        nn.init.normal_(module.weight, std=std)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.Embedding):
        nn.init.normal_(module.weight, std=std)
        if module.padding_idx is not None:
            with torch.no_grad():
                module.weight[module.padding_idx].zero_()
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


class ErnieModel(nn.Module):
    """The encoder; forward gives (sequence_output [B, T, H], pooled_output [B, H])."""

    def __init__(self, config: ErnieConfig) -> None:
        super().__init__()
        self.config = config
        self.embeddings = ErnieEmbeddings(config)
        self.encoder = ErnieEncoder(config)
        self.pooler = ErniePooler(config)
        self.apply(lambda m: init_weights(m, config.initializer_range))

    def forward(self, input_ids: torch.Tensor, token_type_ids: Optional[torch.Tensor] = None,
                task_type_ids: Optional[torch.Tensor] = None,
                attention_mask: Optional[torch.Tensor] = None) -> tuple[torch.Tensor, torch.Tensor]:
        mask = None
        if attention_mask is not None:  # [B, T] 1 = token, 0 = padding -> [B, 1, 1, T] bool, True = attend
            # ([B, T, T]: who may attend to whom, per query position; the contrastive head's segments)
            mask = attention_mask.bool()[:, None, None, :] if attention_mask.dim() == 2 else attention_mask.bool()[:, None]
        x = self.embeddings(input_ids, token_type_ids, task_type_ids)
        x = self.encoder(x, mask)
        return x, self.pooler(x)


WEIGHT_INITS = ("local", "bert")
LOCAL_OFFSETS = (-1, 1, -2, 2)  # head h of every layer starts looking at offset LOCAL_OFFSETS[h] (h < 4)


def local_attention_init(model: "ErnieModel", scale: float = 1.5) -> None:
    """Start the encoder with attention that reads word order: the `local` weight init.

    Why: an MLM from random (BERT) init sits on the unigram plateau until its heads learn to look
    at neighbouring positions; at CPU budgets that takes longer than the run (see
    docs/BENCHMARKS.md, "Leaving the unigram plateau"). This init gives them that structure at step 0,
    and training is free to change it:
    - the position table holds a sinusoid (Vaswani et al. 2017) in the first half of the hidden
      dimensions, whose pairs (sin, cos) at frequency w turn by a fixed angle per position;
    - word, segment and task embeddings start at zero in those dimensions, so they do not drown the
      position code;
    - position 0 ([CLS]) gets no code, so its query finds no neighbour and it attends over the
      whole input (by content), as at BERT's init: the pooler, and with it every sentence-level
      task and classifier, sees the whole sequence (with a code, [CLS] looked only at tokens 1-2,
      and a classifier fine-tuned from random weights lost 9 points on SST-2);
    - in every layer, heads 0..3 get query = the position code and key = the code turned by
      w * d for offset d in LOCAL_OFFSETS, so q_i . k_j peaks at j = i + d: head 0 looks at the
      previous token, head 1 at the next, heads 2 and 3 two away; other heads keep BERT's init.
      `scale` sets how peaked (1.5: about 0.37 of a head's attention on its offset at init).
    The parameters and shapes are BERT's, so export to HF ErnieModel is unchanged.
    """
    config = model.config
    hidden, heads = config.hidden_size, config.num_attention_heads
    head_dim, half = hidden // heads, hidden // 2
    pairs = min(head_dim, half) // 2
    positions = torch.arange(config.max_position_embeddings, dtype=torch.float32)[:, None]
    freqs = torch.exp(torch.arange(0, hidden, 2, dtype=torch.float32) * (-math.log(10000.0) / hidden))[: half // 2]
    code = torch.zeros(config.max_position_embeddings, hidden)
    code[:, 0:half:2], code[:, 1:half:2] = torch.sin(positions * freqs), torch.cos(positions * freqs)
    std = config.initializer_range
    embeddings = model.embeddings
    with torch.no_grad():
        embeddings.position_embeddings.weight.copy_(code * std * math.sqrt(2))  # the same RMS as the words'
        embeddings.position_embeddings.weight[0] = 0  # [CLS] carries no position: it reads the whole input
        for table in (embeddings.word_embeddings, embeddings.token_type_embeddings,
                      getattr(embeddings, "task_type_embeddings", None)):
            if table is not None:
                table.weight[:, :half] = 0
        for layer in model.encoder.layer:
            attention = layer.attention.self
            for head, offset in list(enumerate(LOCAL_OFFSETS))[:heads]:
                cos, sin = torch.cos(freqs[:pairs] * -offset) * scale, torch.sin(freqs[:pairs] * -offset) * scale
                query, key = attention.query.weight, attention.key.weight
                for w in (query, key):
                    w[head * head_dim:(head + 1) * head_dim].normal_(0.0, std)
                even, odd = torch.arange(pairs) * 2, torch.arange(pairs) * 2 + 1
                base = head * head_dim
                query[base + even, even] += scale
                query[base + odd, odd] += scale
                # key_j = R(w * -offset) code_j = code_{j - offset}: q_i . k_j peaks at j = i + offset
                key[base + even, even] += cos
                key[base + even, odd] += sin
                key[base + odd, even] -= sin
                key[base + odd, odd] += cos


def num_params(config: ErnieConfig) -> int:
    """Weights of the encoder layers' matrix multiplies, each used once per token."""
    h, i = config.hidden_size, config.intermediate_size
    return config.num_hidden_layers * (4 * h * h + 2 * h * i)


def flops_per_token(config: ErnieConfig, seq_len: int, mlm_fraction: float = 0.15) -> float:
    """Training FLOPs per token, nanoGPT style: 6N for the matrix multiplies (N: the encoder layers,
    plus the MLM transform and decoder weighted by the fraction of positions predicted)
    and 12 * layers * hidden * seq_len for attention scores and values."""
    h = config.hidden_size
    n = num_params(config) + mlm_fraction * (h * h + h * config.vocab_size)
    return 6 * n + 12 * config.num_hidden_layers * h * seq_len


__all__ = ["LOCAL_OFFSETS", "SIZES", "WEIGHT_INITS", "ErnieConfig", "ErnieModel", "flops_per_token", "init_weights",
           "local_attention_init", "num_params"]
