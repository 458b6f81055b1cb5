"""Language detection by script: en or zh. Enough to route text to the right splitter and tokenizer."""
from __future__ import annotations

import re

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002a6df]")
_LATIN_WORD = re.compile(r"[A-Za-z\u00c0-\u024f]+")
SAMPLE_CHARS = 4000


def detect_lang(text: str) -> str:
    """"zh" when Han characters make up at least 30% of the words (a Han character counts as a word),
    else "en". Looks at the first few thousand characters only."""
    sample = text[:SAMPLE_CHARS]
    han = len(_CJK.findall(sample))
    latin = len(_LATIN_WORD.findall(sample))
    return "zh" if han and han >= 0.3 * (han + latin) else "en"


def has_letters(text: str) -> bool:
    """True if the text has at least one letter or Han character (filters '* * *', '---', numbers)."""
    return any(ch.isalpha() for ch in text)
