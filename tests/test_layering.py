"""The import rules that give each package one job (DESIGN.md, "Packages"): schemas is the
contract and imports nothing of ours, nlp_libs (spaCy loading) sits under both the task builders
and the corpus tools, task builders never import the corpus tools, the trainer reads only schemas,
and no module depends on a command line module. Inside corpus_tools every sub-package has its own
rule, so its imports run one way (no circles), and no private name crosses from one file to
another. Checked on the source, lazy imports inside functions included, and on what
`import trainer.cli` really loads."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = ("schemas", "nlp_libs", "task_builders", "corpus_tools", "trainer")
ALLOWED = {
    "schemas": {"schemas"},
    "nlp_libs": {"schemas", "nlp_libs"},
    "task_builders": {"schemas", "nlp_libs", "task_builders"},
    "corpus_tools": {"schemas", "nlp_libs", "task_builders", "corpus_tools"},
    "trainer": {"schemas", "trainer"},
}
# corpus_tools by job: what each sub-package may import besides schemas and itself. From the bottom:
# run and text need nothing of ours; dedup and decontamination run on run; ingest runs them all in its
# workers; task building and inspection use the task builders, never ingest.
SUB_ALLOWED = {
    "run": set(),
    "text": {"nlp_libs"},
    "dedup": {"corpus_tools.run"},
    "decontam": {"corpus_tools.run", "corpus_tools.text"},
    "ingest": {"corpus_tools.run", "corpus_tools.text", "corpus_tools.dedup", "corpus_tools.decontam"},
    "tasks": {"corpus_tools.run", "task_builders"},
    "show": {"corpus_tools.run", "task_builders"},
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


@pytest.mark.parametrize("sub", sorted(SUB_ALLOWED))
def test_each_corpus_tools_sub_package_imports_only_what_its_rule_allows(sub):
    allowed = SUB_ALLOWED[sub] | {"schemas", f"corpus_tools.{sub}"}
    broken = []
    for path in sorted((ROOT / "corpus_tools" / sub).rglob("*.py")):
        for name in sorted(imports(path)):
            if not any(name == a or name.startswith(a + ".") for a in allowed):
                broken.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not broken, "\n".join(broken)


def test_corpus_tools_holds_its_jobs_in_sub_packages_and_few_files_at_the_top():
    top = sorted(p.name for p in (ROOT / "corpus_tools").glob("*.py"))
    subs = sorted(p.name for p in (ROOT / "corpus_tools").iterdir() if (p / "__init__.py").is_file())
    assert top == ["__init__.py", "cli.py"] and subs == sorted(SUB_ALLOWED)


def test_no_private_name_is_imported_from_another_file():
    broken = []
    for package in OURS:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
                if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in OURS:
                    broken += [f"{path.relative_to(ROOT)} imports {node.module}.{alias.name}"
                               for alias in node.names if alias.name.startswith("_") and alias.name != "__version__"]
    assert not broken, "\n".join(broken)
