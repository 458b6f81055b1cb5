"""discourse_relation: which discourse marker linked sentence B to the sentence A before it?

Pairs are adjacent sentences (A, B) of a document, across paragraph breaks under the same
heading, where B opens with a known marker ("However,", "For example,", "因此", "但是"). The
marker, and a comma (",", "，", "、") and spaces after it, are removed from B; English B is
re-capitalized. Input: [CLS] A [SEP] B-without-marker [SEP] (sequences.pair).

Labels (the label table of the shard metadata): class 0 is "[no-conn]" (Discovery's no-marker
class: adjacent pairs whose B opens with no marker, drawn so that they are `no_marker_share` of
the examples of each batch of documents; 0 switches the class off), then the markers of the
languages in the input, in list order: an English build has no Chinese classes.

Markers: the project's lists task_builders/resources/discourse_markers_{en,zh}.txt, or
Settings.markers (--markers), a file of one marker per line matched in both languages (Discovery format:
"as_a_result," is "as a result" and needs a comma; "[no-conn]", blank lines and # comments are
skipped). English matching is case-insensitive, on whole words, longest marker first. Chinese B
must open with the marker as whole jieba words (同时 is not a marker in 同时代的人), and a marker
followed by a numeral or measure word is a determiner, not a connective (另外两个人, 那么多人).
A marker written with a trailing comma must be followed by one (ASCII or full-width: the text
need not be NFKC-normalized). A B with nothing sentence-like after its marker ("However.",
"例如:") is dropped and counted (dropped.nothing_after_marker); the per-class counts are the label
histogram of stats.json.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Optional

import pyarrow as pa

from schemas.errors import InputError
from schemas.tasks import task_schema
from task_builders.base import Context, Labels, Output, TaskSettings
from task_builders.sequences import encode_ids, pair

NAME = "discourse_relation"
SUMMARY = "the discourse marker stripped from the second sentence, or [no-conn]"
VERSION = 2
DATASET = "documents"
LANGS = ("en", "zh")
HEAD = "sequence"
SCHEMA = task_schema(HEAD)


@dataclass(frozen=True)
class Settings(TaskSettings):
    markers: Optional[str] = field(default=None, metadata={
        "path": "file", "help": "a marker list (one per line) replacing the shipped en/zh lists."})
    no_marker_share: float = field(default=0.1, metadata={
        "min": 0, "max": 1, "max_open": True,
        "help": "share of [no-conn] examples (adjacent pairs without a marker); 0: none."})
    langs: tuple[str, ...] = ()  # set by build: the languages of the input (their markers are the classes)


ANY = "any"  # a marker from a --markers file: matched in every language
_COMMAS = ",、，"
NO_MARKER = "[no-conn]"
NOT_AFTER_MARKER = ("m", "q", "mq")  # jieba POS of numerals and measure words: 另外两个, 那么多


@dataclass(frozen=True)
class Marker:
    name: str  # the line as listed: the label name
    text: str  # what B opens with, lowercase, single spaces
    comma: bool  # must be followed by a comma
    lang: str  # "en", "zh" or ANY


def parse_markers(lines: list[str], lang: str) -> list[Marker]:
    """Markers of a list file, in order; comments, blanks, "[no-conn]"-style lines and repeats dropped."""
    markers, seen = [], set()
    for line in lines:
        name = line.split("#", 1)[0].strip()
        if not name or name.startswith("[") and name.endswith("]") or name in seen:
            continue
        seen.add(name)
        text = " ".join(unicodedata.normalize("NFKC", name.rstrip(",")).replace("_", " ").lower().split())
        if text:
            markers.append(Marker(name, text, name.endswith(","), lang))
    return markers


def load_markers(path: Optional[str] = None) -> list[Marker]:
    """The shipped en + zh lists, or the markers of `path` for every language."""
    if path is not None:
        try:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
        except OSError as e:
            raise InputError(f"{path}: cannot read the marker list ({e.strerror})") from e
        markers = parse_markers(lines, ANY)
        if not markers:
            raise InputError(f"{path}: no markers in this file")
        return markers
    shipped = resources.files("task_builders") / "resources"
    return [m for lang in ("en", "zh")
            for m in parse_markers((shipped / f"discourse_markers_{lang}.txt").read_text("utf-8").splitlines(), lang)]


def markers_for(settings) -> list[Marker]:
    """The markers of the languages in the build (settings.langs; all when empty)."""
    langs = settings.langs or LANGS
    return [m for m in load_markers(settings.markers) if m.lang == ANY or m.lang in langs]


def labels(settings) -> Labels:
    markers = markers_for(settings)
    names = [m.name for m in markers]
    table = [{"marker": m.name, "lang": m.lang} for m in markers]
    if settings.no_marker_share > 0:
        names, table = [NO_MARKER, *names], [{"marker": NO_MARKER, "lang": ANY}, *table]
    return Labels(names, table)


Index = dict[str, list[tuple[int, Marker]]]  # first character -> (label, marker), longest first


@dataclass
class Resources:
    index: dict[str, Index]  # per language
    words: object  # a jieba POS tagger for Chinese whole-word matching (created on first use)


def setup(settings) -> Resources:
    """Per language, the markers by first character, longest first, comma variants before bare ones;
    labels as in labels(settings)."""
    first = 1 if settings.no_marker_share > 0 else 0
    markers = sorted(enumerate(markers_for(settings), start=first),
                     key=lambda item: (-len(item[1].text), not item[1].comma, item[0]))
    index: dict[str, Index] = {lang: {} for lang in LANGS}
    for label, marker in markers:
        for lang in LANGS if marker.lang == ANY else (marker.lang,):
            index[lang].setdefault(marker.text[0], []).append((label, marker))
    return Resources(index, _Words())


class _Words:
    """jieba POS words of a text's opening, loaded on first use (an English build never loads jieba)."""

    def __init__(self):
        self.tagger = None

    def __call__(self, text: str) -> list[tuple[int, str]]:
        """(end offset, POS flag) of the words of text[:32]."""
        if self.tagger is None:
            from task_builders.nlp import JiebaBackend

            self.tagger = JiebaBackend()
        return [(end, flag) for _, end, flag in self.tagger.tag(text[:32])]


