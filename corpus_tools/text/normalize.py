"""Text normalization: terminal escape sequences, Unicode NFKC (switchable), control and format characters, whitespace,
and Traditional -> Simplified Chinese with OpenCC."""
from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache

# C0/C1 controls (tab and newline become spaces below) and invisible format characters.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\ufeff\ufff9-\ufffb]")
# Terminal escape sequences, removed whole (ECMA-48): CSI `ESC [ params final` (colours, cursor moves;
# also its one-byte C1 form), OSC `ESC ] ... BEL|ST` (window titles, hyperlinks) and other two-byte
# ESC sequences.
_ANSI = re.compile(r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
                   r"|(?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
                   r"|\x1b[ -/]*[0-~]?")
# SGR colour codes whose ESC byte was lost upstream: `[32m`, `[1;31m` (not `[1m]`), and then `[m`.
_ORPHAN_SGR = re.compile(r"\[\d{1,3}(?:;\d{1,3})*m(?!\])")
_ORPHAN_RESET = re.compile(r"\[m(?![\]\w])")


_ENTITY = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6});")


def unescape_entities(text: str) -> str:
    """HTML character references left in scraped text (`&nbsp;`, `&amp;`, `&#772;`) -> characters;
    an unknown name (`&foo;`) stays as it is."""
    return _ENTITY.sub(lambda m: html.unescape(m.group(0)), text) if "&" in text else text


def normalize(text: str, nfkc: bool = True) -> str:
    """One line of clean text: HTML character references decoded, NFKC, no control/format
    characters, single spaces, stripped."""
    text = unescape_entities(strip_ansi(text))
    if nfkc:
        text = unicodedata.normalize("NFKC", text)
    if text.isprintable():
        # The usual case, checked at C speed: every control, format and whitespace character but " " is
        # unprintable, so there is nothing to remove and only runs of " " to collapse.
        return " ".join(text.split()) if "  " in text else text.strip(" ")
    # str.split() and the regex \s take the same whitespace (Py_UNICODE_ISSPACE): runs -> " ", ends stripped
    return " ".join(_CONTROL.sub("", text).split())


def strip_ansi(text: str) -> str:
    """Remove terminal escape sequences whole, keeping the text they colour."""
    if "\x1b" in text or "\x9b" in text or "\x9d" in text:
        text = _ANSI.sub("", text)
    if "m" in text and "[" in text:
        text, found = _ORPHAN_SGR.subn("", text)
        if found:
            text = _ORPHAN_RESET.sub("", text)
    return text


@lru_cache(maxsize=1)
def _opencc():
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional -> Simplified Chinese (OpenCC t2s)."""
    return _opencc().convert(text)
