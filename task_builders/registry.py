"""Tasks by name. A task is a module (see task_builders.base for what it declares), found by:

1. the `ernie.tasks` entry point group: `name = "package.module"` in a distribution's
   pyproject.toml ([project.entry-points."ernie.tasks"]); the seven paper tasks, the BERT
   baseline next_sentence and the customized document_contrast are declared there in this
   project's pyproject.toml, a plugin in its own;
2. modules on the Python path named in the ERNIE_TASKS environment variable (comma-separated
   module paths) or passed to register(); worker processes inherit the variable;
3. a module path given as the name itself: `--task my_package.my_task`.

The built-in tasks (BUILT_IN: the seven paper tasks, next_sentence, document_contrast) are also found in
task_builders/ when this checkout runs without being installed (PYTHONPATH=.), where the
installed metadata, if any, is another copy's.
"""
from __future__ import annotations

import dataclasses
import importlib
import os
from functools import lru_cache
from importlib.metadata import entry_points
from types import ModuleType

from schemas.errors import InputError
from schemas.tasks import HEADS, PAPER_TASKS, task_schema

GROUP = "ernie.tasks"
ENV = "ERNIE_TASKS"
DATASETS = ("documents", "searchlog")
BUILT_IN = (*PAPER_TASKS, "next_sentence", "document_contrast", "review_rating", "skip_gram")  # the modules of task_builders/ that are tasks
_registered: dict[str, str] = {}  # name -> module path, from register()


def register(module_path: str) -> str:
    """Register a task module on the path for this process; returns its name."""
    module = _import(module_path)
    _registered[module.NAME] = module_path
    return module.NAME


@lru_cache(maxsize=1)
def _declared() -> dict[str, str]:
    """Task name -> module path of the installed `ernie.tasks` entry points, read once per process:
    scanning every installed distribution's metadata costs about 10 ms, and the CLI asks often."""
    return {ep.name: ep.value.split(":")[0] for ep in entry_points(group=GROUP)}


def available() -> dict[str, str]:
    """Task name -> module path: the paper's tasks first in the paper's order, then the others by name."""
    found = {name: f"task_builders.{name}" for name in BUILT_IN}
    found.update(_declared())
    for path in filter(None, (p.strip() for p in os.environ.get(ENV, "").split(","))):
        found[_import(path).NAME] = path  # the task's name, whatever its module is called
    found.update(_registered)
    paper = {name: found.pop(name) for name in PAPER_TASKS}
    return {**paper, **dict(sorted(found.items()))}


def load(name: str) -> ModuleType:
    """The task module called `name` (or at module path `name`), checked; a one-line InputError if none."""
    known = available()
    if name in known:
        module = _import(known[name])
        if module.NAME != name:
            raise InputError(f"task module {module.__name__} is called {module.NAME!r}, registered as {name!r}")
        return module
    if "." in name:
        return _import(name)
    raise InputError(f"unknown task {name!r}; choose one of: all, {', '.join(known)} (a plugin task: install "
                     f"its package, or name its module in {ENV} or as --task package.module)")


def find(name: str) -> ModuleType | None:
    """The task module called `name`, or None where it is not installed here (shards still read)."""
    try:
        return load(name)
    except InputError:
        return None


def _import(path: str) -> ModuleType:
    try:
        module = importlib.import_module(path)
    except ImportError as exc:
        raise InputError(f"task module {path!r} cannot be imported: {exc}") from None
    check(module)
    return module


def check(module: ModuleType) -> None:
    """The contract of task_builders.base, checked when a module is loaded (a one-line InputError)."""
    from task_builders.base import TaskSettings

    where = f"task module {module.__name__}"
    missing = [a for a in ("NAME", "VERSION", "DATASET", "LANGS", "HEAD", "Settings", "SCHEMA", "labels", "build")
               if not hasattr(module, a)]
    if missing:
        raise InputError(f"{where} lacks {', '.join(missing)} (see task_builders/base.py)")
    if module.DATASET not in DATASETS:
        raise InputError(f"{where}: DATASET is {module.DATASET!r}, not one of {', '.join(DATASETS)}")
    if module.HEAD not in HEADS:
        raise InputError(f"{where}: HEAD is {module.HEAD!r}, not one of {', '.join(HEADS)}")
    if not (dataclasses.is_dataclass(module.Settings) and issubclass(module.Settings, TaskSettings)):
        raise InputError(f"{where}: Settings must be a dataclass extending task_builders.base.TaskSettings")
    common = task_schema(module.HEAD)
    if module.SCHEMA.names[:len(common)] != common.names or any(
            module.SCHEMA.field(f.name).type != f.type for f in common):
        raise InputError(f"{where}: SCHEMA must start with the columns of schemas.tasks.task_schema({module.HEAD!r})")
