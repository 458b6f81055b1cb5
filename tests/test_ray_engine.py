"""--engine ray gives the same shards as the local engine (ingest and build)."""
from __future__ import annotations

import os

import pytest

from corpus_tools.build import build
from corpus_tools.ingest import IngestConfig, ingest
from task_builders.base import BuildSettings
from tests.helpers import shard_digests

ray = pytest.importorskip("ray", reason="Ray is an optional extra (pip install 'ernie-stack[ray]')")


@pytest.fixture(scope="module")
def local_ray(tmp_path_factory):
    os.environ.setdefault("RAY_TMPDIR", str(tmp_path_factory.mktemp("ray")))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False,
             _temp_dir=os.environ["RAY_TMPDIR"])
    yield
    ray.shutdown()


def test_ray_engine_matches_the_local_engine(local_ray, data, vocab_en, tmp_path):
    lines = (data / "enwiki_extracted" / "wiki_00.jsonl").read_text(encoding="utf-8").splitlines()[:8]
    (tmp_path / "a.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    inputs = [tmp_path / "a.jsonl", data / "reddit" / "pushshift_comments_mixed.jsonl"]
    ingest(inputs, tmp_path / "docs-local", IngestConfig(shard_size=10, batch_size=4))
    ingest(inputs, tmp_path / "docs-ray", IngestConfig(shard_size=10, batch_size=4, workers=2, engine="ray"))
    assert shard_digests(tmp_path / "docs-local") == shard_digests(tmp_path / "docs-ray")
    settings = BuildSettings(max_seq_len=96)
    build(["sentence_distance"], [tmp_path / "docs-local"], vocab_en, tmp_path / "local", settings, batch_rows=4)
    build(["sentence_distance"], [tmp_path / "docs-local"], vocab_en, tmp_path / "ray", settings, workers=2,
          batch_rows=4, engine="ray")
    digests = shard_digests(tmp_path / "local" / "sentence_distance")
    assert len(digests) > 1 and digests == shard_digests(tmp_path / "ray" / "sentence_distance")