def _cjk(c: str) -> bool:
    return unicodedata.name(c, "").startswith(("CJK", "HIRAGANA", "KATAKANA", "HANGUL"))


def _word_char(c: str) -> bool:
    """Part of a Latin-script word: whole-word matching does not cut through these."""
    return (c.isalnum() and not _cjk(c)) or c in "_-'’"


def strip_marker(text: str, index: Index, lang: str, words=None) -> Optional[tuple[int, str]]:
    """(label, rest of B) when `text` opens with one of the markers, else None. The rest is ""
    when nothing sentence-like follows the marker ("However." or "For example: ..."). For
    Chinese, `words` (text -> [(word end, POS flag)]) checks that the marker is whole words."""
    tagged = None
    for label, marker in index.get(text[:1].lower(), []):
        n = len(marker.text)
        if text[:n].lower() != marker.text:
            continue
        after = text[n:n + 1]
        if after and _word_char(after) and _word_char(marker.text[-1]):
            continue  # not a whole word: "so" in "Sometimes", "on" in "One"
        if marker.comma and (not after or after not in _COMMAS):
            continue
        if words is not None and _cjk(marker.text[-1]) and after not in _COMMAS:
            tagged = tagged if tagged is not None else words(text)
            ends = [end for end, _ in tagged]
            if n not in ends:
                continue  # the marker ends inside a word: 同时 in 同时代
            following = ends.index(n) + 1
            if following < len(tagged) and tagged[following][1] in NOT_AFTER_MARKER:
                continue  # a determiner before a number: 另外两个人, 那么多人
        rest = text[n:].lstrip()
        if rest[:1] and rest[0] in _COMMAS:
            rest = rest[1:].lstrip()
        if not rest or not rest[0].isalnum() and rest[0] not in "\"“‘'(《「":
            return label, ""
        if lang == "en":
            rest = rest[0].upper() + rest[1:]
        return label, rest
    return None


def build(table: pa.Table, ctx: Context) -> Output:
    out = Output()
    resources: Resources = ctx.resources
    found: list[tuple[str, str, str, int]] = []  # doc_id, A, B without marker, label
    unmarked: list[tuple[float, str, str, str]] = []  # random key, doc_id, A, B: [no-conn] candidates
    share = ctx.settings.no_marker_share
    for doc_id, lang, paragraphs, headings in zip(table.column("doc_id").to_pylist(),
                                                  table.column("lang").cast(pa.string()).to_pylist(),
                                                  table.column("paragraphs").to_pylist(),
                                                  table.column("headings").to_pylist()):
        if len(headings) != len(paragraphs):
            headings = [""] * len(paragraphs)
        pairs = list(_adjacent(paragraphs, headings))
        keys = ctx.rng(doc_id).random(len(pairs)) if share > 0 else [0.0] * len(pairs)
        words = resources.words if lang == "zh" else None
        for (a, b), key in zip(pairs, keys):
            out.counts["pairs"] += 1
            match = strip_marker(b, resources.index[lang], lang, words)
            if match is None:
                if share > 0:
                    unmarked.append((float(key), doc_id, a, b))
                continue
            if not match[1]:
                out.counts["dropped.nothing_after_marker"] += 1
                continue
            found.append((doc_id, a, match[1], match[0]))
    if share > 0:  # the no-marker pairs with the smallest keys, `share` of this batch's examples
        wanted = min(len(unmarked), round(len(found) * share / (1 - share))) if share < 1 else len(unmarked)
        chosen = sorted(sorted(range(len(unmarked)), key=lambda i: unmarked[i][0])[:wanted])
        found += [(unmarked[i][1], unmarked[i][2], unmarked[i][3], 0) for i in chosen]
    encoded = encode_ids(ctx, [t for _, a, b, _ in found for t in (a, b)])
    for k, (doc_id, _, _, label) in enumerate(found):
        a, b = encoded[2 * k].ids, encoded[2 * k + 1].ids
        if not a or not b:
            out.counts["dropped.no_tokens"] += 1
            continue
        input_ids, types = pair(ctx, a, b)
        out.add(doc_id=doc_id, task_id=ctx.task_id, input_ids=input_ids, token_type_ids=types, label=label)
    return out


def _adjacent(paragraphs: list[list[str]], headings: list[str]):
    """Consecutive non-empty sentences, across paragraph breaks only under the same heading."""
    previous, heading = None, None
    for paragraph, head in zip(paragraphs, headings):
        if head != heading:
            previous, heading = None, head
        for sentence in paragraph:
            if not sentence.strip():
                continue
            if previous is not None:
                yield previous, sentence
            previous = sentence
