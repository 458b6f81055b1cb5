"""The seven ERNIE 2.0 pre-training task builders (pure functions over Arrow batches)."""
