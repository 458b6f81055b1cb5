"""MediaWiki wikitext -> (heading, paragraph) pairs, with mwparserfromhell: one parse per article.

Kept: prose, wikilink and external-link labels, bold/italic and formatting-tag contents, headings (as the
heading of the paragraphs under them). Dropped: templates (but a few inline ones keep their text), refs,
tables, galleries, math, comments, file/category/interlanguage links, magic words, and reference-list
sections such as "References" or "External links"."""
from __future__ import annotations

import re
from typing import Optional

import mwparserfromhell
from mwparserfromhell.nodes import ExternalLink, Heading, HTMLEntity, Tag, Template, Text, Wikilink
from mwparserfromhell.wikicode import Wikicode

Sections = list[tuple[str, str]]

# Sections that hold citations and link lists, not prose (compared lower-cased); their subsections go too.
DROP_SECTIONS = frozenset({
    "references", "external links", "see also", "further reading", "notes", "bibliography", "sources",
    "notes and references", "footnotes", "citations",
})
# Tags whose contents are never prose.
DROP_TAGS = frozenset({
    "ref", "references", "table", "gallery", "math", "chem", "ce", "score", "timeline", "imagemap", "graph",
    "mapframe", "maplink", "hiero", "syntaxhighlight", "source", "templatedata", "categorytree", "inputbox",
    "style", "script",
})
# Link prefixes that are not running text (file embeds and category tags).
DROP_LINK_PREFIXES = ("file:", "image:", "media:", "category:")
# Templates whose visible output is (part of) their arguments: name -> positional parameter shown.
INLINE_TEMPLATES = {"nowrap": 1, "nobr": 1, "lang": 2, "mvar": 1, "math": 1, "small": 1, "transl": 2, "em": 1}
_RANGE_WORDS = frozenset({"-", "–", "to", "and", "or", "by", "x", "×", "&"})

_INTERLANGUAGE = re.compile(r"^(?:[a-z]{2,3}(?:-[a-z0-9]+)*|simple):")
_MAGIC_WORD = re.compile(r"__[A-Z]+__")
_SPACES = re.compile(r"[ \t\u00a0]+")
_EMPTY_PARENS = re.compile(r"\(\s*(?:[,;]\s*)*\)")
_PAREN_LEAD = re.compile(r"\(\s*[,;]\s*")
_SPACE_PUNCT = re.compile(r" +([,.;:])")
_RESIDUE = re.compile(r"\{\{|\}\}|\[\[|\]\]|\{\||\|\}|<!--|-->|<ref\b[^>]*>?|</ref>|thumb\|")
_LETTER = re.compile(r"[^\W\d_]")
_DISAMBIGUATOR = re.compile(r"\s*\(.*\)$")
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)\b[^<>]*?(/?)>")
_VOID_TAGS = frozenset({"br", "hr", "wbr", "img"})
# mwparserfromhell backtracks on every unclosed {{ [ <tag> {| <!-- it meets (cost ~ unclosed x length: quadratic
# on adversarial pages, see earwig/mwparserfromhell#364); past this budget the plain-line fallback is used.
TANGLE_BUDGET = 16_000_000  # ~1 s of parsing at worst


class _Heading:
    """A section boundary in the rendered stream."""

    __slots__ = ("level", "title")

    def __init__(self, level: int, title: str):
        self.level, self.title = level, title


def _positional(tpl: Template, index: int) -> Optional[Wikicode]:
    name = str(index)
    return tpl.get(name).value if tpl.has(name) else None


class _Renderer:
    """Walks parsed wikitext once, appending plain text and _Heading marks to `out`."""

    def __init__(self) -> None:
        self.out: list = []

    def code(self, code: Optional[Wikicode]) -> None:
        if code is None:
            return
        for node in code.nodes:
            self.node(node)

    def text_of(self, code: Optional[Wikicode]) -> str:
        """Rendered text of a fragment (headings inside it flattened to their titles)."""
        inner = _Renderer()
        inner.code(code)
        return "".join(p if isinstance(p, str) else p.title for p in inner.out)

    def node(self, node) -> None:
        out = self.out
        if isinstance(node, Text):
            out.append(node.value)
        elif isinstance(node, Wikilink):
            self.wikilink(node)
        elif isinstance(node, Tag):
            self.tag(node)
        elif isinstance(node, Heading):
            out.append(_Heading(node.level, _clean(self.text_of(node.title))))
        elif isinstance(node, ExternalLink):
            if node.title is not None:  # the label; a bare URL shows nothing useful
                self.code(node.title)
        elif isinstance(node, HTMLEntity):
            try:
                out.append(node.normalize())
            except (ValueError, OverflowError):
                pass
        elif isinstance(node, Template):
            self.template(node)
        # Comment, Argument and anything else: dropped

    def wikilink(self, link: Wikilink) -> None:
        title = str(link.title).strip()
        lowered = title.lower()
        if lowered.startswith(DROP_LINK_PREFIXES):
            return
        if link.text is None and _INTERLANGUAGE.match(lowered) and title[:1].islower():
            return  # [[de:Foo]]: interlanguage link
        if link.text is not None and str(link.text).strip():
            self.code(link.text)
        else:  # [[Foo]], [[:Category:Foo]], [[#Section]], pipe trick [[Foo (bar)|]]
            shown = self.text_of(link.title).strip().lstrip(":")
            if link.text is not None:
                shown = _DISAMBIGUATOR.sub("", shown)
            self.out.append(shown[1:] if shown.startswith("#") else shown)

    def tag(self, tag: Tag) -> None:
        name = str(tag.tag).strip().lower()
        if name in DROP_TAGS:
            return
        if name in ("br", "hr"):
            self.out.append(" " if name == "br" else "\n")
            return
        if name in ("li", "dd", "dt") and tag.wiki_markup:  # list markers: the item text follows as plain nodes
            return
        if tag.self_closing or tag.contents is None:
            return
        self.code(tag.contents)

    def template(self, tpl: Template) -> None:
        name = str(tpl.name).strip().lower().replace("_", " ")
        if name == "convert":
            first, second = _positional(tpl, 1), _positional(tpl, 2)
            if first is None or second is None:
                return
            parts = [first, second]
            if str(second).strip() in _RANGE_WORDS:
                parts += [v for v in (_positional(tpl, 3), _positional(tpl, 4)) if v is not None]
            self.out.append(" ".join(self.text_of(p).strip() for p in parts))
            return
        index = INLINE_TEMPLATES.get(name, 1 if name.startswith("lang-") else 0)
        value = _positional(tpl, index) if index else None
        if value is not None:
            self.code(value)


