"""spaCy's English tokenizer on one space-free chunk, without importing spaCy (0.35 s of every
ingest process: thinc, pydantic, confection ... and building blank("en")).

The tokenizer is rules on strings: the prefix, suffix and infix regular expressions, the URL
pattern, and the special cases ("Mr.", "U.S.", "'s", ":)"), all of which spaCy builds with Python's
`re`. `rules()` exports them once from spaCy as JSON into the cache folder (named after spaCy's
version and the rule files' sizes and modification times); later processes read the JSON. `Affixes`
applies them as spaCy's Tokenizer does (spacy/tokenizer.pyx: `_split_affixes`, `_attach_tokens`,
then `_apply_special_cases`, whose special cases with affixes are matched on the tokens), so the
tokens are spaCy's. tests/test_english_tokenizer.py checks every chunk of the samples against
spaCy's tokenizer. An unreadable or unwritable cache means spaCy is asked each time, same answers.

Lexical flags: `is_punct`, `is_quote`, `is_left_punct` are spaCy's (spacy/lang/lex_attrs.py) on
the token's text; the test checks them against spaCy's functions on every code point.
"""
from __future__ import annotations

import json
import os
import re
import tempfile
import unicodedata
from importlib.util import find_spec
from pathlib import Path

from corpus_tools.text.langid_model import cache_root

# spacy/lang/lex_attrs.py: is_quote and is_left_punct are membership in these
QUOTES = frozenset(('"', "'", "`", "«", "»", "‘", "’", "‚", "‛", "“", "”", "„", "‟", "‹", "›", "❮", "❯",
                    "''", "``"))
LEFT_PUNCT = frozenset(("(", "[", "{", "<", '"', "'", "«", "‘", "‚", "‛", "“", "„", "‟", "‹", "❮",
                        "``"))
# files whose change changes the rules (with spaCy's version): in the cache file's name
RULE_FILES = ("about.py", "lang/char_classes.py", "lang/punctuation.py", "lang/tokenizer_exceptions.py",
              "lang/en/punctuation.py", "lang/en/tokenizer_exceptions.py", "pipeline/sentencizer.pyx")


def is_punct(text: str) -> bool:
    return all(unicodedata.category(c).startswith("P") for c in text)


def rules() -> dict:
    """blank("en")'s tokenizer rules and the sentencizer's punctuation, from the cache (written from
    spaCy on the first call); straight from spaCy where the cache cannot be read or written."""
    try:
        path = cache_root() / f"spacy-en-rules-{_version_key()}.json"
        if path.exists():
            return json.loads(path.read_text(encoding="utf-8"))
        data = export_rules()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, ensure_ascii=False)
        os.replace(tmp, path)  # atomic: a reader sees the whole file or none
        return data
    except (OSError, ValueError, TypeError, AttributeError, ImportError):
        return export_rules()


def _version_key() -> str:
    from importlib.metadata import version

    root = Path(find_spec("spacy").submodule_search_locations[0])
    stats = [(root / name).stat() for name in RULE_FILES if (root / name).exists()]
    return f"{version('spacy')}-{sum(s.st_size for s in stats)}-{max(s.st_mtime_ns for s in stats)}"


def export_rules() -> dict:
    """The rules, from spaCy (imported here)."""
    from nlp_libs.spacy_loading import import_spacy

    nlp = import_spacy().blank("en")
    tok = nlp.tokenizer

    def pattern(method):
        return None if method is None else [method.__self__.pattern, method.__self__.flags]

    if tok.token_match is not None:  # blank("en") has none; a pattern here could not be exported as is
        raise TypeError("a tokenizer with token_match")
    data = {"prefix": pattern(tok.prefix_search), "suffix": pattern(tok.suffix_search),
            "infix": pattern(tok.infix_finditer), "url": pattern(tok.url_match),
            "faster_heuristics": bool(tok.faster_heuristics),
            "specials": {text: [piece[65] for piece in pieces] for text, pieces in tok.rules.items()},  # 65: ORTH
            "punct_chars": sorted(nlp.add_pipe("sentencizer").punct_chars)}
    data["matched"] = sorted(Affixes(data).matched)  # derived from the rules; cached to spare 5 ms a process
    return data


