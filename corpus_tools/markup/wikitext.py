"""MediaWiki wikitext -> (heading, paragraph) pairs, with mwparserfromhell: one parse per article.

Kept: prose, wikilink and external-link labels, bold/italic and formatting-tag contents, headings (as the
heading of the paragraphs under them). Dropped: templates (but a few inline ones keep their text), refs,
tables, galleries, math, comments, file/category/interlanguage links, magic words, and reference-list
sections such as "References" or "External links"."""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Optional

import mwparserfromhell
from mwparserfromhell.nodes import ExternalLink, Heading, HTMLEntity, Tag, Template, Text, Wikilink
from mwparserfromhell.wikicode import Wikicode

Sections = list[tuple[str, str]]

# Sections that hold citations and link lists, not prose (compared lower-cased); their subsections go too.
DROP_SECTIONS = frozenset({
    "references", "external links", "see also", "further reading", "notes", "bibliography", "sources",
    "notes and references", "footnotes", "citations", "cited sources", "works cited",
    "参考文献", "参考资料", "參考資料", "参考", "外部链接", "外部連結", "参见", "參見", "注释", "註釋", "脚注", "延伸阅读",
    "延伸閱讀", "einzelnachweise", "weblinks", "literatur", "siehe auch", "références", "liens externes",
    "voir aussi", "notes et références", "referencias", "enlaces externos", "véase también",
})
# Tags whose contents are never prose.
DROP_TAGS = frozenset({
    "ref", "references", "table", "gallery", "math", "chem", "ce", "score", "timeline", "imagemap", "graph",
    "mapframe", "maplink", "hiero", "syntaxhighlight", "source", "templatedata", "categorytree", "inputbox",
    "style", "script", "tr", "td", "th", "caption", "tbody", "thead", "tfoot",
})
# Link prefixes that are not running text (file embeds and category tags): the canonical names, valid on
# every wiki; a dump adds its own names from <siteinfo> (RawDoc.link_namespaces).
DROP_LINK_PREFIXES = ("file:", "image:", "media:", "category:")
# Aliases that wikis accept but dumps do not list in <siteinfo> (zhwiki lists "Category" and "File", its
# pages write [[分类:...]] and [[文件:...]]); also used on WikiExtractor output, which has no siteinfo.
NAMESPACE_ALIASES = ("分类", "分類", "文件", "檔案", "档案", "图像", "圖像", "媒体", "媒體", "ファイル", "画像", "カテゴリ",
                     "datei", "bild", "kategorie", "fichier", "catégorie", "archivo", "imagen", "categoría",
                     "файл", "изображение", "категория")
# Image parameters left behind when a file link was not recognised: thumb|250px|left|upright=1.2|alt=...
_IMAGE_PARAMS = re.compile(r"(?:^|(?<=[\s|\[]))(?:thumb|thumbnail|frame|frameless|framed|border|mini|miniatur|vignette"
                           r"|left|right|center|centre|none|baseline|middle|upright(?:\s*=\s*[\d.]+)?|\d*x?\d+\s*px"
                           r"|(?:alt|link|class|lang|page)\s*=[^|\]]*)\s*\|", re.IGNORECASE)
_PX = re.compile(r"\|\s*\d*x?\d+\s*px\b", re.IGNORECASE)
# HTML tags the parser leaves as text when unbalanced (<poem>, <br>, <center>, table cells, ...): removed,
# their text kept.
_LEFTOVER_TAG = re.compile(r"</?(?:poem|br|hr|center|centre|div|span|p|small|big|sup|sub|font|b|i|u|s|strike|em|strong"
                           r"|tt|code|blockquote|nowiki|onlyinclude|includeonly|noinclude|abbr|cite|del|ins|var|q"
                           r"|table|tr|td|th|tbody|thead|tfoot|caption|ul|ol|li|dl|dt|dd|ref|references|gallery"
                           r"|section|mark|ruby|rt|rp|bdi|kbd|samp|wbr|syntaxhighlight|source|math|chem)\b[^<>]*>",
                           re.IGNORECASE)


# Chinese wikis' language-conversion markup: -{text}-, -{zh-hans:A; zh-hant:B;}-, -{H|...}- (a rule, shows nothing).
_CONVERSION = re.compile(r"-\{(.*?)\}-")
_VARIANT = re.compile(r"(zh(?:-[a-z]+)?)\s*:\s*([^;]*)")
SHOWN_VARIANTS = ("zh-hans", "zh-cn", "zh", "zh-hant", "zh-tw", "zh-hk")


def _converted(match: re.Match) -> str:
    body = match.group(1)
    flags, bar, rest = body.partition("|")
    if bar and len(flags) <= 3 and flags.strip().isalpha():
        if flags.strip().upper() in ("H", "T", "A-", "-"):
            return ""  # a conversion rule or title rule: nothing is shown
        body = rest
    variants = dict(_VARIANT.findall(body))
    if not variants:
        return body
    return next((variants[v].strip() for v in SHOWN_VARIANTS if v in variants), next(iter(variants.values())).strip())


