"""Arrow schemas: the contract between ingest, the task builders and the trainer.

Submodules and names load on first use, so that `import schemas.errors` (the command lines'
error classes) does not import pyarrow. `schemas.validate` is the module; the function is
`schemas.validate.validate`."""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_MODULES = ("documents", "labels", "metadata", "searchlog", "tasks", "validate", "errors", "eval_files")
_NAMES = {"SchemaError": "schemas.errors", "read_table": "schemas.validate", "schema_for": "schemas.validate"}

__all__ = ["documents", "errors", "eval_files", "labels", "metadata", "searchlog", "tasks", "validate", "SchemaError", "read_table",
           "schema_for"]


def __getattr__(name: str):
    if name in _NAMES:
        return getattr(importlib.import_module(_NAMES[name]), name)
    if name in _MODULES:
        return importlib.import_module(f"schemas.{name}")
    raise AttributeError(f"module 'schemas' has no attribute {name!r}")
