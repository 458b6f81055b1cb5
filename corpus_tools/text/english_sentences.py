"""English sentences as `SpacySentences(None)` gives them (blank("en") + sentencizer, with the quote,
bracket and dialogue-tag fixes of `doc_sentences`), at a fraction of the cost.

The sentencizer only acts after a token whose text is one of its punctuation characters ("." "!" "?"
and their forms in other scripts): the next token that is not punctuation starts a sentence. spaCy's
tokenizer cuts the text at spaces first and tokenizes each space-free chunk on its own, so a chunk
without any of those characters can neither end nor start a sentence. Here the tokenizer runs only on
the chunks that hold one (where it keeps "Mr.", "U.S.", "3.14" and "2.0" whole, as in a Doc) and on the
chunks that follow one up to the next sentence start; the other words are never looked at, and no Doc
or Token objects are built for the paragraph. The tokens of a chunk are cached, so common words
("it.", "said.") are tokenized once per process, and the commonest shapes ('said.', 'it."', '"When',
'end.The') are cut as the tokenizer cuts them without calling it (`_plain_tokens`). The tokenizer is
spaCy's rules applied without importing spaCy (`english_tokenizer.Affixes`, from a cache of the rules
written by spaCy once): the same tokens, without spaCy's 0.35 s import in every process.

Text whose whitespace is not single spaces between words (never after `normalize`, and the second and
later windows of a paragraph over `WINDOW_CHARS`, which start with a space) goes to spaCy itself
(imported then), so the boundaries are spaCy's everywhere.
"""
from __future__ import annotations

import re

from corpus_tools.text.english_tokenizer import LEFT_PUNCT, QUOTES, Affixes, is_punct, rules
from nlp_libs.spacy_loading import import_spacy, windows

CACHE_CHUNKS = 100_000  # tokenized chunks kept (under 30 MB; cleared when full, which never changes the output)
# "said." "1999." "Why?" 'it."' '"When' "'Lady" (a quote opens words, not numbers: "'90s")
_PLAIN = re.compile(r"([\"'\u201c\u2018]?)([A-Za-z]+|[0-9]+)([.!?]?)([\"'\u201d\u2019]?)")
_GLUED = re.compile(r"([A-Za-z]*[a-z])\.([A-Z][A-Za-z]*)")  # "end.The": the "." infix splits it
_OTHER_SPACE = re.compile(r"[^\S ]")  # whitespace other than " "

# A chunk's tokens are a flat tuple (start in the chunk, flags, start, flags, ...) of small ints (cheap
# to keep); the flags are what the sentencizer and the fixes read of a token, all lexical:
PUNCT = 1  # Token.is_punct
ENDS = 2  # its text is one of the sentencizer's punctuation characters
OPENER = 4  # is_quote or is_left_punct: may open the next sentence
QUOTE = 8  # is_quote
LOWER = 16  # is_lower
ASKS = 32  # its text is "?" or "!" (a dialogue tag may follow the quote after it)
_WORD = 0
_STOP = {".": PUNCT | ENDS, "!": PUNCT | ENDS | ASKS, "?": PUNCT | ENDS | ASKS}
_QUOTE = PUNCT | OPENER | QUOTE


