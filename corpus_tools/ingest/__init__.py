"""Ingest: raw dumps -> a documents or searchlog dataset. The driver (ingest), work units, the
cleaning a worker runs (process), the format registry, sources (compression, decoding), readers/
(one per source kind) and markup/ (wikitext, books, markdown -> paragraphs)."""
