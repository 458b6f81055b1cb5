"""Loading the language libraries that both the corpus tools (sentence splitting in ingest) and the
task builders (knowledge_masking's analysis) run: a leaf under both, importing only schemas, so that
neither reaches into the other for them (tests/test_layering.py)."""
