"""The ernie-corpus command line: help that teaches, inspect for people and for scripts."""
from __future__ import annotations

import json
import subprocess
import sys

import pyarrow as pa
import pytest
from click.testing import CliRunner

from corpus_tools.cli import main
from corpus_tools.run.shards import write_table


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def datasets(data, tmp_path_factory):
    root = tmp_path_factory.mktemp("datasets")
    assert cli("ingest", data / "dureader", "--out", root / "log", "--quiet").exit_code == 0
    assert cli("ingest", data / "gutenberg" / "84-0.txt", data / "zhwiki_extracted",
               "--out", root / "docs", "--quiet").exit_code == 0
    return root


def test_help_lists_commands_formats_and_an_example():
    top = cli("--help")
    assert top.exit_code == 0 and "ingest" in top.output and "inspect" in top.output
    ingest_help = cli("ingest", "--help").output
    for word in ("wiki-xml", "wikiextractor", "books", "reddit", "sogouq", "--resume", "--overwrite", "Example"):
        assert word in ingest_help


def test_inspect_json_counts_rows_by_source_and_language(datasets):
    result = cli("inspect", datasets / "docs", "--json", "--rows", "2")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["kind"] == "documents" and summary["rows"] == 65
    assert summary["by_source"] == {"wikipedia": 64, "books": 1}
    assert summary["by_lang"] == {"zh": 64, "en": 1}
    assert len(summary["samples"]) == 2 and summary["samples"][0]["title"].startswith("Frankenstein")
    assert summary["metadata"]["ernie.schema"] == "documents"
    assert summary["stats"]["kept"] == 65


def test_inspect_shows_records_readably(datasets):
    docs = cli("inspect", datasets / "docs", "--rows", "1").output
    assert "Frankenstein" in docs and "§ Letter 1" in docs and "To Mrs. Saville, England." in docs
    log = cli("inspect", datasets / "log", "--rows", "3").output
    assert "searchlog" in log and "query: 2017有什么好看的小说" in log and "clicked" in log


def test_inspect_a_single_shard_file(datasets):
    result = cli("inspect", datasets / "log" / "part-00000.arrow", "--json", "--rows", "0")
    assert json.loads(result.output)["rows"] == 40  # the three DuReader files are one unit (packed small files)


def test_inspect_rejects_what_is_not_a_dataset(tmp_path):
    assert cli("inspect", tmp_path / "nothing").exit_code == 1
    stray = tmp_path / "stray.arrow"
    write_table(stray, pa.table({"text": ["hello"]}))
    result = cli("inspect", stray)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == ["error: " + f"{stray}: missing metadata ernie.schema, ernie.schema_version, "
                                                  "ernie.created_by; not an ernie-corpus shard?"]


def test_inspect_validate_catches_a_tampered_shard(datasets, tmp_path):
    from schemas.validate import read_table

    table = read_table(datasets / "log" / "part-00000.arrow")
    broken = table.set_column(table.schema.get_field_index("rank"), pa.field("rank", pa.int64()),
                              table.column("rank").cast(pa.int64()))
    write_table(tmp_path / "part-00000.arrow", broken)
    result = cli("inspect", tmp_path / "part-00000.arrow")
    assert result.exit_code == 1 and "column 'rank' has type int64, expected int32" in result.output


def test_console_scripts_are_installed():
    for script in ("ernie-corpus", "ernie-train"):
        done = subprocess.run([sys.executable, "-c", f"import sys; from importlib.metadata import entry_points; "
                               f"ep = entry_points(group='console_scripts')['{script}']; sys.argv = ['{script}', '--help']; ep.load()()"],
                              capture_output=True, text=True)
        assert done.returncode == 0 and "Usage:" in done.stdout, done.stderr


def _loaded_after_cli(modules: tuple[str, ...]) -> str:
    """Python code that runs `ernie-corpus ARGS...` (its arguments) and prints which of `modules` it loaded."""
    return ("import runpy, sys\n"
            "sys.argv = ['ernie-corpus', *sys.argv[1:]]\n"
            "try:\n"
            "    runpy.run_module('corpus_tools.cli', run_name='__main__')\n"
            "except SystemExit as exc:\n"
            "    assert not exc.code, exc.code\n"
            f"print(sorted(m for m in {modules!r} if m in sys.modules))\n")


def test_ingest_without_dedup_imports_no_dedup_pandas_or_training_library(data, tmp_path):
    """Start-up is most of a small ingest's CPU (bench/e2e.py): `ingest --no-dedup` loads neither
    datasketch/scipy (dedup), pandas (pyarrow asks for it on its first conversion) nor torch/transformers."""
    from pathlib import Path

    code = _loaded_after_cli(('datasketch', 'scipy', 'pandas', 'torch', 'transformers'))
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", code, "ingest", str(data / "enwiki_xml" / "enwiki-10k.xml"),
                           "--out", str(tmp_path / "out"), "--no-dedup", "--quiet"],
                          cwd=root, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
    assert json.loads((tmp_path / "out" / "stats.json").read_text())["lang"] == {"en": 68}


def test_quiet_ingest_with_warm_caches_imports_no_spacy_rich_pool_or_task_registry(data, tmp_path):
    """`ingest --quiet` of a wiki dump: English sentences come from spaCy's rules cached as JSON (the
    first run writes them), not from spaCy; nothing is printed, so rich is not loaded; one worker
    starts no pool; `build`'s task options are not made. The second run's shards are the first's."""
    import hashlib
    import os
    from pathlib import Path

    code = _loaded_after_cli(('spacy', 'thinc', 'rich', 'multiprocessing', 'concurrent.futures.process',
                              'task_builders.registry', 'tokenizers'))
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "ERNIE_CACHE_DIR": str(tmp_path / "cache")}
    imported, shards = [], []
    for run in ("cold", "warm"):
        done = subprocess.run([sys.executable, "-c", code, "ingest", str(data / "enwiki_xml" / "enwiki-10k.xml"),
                               "--out", str(tmp_path / run), "--no-dedup", "--quiet"],
                              cwd=root, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stderr == ""
        imported.append(done.stdout.strip().splitlines()[-1])
        shards.append([hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((tmp_path / run).glob("*.arrow"))])
    assert "spacy" in imported[0]  # the cold run exported the rules from spaCy
    assert imported[1] == "[]"
    assert shards[0] == shards[1] and len(shards[0]) >= 1
    assert json.loads((tmp_path / "warm" / "stats.json").read_text())["sentences"] > 1000
