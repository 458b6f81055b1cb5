"""The documents dataset: one row per document, paragraphs of sentences.

Written by `ernie-corpus ingest`; read by every task builder.
"""
from __future__ import annotations

import pyarrow as pa

NAME = "documents"
VERSION = 1

SCHEMA = pa.schema(
    [
        pa.field("doc_id", pa.string(), nullable=False),   # stable: "<source>:<original id>"
        pa.field("source", pa.dictionary(pa.int32(), pa.string()), nullable=False),  # wikipedia, books, reddit, web, ...
        pa.field("lang", pa.dictionary(pa.int32(), pa.string()), nullable=False),    # en | zh
        pa.field("title", pa.string(), nullable=False),
        pa.field("paragraphs", pa.list_(pa.list_(pa.string())), nullable=False),   # paragraph -> sentences
        pa.field("headings", pa.list_(pa.string()), nullable=False),  # section heading of each paragraph, "" if none
        pa.field("meta", pa.string(), nullable=False),     # JSON object: url, timestamps, subreddit, ...
    ]
)

LANGS = ("en", "zh")
