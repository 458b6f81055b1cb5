"""The per-batch work that runs in worker processes, as named steps over a `Draft` (as datatrove's
pipeline steps): normalize (garbage, markup -> paragraphs, normalization) -> language (and
Traditional -> Simplified) -> sentences -> decontaminate; then the row, its dedup hash and MinHash
signature. The search-log path takes the same garbage check, normalization and language step.

Pure functions of their input: the same batch gives the same output in any process."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import TYPE_CHECKING, Optional, Union

import numpy as np

from corpus_tools.dedup.minhash import DedupConfig, exact_hash, signature
from corpus_tools.text.lang import detect_lang, has_letters, identify, parse_langs
from corpus_tools.ingest.markup import to_sections
from corpus_tools.text.normalize import normalize, to_simplified
from corpus_tools.ingest.readers.records import Drop, RawDoc, Reject, SearchRecord, snippet
from corpus_tools.text.sentences import bound_sentences, splitter

if TYPE_CHECKING:  # imported where eval sets are given (--decontaminate): most ingests never need them
    from corpus_tools.decontam.contamination import EvalSets, Finding


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
    lang_check: str = ""  # how the language step decided (lang.identify), when the language was expected


@dataclass(slots=True)
class Contaminated:
    """A document removed because it holds eval-set text (counted per eval file, with evidence)."""

    doc_id: str
    finding: Finding
    lang_check: str = ""


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
    """Clean one batch; output order follows input order. Documents go through the named steps
    normalize -> language -> sentences -> decontaminate, then become rows; a search record takes
    the first two (`_search_row`)."""
    if items and isinstance(items[0], SearchRecord):
        return [_search_row(item, settings) for item in items]
    batch: list[Union[Draft, Result]] = [normalize_step(raw, settings) for raw in items]
    batch = [language_step(item, settings) if isinstance(item, Draft) else item for item in batch]
    drafts = [item for item in batch if isinstance(item, Draft)]
    sentences_step(drafts, settings)
    decontaminate_step(drafts, settings)
    return [to_result(item, settings) if isinstance(item, Draft) else item for item in batch]


@dataclass(slots=True)
class Draft:
    """A document between the cleaning steps: filled in step by step."""

    raw: RawDoc
    title: str  # normalized (and, for zh with --t2s, simplified)
    sections: list[tuple[str, str]]  # (heading, paragraph), normalized, each with a letter
    lang: str = ""  # language_step ...
    lang_check: str = ""  # ... and how it decided, when the language was expected (lang.identify)
    paragraphs: list[list[str]] = field(default_factory=list)  # sentences_step: the non-empty paragraphs ...
    headings: list[str] = field(default_factory=list)  # ... and their headings
    forced_splits: int = 0  # sentences_step: sentences cut at max_sentence_chars
    finding: Optional[Finding] = None  # decontaminate_step: eval text found in it


def normalize_step(raw: RawDoc, settings: TextSettings) -> Union[Draft, Drop, Reject]:
    """Garbage is rejected; markup becomes (heading, paragraph) sections, normalized; paragraphs
    without a letter go, and a document left without any is dropped as empty."""
    junk = _garbage(raw.origin, raw.text)
    if junk is not None:
        return junk
    try:
        sections = to_sections(raw.markup, raw.text, raw.link_namespaces)
    except Exception as exc:  # malformed markup is quarantined, never fatal
        return Reject(raw.origin, "markup_error", f"{type(exc).__name__}: {exc}"[:200], snippet(raw.text))
    pairs = [(normalize(h, settings.nfkc), normalize(p, settings.nfkc)) for h, p in sections]
    pairs = [(h, p) for h, p in pairs if has_letters(p)]
    if not pairs:
        return Drop("empty")
    return Draft(raw, normalize(raw.title, settings.nfkc), pairs)


def language_step(draft: Draft, settings: TextSettings) -> Union[Draft, Drop]:
    """The document's language from its title and first paragraphs (short or unconfident text: the
    language its source declares); a language not kept is dropped; zh is simplified with --t2s.
    When the language is expected (declared by the source, or the one language --lang names), a
    cheap check confirms it and py3langid sees a sample and what the check does not confirm
    (lang.identify); how each document was decided is counted under lang_check."""
    sample = draft.title + " " + " ".join(p for _, p in draft.sections[:20])
    expected = expected_lang(draft.raw.declared_lang, settings)
    lang, how = identify(sample, draft.raw.declared_lang or "en", expected, draft.raw.doc_id)
    how = how if expected else ""
    dropped = _dropped(lang, settings)
    if dropped is not None:
        dropped.lang_check = how
        return dropped
    draft.lang, draft.lang_check = lang, how
    if settings.t2s and lang == "zh":
        draft.title = to_simplified(draft.title)
        draft.sections = [(to_simplified(h), to_simplified(p)) for h, p in draft.sections]
    return draft


def sentences_step(drafts: list[Draft], settings: TextSettings) -> None:
    """Sentences per paragraph, one splitter call per language for the whole batch; sentences over
    max_sentence_chars are cut (counted); paragraphs left empty go with their headings."""
    for lang in sorted({d.lang for d in drafts}):
        members = [d for d in drafts if d.lang == lang]
        split = iter(splitter(lang, settings.spacy_model, settings.zh_splitter).split(
            [paragraph for d in members for _, paragraph in d.sections]))
        for draft in members:
            for (heading, _), sentences in zip(draft.sections, [next(split) for _ in draft.sections]):
                sentences, cuts = bound_sentences(sentences, settings.max_sentence_chars)
                draft.forced_splits += cuts
                if sentences:
                    draft.paragraphs.append(sentences)
                    draft.headings.append(heading)


def decontaminate_step(drafts: list[Draft], settings: TextSettings) -> None:
    """Eval-set text in the batch's documents, before dedup and its hashes (see contamination.py)."""
    sets = settings.decontaminate
    if sets is None or not drafts:
        return
    from corpus_tools.decontam.contamination import check, load_index

    for draft, finding in zip(drafts, check([d.paragraphs for d in drafts], load_index(sets),
                                            sets.config.granularity)):
        draft.finding = finding


