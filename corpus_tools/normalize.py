"""Text normalization: Unicode NFKC (switchable), control and format characters, whitespace,
and Traditional -> Simplified Chinese with OpenCC."""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# C0/C1 controls (tab and newline become spaces below) and invisible format characters.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\ufeff\ufff9-\ufffb]")
_SPACE = re.compile(r"\s+")


def normalize(text: str, nfkc: bool = True) -> str:
    """One line of clean text: NFKC, no control/format characters, single spaces, stripped."""
    if nfkc:
        text = unicodedata.normalize("NFKC", text)
    text = _CONTROL.sub("", text)
    return _SPACE.sub(" ", text).strip()


@lru_cache(maxsize=1)
def _opencc():
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional -> Simplified Chinese (OpenCC t2s)."""
    return _opencc().convert(text)
