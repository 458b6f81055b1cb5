"""Language identification: script first (Han, kana), then py3langid's model on a bounded prefix.

Han text is labelled by script ("zh", or "ja" when kana are present): the n-gram model tends to call short
Chinese "wuu" or "yue", and splitting and tokenizing Chinese only needs the script. Everything else goes to
py3langid (langid.py's model, 97 languages, shipped inside the package as numpy arrays; no pickle). Short
or ambiguous Latin text, where the model is not confident, gets the language its source declares (a wiki
dump's xml:lang), else "en". Datasets hold en and zh
(SUPPORTED); ingest drops the rest and counts them by language.

When the language is known in advance (a wiki dump declares English, or `--lang en` names one
language), `identify` confirms it with a cheap check instead of the model: English when at least
MIN_MARKER_SHARE of the first words are English function words ("the", "of", "was" ...; 0.2 confirms
99.4% of the English documents of the samples with 20 words or more, while other Latin-script
languages score at most 0.06). A deterministic sample of the confirmed documents (crc32 of the
document id, one in SAMPLE_EVERY: the same documents for any worker count) and every document the
check does not confirm still go to py3langid, whose answer wins, so a page in another language is
still caught; the sample's disagreements are counted. Sources without a known language keep the
model on every document.
"""
from __future__ import annotations

import re
import zlib
from functools import lru_cache

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002a6df]")
_KANA = re.compile(r"[\u3040-\u30ff]")
_LATIN_WORD = re.compile(r"[A-Za-z\u00c0-\u024f]+")
SAMPLE_CHARS = 4000  # the script count looks at this much
HEAD_CHARS = 1000  # Latin words are first looked for in this much of it (usually enough: see identify)
MODEL_CHARS = 400  # the identifier reads this much (its cost grows with the length; 400 and 1,000 agree on the samples)
MIN_CONFIDENCE = 0.5  # below this (normalized probability), Latin text gets the fallback
MIN_LETTERS = 20  # shorter text is too short to identify: Latin gets the fallback
# The cheap check of an expected English: distinctly English function words (not "de", "die", "en",
# "et", "la", which other languages share) among the first MARKER_WORDS words.
EN_MARKERS = frozenset("the of and to in a is was that for with by from which were his are this has have had "
                       "their it be not been its they she her you but there".split())
MARKER_WORDS = 100
MIN_MARKER_WORDS = 20  # fewer words: the model decides
MIN_MARKER_SHARE = 0.2
SAMPLE_EVERY = 16  # one confirmed document in SAMPLE_EVERY (by crc32 of its id) is checked by the model too


@lru_cache(maxsize=1)
def _identifier():
    """py3langid's identifier with normalized probabilities, loaded once per process (from a cache
    of its arrays: see langid_model)."""
    try:
        import py3langid  # noqa: F401
    except ImportError:
        from schemas.errors import InputError

        raise InputError("py3langid is not installed; run scripts/setup.sh or `pip install py3langid`") from None
    from corpus_tools.text.langid_model import load_identifier

    return load_identifier(norm_probs=True)


def detect_lang(text: str, fallback: str = "en") -> str:
    """An ISO 639 code: "zh" when Han characters make up at least 30% of the words (a Han character
    counts as a word; "ja" if there are at least as many kana), else py3langid's answer on the first
    MODEL_CHARS characters, except that unconfident or very short Latin text is `fallback` (the
    language its source declares; "en" when it declares none)."""
    return identify(text, fallback)[0]


def identify(text: str, fallback: str = "en", expected: str = "", key: str = "") -> tuple[str, str]:
    """(language, how it was decided). `how`: "script" (Han or kana, or too short: no model),
    "model" (py3langid), or, when `expected` is "en" and the text passes the cheap check (see the
    module docstring): "cheap" (taken as English without the model), "sampled" (`key`, the document
    id, is in the sample: py3langid agreed) or "disagreed" (py3langid, whose answer is returned, said
    another language). Without `expected` the answer is `detect_lang`'s."""
    sample = text[:SAMPLE_CHARS]
    han = 0 if sample.isascii() else len(_CJK.findall(sample))
    letters = sum(map(str.isalpha, sample[:MODEL_CHARS]))
    latin_words = None if han else _LATIN_WORD.findall(sample, 0, HEAD_CHARS)
    # Without Han characters the words of the sample's head decide as all its words would, when there are
    # more than MARKER_WORDS (only the last can be cut short) and their letters already make it mostly Latin.
    if latin_words is None or len(latin_words) <= MARKER_WORDS or sum(map(len, latin_words)) < 0.5 * max(letters, 1):
        latin_words = _LATIN_WORD.findall(sample)
    if han and han >= 0.3 * (han + len(latin_words)):
        kana = len(_KANA.findall(sample))
        return ("ja" if kana >= han else "zh"), "script"  # Japanese has more kana than kanji; Chinese quoting it has not
    latin = sum(map(len, latin_words))
    mostly_latin = latin >= 0.5 * max(letters, 1)
    if letters < MIN_LETTERS and mostly_latin:
        return fallback, "script"
    if expected == "en" and looks_english(latin_words):
        if zlib.crc32(key.encode("utf-8")) % SAMPLE_EVERY:
            return "en", "cheap"
        lang = _model(text, fallback, mostly_latin)
        return lang, ("sampled" if lang == "en" else "disagreed")
    return _model(text, fallback, mostly_latin), "model"


def looks_english(words: list[str]) -> bool:
    """The cheap check: at least MIN_MARKER_SHARE of the first MARKER_WORDS words are EN_MARKERS."""
    words = words[:MARKER_WORDS]
    if len(words) < MIN_MARKER_WORDS:
        return False
    return sum(map(EN_MARKERS.__contains__, map(str.lower, words))) >= MIN_MARKER_SHARE * len(words)


def _model(text: str, fallback: str, mostly_latin: bool) -> str:
    lang, confidence = _identifier().classify(text[:MODEL_CHARS])
    if confidence < MIN_CONFIDENCE and mostly_latin:
        return fallback
    return lang


SUPPORTED = ("en", "zh")  # the languages a dataset holds (schemas.documents.LANGS); others are dropped


@lru_cache(maxsize=16)  # asked once per document
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
