"""The running of jobs: the output skeleton (job), the engines (local processes, Ray), shards and
manifests, reading datasets back, stats, library versions. Imports only schemas."""
