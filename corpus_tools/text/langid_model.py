"""py3langid's identifier, loaded in milliseconds instead of 0.7 s.

py3langid ships its model as an LZMA-compressed npz (68 MB inflated, no pickle). Its loader
inflates it in every process that identifies a language, every ingest worker included: 0.7 s, half
of `ernie-corpus ingest`'s start-up (bench/e2e.py). The first load here writes the same arrays,
unchanged, as .npy files into a cache folder named after py3langid's version and the model file's
size and modification time; later loads memory-map them, so workers share the pages. The
identifier is built from the arrays as py3langid's own `load_model` builds it (its byte automaton's
tables as views of the mapped files instead of copies), and any surprise (an unwritable cache, a
changed model layout, another py3langid) falls back to py3langid's loader: the answers are the
same either way, only the start-up differs.

The cache lives in $ERNIE_CACHE_DIR, else $XDG_CACHE_HOME/ernie-corpus, else ~/.cache/ernie-corpus.
"""
from __future__ import annotations

import io
import lzma
import os
import shutil
import tempfile
from pathlib import Path

CACHE_ENV = "ERNIE_CACHE_DIR"
ARRAYS = ("ptc", "pc", "classes", "nextmove", "nextmove_row", "out_feat")
DONE = "complete"


def cache_root() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ernie-corpus"


def load_identifier(norm_probs: bool = True):
    """py3langid's LanguageIdentifier, from the cached arrays where it can."""
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    try:
        return _from_arrays(LanguageIdentifier, _cached(Path(MODEL_DIR) / MODEL_FILE), norm_probs)
    except (OSError, ValueError, TypeError, KeyError, AttributeError, ImportError, lzma.LZMAError):
        return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=norm_probs)


def _cached(model: Path) -> Path:
    """The folder of the model's arrays as .npy files, written first if it is not there yet."""
    import numpy as np
    from importlib.metadata import version

    stat = model.stat()
    folder = cache_root() / f"py3langid-{version('py3langid')}-{stat.st_size}-{stat.st_mtime_ns}"
    if (folder / DONE).exists():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        with lzma.open(model) as src, np.load(io.BytesIO(src.read()), allow_pickle=False) as data:
            for name in ARRAYS:
                np.save(tmp / f"{name}.npy", data[name], allow_pickle=False)
        (tmp / DONE).touch()
        try:
            tmp.rename(folder)
        except OSError:  # another process wrote it first: use theirs
            if not (folder / DONE).exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def _from_arrays(identifier_class, folder: Path, norm_probs: bool):
    """The identifier from memory-mapped arrays, converted as py3langid.modelio.load_model does, but
    for the byte automaton's tables: py3langid copies them into stdlib arrays (39 MB, 0.02 s) only to
    index them with ints; memoryviews of the mapped files index the same way (a native unsigned format
    and the same items), and only the pages a text walks through are read."""
    import numpy as np
    from py3langid.modelio import _to_array

    data = {name: np.load(folder / f"{name}.npy", mmap_mode="r", allow_pickle=False) for name in ARRAYS}
    return identifier_class(np.asarray(data["ptc"]), np.asarray(data["pc"]), data["classes"].tolist(),
                            _table(data["nextmove"], _to_array), data["out_feat"].tolist(), norm_probs=norm_probs,
                            tk_row=_table(data["nextmove_row"], _to_array))


def _table(values, to_array):
    """A 1-d unsigned integer array as a memoryview of its mapped file; py3langid's array copy when the
    view's format is not a native single-character one (indexing would fail or differ)."""
    view = memoryview(values)
    if view.ndim == 1 and view.format in ("B", "H", "I", "L", "Q") and view.itemsize == values.dtype.itemsize:
        return view
    return to_array(values)
