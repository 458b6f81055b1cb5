"""ernie-corpus: raw corpora -> typed, deduplicated Arrow datasets for ERNIE 2.0 pre-training."""
__version__ = "0.1.0"
