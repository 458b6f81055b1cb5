"""The per-batch work that runs in worker processes: markup -> paragraphs, normalization,
language, Traditional -> Simplified, sentence splitting, dedup hashes and MinHash signatures.

Pure functions of their input: the same batch gives the same output in any process."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Optional, Union

import numpy as np

from corpus_tools.decontam.contamination import EvalSets, Finding, check, load_index
from corpus_tools.dedup.minhash import DedupConfig, exact_hash, signature
from corpus_tools.text.lang import detect_lang, has_letters, parse_langs
from corpus_tools.ingest.markup import to_sections
from corpus_tools.text.normalize import normalize, to_simplified
from corpus_tools.ingest.readers.records import Drop, RawDoc, Reject, SearchRecord, snippet
from corpus_tools.text.sentences import bound_sentences, splitter


@dataclass(frozen=True)
class TextSettings:
    lang: str = "auto"  # the languages to keep: auto (en and zh), "en", "zh"; the rest: dropped.lang
    nfkc: bool = True
    t2s: bool = False
    spacy_model: Optional[str] = None  # None: blank("en") + sentencizer
    zh_splitter: str = "rules"  # rules | hanlp
    max_sentence_chars: int = 1000  # longer sentences are cut (text without punctuation)
    dedup: DedupConfig = field(default_factory=DedupConfig)
    decontaminate: Optional[EvalSets] = None  # eval sets whose text is removed (before dedup)


@dataclass(slots=True)
class Doc:
    """A cleaned document, ready for dedup and the documents schema."""

    row: dict
    digest: bytes
    signature: Optional[np.ndarray]
    text: str  # the normalized text (for dedup examples)
    contamination: Optional[Finding] = None  # sentences removed because they hold eval text
    forced_splits: int = 0  # sentences cut at max_sentence_chars


@dataclass(slots=True)
class Contaminated:
    """A document removed because it holds eval-set text (counted per eval file, with evidence)."""

    doc_id: str
    finding: Finding


# Replacement characters, C0/C1 controls (not tab/newline) and private-use characters: a record that
# is mostly these, or mostly neither letters nor digits, is binary junk, not text.
_GARBAGE = re.compile(r"[\ufffd\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ue000-\uf8ff]")
_WORD_CHAR = re.compile(r"[^\W_]")
GARBAGE_SAMPLE = 4000
GARBAGE_SHARE = 0.3  # at least this share of junk characters is garbage ...
MIN_WORD_SHARE = 0.5  # ... and so is some junk with fewer letters and digits than this


def garbage_share(text: str) -> float:
    """How far from text: the share of U+FFFD, control and private-use characters among the first
    non-space characters; when there are some, and letters and digits are under half, at least 0.3."""
    sample = text[:GARBAGE_SAMPLE]
    visible = len(sample) - sum(map(sample.count, " \n\t\r"))
    junk = len(_GARBAGE.findall(sample)) / visible if visible > 0 else 0.0
    if junk and len(_WORD_CHAR.findall(sample)) < MIN_WORD_SHARE * visible:
        return max(junk, GARBAGE_SHARE)
    return junk


Item = Union[RawDoc, SearchRecord]
Result = Union[Doc, Drop, Reject, Contaminated]


def process_batch(items: list[Item], settings: TextSettings) -> list[Result]:
    """Clean one batch; output order follows input order."""
    if items and isinstance(items[0], SearchRecord):
        return [_search_row(item, settings) for item in items]
    return _documents(items, settings)


def _origin(origin: str) -> str:
    """file name:line, without the directory, so outputs do not depend on where inputs live."""
    path, _, rest = origin.rpartition(":")
    return f"{PurePath(path).name}:{rest}" if path else origin


def _clean(text: str, settings: TextSettings, lang: Optional[str] = None) -> str:
    text = normalize(text, settings.nfkc)
    return to_simplified(text) if settings.t2s and lang == "zh" else text


def _has_word(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def _garbage(origin: str, text: str) -> Optional[Reject]:
    share = garbage_share(text)
    if share < GARBAGE_SHARE:
        return None
    return Reject(origin, "garbage", "mostly U+FFFD, control or private-use characters, or not letters and digits",
                  snippet(text))


def _documents(raws: list[RawDoc], settings: TextSettings) -> list[Result]:
    prepared: list[Union[tuple, Result]] = []
    keep = parse_langs(settings.lang)
    for raw in raws:
        junk = _garbage(raw.origin, raw.text)
        if junk is not None:
            prepared.append(junk)
            continue
        try:
            sections = to_sections(raw.markup, raw.text, raw.link_namespaces)
        except Exception as exc:  # malformed markup is quarantined, never fatal
            prepared.append(Reject(raw.origin, "markup_error", f"{type(exc).__name__}: {exc}"[:200], snippet(raw.text)))
            continue
        pairs = [(normalize(h, settings.nfkc), normalize(p, settings.nfkc)) for h, p in sections]
        pairs = [(h, p) for h, p in pairs if has_letters(p)]
        if not pairs:
            prepared.append(Drop("empty"))
            continue
        title = normalize(raw.title, settings.nfkc)
        lang = detect_lang(title + " " + " ".join(p for _, p in pairs[:20]), raw.declared_lang or "en")
        if keep and lang not in keep:
            prepared.append(Drop("lang", lang))
            continue
        if settings.t2s and lang == "zh":
            title = to_simplified(title)
            pairs = [(to_simplified(h), to_simplified(p)) for h, p in pairs]
        prepared.append((raw, lang, title, pairs))

    split: dict[int, list[list[str]]] = {}
    for lang in sorted({p[1] for p in prepared if isinstance(p, tuple)}):
        members = [i for i, p in enumerate(prepared) if isinstance(p, tuple) and p[1] == lang]
        paragraphs = [para for i in members for _, para in prepared[i][3]]
        if not paragraphs:
            continue
        sentences = iter(splitter(lang, settings.spacy_model, settings.zh_splitter).split(paragraphs))
        for i in members:
            split[i] = [next(sentences) for _ in prepared[i][3]]

    built: dict[int, tuple[list[list[str]], list[str]]] = {}
    forced: dict[int, int] = {}
    for i, item in enumerate(prepared):
        if isinstance(item, tuple):
            paragraphs, headings, forced[i] = [], [], 0
            for (heading, _), sentences in zip(item[3], split[i]):
                sentences, cuts = bound_sentences(sentences, settings.max_sentence_chars)
                forced[i] += cuts
                if sentences:
                    paragraphs.append(sentences)
                    headings.append(heading)
            built[i] = (paragraphs, headings)
    findings = _decontaminate(built, settings)

    out: list[Result] = []
    for i, item in enumerate(prepared):
        if not isinstance(item, tuple):
            out.append(item)
            continue
        raw, lang, title, _ = item
        paragraphs, headings = built[i]
        finding = findings.get(i)
        if finding is not None and finding.drop:
            out.append(Contaminated(raw.doc_id, finding))
            continue
        if finding is not None:  # sentence granularity: what is left
            paragraphs, headings = finding.paragraphs, [headings[k] for k in finding.keep]
        if not paragraphs:
            out.append(Drop("empty"))
            continue
        text = "\n".join(" ".join(p) for p in paragraphs)
        meta = {**raw.meta, "origin": _origin(raw.origin)}
        row = {"doc_id": raw.doc_id, "source": raw.source, "lang": lang, "title": title,
               "paragraphs": paragraphs, "headings": headings,
               "meta": json.dumps(meta, ensure_ascii=False, sort_keys=True, default=str)}
        sig = signature(text, lang, settings.dedup) if settings.dedup.near else None
        out.append(Doc(row, exact_hash(text), sig, text, finding, forced[i]))
    return out


def _decontaminate(built: dict[int, tuple[list[list[str]], list[str]]], settings: TextSettings) -> dict[int, Finding]:
    """Eval-set text in the batch's documents, before dedup and its hashes (see contamination.py)."""
    sets = settings.decontaminate
    if sets is None or not built:
        return {}
    order = sorted(built)
    findings = check([built[i][0] for i in order], load_index(sets), sets.config.granularity)
    return {i: f for i, f in zip(order, findings) if f is not None}


def _search_row(record: SearchRecord, settings: TextSettings) -> Result:
    junk = _garbage(record.origin, record.query + record.title)
    if junk is not None:
        return junk
    query = normalize(record.query, settings.nfkc)
    title = normalize(record.title, settings.nfkc)
    if not _has_word(query) or not _has_word(title):  # nothing but spaces or punctuation
        return Drop("empty")
    lang = detect_lang(query + " " + title)
    keep = parse_langs(settings.lang)
    if keep and lang not in keep:
        return Drop("lang", lang)
    if settings.t2s and lang == "zh":
        query, title = to_simplified(query), to_simplified(title)
    meta = {**record.meta, "origin": _origin(record.origin)}
    row = {"query_id": record.query_id, "result_id": record.result_id, "query": query, "title": title,
           "url": record.url or "", "shown": bool(record.shown), "clicked": record.clicked, "rank": record.rank,
           "source": record.source, "lang": lang,
           "meta": json.dumps(meta, ensure_ascii=False, sort_keys=True, default=str)}
    key = json.dumps([query, title, row["shown"], row["clicked"]], ensure_ascii=False)
    return Doc(row, exact_hash(key), None, f"{query} | {title}")
