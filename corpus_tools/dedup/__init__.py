"""Dedup: MinHash signatures (minhash), and the distributed stage over signature tables (stages,
with its steps buckets, clusters, resolve); datasets is the dedup command."""
