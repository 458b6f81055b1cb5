"""The library versions an output records in its manifest, so that a dataset says what made it."""
from __future__ import annotations

import importlib.metadata
import platform

LIBRARIES = ("pyarrow", "spacy", "datasketch", "mwparserfromhell", "opencc", "hanlp")


def versions() -> dict[str, str]:
    """Python's version and that of each installed library of LIBRARIES."""
    found = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return found
