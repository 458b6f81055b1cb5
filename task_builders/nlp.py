"""Word, phrase and entity analysis behind one interface, for knowledge masking.

`backend_for(lang, settings).analyze(texts)` gives one `Analysis` per text, all spans in
characters (end exclusive):

en: spaCy (`settings.spacy_model`): words are the non-space tokens, phrases the noun chunks of two
    or more tokens, entities `doc.ents` with spaCy's labels (PERSON, ORG, GPE, ...).
zh: jieba POS tagging: words are jieba's words, phrases its multi-character words (ERNIE 1.0's
    Chinese phrase units; not numbers, Latin words or punctuation), entities the words of two or
    more characters tagged nr/nrfg/ns/nt/nz as PER/LOC/ORG/MISC (a transliterated name split at
    "·" is joined back). With `settings.hanlp_model` (a local model directory) HanLP's NER gives
    the entities instead, over jieba's words.
Nothing here downloads: a missing model is an `InputError`.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Protocol

import numpy as np
from nlp_libs.spacy_loading import (DEFAULT_SPACY_MODEL, INSTALL_HINT, WINDOW_CHARS, import_spacy, resolve_spacy_model,
                                    windows)
from schemas.errors import InputError

Span = tuple[int, int]
Entity = tuple[int, int, str]

JIEBA_ENTITIES = {"nr": "PER", "nrfg": "PER", "ns": "LOC", "nt": "ORG", "nz": "MISC"}  # not nrt: 二人, 令人
HANLP_ENTITIES = {"NR": "PER", "NS": "LOC", "NT": "ORG"}  # MSRA tags; other tag sets pass through
NOT_PHRASES = ("x", "m", "eng")  # punctuation, numbers, Latin words: no Chinese phrase
NAME_DOTS = frozenset("·•・‧")


@dataclass
class Analysis:
    words: list[Span] | np.ndarray = field(default_factory=list)  # spaCy: an array, a (start, end) row per word
    phrases: list[Span] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)


class Backend(Protocol):
    def analyze(self, texts: list[str]) -> list[Analysis]: ...


class SpacyBackend:
    """A spaCy pipeline (tagger, parser and NER; the lemmatizer is not loaded), run in batches."""

    def __init__(self, model_name: Optional[str] = DEFAULT_SPACY_MODEL, batch_size: int = 256):
        model_name = resolve_spacy_model(model_name)
        spacy = import_spacy(need_torch=model_name.endswith("_trf"))
        try:
            self.nlp = spacy.load(model_name, exclude=["lemmatizer"])
        except OSError:
            raise InputError(f"spaCy model {model_name!r} is not installed; install it "
                             f"(for the default: {INSTALL_HINT}) or pass --spacy-model NAME") from None
        self.nlp.max_length = max(self.nlp.max_length, WINDOW_CHARS * 2)
        self.batch_size = batch_size
        self.chunks = self.nlp.has_pipe("parser")  # noun_chunks needs the dependency parse

    def analyze(self, texts: list[str]) -> list[Analysis]:
        from spacy.attrs import IDX, IS_SPACE, LENGTH

        pieces: list[str] = []
        where: list[tuple[int, int]] = []  # (text index, char offset) of each piece
        for i, text in enumerate(texts):
            offset = 0
            for window in windows(text) if len(text) > WINDOW_CHARS else (text,):
                pieces.append(window)
                where.append((i, offset))
                offset += len(window)
        out = [Analysis() for _ in texts]
        words: list[list[np.ndarray]] = [[] for _ in texts]
        for (i, offset), doc in zip(where, self.nlp.pipe(pieces, batch_size=self.batch_size)):
            result = out[i]
            start, length, space = doc.to_array([IDX, LENGTH, IS_SPACE]).astype(np.int64).T
            start += offset
            end = start + length
            words[i].append(np.stack([start[space == 0], end[space == 0]], axis=1))
            result.entities += [(offset + e.start_char, offset + e.end_char, e.label_) for e in doc.ents]
            if self.chunks:
                ranges = [(a, b) for a, b in _noun_chunks(doc) if b - a >= 2]
                if ranges:
                    start, end = start.tolist(), end.tolist()
                    result.phrases += [(start[a], end[b - 1]) for a, b in ranges]
        for result, parts in zip(out, words):  # an array, not a pair per word: fewer objects to keep
            result.words = parts[0] if len(parts) == 1 else np.concatenate(parts)
        return out


def _noun_chunks(doc) -> list[tuple[int, int]]:
    """The token ranges [a, b) of doc.noun_chunks, from spaCy's own noun chunk iterator without a
    Span object for each (doc.noun_chunks itself where the language has none: spaCy's error)."""
    if doc.noun_chunks_iterator is None:
        return [(c.start, c.end) for c in doc.noun_chunks]
    return [(a, b) for a, b, _ in doc.noun_chunks_iterator(doc)]


def _pos_tagger(tokenizer):
    """jieba.posseg.POSTokenizer whose HMM pass over a block of Han characters the dictionary does
    not know (its private __cut, viterbi on static tables: a pure function of the block) is computed
    once per distinct block while `blocks` is a dict (JiebaBackend.analyze: one per batch). The
    words and tags are jieba's own: the same block always gives the same pairs."""
    import jieba.posseg

    class POSTagger(jieba.posseg.POSTokenizer):
        def __init__(self, tokenizer):
            super().__init__(tokenizer)
            self.blocks: Optional[dict] = None  # None: no memo (tag() called alone)

        def _POSTokenizer__cut(self, block):  # what POSTokenizer's __cut_detail calls as self.__cut(blk)
            if self.blocks is None:
                return super()._POSTokenizer__cut(block)
            found = self.blocks.get(block)
            if found is None:
                found = self.blocks[block] = list(super()._POSTokenizer__cut(block))
            return iter(found)

    return POSTagger(tokenizer)


class JiebaBackend:
    """jieba's POS tagger on its default dictionary (deterministic; its own Tokenizer instance).
    Within one analyze() call (a batch) a block of unknown Han characters that recurs (a name, a
    term, part of a longer run) goes through jieba's HMM once."""

    def __init__(self):
        import jieba

        jieba.setLogLevel(logging.WARNING)
        tokenizer = jieba.Tokenizer()
        tokenizer.tmp_dir = os.environ.get("JIEBA_CACHE_DIR") or None  # None: the system temp dir
        tokenizer.initialize()
        self.tagger = _pos_tagger(tokenizer)

    def tag(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, flag) of each non-space jieba word."""
        words, position = [], 0
        for pair in self.tagger.cut(text):  # jieba's pair: .word and .flag (unpacking it costs a call)
            word = pair.word
            start, position = position, position + len(word)
            if not word.isspace():
                words.append((start, position, pair.flag))
        return words

    def analyze(self, texts: list[str]) -> list[Analysis]:
        out = []
        self.tagger.blocks = {}
        try:
            for text in texts:
                tagged = self.tag(text)
                phrases = [(a, b) for a, b, flag in tagged if b - a >= 2 and flag not in NOT_PHRASES]
                out.append(Analysis([(a, b) for a, b, _ in tagged], phrases, _jieba_entities(text, tagged)))
        finally:
            self.tagger.blocks = None  # per batch: memory stays flat, and no batch is faster for an earlier one
        return out


def _jieba_entities(text: str, tagged: list[tuple[int, int, str]]) -> list[Entity]:
    entities: list[Entity] = []
    for i, (start, end, flag) in enumerate(tagged):
        label = JIEBA_ENTITIES.get(flag)
        if label is None or end - start < 2:  # one-character "names" are mostly 连, 王, 周
            continue
        if (label == "PER" and entities and entities[-1][2] == "PER" and entities[-1][1] == tagged[i - 1][0]
                and text[tagged[i - 1][0]:start] in NAME_DOTS):
            entities[-1] = (entities[-1][0], end, "PER")  # 林纳斯·托瓦兹: one name, not two
        else:
            entities.append((start, end, label))
    return entities


class HanlpBackend:
    """HanLP NER from a local model directory for entities; jieba for words and phrases. The NER
    component gets jieba's words as its tokens."""

    def __init__(self, model_path: str, batch_size: int = 32):
        if not Path(model_path).is_dir():
            raise InputError(f"HanLP model {model_path!r} is not a local directory; pass a downloaded "
                             f"model directory with --hanlp-model (models are never downloaded here)")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # a model whose config names a transformer must not fetch it
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import hanlp

        try:
            self.ner = hanlp.load(str(Path(model_path).resolve()), verbose=False)
        except Exception as exc:  # HanLP raises a mix of types for unreadable or incomplete models
            reason = str(exc).splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InputError(f"HanLP model {model_path!r} could not be loaded: {reason}") from None
        self.jieba = JiebaBackend()
        self.batch_size = batch_size

    def analyze(self, texts: list[str]) -> list[Analysis]:
        out = self.jieba.analyze(texts)
        for first in range(0, len(texts), self.batch_size):
            batch = out[first : first + self.batch_size]
            tokens = [[texts[first + k][a:b] for a, b in result.words] for k, result in enumerate(batch)]
            found = self.ner([t for t in tokens if t]) if any(tokens) else []
            results = iter(found)
            for result, words in zip(batch, tokens):
                result.entities = []
                if not words:
                    continue
                for entity in next(results):
                    _, label, begin, end = entity[:4]  # (text, label, first token, end token)
                    if 0 <= begin < end <= len(words):
                        result.entities.append((result.words[begin][0], result.words[end - 1][1],
                                                HANLP_ENTITIES.get(label, label)))
        return out


def backend_for(lang: str, settings) -> Backend:
    """spaCy for English; HanLP (with a local model) or jieba for Chinese."""
    if lang == "en":
        return SpacyBackend(settings.spacy_model)
    if lang == "zh":
        hanlp_model: Optional[str] = getattr(settings, "hanlp_model", None)
        return HanlpBackend(hanlp_model) if hanlp_model else JiebaBackend()
    raise ValueError(f"no knowledge-masking backend for language {lang!r}")
