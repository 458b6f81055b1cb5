"""Sentence splitting, paragraph by paragraph.

en: the boundaries of a spaCy sentencizer on a blank English pipeline (its tokenizer keeps "Mr.",
    "U.S.", "3.14" and "2.0" whole), computed without building Docs (`EnglishSentences`); or the
    sentence boundaries of a configured spaCy model (parser or senter).
zh: rules on 。！？；… (full-width and, after NFKC, ASCII forms) with closing quotes attached,
    or HanLP's rule-based splitter (`hanlp.utils.rules.split_sentence`).
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Protocol

from schemas.errors import InputError
from corpus_tools.text.english_sentences import EnglishSentences, doc_sentences
from nlp_libs.spacy_loading import WINDOW_CHARS, import_spacy, windows

class SentenceSplitter(Protocol):
    def split(self, paragraphs: list[str]) -> list[list[str]]: ...


class SpacySentences:
    """English sentences with spaCy: `model=None` is blank("en") + sentencizer (the reference that
    `EnglishSentences`, the default, matches at a fraction of the cost)."""

    def __init__(self, model: str | None = None):
        spacy = import_spacy(need_torch=bool(model and model.endswith("_trf")))

        if model is None:
            self.nlp = spacy.blank("en")
            self.nlp.add_pipe("sentencizer")
        else:
            try:
                self.nlp = spacy.load(model, exclude=["ner", "lemmatizer", "attribute_ruler", "tagger"])
            except OSError as exc:
                raise InputError(f"spaCy model {model!r} is not installed; install it or drop --spacy-model") from None
            if not (self.nlp.has_pipe("parser") or self.nlp.has_pipe("senter")):
                self.nlp.add_pipe("sentencizer")
        self.nlp.max_length = max(self.nlp.max_length, WINDOW_CHARS * 2)

    def split(self, paragraphs: list[str]) -> list[list[str]]:
        pieces: list[str] = []
        owner: list[int] = []
        for i, paragraph in enumerate(paragraphs):
            for window in windows(paragraph):
                pieces.append(window)
                owner.append(i)
        out: list[list[str]] = [[] for _ in paragraphs]
        for i, doc in zip(owner, self.nlp.pipe(pieces, batch_size=256)):
            out[i].extend(s for s in doc_sentences(doc) if s)
        return out


_ZH_END = re.compile(r"(?:[。！？!?；;]+|…+|\.{3,})[”’」』）)》】\"']*")


class ZhRuleSentences:
    """Chinese sentences: cut after 。！？；… (and their ASCII forms), keeping closing quotes."""

    def split(self, paragraphs: list[str]) -> list[list[str]]:
        return [split_zh(p) for p in paragraphs]


def split_zh(text: str) -> list[str]:
    out, start = [], 0
    for match in _ZH_END.finditer(text):
        piece = text[start : match.end()].strip()
        if piece:
            out.append(piece)
        start = match.end()
    tail = text[start:].strip()
    if tail:
        out.append(tail)
    return out


class HanlpSentences:
    """Chinese sentences with HanLP's rule-based splitter (works offline; no model needed)."""

    def __init__(self):
        from hanlp.utils.rules import split_sentence

        self._split = split_sentence

    def split(self, paragraphs: list[str]) -> list[list[str]]:
        return [[s.strip() for s in self._split(p) if s.strip()] for p in paragraphs]


@lru_cache(maxsize=8)
def splitter(lang: str, spacy_model: str | None = None, zh_splitter: str = "rules") -> SentenceSplitter:
    """The splitter for a language, built once per process."""
    if lang == "en":
        return EnglishSentences() if spacy_model is None else SpacySentences(spacy_model)
    if lang == "zh":
        return HanlpSentences() if zh_splitter == "hanlp" else ZhRuleSentences()
    raise ValueError(f"no sentence splitter for language {lang!r}")


# --- sentences without punctuation: a bound on length -------------------------------------------

# A clause break: ASCII , ; : and closing brackets before a space (not "1,000" or "a),b"), the Chinese
# ， ； ： 、 and closing brackets anywhere, a spaced dash.
_CLAUSE_BREAK = re.compile(r"[,;:)\]](?=\s)\s*|[，；：、）」』》]\s*|\s[-–—]\s")


def bound_sentences(sentences: list[str], max_chars: int) -> tuple[list[str], int]:
    """Cut every sentence longer than `max_chars` into pieces of at most `max_chars`: at the last clause
    break (, ; : ， ； ： 、 a closing bracket, a spaced dash) in the second half of the window, else at
    the last whitespace there, else (Chinese, or one long token) at the character bound.
    Returns the pieces and the number of cuts made."""
    if all(len(s) <= max_chars for s in sentences):
        return sentences, 0
    out: list[str] = []
    cuts = 0
    for sentence in sentences:
        while len(sentence) > max_chars:
            cut = _cut_point(sentence, max_chars)
            head, sentence = sentence[:cut].strip(), sentence[cut:].strip()
            if head:
                out.append(head)
                cuts += 1
        if sentence:
            out.append(sentence)
    return out, cuts


def _cut_point(text: str, max_chars: int) -> int:
    low = max_chars // 2
    best = 0
    for match in _CLAUSE_BREAK.finditer(text, low, max_chars + 1):
        if match.end() <= max_chars:
            best = match.end()
    if best:
        return best
    space = text.rfind(" ", low, max_chars + 1)
    return space if space > 0 else max_chars
