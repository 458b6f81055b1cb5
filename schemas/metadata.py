"""Metadata keys carried in every shard's Arrow schema.

Values are UTF-8 strings; structured values (build config, label tables) are JSON.
The trainer reads everything it needs from these keys and never imports a builder.
"""
from __future__ import annotations

import json
from typing import Any, Mapping

import pyarrow as pa

PREFIX = "ernie."
SCHEMA = "ernie.schema"                    # dataset kind: documents, searchlog, <task name>
SCHEMA_VERSION = "ernie.schema_version"    # integer as text
CREATED_BY = "ernie.created_by"            # "ernie-corpus <version>"
BUILD_CONFIG = "ernie.build_config"        # JSON: the settings that produced the shard
SEED = "ernie.seed"                        # integer as text (task shards)
TASK = "ernie.task"                        # versioned builder name, e.g. sentence_reorder_v1
VOCAB_FINGERPRINT = "ernie.vocab_fingerprint"  # sha256 of vocab.txt
LABEL_NAMES = "ernie.label_names"          # JSON list
NUM_CLASSES = "ernie.num_classes"          # integer as text
LABEL_TABLE = "ernie.label_table"          # JSON: permutation table, marker list, ...
TASK_ID = "ernie.task_id"                  # integer as text: the task's shard id (schemas.tasks.shard_task_id)
HEAD = "ernie.head"                        # token | sequence | masked_lm | contrastive | skip_gram: the trainer's head
MAX_SEQ_LEN = "ernie.max_seq_len"          # integer as text: no example is longer
INPUTS = "ernie.inputs"                    # JSON: the input datasets (path, kind, shards with sha256)
VOCAB_SIZE = "ernie.vocab_size"            # integer as text: the trainer sizes its embeddings with it
LABEL_HISTOGRAM = "ernie.label_histogram"  # JSON {label name: count} of the shard (task shards)
POSITIVE_RATE = "ernie.positive_rate"      # token tasks: share of labelled tokens that are 1, as text
SPECIAL_IDS = "ernie.special_ids"          # JSON: {"pad": 0, "unk": 1, "cls": 2, "sep": 3, "mask": 4}

TASK_REQUIRED = (TASK, TASK_ID, VOCAB_FINGERPRINT, VOCAB_SIZE, SPECIAL_IDS, LABEL_NAMES, NUM_CLASSES, SEED,
                 MAX_SEQ_LEN, BUILD_CONFIG)

REQUIRED = (SCHEMA, SCHEMA_VERSION, CREATED_BY)


def encode(values: Mapping[str, Any]) -> dict[bytes, bytes]:
    """Encode metadata: strings stay as they are, everything else becomes JSON."""
    out: dict[bytes, bytes] = {}
    for key, value in values.items():
        if not key.startswith(PREFIX):
            raise ValueError(f"metadata key {key!r} must start with {PREFIX!r}")
        text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)
        out[key.encode()] = text.encode()
    return out


def decode(schema: pa.Schema) -> dict[str, str]:
    """The ernie.* metadata of a schema as a str -> str dict."""
    raw = schema.metadata or {}
    return {k.decode(): v.decode() for k, v in raw.items() if k.startswith(PREFIX.encode())}


def load_json(meta: Mapping[str, str], key: str, default: Any = None) -> Any:
    """A JSON-valued metadata entry, or `default` when absent."""
    return json.loads(meta[key]) if key in meta else default