def to_result(draft: Draft, settings: TextSettings) -> Union[Doc, Contaminated, Drop]:
    """The documents row, its exact hash and MinHash signature; or the removal the steps decided."""
    raw, finding = draft.raw, draft.finding
    paragraphs, headings = draft.paragraphs, draft.headings
    if finding is not None and finding.drop:
        return Contaminated(raw.doc_id, finding, draft.lang_check)
    if finding is not None:  # sentence granularity: what is left
        paragraphs, headings = finding.paragraphs, [headings[k] for k in finding.keep]
    if not paragraphs:
        return Drop("empty", lang_check=draft.lang_check)
    text = "\n".join(" ".join(p) for p in paragraphs)
    meta = {**raw.meta, "origin": _origin(raw.origin)}
    row = {"doc_id": raw.doc_id, "source": raw.source, "lang": draft.lang, "title": draft.title,
           "paragraphs": paragraphs, "headings": headings,
           "meta": json.dumps(meta, ensure_ascii=False, sort_keys=True, default=str)}
    sig = signature(text, draft.lang, settings.dedup) if settings.dedup.near else None
    return Doc(row, exact_hash(text), sig, text, finding, draft.forced_splits, draft.lang_check)


def expected_lang(declared: str, settings: TextSettings) -> str:
    """The language a document should be in: the one its source declares (a wiki dump's xml:lang),
    else the one language --lang names, else none ("")."""
    if declared:
        return declared
    keep = parse_langs(settings.lang)
    return keep[0] if len(keep) == 1 else ""


def _dropped(lang: str, settings: TextSettings) -> Optional[Drop]:
    """The Drop of a document in `lang` when the settings do not keep it."""
    keep = parse_langs(settings.lang)
    return Drop("lang", lang) if keep and lang not in keep else None


def _language(sample: str, settings: TextSettings, fallback: str = "en") -> tuple[str, Optional[Drop]]:
    """The language of `sample`, and the Drop when it is not one the settings keep."""
    lang = detect_lang(sample, fallback)
    return lang, _dropped(lang, settings)


def _origin(origin: str) -> str:
    """file name:line, without the directory, so outputs do not depend on where inputs live."""
    path, _, rest = origin.rpartition(":")
    return f"{PurePath(path).name}:{rest}" if path else origin


def _has_word(text: str) -> bool:
    return any(ch.isalnum() for ch in text)


def _garbage(origin: str, text: str) -> Optional[Reject]:
    share = garbage_share(text)
    if share < GARBAGE_SHARE:
        return None
    return Reject(origin, "garbage", "mostly U+FFFD, control or private-use characters, or not letters and digits",
                  snippet(text))


def _search_row(record: SearchRecord, settings: TextSettings) -> Result:
    """A search record: the garbage check, normalization and the language step of the documents, then its row."""
    junk = _garbage(record.origin, record.query + record.title)
    if junk is not None:
        return junk
    query = normalize(record.query, settings.nfkc)
    title = normalize(record.title, settings.nfkc)
    if not _has_word(query) or not _has_word(title):  # nothing but spaces or punctuation
        return Drop("empty")
    lang, dropped = _language(query + " " + title, settings)
    if dropped is not None:
        return dropped
    if settings.t2s and lang == "zh":
        query, title = to_simplified(query), to_simplified(title)
    meta = {**record.meta, "origin": _origin(record.origin)}
    row = {"query_id": record.query_id, "result_id": record.result_id, "query": query, "title": title,
           "url": record.url or "", "shown": bool(record.shown), "clicked": record.clicked, "rank": record.rank,
           "source": record.source, "lang": lang,
           "meta": json.dumps(meta, ensure_ascii=False, sort_keys=True, default=str)}
    key = json.dumps([query, title, row["shown"], row["clicked"]], ensure_ascii=False)
    return Doc(row, exact_hash(key), None, f"{query} | {title}")
