"""--engine ray on a real two-node Ray cluster started here: the same shards as the local engine (ingest,
dedup, build), work on both nodes, a killed Ray worker's unit run again, and --resume after the driver
is killed."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from click.testing import CliRunner

from corpus_tools.tasks.build import build
from corpus_tools.cli import main
from corpus_tools.dedup.datasets import dedup
from corpus_tools.ingest.ingest import IngestConfig, ingest
from corpus_tools.run.engine import Parallel
from task_builders.base import BuildSettings
from tests.conftest import ROOT
from tests.faults import kill_worker
from tests.helpers import shard_digests, stats

ray = pytest.importorskip("ray", reason="Ray is an optional extra (pip install 'ernie-stack[ray]')")
RAY = Path(sys.executable).with_name("ray")


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _node(temp: Path, ports: list[int], head: bool, address: str = "") -> subprocess.Popen:
    """`ray start --block` of one node with one CPU, on ports of its own (no clash with any other Ray
    on this machine), as a child process: stopping it stops that node and nothing else."""
    agent, grpc, runtime, metrics, manager, objects, client = ports
    command = [str(RAY), "start", "--block", "--num-cpus", "1", "--node-ip-address", "127.0.0.1",
               "--temp-dir", str(temp), "--dashboard-agent-listen-port", str(agent),
               "--dashboard-agent-grpc-port", str(grpc), "--runtime-env-agent-port", str(runtime),
               "--metrics-export-port", str(metrics), "--node-manager-port", str(manager),
               "--object-manager-port", str(objects), "--disable-usage-stats"]
    command += (["--head", "--port", address.rpartition(":")[2], "--include-dashboard", "false",
                 "--ray-client-server-port", str(client)] if head else ["--address", address])
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAY_AUTH_MODE": "disabled", "OMP_NUM_THREADS": "1"}
    env.pop("RAY_ADDRESS", None)
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def _stop(node: subprocess.Popen, temp: Path) -> None:
    if node.poll() is None:
        os.killpg(node.pid, signal.SIGTERM)  # ray start --block stops its node's processes on SIGTERM
        try:
            node.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(node.pid, signal.SIGKILL)
    import psutil  # a Ray dependency

    for proc in psutil.process_iter(["pid", "cmdline"]):  # anything of this cluster's left over: by pid
        if str(temp) in " ".join(proc.info["cmdline"] or []):
            try:
                proc.kill()
            except psutil.Error:
                pass


@pytest.fixture(scope="module")
def cluster(local, tiny_vocab):
    """A head and a second node, one CPU each; RAY_ADDRESS points the engine at it. The nodes start
    in the background while `local` and `tiny_vocab` (the references) are made."""
    return _started.connect()


class _Cluster:
    def __init__(self):
        self.temp = Path(tempfile.mkdtemp(prefix="ray-", dir="/tmp"))  # short: Ray's socket paths are limited
        port, *self.ports = _free_ports(15)
        self.address = f"127.0.0.1:{port}"
        self.deadline = time.monotonic() + 180
        self.nodes = [_node(self.temp, self.ports[:7], head=True, address=self.address)]
        self.thread = threading.Thread(target=self._second, daemon=True)
        self.thread.start()

    def _second(self) -> None:
        port = int(self.address.rpartition(":")[2])
        while not _listening(port):
            if self.nodes[0].poll() is not None or time.monotonic() > self.deadline:
                return
            time.sleep(0.2)
        self.nodes.append(_node(self.temp, self.ports[7:14], head=False, address=self.address))

    def connect(self) -> str:
        self.thread.join(timeout=max(1.0, self.deadline - time.monotonic()))
        assert len(self.nodes) == 2, "the Ray head did not start"
        os.environ["RAY_ADDRESS"] = self.address
        ray.init(address=self.address, log_to_driver=False)
        while len([n for n in ray.nodes() if n["Alive"]]) < 2:
            assert self.nodes[1].poll() is None and time.monotonic() < self.deadline, "the second Ray node did not join"
            time.sleep(0.2)
        return self.address

    def stop(self) -> None:
        self.thread.join(timeout=60)
        ray.shutdown()
        os.environ.pop("RAY_ADDRESS", None)
        for node in reversed(self.nodes):
            _stop(node, self.temp)
        shutil.rmtree(self.temp, ignore_errors=True)


_started: _Cluster


@pytest.fixture(scope="module", autouse=True)
def _nodes():
    """Starts the cluster first thing in this module and always stops it, whatever failed."""
    global _started
    _started = _Cluster()
    try:
        yield
    finally:
        _started.stop()


@pytest.fixture(scope="module")
def inputs(data, tmp_path_factory):
    """Eight articles with one duplicated (an exact duplicate) and one edited (a near one), and the
    mixed Reddit comments; the articles cut in several units."""
    folder = tmp_path_factory.mktemp("ray-in")
    lines = (data / "enwiki_extracted" / "wiki_00.jsonl").read_text(encoding="utf-8").splitlines()[:8]
    edited = json.loads(lines[2])
    edited["id"] = "near-copy"
    edited["text"] = edited["text"].replace(".", ";", 1)
    articles = folder / "articles.jsonl"
    articles.write_text("\n".join(lines + [lines[1].replace('"id": "', '"id": "copy-'), json.dumps(edited)]) + "\n",
                        encoding="utf-8")
    return [articles, data / "reddit" / "pushshift_comments_mixed.jsonl"], articles.stat().st_size // 3


ON_RAY = Parallel(workers=2, engine="ray")


def _config(unit_bytes: int) -> IngestConfig:
    return IngestConfig(shard_size=10, unit_bytes=unit_bytes)


@pytest.fixture(scope="module")
def local(inputs, tmp_path_factory):
    paths, unit_bytes = inputs
    out = tmp_path_factory.mktemp("ray-local") / "docs"
    ingest(paths, out, _config(unit_bytes))
    return out


@pytest.fixture(scope="module")
def tiny_vocab(local, tmp_path_factory):
    from corpus_tools.run.dataset import iter_sentences
    from task_builders.vocab import train_vocab

    out = tmp_path_factory.mktemp("ray-vocab") / "vocab"
    train_vocab(iter_sentences(local), out, vocab_size=2000)
    return out


def test_two_nodes_give_the_local_shards_with_work_on_both_nodes(cluster, inputs, local, tiny_vocab, tmp_path):
    paths, unit_bytes = inputs
    result = ingest(paths, f"file://{tmp_path}/docs", _config(unit_bytes), parallel=ON_RAY)
    assert result.stats["dedup"]["exact_duplicate"] >= 1 and result.stats["dedup"]["near_duplicate"] >= 1
    assert shard_digests(tmp_path / "docs") == shard_digests(local)
    nodes = {json.loads(p.read_text())["node"] for p in (tmp_path / "docs" / ".state").glob("unit-?????.json")}
    assert len(nodes) == 2 and nodes <= {n["NodeID"] for n in ray.nodes()}
    settings = BuildSettings(max_seq_len=96)
    build(["sentence_distance"], [local], tiny_vocab, tmp_path / "local", settings, batch_rows=4)
    build(["sentence_distance"], [local], tiny_vocab, f"file://{tmp_path}/ray", settings, parallel=ON_RAY, batch_rows=4)
    digests = shard_digests(tmp_path / "local" / "sentence_distance")
    assert len(digests) > 1 and digests == shard_digests(tmp_path / "ray" / "sentence_distance")
    # `ernie-corpus dedup --engine ray` of both outputs together (about a second): the second one's
    # documents all go (their ids), and the shards are those of the local engine
    dedup([local, tmp_path / "docs"], tmp_path / "both")
    ran = CliRunner().invoke(main, ["dedup", str(local), str(tmp_path / "docs"), "--out", f"file://{tmp_path}/both-ray",
                                    "--workers", "2", "--engine", "ray", "--quiet"])
    assert ran.exit_code == 0, ran.output
    assert shard_digests(tmp_path / "both-ray") == shard_digests(tmp_path / "both")
    assert stats(tmp_path / "both-ray")["dedup"] == {"duplicate_id": stats(local)["kept"]}


def test_a_killed_ray_worker_reruns_its_unit(cluster, inputs, local, tmp_path, monkeypatch):
    paths, unit_bytes = inputs
    marker = tmp_path / "killed-once"
    kill_worker(monkeypatch, "corpus_tools.ingest.ingest", "write", 1, marker)  # the Ray worker writing shard 1: kill -9
    ingest(paths, tmp_path / "docs", _config(unit_bytes), parallel=ON_RAY)
    assert marker.exists()
    assert shard_digests(tmp_path / "docs") == shard_digests(local)
    assert stats(tmp_path / "docs")["kept"] == stats(local)["kept"]


def test_resume_on_ray_after_the_driver_is_killed(cluster, inputs, local, tmp_path):
    paths, unit_bytes = inputs
    out = tmp_path / "docs"
    code = ("import sys; from tests.faults import kill_driver; kill_driver('corpus_tools.ingest.ingest', 'read', 2); "
            "from corpus_tools.ingest.ingest import IngestConfig, ingest; "
            "from corpus_tools.run.engine import Parallel; "
            f"ingest(sys.argv[1:3], sys.argv[3], IngestConfig(shard_size=10, unit_bytes={unit_bytes}), "
            "parallel=Parallel(workers=2, engine='ray'))")
    died = subprocess.run([sys.executable, "-c", code, *map(str, paths), str(out)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300, cwd=ROOT)
    assert died.returncode == -9, died.stderr[-2000:]
    finished = {p.name: p.stat().st_mtime_ns for p in (out / ".state").glob("unit-?????.json")}
    assert len(finished) >= 2
    ingest(paths, out, _config(unit_bytes), parallel=ON_RAY, resume=True)
    assert {n: (out / ".state" / n).stat().st_mtime_ns for n in finished} == finished
    assert shard_digests(out) == shard_digests(local)
