"""ernie-corpus: raw corpora -> typed, deduplicated Arrow datasets for ERNIE 2.0 pre-training."""
from schemas import __version__  # one version for the whole stack
