"""WikiExtractor output -> (heading, paragraph) pairs. The text is plain already, but WikiExtractor leaves
some markup behind: `<poem>`, `<br>`, `<nowiki>` and other tags, half-closed links such as
`[[Category:Foo]` (in any language), lone `]]` lines. It also writes section titles as lines of their
own: a short line without closing punctuation, followed by text, becomes the heading of the paragraphs
under it (and reference-list sections such as "References" are dropped, as for wikitext)."""
from __future__ import annotations

import re

from corpus_tools.ingest.markup.wikitext import DROP_SECTIONS, NAMESPACE_ALIASES, strip_leftovers

Sections = list[tuple[str, str]]

HEADING_MAX_CHARS = 60
HEADING_MAX_WORDS = 8
_CLOSING = tuple(".!?。！？:：︰;；,，、…)）\"”’'」』》")
_NOT_OPENING = tuple("•*-–—#=|([{\"'“‘「『《0123456789")
# [[Namespace:...]] or [[Namespace:...] (WikiExtractor drops one bracket of some), any language.
_NAMESPACE_LINK = re.compile(r"\[\[\s*:?\s*(?:category|file|image|media|" + "|".join(NAMESPACE_ALIASES)
                             + r")\s*:[^\[\]\n]*\]{0,2}", re.IGNORECASE)
_BRACKETS = re.compile(r"\[\[|\]\]")


def clean_line(line: str) -> str:
    """One WikiExtractor line without leftover tags, namespace links and stray [[ ]]."""
    if "[[" in line or "]]" in line:
        line = _BRACKETS.sub("", _NAMESPACE_LINK.sub("", line))
    return " ".join(strip_leftovers(line).split())


def _short(line: str) -> bool:
    """Short enough, and shaped like a title: a capital (or non-Latin) letter first, at most one final '.'
    (WikiExtractor appends one to some titles), no other sentence or clause punctuation."""
    if len(line) > HEADING_MAX_CHARS or len(line.split()) > HEADING_MAX_WORDS or line.startswith(_NOT_OPENING):
        return False
    body = line[:-1] if line.endswith(".") and not line.endswith("..") else line
    first = body[:1]
    return (first.isalpha() and (first.isupper() or not first.isascii()) and not body.endswith(_CLOSING)
            and not any(c in body for c in ".!?。！？,，:：;；"))


def is_heading(lines: list[str], i: int) -> bool:
    """A section title as WikiExtractor writes it: a short title-shaped line, followed by a paragraph at
    least twice as long that starts and ends a sentence, and not one of a run of three or more short lines
    (a list)."""
    line = lines[i]
    following = lines[i + 1] if i + 1 < len(lines) else ""
    if not _short(line) or len(following) < 2 * len(line) or not following.endswith(_CLOSING):
        return False
    if following[0].islower():  # a sentence broken over two lines, not a title
        return False
    if line.endswith(".") and len(line.split()) > 4:  # "He died in 1990." is a sentence
        return False
    run = sum(1 for j in (i - 2, i - 1, i + 1) if 0 <= j < len(lines) and _short(lines[j]))
    return run < 2


def extracted_paragraphs(text: str) -> Sections:
    """(heading, paragraph) pairs; every non-empty line that is not a heading is a paragraph."""
    lines = [clean_line(line) for line in text.split("\n")]
    lines = [line for line in lines if line]
    out: Sections = []
    heading, dropping = "", False
    for i, line in enumerate(lines):
        if is_heading(lines, i):
            heading = line.rstrip(".")
            dropping = line.lower() in DROP_SECTIONS
            continue
        if not dropping:
            out.append((heading, line))
    return out
