"""Task building: documents + vocab -> task shards through the task registry (build), and the
build flags made from task settings (options)."""
