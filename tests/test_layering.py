"""The import rules that give each package one job (DESIGN.md, "Packages"): schemas is the
contract and imports nothing of ours, task builders never import the corpus tools, the trainer
reads only schemas, and no module depends on a command line module. Checked on the source, lazy
imports inside functions included, and on what `import trainer.cli` really loads."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = ("schemas", "task_builders", "corpus_tools", "trainer")
ALLOWED = {
    "schemas": {"schemas"},
    "task_builders": {"schemas", "task_builders"},
    "corpus_tools": {"schemas", "task_builders", "corpus_tools"},
    "trainer": {"schemas", "trainer"},
}


def imports(path: Path) -> set[str]:
    """Every module of ours that a file imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)  # from pkg import module
    return {name for name in found if name.split(".")[0] in OURS}


def test_the_rule_scanner_sees_lazy_and_from_imports(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("import os\nfrom schemas import metadata\n\ndef f():\n    from corpus_tools.cli import main\n")
    assert imports(source) == {"schemas", "schemas.metadata", "corpus_tools.cli", "corpus_tools.cli.main"}


@pytest.mark.parametrize("package", OURS)
def test_packages_import_only_what_their_layer_allows(package):
    broken = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for name in sorted(imports(path)):
            top = name.split(".")[0]
            if top not in ALLOWED[package]:
                broken.append(f"{path.relative_to(ROOT)} imports {name}")
            elif name.split(".")[1:2] == ["cli"] and path.name != "cli.py":
                broken.append(f"{path.relative_to(ROOT)} imports the command line module {name}")
    assert not broken, "\n".join(broken)


def test_the_trainer_command_line_loads_no_corpus_code_and_no_heavy_library():
    """`ernie-train --help` stays fast: no corpus readers, datasketch, builders, pyarrow or torch."""
    code = ("import sys, trainer.cli; "
            "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))")
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                cwd=ROOT).stdout.split())
    assert "trainer" in loaded and "click" in loaded
    assert not loaded & {"corpus_tools", "task_builders", "datasketch", "pyarrow", "torch", "numpy", "tokenizers"}