class EnglishSentences:
    """The default English splitter: spaCy's blank("en") sentencizer boundaries, tokenizing only the
    chunks around sentence punctuation (see the module docstring). Deterministic: the same paragraph
    always gives the same sentences, in any process, whatever the cache holds."""

    def __init__(self):
        data = rules()  # spaCy's tokenizer rules, from a cache: spaCy itself is imported only if needed
        self._punct_chars = frozenset(data["punct_chars"])  # the sentencizer's
        # A class of BMP characters is a bitmap (fast); the few past U+FFFF are checked one by one.
        bmp = "".join(re.escape(c) for c in sorted(self._punct_chars) if ord(c) < 0x10000)
        self._has_end = re.compile(f"[{bmp}\U00010000-\U0010ffff]")
        self._specials = frozenset(data["specials"])  # the tokenizer's special cases
        self._rules = data
        self._affixes: Affixes | None = None  # compiled on the first chunk that needs them
        self._nlp = None
        self._cache: dict[str, tuple[int, ...]] = {}

    @property
    def nlp(self):
        """spaCy's blank("en") + sentencizer, imported and built on first use: only text that is not
        single-spaced needs it."""
        if self._nlp is None:
            spacy = import_spacy()
            from spacy.attrs import IS_LEFT_PUNCT, IS_LOWER, IS_PUNCT, IS_QUOTE

            nlp = spacy.blank("en")
            # A new word's lexeme computes only what is read here (not its shape, norm, like_num ...):
            # tokenization never reads lexeme attributes, so the tokens stay spaCy's.
            getters = nlp.vocab.lex_attr_getters
            nlp.vocab.lex_attr_getters = {a: getters[a] for a in (IS_PUNCT, IS_QUOTE, IS_LEFT_PUNCT, IS_LOWER)}
            nlp.add_pipe("sentencizer")
            self._nlp = nlp
        return self._nlp

    @property
    def affixes(self) -> Affixes:
        if self._affixes is None:
            self._affixes = Affixes(self._rules)
        return self._affixes

    def split(self, paragraphs: list[str]) -> list[list[str]]:
        return [[s for window in windows(p) for s in self.sentences(window)] for p in paragraphs]

    def sentences(self, text: str) -> list[str]:
        """The sentences of one text (at most a window long), stripped, none empty."""
        if not _single_spaced(text):
            return [s for s in doc_sentences(self.nlp(text)) if s]
        starts = self._starts(text)
        ends = starts[1:] + [len(text)]
        return [s for s in (text[a:b].strip() for a, b in zip(starts, ends)) if s]

    def _starts(self, text: str) -> list[int]:
        """Character offsets where sentences start: the sentencizer's starts, moved back onto an
        opening quote or bracket glued to them, less those after a quoted ? or ! that a lower-case
        dialogue tag continues (as `doc_sentences` does on a Doc)."""
        starts = [0]
        n = len(text)
        found = self._next_end(text, 0)
        while found is not None:
            pos = text.rfind(" ", 0, found.start()) + 1  # the chunk holding the punctuation
            seen = False  # the sentencizer's seen_period
            # the last two tokens: flags, start in text, trailing space (none yet: no flags, no space)
            flags1 = at1 = flags2 = 0
            space1 = space2 = False
            while True:
                end = text.find(" ", pos)
                end = n if end < 0 else end
                if seen and text[pos].isalnum() and not flags1 & QUOTE and (found is None or found.start() > end):
                    starts.append(pos)  # a word without sentence punctuation: its first token starts one
                    break
                tokens = self._tokens(text[pos:end])
                last = len(tokens) - 2
                for k in range(0, len(tokens), 2):
                    at, flags = pos + tokens[k], tokens[k + 1]
                    if seen and not flags & (PUNCT | ENDS):
                        seen = False
                        start = at
                        if flags1 & OPENER and not space1 and space2:
                            start = at1  # `over. "On` / `over. (On`: the quote opens the next sentence
                        elif flags & LOWER and flags1 & QUOTE and flags2 & ASKS:
                            start = -1  # `"Why?" he asked.` stays one sentence
                        if start > starts[-1]:
                            starts.append(start)
                    elif flags & ENDS:
                        seen = True
                    flags2, space2 = flags1, space1
                    flags1, at1, space1 = flags, at, k == last and end < n
                if not seen or end >= n:
                    break
                pos = end + 1  # the next sentence starts in a later chunk
                if found is not None and found.start() < pos:
                    found = self._next_end(text, pos)
            if found is not None and found.start() < end:
                found = self._next_end(text, end)
        return starts

    def _next_end(self, text: str, pos: int):
        """The first sentence punctuation character at or after `pos` (a match), or None."""
        found = self._has_end.search(text, pos)
        while found is not None and found.group() not in self._punct_chars:  # a character past U+FFFF
            found = self._has_end.search(text, found.end())
        return found

    def _tokens(self, chunk: str) -> tuple[int, ...]:
        """spaCy's tokens of a space-free chunk, as (start, flags, ...), cached."""
        tokens = self._cache.get(chunk)
        if tokens is None:
            if len(self._cache) >= CACHE_CHUNKS:
                self._cache.clear()
            tokens = self._cache[chunk] = self._plain_tokens(chunk) or self._rule_tokens(chunk)
        return tokens

    def _rule_tokens(self, chunk: str) -> tuple[int, ...]:
        """The chunk's tokens from spaCy's tokenizer rules (`Affixes`), as (start, flags, ...)."""
        out: list[int] = []
        at = 0
        for text in self.affixes.tokens(chunk):
            out += [at, self._flags(text)]
            at += len(text)
        return tuple(out)

    def _flags(self, text: str) -> int:
        """The flags of a token's text, from spaCy's lexical attributes (spacy/lang/lex_attrs.py)."""
        quote = text in QUOTES
        return (PUNCT * is_punct(text) | ENDS * (text in self._punct_chars) | OPENER * (quote or text in LEFT_PUNCT)
                | QUOTE * quote | LOWER * text.islower() | ASKS * (text in ("?", "!")))

    def _spacy_tokens(self, chunk: str) -> tuple[int, ...]:
        """The chunk's tokens from spaCy's tokenizer itself, as (start, flags, ...) (the tests' reference)."""
        out: list[int] = []
        for t in self.nlp.tokenizer(chunk):
            out += [t.idx, (PUNCT * t.is_punct | ENDS * (t.text in self._punct_chars)
                            | OPENER * (t.is_quote or t.is_left_punct) | QUOTE * t.is_quote | LOWER * t.is_lower
                            | ASKS * (t.text in ("?", "!")))]
        return tuple(out)

    def _plain_tokens(self, chunk: str) -> tuple[int, ...] | None:
        """The tokens of the commonest chunk shapes, as the tokenizer gives them, without it: an ASCII
        word or number with an optional opening quote before it and an optional "." "!" or "?" and
        closing quote after it ("said.", "1999.", 'it."', '"When', "Why?"), and two ASCII words glued
        by a "." ("end.The"). None for any other chunk, and where spaCy would not cut it at every
        piece: a piece or run of pieces that is a special case ("Mr.", "etc.", "'em"); a "." after a
        single capital ("J.", "I.": the English suffix rules split "." only after a lower-case letter,
        a digit or two capitals); a glued chunk that spaCy's URL pattern takes whole.
        tests/test_english_sentences.py checks these against the tokenizer on the samples."""
        plain = _PLAIN.fullmatch(chunk)
        if plain is not None:
            opening, word, stop, closing = plain.groups()
            if opening and not word.isalpha():
                return None
            pieces = [piece for piece in (opening, word, stop, closing) if piece]
            for i in range(len(pieces)):  # every run of consecutive pieces, the whole chunk included
                for j in range(i + 1, len(pieces) + 1):
                    if "".join(pieces[i:j]) in self._specials:
                        return None
            if stop == "." and not (word[-1].islower() or word[-1].isdigit() or word[-2:-1].isupper()):
                return None  # one capital ("J.", "I.") keeps its "."; two ("USA.") do not
            tokens = (0, _QUOTE) if opening else ()
            tokens += (len(opening), LOWER if word.islower() else _WORD)
            at = len(opening) + len(word)
            if stop:
                tokens += (at, _STOP[stop])
            if closing:
                tokens += (at + len(stop), _QUOTE)
            return tokens
        glued = _GLUED.fullmatch(chunk)
        if glued is not None:
            left, right = glued[1], glued[2]
            url = self.affixes.url
            if {chunk, left, right, left + ".", "." + right} & self._specials or (url and url.match(chunk)):
                return None
            return (0, LOWER if left.islower() else _WORD, len(left), _STOP["."], len(left) + 1, _WORD)
        return None


