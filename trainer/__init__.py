"""ernie-train: the ERNIE 2.0 model and continual multi-task trainer (reads task shards only)."""