class Affixes:
    """spaCy's English tokenizer, for one chunk without whitespace: `tokens(chunk)` gives the texts."""

    def __init__(self, data: dict):
        def compiled(pattern):
            return re.compile(pattern[0], pattern[1]) if pattern else None

        self.prefix, self.suffix, self.infix, self.url = (
            compiled(data[k]) for k in ("prefix", "suffix", "infix", "url"))
        self.specials = {text: tuple(pieces) for text, pieces in data["specials"].items()}
        # the special cases spaCy matches on the tokens (add_special_case: those with an affix)
        self.matched = set(data["matched"]) if "matched" in data else {
            text for text in self.specials if " " not in text and (
                not data["faster_heuristics"] or self._prefix_len(text) or self._suffix_len(text)
                or self._infixes(text))}
        self.longest = max(map(len, self.matched), default=0)
        self._patterns: dict[str, tuple[str, ...]] = {}

    def _prefix_len(self, text: str) -> int:
        found = self.prefix.search(text) if self.prefix else None
        return found.end() - found.start() if found else 0

    def _suffix_len(self, text: str) -> int:
        found = self.suffix.search(text) if self.suffix else None
        return found.end() - found.start() if found else 0

    def _infixes(self, text: str) -> list:
        return list(self.infix.finditer(text)) if self.infix else []

    def tokens(self, chunk: str) -> list[str]:
        found = self.specials.get(chunk)
        return self._apply_specials(list(found) if found else self._affix_tokens(chunk, True))

    def _affix_tokens(self, text: str, specials: bool) -> list[str]:
        """Tokenizer._split_affixes, then _attach_tokens."""
        prefixes: list[str] = []
        suffixes: list[str] = []
        last = 0
        while text and len(text) != last:
            if specials and text in self.specials:
                break
            last = len(text)
            pre = self._prefix_len(text)
            if pre and specials and text[pre:] in self.specials:
                prefixes.append(text[:pre])
                text = text[pre:]
                break
            suf = self._suffix_len(text[pre:])
            if suf and specials and text[:-suf] in self.specials:
                suffixes.append(text[-suf:])
                text = text[:-suf]
                break
            if pre and suf and pre + suf <= len(text):
                prefixes.append(text[:pre])
                suffixes.append(text[-suf:])
                text = text[pre:-suf]
            elif pre:
                prefixes.append(text[:pre])
                text = text[pre:]
            elif suf:
                suffixes.append(text[-suf:])
                text = text[:-suf]
        return prefixes + self._attach(text, specials) + suffixes[::-1]

    def _attach(self, text: str, specials: bool) -> list[str]:
        if not text:
            return []
        if specials and text in self.specials:
            return list(self.specials[text])
        if self.url and self.url.match(text):
            return [text]
        out: list[str] = []
        start = 0
        for match in self._infixes(text):
            if match.start() == 0:
                continue
            if match.start() != start:
                out.append(text[start:match.start()])
            if match.start() != match.end():
                out.append(match.group())
            start = match.end()
        if text[start:]:
            out.append(text[start:])
        return out

    def _apply_specials(self, tokens: list[str]) -> list[str]:
        """Tokenizer._apply_special_cases: runs of tokens that are a special case with affixes,
        tokenized as without special cases, become its pieces; longest first, then leftmost."""
        found = []
        for i in range(len(tokens)):
            text = ""
            for j in range(i, len(tokens)):
                text += tokens[j]
                if len(text) > self.longest:
                    break
                if text in self.matched and tuple(tokens[i:j + 1]) == self._pattern(text):
                    found.append((i, j + 1))
        if not found:
            return tokens
        found.sort(key=lambda span: (span[1] - span[0], -span[0]))
        seen: set[int] = set()
        kept = []
        for start, end in reversed(found):
            if start not in seen and end - 1 not in seen:
                kept.append((start, end))
            seen.update(range(start, end))
        out, at = [], 0
        for start, end in sorted(kept):
            out += tokens[at:start] + list(self.specials["".join(tokens[start:end])])
            at = end
        return out + tokens[at:]

    def _pattern(self, text: str) -> tuple[str, ...]:
        if text not in self._patterns:
            self._patterns[text] = tuple(self._affix_tokens(text, False))
        return self._patterns[text]