def _clean(line: str) -> str:
    """Plain text of one line; "" when unbalanced markup the parser left as text will not go away."""
    line = _MAGIC_WORD.sub("", line)
    for _ in range(3):  # removing one token can join two halves of another
        line, found = _RESIDUE.subn("", line)
        if not found:
            break
    else:
        if _RESIDUE.search(line):
            return ""
    line = _SPACES.sub(" ", line)
    line = _EMPTY_PARENS.sub("", line)
    line = _PAREN_LEAD.sub("(", line)
    line = _SPACE_PUNCT.sub(r"\1", line)
    return " ".join(line.split())


def _paragraphs(heading: str, text: str, out: Sections) -> None:
    for line in text.split("\n"):
        line = _clean(line)
        if line and _LETTER.search(line):
            out.append((heading, line))


def _sections(parts: list) -> Sections:
    out: Sections = []
    heading, buffer = "", []
    drop_level = 0  # > 0 while inside a dropped section of that level
    for part in parts:
        if isinstance(part, str):
            if not drop_level:
                buffer.append(part)
            continue
        if not drop_level:
            _paragraphs(heading, "".join(buffer), out)
        buffer = []
        if drop_level and part.level > drop_level:
            continue  # a subsection of a dropped section
        drop_level = part.level if part.title.lower().rstrip(":") in DROP_SECTIONS else 0
        heading = part.title
    if not drop_level:
        _paragraphs(heading, "".join(buffer), out)
    return out


# Fallback patterns: each stops at the next bracket, so they stay linear on any input.
_FALLBACK_STEPS = (
    (re.compile(r"<!--.*?-->|<!--.*$"), ""),
    (re.compile(r"<ref[^<>]*/>|<ref[^<>]*>[^<]*</ref>", re.IGNORECASE), ""),
    (re.compile(r"\{\{[^{}]*\}\}"), ""),
    (re.compile(r"\[\[(?:file|image|media|category|[a-z]{2,3}):[^\[\]]*\]\]", re.IGNORECASE), ""),
    (re.compile(r"\[\[(?:[^\[\]|]*\|)?([^\[\]|]*)\]\]"), r"\1"),
    (re.compile(r"\[(?:https?:)?//[^\s\[\]]*\s*([^\[\]]*)\]"), r"\1"),
    (re.compile(r"https?://\S+|<[^<>]*>|'{2,}"), ""),
)


def _fallback(text: str) -> Sections:
    """Regex cleanup line by line, for pages the parser cannot take quickly or at all: prose lines survive,
    table and heading lines go; no headings are kept."""
    out: Sections = []
    for line in text.split("\n"):
        line = line.strip()
        if not line or line.startswith(("{|", "|", "!", "=")):
            continue
        for _ in range(3):  # nested templates, innermost first
            line = _FALLBACK_STEPS[2][0].sub("", line)
        for pattern, repl in _FALLBACK_STEPS:
            line = pattern.sub(repl, line)
        _paragraphs("", line.lstrip("*#:; "), out)
    return out


def _too_tangled(text: str) -> bool:
    """Whether so much markup is left unclosed that parsing could take seconds to minutes."""
    unclosed = (max(0, text.count("{{") - text.count("}}")) + max(0, text.count("[") - text.count("]"))
                + max(0, text.count("{|") - text.count("|}")) + max(0, text.count("<!--") - text.count("-->"))
                + _unclosed_tags(text))
    return unclosed * len(text) > TANGLE_BUDGET


def _unclosed_tags(text: str) -> int:
    """Opening tags without a closing tag of the same name, summed over names."""
    balance: dict[str, int] = {}
    for closing, name, self_closing in _TAG.findall(text):
        name = name.lower()
        if not self_closing and name not in _VOID_TAGS:
            balance[name] = balance.get(name, 0) + (-1 if closing else 1)
    return sum(n for n in balance.values() if n > 0)


def wikitext_paragraphs(text: str) -> Sections:
    """(heading, paragraph) pairs of an article's wikitext; the lead section has heading ""."""
    if _too_tangled(text):
        return _fallback(text)
    try:
        renderer = _Renderer()
        renderer.code(mwparserfromhell.parse(text, skip_style_tags=False))
        return _sections(renderer.out)
    except Exception:  # a pathological page must not stop a dump: degrade, never raise
        try:
            return _fallback(text)
        except Exception:
            return []
