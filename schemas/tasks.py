"""Task shards: the columns every pre-training task shares, and the label columns of each head.

Every example is `[CLS] ... [SEP] ...` as `input_ids` with `token_type_ids` for the segments,
and carries `task_id` (the task's shard id) and the `doc_id` it came from. A task's schema is the
common columns, the columns of its head kind, then any columns of its own (task_schema). Label
names, class counts, label tables and the head kind are in the schema metadata, so the trainer
never imports a builder.

Task ids: the seven ERNIE 2.0 tasks keep their place in the paper's order (0..6); any other task
gets a stable id from its name (shard_task_id), which seeds its builder. The trainer does not
use the shard id for the task embedding: it numbers the tasks of a run with embedding_ids, the
paper's tasks first at their paper ids, the others after them in the run's order.
"""
from __future__ import annotations

import hashlib
from typing import Mapping

import pyarrow as pa

VERSION = 1
IGNORE = -100  # token label where there is nothing to predict

# The seven ERNIE 2.0 tasks in the paper's order: their shard and embedding ids are 0..6.
PAPER_TASKS = ("knowledge_masking", "capitalization", "token_document", "sentence_reorder", "sentence_distance",
               "discourse_relation", "ir_relevance")
PAPER_IDS = {name: i for i, name in enumerate(PAPER_TASKS)}
MAX_TASK_ID = 127  # the task_id column is int8

# Head kinds: a label per token (-100 where none), one label per sequence, masked language
# modelling with the word, phrase and entity units that knowledge masking masks, or contrastive:
# segment 0 and segment 1 of an example are partners (two views of one document), encoded apart,
# and the head finds each segment's partner among the batch's (no label column), or skip_gram:
# each word piece predicts the pieces around it, read from the word embeddings (no label column).
HEADS = ("token", "sequence", "masked_lm", "contrastive", "skip_gram")
UNLABELLED = ("contrastive", "skip_gram")  # one "class" (the label name), counted per example

SPAN = pa.struct([pa.field("start", pa.int32(), nullable=False), pa.field("end", pa.int32(), nullable=False)])
ENTITY = pa.struct([pa.field("start", pa.int32(), nullable=False), pa.field("end", pa.int32(), nullable=False),
                    pa.field("label", pa.string(), nullable=False)])

COMMON = [
    pa.field("doc_id", pa.string(), nullable=False),  # or query_id for ir_relevance
    pa.field("task_id", pa.int8(), nullable=False),
    pa.field("input_ids", pa.list_(pa.int32()), nullable=False),
    pa.field("token_type_ids", pa.list_(pa.int8()), nullable=False),
]
HEAD_COLUMNS = {
    "token": [pa.field("labels", pa.list_(pa.int8()), nullable=False)],  # a class per token, else -100
    "sequence": [pa.field("label", pa.int32(), nullable=False)],
    "masked_lm": [
        pa.field("word_labels", pa.list_(pa.int8()), nullable=False),  # 0 word start, 1 inside, -1 special
        pa.field("phrase_spans", pa.list_(SPAN), nullable=False),  # token positions, end exclusive
        pa.field("entity_spans", pa.list_(ENTITY), nullable=False),
    ],
    "contrastive": [],  # the partners are the example's two segments (token_type_ids 0 and 1)
    "skip_gram": [],  # the targets are the example's own pieces (the trainer draws the pairs)
}


def task_schema(head: str, extra: list[pa.Field] = ()) -> pa.Schema:
    """The schema of a task with this head kind: the common columns, the head's, then `extra`."""
    if head not in HEADS:
        raise ValueError(f"unknown head kind {head!r}; kinds are {', '.join(HEADS)}")
    return pa.schema(COMMON + HEAD_COLUMNS[head] + list(extra))


def head_of(meta: Mapping[str, str], schema: pa.Schema) -> str:
    """A shard's head kind: from its metadata (ernie.head), or, for shards written before the key
    existed, from its label columns."""
    from schemas import metadata

    if metadata.HEAD in meta:
        return meta[metadata.HEAD]
    for head in ("masked_lm", "token", "sequence"):
        if HEAD_COLUMNS[head][0].name in schema.names:
            return head
    return "sequence"  # no label column: validation names the missing one


def shard_task_id(name: str) -> int:
    """The id a task's shards carry (and its builder's seed): the paper id for the seven tasks,
    else a stable number from the name in 7..127."""
    if name in PAPER_IDS:
        return PAPER_IDS[name]
    digest = int.from_bytes(hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest(), "little")
    return len(PAPER_TASKS) + digest % (MAX_TASK_ID + 1 - len(PAPER_TASKS))


def embedding_ids(names: list[str]) -> dict[str, int]:
    """Task embedding ids of a run: the paper's tasks at their paper ids, whether or not the run
    has them all (so weights carry over between runs), the others after them in the run's order."""
    ids = {name: PAPER_IDS[name] for name in names if name in PAPER_IDS}
    following = len(PAPER_TASKS)
    for name in names:
        if name not in ids:
            ids[name], following = following, following + 1
    return {name: ids[name] for name in names}