def _single_spaced(text: str) -> bool:
    """Words separated by single spaces, none at either end, no other whitespace. (Quick: every
    whitespace character but " " is unprintable, so printable text needs only the space checks.)"""
    if not text or text[0] == " " or text[-1] == " " or "  " in text:
        return False
    return text.isprintable() or not _OTHER_SPACE.search(text)


def doc_sentences(doc) -> list[str]:
    """doc.sents with two fixes for quotes and brackets, which the sentencizer cannot tell apart:
    an opening quote or bracket left at the end of a sentence moves to the next one, and a lower-case
    dialogue tag after a quoted ? or ! stays in its sentence ("Why?" he asked.)."""
    starts: list[int] = []
    for sent in doc.sents:
        start = sent.start
        if start > 1:
            before = doc[start - 1]
            if (before.is_quote or before.is_left_punct) and not before.whitespace_ and doc[start - 2].whitespace_:
                start -= 1  # `over. "On` / `over. (On` -> the quote or bracket opens the next sentence
            elif doc[start].is_lower and before.is_quote and doc[start - 2].text in ("?", "!"):
                continue
        if not starts or start > starts[-1]:
            starts.append(start)
    if not starts:
        return []
    ends = starts[1:] + [len(doc)]
    return [doc[a:b].text.strip() for a, b in zip(starts, ends)]
