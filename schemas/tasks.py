"""Task shards: one schema per ERNIE 2.0 pre-training task.

Every example is `[CLS] ... [SEP] ...` as `input_ids` with `token_type_ids` for the segments,
and carries `task_id` (the task embedding id) and the `doc_id` it came from. Token-level labels
use -100 where there is nothing to predict. Label names, class counts and label tables
(permutations, markers) are in the schema metadata, so the trainer never imports a builder.
"""
from __future__ import annotations

import pyarrow as pa

VERSION = 1
IGNORE = -100  # token label where there is nothing to predict

# The task embedding id of each task, in the paper's order.
TASK_IDS = {
    "knowledge_masking": 0,
    "capitalization": 1,
    "token_document": 2,
    "sentence_reorder": 3,
    "sentence_distance": 4,
    "discourse_relation": 5,
    "ir_relevance": 6,
}
TOKEN_TASKS = ("capitalization", "token_document")  # a binary label per word start
SEQUENCE_TASKS = ("sentence_reorder", "sentence_distance", "discourse_relation", "ir_relevance")

SPAN = pa.struct([pa.field("start", pa.int32(), nullable=False), pa.field("end", pa.int32(), nullable=False)])
ENTITY = pa.struct([pa.field("start", pa.int32(), nullable=False), pa.field("end", pa.int32(), nullable=False),
                    pa.field("label", pa.string(), nullable=False)])

_COMMON = [
    pa.field("doc_id", pa.string(), nullable=False),  # or query_id for ir_relevance
    pa.field("task_id", pa.int8(), nullable=False),
    pa.field("input_ids", pa.list_(pa.int32()), nullable=False),
    pa.field("token_type_ids", pa.list_(pa.int8()), nullable=False),
]
_TOKEN_LABELS = [pa.field("labels", pa.list_(pa.int8()), nullable=False)]  # 0/1 at word starts, else -100
_SEQUENCE_LABEL = [pa.field("label", pa.int32(), nullable=False)]

SCHEMAS = {
    "knowledge_masking": pa.schema(_COMMON + [
        pa.field("word_labels", pa.list_(pa.int8()), nullable=False),  # 0 word start, 1 inside, -1 special
        pa.field("phrase_spans", pa.list_(SPAN), nullable=False),  # token positions, end exclusive
        pa.field("entity_spans", pa.list_(ENTITY), nullable=False),
    ]),
    "capitalization": pa.schema(_COMMON + _TOKEN_LABELS),
    "token_document": pa.schema(_COMMON + _TOKEN_LABELS),
    "sentence_reorder": pa.schema(_COMMON + _SEQUENCE_LABEL),
    "sentence_distance": pa.schema(_COMMON + _SEQUENCE_LABEL),
    "discourse_relation": pa.schema(_COMMON + _SEQUENCE_LABEL),
    "ir_relevance": pa.schema(_COMMON + _SEQUENCE_LABEL),
}
