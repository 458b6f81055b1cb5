"""The searchlog dataset: one row per (query, shown result).

Written by `ernie-corpus ingest` from DuReader, SogouQ or generic click logs;
read by the ir_relevance builder. `clicked` is null where the log carries no label
(e.g. the DuReader test split).
"""
from __future__ import annotations

import pyarrow as pa

NAME = "searchlog"
VERSION = 1

SCHEMA = pa.schema(
    [
        pa.field("query_id", pa.string(), nullable=False),  # same id for every result of one query
        pa.field("result_id", pa.string(), nullable=False),  # unique per row
        pa.field("query", pa.string(), nullable=False),
        pa.field("title", pa.string(), nullable=False),
        pa.field("url", pa.string(), nullable=False),        # "" when the log has none
        pa.field("shown", pa.bool_(), nullable=False),
        pa.field("clicked", pa.bool_(), nullable=True),
        pa.field("rank", pa.int32(), nullable=True),          # 0-based position on the result page
        pa.field("source", pa.dictionary(pa.int32(), pa.string()), nullable=False),  # dureader, sogouq, clicklog
        pa.field("lang", pa.dictionary(pa.int32(), pa.string()), nullable=False),
        pa.field("meta", pa.string(), nullable=False),
    ]
)
