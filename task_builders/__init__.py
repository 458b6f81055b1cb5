"""The seven ERNIE 2.0 pre-training task builders and BERT's next_sentence, the baseline (pure
functions over Arrow batches)."""
