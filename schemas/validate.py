"""`validate()`: the one check that writers run before a shard is written and readers run on open."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Union

import pyarrow as pa
import pyarrow.compute as pc

from schemas import documents, metadata, searchlog, tasks
from schemas.errors import SchemaError

DATASETS = {documents.NAME: documents.SCHEMA, searchlog.NAME: searchlog.SCHEMA}
VERSIONS = {documents.NAME: documents.VERSION, searchlog.NAME: searchlog.VERSION}




def schema_for(kind: str, meta: dict[str, str] | None = None, schema: pa.Schema | None = None) -> pa.Schema:
    """The dataset schema of `kind` (documents, searchlog; for a task, `schema`, its
    tasks.task_schema), with `meta` (ernie.* keys) attached."""
    if schema is None and kind not in DATASETS:
        raise SchemaError(f"unknown dataset kind {kind!r} (known: {', '.join(sorted(DATASETS))})")
    version = VERSIONS.get(kind, tasks.VERSION)
    values = {metadata.SCHEMA: kind, metadata.SCHEMA_VERSION: str(version), **(meta or {})}
    return (DATASETS[kind] if schema is None else schema).with_metadata(metadata.encode(values))


def read_table(path: Union[str, Path]) -> pa.Table:
    """Memory-map one Arrow IPC shard (stream format, as written; the file format is read too)."""
    with pa.memory_map(str(path)) as source:
        try:
            return pa.ipc.open_stream(source).read_all()
        except pa.ArrowInvalid:
            source.seek(0)
            return pa.ipc.open_file(source).read_all()


def validate(data: Union[pa.Table, pa.RecordBatch, str, Path], expect: str | None = None,
             vocab_fingerprint: str | None = None, vocab_size: int | None = None) -> dict[str, str]:
    """Check a table or shard file against its declared schema; return its ernie.* metadata.

    Checks: the required metadata keys, a known kind and version (and `expect` if given),
    column names and types, non-null columns, and per-kind invariants; for task shards also the
    vocab fingerprint (if given), token ids below `vocab_size`, lengths and label ranges.
    """
    where = f"{data}: " if isinstance(data, (str, Path)) else ""
    table = read_table(data) if isinstance(data, (str, Path)) else data
    meta = metadata.decode(table.schema)
    missing = [k for k in metadata.REQUIRED if k not in meta]
    if missing:
        raise SchemaError(f"{where}missing metadata {', '.join(missing)}; not an ernie-corpus shard?")
    kind = meta[metadata.SCHEMA]
    if expect is not None and kind != expect:
        raise SchemaError(f"{where}is a {kind!r} dataset, expected {expect!r}")
    is_task = kind not in DATASETS and (metadata.TASK in meta or kind in tasks.PAPER_IDS)  # the seven or a plugin's
    if kind not in DATASETS and not is_task:
        raise SchemaError(f"{where}unknown dataset kind {kind!r}")
    version, supported = int(meta[metadata.SCHEMA_VERSION]), VERSIONS.get(kind, tasks.VERSION)
    if version != supported:
        raise SchemaError(f"{where}{kind} schema version {version}, this release reads {supported}")
    if is_task:
        head = tasks.head_of(meta, table.schema)
        if head not in tasks.HEADS:
            raise SchemaError(f"{where}{metadata.HEAD} is {head!r}, not one of {', '.join(tasks.HEADS)}")
        want = tasks.task_schema(head)  # a task may add columns of its own after these
        if table.schema.names[:len(want)] != want.names:
            raise SchemaError(f"{where}columns {table.schema.names} do not start with the {head} task columns "
                              f"{want.names}")
    else:
        want = DATASETS[kind]
        if table.schema.names != want.names:
            raise SchemaError(f"{where}columns {table.schema.names} differ from {kind} v{version} {want.names}")
    for field in want:
        got = table.schema.field(field.name)
        if got.type != field.type:
            raise SchemaError(f"{where}column {field.name!r} has type {got.type}, expected {field.type}")
        if not field.nullable and table.column(field.name).null_count:
            raise SchemaError(f"{where}column {field.name!r} has nulls")
    if metadata.BUILD_CONFIG in meta:
        try:
            json.loads(meta[metadata.BUILD_CONFIG])
        except json.JSONDecodeError as exc:
            raise SchemaError(f"{where}{metadata.BUILD_CONFIG} is not JSON: {exc}") from None
    if is_task:
        from schemas.task_checks import check_task

        check_task(kind, table, meta, where, vocab_fingerprint, vocab_size)
    else:
        _check_rows(kind, table, where)
    return meta


def _check_rows(kind: str, table, where: str) -> None:
    if table.num_rows == 0:
        return
    langs = set(pc.unique(table.column("lang").cast(pa.string())).to_pylist())
    if not langs <= set(documents.LANGS):
        raise SchemaError(f"{where}unknown lang values {sorted(langs - set(documents.LANGS))}")
    if kind == documents.NAME:
        n_par = pc.list_value_length(table.column("paragraphs"))
        n_head = pc.list_value_length(table.column("headings"))
        if not pc.all(pc.equal(n_par, n_head)).as_py():
            raise SchemaError(f"{where}headings and paragraphs differ in length")
        ids = table.column("doc_id")
        if pc.count_distinct(ids).as_py() != table.num_rows:
            raise SchemaError(f"{where}doc_id is not unique")
    if kind == searchlog.NAME:
        clicked_unshown = pc.and_(pc.fill_null(table.column("clicked"), False), pc.invert(table.column("shown")))
        if pc.any(clicked_unshown).as_py():
            raise SchemaError(f"{where}a result is clicked but not shown")
