"""Invariants of task shards, checked by validate(): metadata, lengths, id and label ranges."""
from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.compute as pc

from schemas import metadata, tasks


def _fail(where: str, message: str):
    from schemas.errors import SchemaError

    raise SchemaError(f"{where}{message}")


def check_task(kind: str, table: pa.Table, meta: dict[str, str], where: str,
               vocab_fingerprint: str | None, vocab_size: int | None) -> None:
    missing = [k for k in metadata.TASK_REQUIRED if k not in meta]
    if missing:
        _fail(where, f"{kind} shard lacks metadata {', '.join(missing)}")
    if not meta[metadata.TASK].startswith(kind + "_v"):
        _fail(where, f"{metadata.TASK} is {meta[metadata.TASK]!r}, expected {kind}_v<N>")
    task_id = tasks.shard_task_id(kind)
    if int(meta[metadata.TASK_ID]) != task_id:
        _fail(where, f"task id {meta[metadata.TASK_ID]} is not {kind}'s {task_id}")
    if vocab_fingerprint is not None and meta[metadata.VOCAB_FINGERPRINT] != vocab_fingerprint:
        _fail(where, f"built with vocab {meta[metadata.VOCAB_FINGERPRINT][:12]}…, not the given vocab {vocab_fingerprint[:12]}…")
    num_classes = int(meta[metadata.NUM_CLASSES])
    names = json.loads(meta[metadata.LABEL_NAMES])
    if len(names) != num_classes:
        _fail(where, f"{len(names)} label names for {num_classes} classes")
    if table.num_rows == 0:
        return
    max_len = int(meta[metadata.MAX_SEQ_LEN])
    lengths = pc.list_value_length(table.column("input_ids"))
    if pc.max(lengths).as_py() > max_len:
        _fail(where, f"an example has {pc.max(lengths).as_py()} tokens, over max_seq_len {max_len}")
    if pc.any(pc.not_equal(pc.list_value_length(table.column("token_type_ids")), lengths)).as_py():
        _fail(where, "token_type_ids and input_ids differ in length")
    ids = pc.list_flatten(table.column("input_ids"))
    vocab_size = vocab_size or int(meta[metadata.VOCAB_SIZE])
    if pc.min(ids).as_py() < 0 or pc.max(ids).as_py() >= vocab_size:
        _fail(where, f"token ids outside [0, {vocab_size})")
    if pc.any(pc.not_equal(table.column("task_id"), task_id)).as_py():
        _fail(where, f"task_id column is not {task_id} everywhere")
    if "label" in table.column_names:
        label = table.column("label")
        if pc.min(label).as_py() < 0 or pc.max(label).as_py() >= num_classes:
            _fail(where, f"label outside [0, {num_classes})")
    for column, allowed in (("labels", {tasks.IGNORE, *range(num_classes)}), ("word_labels", {-1, 0, 1})):
        if column in table.column_names:
            if pc.any(pc.not_equal(pc.list_value_length(table.column(column)), lengths)).as_py():
                _fail(where, f"{column} and input_ids differ in length")
            seen = set(pc.unique(pc.list_flatten(table.column(column))).to_pylist())
            if not seen <= allowed:
                _fail(where, f"{column} has values {sorted(seen - allowed)} outside {sorted(allowed)}")
    for column in ("phrase_spans", "entity_spans"):
        if column in table.column_names:
            spans = table.column(column).combine_chunks()  # a ChunkedArray has no .field()
            flat = pc.list_flatten(spans)
            if len(flat):
                starts, ends = flat.field("start"), flat.field("end")
                parents = pc.list_parent_indices(spans)
                if pc.any(pc.greater_equal(starts, ends)).as_py():
                    _fail(where, f"{column} has an empty or reversed span")
                if pc.any(pc.greater(ends, pc.take(lengths, parents))).as_py():
                    _fail(where, f"{column} has a span past the end of its example")