def strip_leftovers(line: str) -> str:
    """Leftover HTML tags, image parameters and -{ }- conversion markup out of a line of plain text."""
    if "-{" in line:
        line = _CONVERSION.sub(_converted, line)
    if "<" in line:
        line = _LEFTOVER_TAG.sub(" ", line)
    if "|" in line:
        line = _PX.sub("", _IMAGE_PARAMS.sub("", line))
    return line
# Templates whose visible output is (part of) their arguments: name -> positional parameter shown.
INLINE_TEMPLATES = {"nowrap": 1, "nobr": 1, "lang": 2, "mvar": 1, "math": 1, "small": 1, "transl": 2, "em": 1}
_RANGE_WORDS = frozenset({"-", "–", "to", "and", "or", "by", "x", "×", "&"})

_INTERLANGUAGE = re.compile(r"^(?:[a-z]{2,3}(?:-[a-z0-9]+)*|simple):")
_MAGIC_WORD = re.compile(r"__[A-Z]+__")
_SPACED_COLON = re.compile(r"\s*:\s*")
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
    """Walks parsed wikitext once, appending plain text and _Heading marks to `out`. Links whose title
    starts with one of `drop_prefixes` (lower-cased, with the colon) are dropped."""

    def __init__(self, drop_prefixes: tuple[str, ...] = DROP_LINK_PREFIXES) -> None:
        self.out: list = []
        self.drop_prefixes = drop_prefixes

    def code(self, code: Optional[Wikicode]) -> None:
        if code is None:
            return
        for node in code.nodes:
            self.node(node)

    def text_of(self, code: Optional[Wikicode]) -> str:
        """Rendered text of a fragment (headings inside it flattened to their titles)."""
        inner = _Renderer(self.drop_prefixes)
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
        lowered = _SPACED_COLON.sub(":", title.lower())
        if lowered.startswith(self.drop_prefixes):
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
    line = strip_leftovers(_MAGIC_WORD.sub("", line))
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
    (re.compile(r"\[\[(?:[a-z]{2,3}):[^\[\]]*\]\]", re.IGNORECASE), ""),
    (re.compile(r"\[\[(?:[^\[\]|]*\|)?([^\[\]|]*)\]\]"), r"\1"),
    (re.compile(r"\[(?:https?:)?//[^\s\[\]]*\s*([^\[\]]*)\]"), r"\1"),
    (re.compile(r"https?://\S+|<[^<>]*>|'{2,}"), ""),
)


@lru_cache(maxsize=16)
def _namespace_links(prefixes: tuple[str, ...]) -> re.Pattern:
    """[[File:...]] / [[Kategorie:...]] (not nested) for the given lower-cased prefixes."""
    names = "|".join(re.escape(p.rstrip(":")) for p in prefixes)
    return re.compile(rf"\[\[\s*(?:{names})\s*:[^\[\]]*\]\]", re.IGNORECASE)


def _fallback(text: str, drop_prefixes: tuple[str, ...] = DROP_LINK_PREFIXES) -> Sections:
    """Regex cleanup line by line, for pages the parser cannot take quickly or at all: prose lines survive,
    table and heading lines go; no headings are kept."""
    out: Sections = []
    namespace_links = _namespace_links(drop_prefixes)
    for line in text.split("\n"):
        line = line.strip()
        if not line or line.startswith(("{|", "|", "!", "=")):
            continue
        for _ in range(3):  # nested templates, innermost first
            line = _FALLBACK_STEPS[2][0].sub("", line)
        line = namespace_links.sub("", line)
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


@lru_cache(maxsize=16)
def link_prefixes(namespaces: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The lower-cased `name:` prefixes of links to drop: the canonical ones, the known aliases and the
    dump's own names for the File, Media and Category namespaces."""
    names = [p.rstrip(":") for p in DROP_LINK_PREFIXES] + list(NAMESPACE_ALIASES) + list(namespaces)
    return tuple(dict.fromkeys(f"{_SPACED_COLON.sub(' ', n.replace('_', ' ')).strip().lower()}:" for n in names if n))


def wikitext_paragraphs(text: str, namespaces: tuple[str, ...] = ()) -> Sections:
    """(heading, paragraph) pairs of an article's wikitext; the lead section has heading "".
    `namespaces`: the wiki's own names of its File, Media and Category namespaces (from <siteinfo>)."""
    prefixes = link_prefixes(namespaces)
    if _too_tangled(text):
        return _fallback(text, prefixes)
    try:
        renderer = _Renderer(prefixes)
        renderer.code(mwparserfromhell.parse(text, skip_style_tags=False))
        return _sections(renderer.out)
    except Exception:  # a pathological page must not stop a dump: degrade, never raise
        try:
            return _fallback(text, prefixes)
        except Exception:
            return []
