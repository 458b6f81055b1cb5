"""Language identification: script first (Han, kana), then py3langid's model on a bounded prefix.

Han text is labelled by script ("zh", or "ja" when kana are present): the n-gram model tends to call short
Chinese "wuu" or "yue", and splitting and tokenizing Chinese only needs the script. Everything else goes to
py3langid (langid.py's model, 97 languages, shipped inside the package as numpy arrays; no pickle). Short
or ambiguous Latin text, where the model is not confident, gets the language its source declares (a wiki
dump's xml:lang), else "en". Datasets hold en and zh
(SUPPORTED); ingest drops the rest and counts them by language.
"""
from __future__ import annotations

import re
from functools import lru_cache

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002a6df]")
_KANA = re.compile(r"[\u3040-\u30ff]")
_LATIN_WORD = re.compile(r"[A-Za-z\u00c0-\u024f]+")
SAMPLE_CHARS = 4000  # the script count looks at this much
MODEL_CHARS = 400  # the identifier reads this much (its cost grows with the length; 400 and 1,000 agree on the samples)
MIN_CONFIDENCE = 0.5  # below this (normalized probability), Latin text gets the fallback
MIN_LETTERS = 20  # shorter text is too short to identify: Latin gets the fallback


@lru_cache(maxsize=1)
def _identifier():
    """py3langid's identifier with normalized probabilities, loaded once per process (about 1 s)."""
    try:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier
    except ImportError:
        from schemas.errors import InputError

        raise InputError("py3langid is not installed; run scripts/setup.sh or `pip install py3langid`") from None
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_lang(text: str, fallback: str = "en") -> str:
    """An ISO 639 code: "zh" when Han characters make up at least 30% of the words (a Han character
    counts as a word; "ja" if there are at least as many kana), else py3langid's answer on the first
    MODEL_CHARS characters, except that unconfident or very short Latin text is `fallback` (the
    language its source declares; "en" when it declares none)."""
    sample = text[:SAMPLE_CHARS]
    han = len(_CJK.findall(sample))
    latin_words = _LATIN_WORD.findall(sample)
    if han and han >= 0.3 * (han + len(latin_words)):
        kana = len(_KANA.findall(sample))
        return "ja" if kana >= han else "zh"  # Japanese has more kana than kanji; Chinese quoting it has not
    letters = sum(ch.isalpha() for ch in sample[:MODEL_CHARS])
    latin = sum(len(w) for w in latin_words)
    mostly_latin = latin >= 0.5 * max(letters, 1)
    if letters < MIN_LETTERS and mostly_latin:
        return fallback
    lang, confidence = _identifier().classify(text[:MODEL_CHARS])
    if confidence < MIN_CONFIDENCE and mostly_latin:
        return fallback
    return lang


SUPPORTED = ("en", "zh")  # the languages a dataset holds (schemas.documents.LANGS); others are dropped


def parse_langs(value: str) -> tuple[str, ...]:
    """`--lang` value -> the languages to keep: "auto" is every supported language, else the listed codes.
    Raises ValueError for a code no dataset can hold."""
    codes = tuple(dict.fromkeys(c.strip().lower() for c in value.split(",") if c.strip()))
    if codes in ((), ("auto",)):
        return SUPPORTED
    unknown = [c for c in codes if c not in SUPPORTED]
    if unknown:
        raise ValueError(f"{', '.join(unknown)}: datasets hold {' and '.join(SUPPORTED)} only; "
                         f"--lang takes auto or a list of {', '.join(SUPPORTED)}")
    return codes


def has_letters(text: str) -> bool:
    """True if the text has at least one letter or Han character (filters '* * *', '---', numbers)."""
    return any(ch.isalpha() for ch in text)
