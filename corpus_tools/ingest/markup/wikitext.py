"""MediaWiki wikitext -> (heading, paragraph) pairs: a regex first pass cuts what is dropped whole and is
slow to tokenize (comments, refs, tables, templates that show nothing), then mwparserfromhell's C tokenizer
reads the rest and one walk over its token stream renders it (mwparserfromhell's Python tree builder used to
cost more than everything else together; bench/wikitext.py measures this against WikiExtractor).

Kept: prose, wikilink and external-link labels, bold/italic and formatting-tag contents, headings (as the
heading of the paragraphs under them). Dropped: templates (but a few inline ones keep their text), refs,
tables, galleries, math, comments, file/category/interlanguage links, magic words, and reference-list
sections such as "References" or "External links"."""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Optional

from mwparserfromhell.definitions import is_parsable
from mwparserfromhell.nodes import HTMLEntity
from mwparserfromhell.parser import tokens as _T

try:
    from mwparserfromhell.parser._tokenizer import CTokenizer as _Tokenizer
except ImportError:  # no compiled extension: the pure-Python tokenizer gives the same tokens
    from mwparserfromhell.parser.tokenizer import Tokenizer as _Tokenizer

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
                           r"|section|mark|ruby|rt|rp|bdi|kbd|samp|wbr|syntaxhighlight|source|math|chem|pre)\b[^<>]*>",
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
_TAG_START = re.compile(r"<[a-zA-Z]")
_VOID_TAGS = frozenset({"br", "hr", "wbr", "img"})
# mwparserfromhell backtracks on every unclosed {{ [ <tag> {| <!-- it meets (cost ~ unclosed x length: quadratic
# on adversarial pages, see earwig/mwparserfromhell#364); past this budget the plain-line fallback is used.
TANGLE_BUDGET = 16_000_000  # ~1 s of parsing at worst
_OPENS = frozenset({_T.TemplateOpen, _T.ArgumentOpen, _T.WikilinkOpen, _T.ExternalLinkOpen, _T.HeadingStart,
                    _T.CommentStart, _T.TagOpenOpen, _T.HTMLEntityStart})
_CLOSES = frozenset({_T.TemplateClose, _T.ArgumentClose, _T.WikilinkClose, _T.ExternalLinkClose, _T.HeadingEnd,
                     _T.CommentEnd, _T.TagCloseClose, _T.TagCloseSelfclose, _T.HTMLEntityEnd})


class _Heading:
    """A section boundary in the rendered stream."""

    __slots__ = ("level", "title")

    def __init__(self, level: int, title: str):
        self.level, self.title = level, title


class _Renderer:
    """Walks mwparserfromhell's token stream once, appending plain text and _Heading marks to `out`: the
    same reading as a walk over the parsed tree, without building the tree (its Python builder cost more
    than the C tokenizer). `match[i]` is the index of the token that closes the structure opened at i.
    Links whose title starts with one of `drop_prefixes` (lower-cased, with the colon) are dropped."""

    def __init__(self, tokens: list, drop_prefixes: tuple[str, ...] = DROP_LINK_PREFIXES) -> None:
        self.tokens, self.match = tokens, _matches(tokens)
        self.out: list = []
        self.drop_prefixes = drop_prefixes

    def span(self, start: int, end: int) -> None:
        tokens, match, out = self.tokens, self.match, self.out
        i = start
        while i < end:
            token = tokens[i]
            kind = type(token)
            if kind is _T.Text:
                out.append(token["text"])
                i += 1
                continue
            if kind not in _OPENS:
                raise ValueError(f"unexpected {kind.__name__}")  # as the tree builder would: use the fallback
            close = match[i]
            if kind is _T.WikilinkOpen:
                self.wikilink(i, close)
            elif kind is _T.TagOpenOpen:
                self.tag(i, close)
            elif kind is _T.TemplateOpen:
                self.template(i, close)
            elif kind is _T.HeadingStart:
                out.append(_Heading(token["level"], _clean(self.text_of(i + 1, close))))
            elif kind is _T.ExternalLinkOpen:
                label = self.find(i + 1, close, _T.ExternalLinkSeparator)
                if label is not None:  # the label; a bare URL shows nothing useful
                    self.span(label + 1, close)
            elif kind is _T.HTMLEntityStart:
                self.entity(i, close)
            # comments and template arguments {{{x}}}: dropped
            i = close + 1

    def level(self, start: int, end: int):
        """Indices of the tokens in [start, end) that are not inside a nested structure."""
        tokens, match = self.tokens, self.match
        i = start
        while i < end:
            yield i
            i = (match[i] if type(tokens[i]) in _OPENS else i) + 1

    def find(self, start: int, end: int, kind) -> Optional[int]:
        """The first token of `kind` in [start, end) at this level."""
        tokens = self.tokens
        return next((k for k in self.level(start, end) if type(tokens[k]) is kind), None)

    def raw(self, start: int, end: int) -> str:
        """The text of tokens[start:end], each nested structure standing as one NUL: enough to compare
        names and titles, which markup inside them makes unequal anyway."""
        return "".join(t["text"] if type(t) is _T.Text else "\0" for t in self.tokens[start:end])

    def text_of(self, start: int, end: int) -> str:
        """Rendered text of a fragment (headings inside it flattened to their titles)."""
        outer, self.out = self.out, []
        self.span(start, end)
        inner, self.out = self.out, outer
        return "".join(p if isinstance(p, str) else p.title for p in inner)

    def wikilink(self, start: int, close: int) -> None:
        tokens = self.tokens
        title = tokens[start + 1]
        if type(title) is _T.Text and (close == start + 2 or type(tokens[start + 2]) is _T.WikilinkSeparator):
            title = title["text"]  # the usual [[Title]] and [[Title|label]]: the title is one text token
            separator = None if close == start + 2 else start + 2
        else:
            separator = self.find(start + 1, close, _T.WikilinkSeparator)
            title = None
        title_end = close if separator is None else separator
        name = (self.raw(start + 1, title_end) if title is None else title).strip()
        if ":" in name:
            lowered = _SPACED_COLON.sub(":", name.lower())
            if lowered.startswith(self.drop_prefixes):
                return
            if separator is None and _INTERLANGUAGE.match(lowered) and name[:1].islower():
                return  # [[de:Foo]]: interlanguage link
        if separator is not None and self.raw(separator + 1, close).strip():
            self.span(separator + 1, close)
        else:  # [[Foo]], [[:Category:Foo]], [[#Section]], pipe trick [[Foo (bar)|]]
            shown = (self.text_of(start + 1, title_end) if title is None else title).strip().lstrip(":")
            if separator is not None:
                shown = _DISAMBIGUATOR.sub("", shown)
            self.out.append(shown[1:] if shown.startswith("#") else shown)

    def tag(self, start: int, close: int) -> None:
        tokens = self.tokens
        opened = start + 1  # the name, then attributes, up to ">" or "/>"
        while type(tokens[opened]) is _T.Text:
            opened += 1
        name = self.raw(start + 1, opened).strip().lower()
        if name in DROP_TAGS:
            return
        if name in ("br", "hr"):
            self.out.append(" " if name == "br" else "\n")
            return
        if name in ("li", "dd", "dt") and tokens[start].get("wiki_markup"):
            return  # list markers: the item text follows as plain text
        if type(tokens[close]) is _T.TagCloseSelfclose:
            return
        contents = opened  # after the attributes' ">"
        for contents in self.level(opened, close):
            if type(tokens[contents]) is _T.TagCloseOpen:
                break
        ending = close - 1  # "</", then the closing name (text), then ">"
        while type(tokens[ending]) is _T.Text:
            ending -= 1
        self.span(contents + 1, ending)

    def template(self, start: int, close: int) -> None:
        name_end = self.find(start + 1, close, _T.TemplateParamSeparator)
        name = self.raw(start + 1, close if name_end is None else name_end).strip().lower().replace("_", " ")
        if name == "convert":
            params = self.params(start, close)
            first, second = params.get("1"), params.get("2")
            if first is None or second is None:
                return
            parts = [first, second]
            if self.raw(*second).strip() in _RANGE_WORDS:
                parts += [v for v in (params.get("3"), params.get("4")) if v is not None]
            self.out.append(" ".join(self.text_of(*p).strip() for p in parts))
            return
        index = INLINE_TEMPLATES.get(name, 1 if name.startswith("lang-") else 0)
        if index:  # most templates show nothing: their parameters are never looked at
            value = self.params(start, close).get(str(index))
            if value is not None:
                self.span(*value)

    def params(self, start: int, close: int) -> dict[str, tuple[int, int]]:
        """Parameter name -> (start, end) of its value; positional ones are numbered as MediaWiki does,
        and the last of several with one name wins."""
        tokens = self.tokens
        bounds = [k for k in self.level(start + 1, close) if type(tokens[k]) is _T.TemplateParamSeparator]
        bounds.append(close)
        found, position = {}, 1
        for left, right in zip(bounds, bounds[1:]):
            equals = self.find(left + 1, right, _T.TemplateParamEquals)
            if equals is None:
                found[str(position)] = (left + 1, right)
                position += 1
            else:
                found[self.raw(left + 1, equals).strip()] = (equals + 1, right)
        return found

    def entity(self, start: int, close: int) -> None:
        parts = self.tokens[start + 1:close]
        numeric = type(parts[0]) is _T.HTMLEntityNumeric
        hexadecimal = numeric and type(parts[1]) is _T.HTMLEntityHex
        try:
            self.out.append(HTMLEntity(parts[-1]["text"], not numeric, hexadecimal).normalize())
        except (ValueError, OverflowError):
            pass


def _matches(tokens: list) -> list[int]:
    """For each opening token, the index of its closing token; ValueError when they do not pair up."""
    match = [0] * len(tokens)
    stack = []
    text = _T.Text
    for i, kind in enumerate(map(type, tokens)):
        if kind is text:
            continue
        if kind in _OPENS:
            stack.append(i)
        elif kind in _CLOSES:
            if not stack:
                raise ValueError("unbalanced tokens")
            match[stack.pop()] = i
    if stack:
        raise ValueError("unbalanced tokens")
    return match


def _clean(line: str) -> str:
    """Plain text of one line; "" when unbalanced markup the parser left as text will not go away.
    (Each substitution runs only on lines holding a character it needs: most lines hold none.)"""
    if "__" in line:
        line = _MAGIC_WORD.sub("", line)
    line = strip_leftovers(line)
    if ("{" in line or "}" in line or "[" in line or "]" in line or "<" in line or "-->" in line
            or "thumb|" in line):
        for _ in range(3):  # removing one token can join two halves of another
            line, found = _RESIDUE.subn("", line)
            if not found:
                break
        else:
            if _RESIDUE.search(line):
                return ""
    if "\t" in line or "\xa0" in line or "  " in line:
        line = _SPACES.sub(" ", line)
    if "(" in line:
        line = _PAREN_LEAD.sub("(", _EMPTY_PARENS.sub("", line))
    if " ," in line or " ." in line or " ;" in line or " :" in line:
        line = _SPACE_PUNCT.sub(r"\1", line)
    return " ".join(line.split())


def _paragraphs(heading: str, text: str, out: Sections) -> None:
    for line in text.split("\n"):
        if not line or line.isspace():
            continue  # half the lines of an article: _clean would make them "" anyway
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
                + max(0, text.count("{|") - text.count("|}")) + max(0, text.count("<!--") - text.count("-->")))
    if (unclosed + text.count("<")) * len(text) <= TANGLE_BUDGET:
        return False  # not even if every "<" started an unclosed tag (_unclosed_tags counts at most that)
    return (unclosed + _unclosed_tags(text)) * len(text) > TANGLE_BUDGET


def _unclosed_tags(text: str) -> int:
    """Opening tags without a closing tag of the same name, summed over names, and tag starts ("<ref ")
    that never reach their ">"."""
    balance: dict[str, int] = {}
    opened = 0
    for closing, name, self_closing in _TAG.findall(text):
        opened += not closing
        name = name.lower()
        if not self_closing and name not in _VOID_TAGS:
            balance[name] = balance.get(name, 0) + (-1 if closing else 1)
    return sum(n for n in balance.values() if n > 0) + max(0, len(_TAG_START.findall(text)) - opened)


@lru_cache(maxsize=16)
def link_prefixes(namespaces: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The lower-cased `name:` prefixes of links to drop: the canonical ones, the known aliases and the
    dump's own names for the File, Media and Category namespaces."""
    names = [p.rstrip(":") for p in DROP_LINK_PREFIXES] + list(NAMESPACE_ALIASES) + list(namespaces)
    return tuple(dict.fromkeys(f"{_SPACED_COLON.sub(' ', n.replace('_', ' ')).strip().lower()}:" for n in names if n))


# First pass, at regex speed, over what the renderer drops whole and the tokenizer is slowest on (tables cost it
# the most: it backtracks over their cells). Only closed, unnested forms are cut; anything else is left to the
# tokenizer, which gives the same result, only slower. Every scan is linear, unclosed markup included.
# Elements cut whole: refs, and the dropped tags whose contents the tokenizer does not parse (braces in them are
# not templates).
_CUT_ELEMENT = re.compile(r"<(ref|references|math|chem|ce|score|timeline|graph|hiero|imagemap|inputbox|source"
                          r"|syntaxhighlight|templatedata|categorytree|gallery)\b([^<>]{0,1000})>", re.IGNORECASE)
_TABLE_EDGE = re.compile(r"^[ \t:]*(\{\||\|\}(?!\}))", re.MULTILINE)  # not "|}}" that closes a template


def _drop_tables(text: str) -> str:
    """Text without its balanced {| ... |} tables (line-start markers, nested ones inside); unchanged when
    the markers do not pair up."""
    kept, depth, last = [], 0, 0
    for edge in _TABLE_EDGE.finditer(text):
        if edge.group(1) == "{|":
            if not depth:
                kept.append(text[last:edge.start()])
            depth += 1
        elif depth:
            depth -= 1
            if not depth:
                last = edge.end()
    if depth:
        return text
    kept.append(text[last:])
    return "".join(kept)


# Elements whose contents are shown as they are, unparsed: the first pass leaves them alone.
_VERBATIM = re.compile(r"<(nowiki|pre)\b([^<>]{0,1000})>", re.IGNORECASE)
_BRACES = re.compile(r"\{\{|\}\}")
_TEMPLATE_NAME = re.compile(r"\{\{\s*([^{}\[\]<>|\n]+?)\s*(?:\||\}\})")


def _shows_text(name: str) -> bool:
    """Whether the renderer shows anything of a template with this name."""
    name = name.lower().replace("_", " ")
    return name == "convert" or name in INLINE_TEMPLATES or name.startswith("lang-")


def _drop_templates(text: str) -> str:
    """Text without its balanced templates that show nothing; templates whose name the tokenizer might
    not accept, and any text where braces do not pair up, are left as they are."""
    kept, depth, last, cut = [], 0, 0, False
    for brace in _BRACES.finditer(text):
        if brace.group() == "{{":
            if not depth:
                name = _TEMPLATE_NAME.match(text, brace.start())
                cut = name is not None and not _shows_text(name.group(1))
                if cut:
                    kept.append(text[last:brace.start()])
            depth += 1
        elif depth:
            depth -= 1
            if not depth and cut:
                last = brace.end()
    if depth:
        return text
    kept.append(text[last:])
    return "".join(kept)


def _drop_comments(text: str) -> str:
    """Text without its closed <!-- --> comments."""
    kept, last = [], 0
    while (start := text.find("<!--", last)) >= 0 and (end := text.find("-->", start + 4)) >= 0:
        kept.append(text[last:start])
        last = end + 3
    kept.append(text[last:])
    return "".join(kept)


@lru_cache(maxsize=None)
def _element_edges(name: str) -> tuple[re.Pattern, re.Pattern]:
    return re.compile(rf"<{name}\b", re.IGNORECASE), re.compile(rf"</{name}\s*>", re.IGNORECASE)


def _closed_elements(text: str, opening: re.Pattern):
    """(start, end) of the elements that `opening` starts (groups: tag name, attributes), outermost first:
    self-closing ones, and closed ones: up to the first closing tag when the contents are not parsed (math,
    nowiki, ...), else only when the same tag does not open again before it (a nested or unclosed one is
    left to the tokenizer). Linear: each closing tag is searched for once."""
    last = 0
    closing: dict[str, int] = {}  # tag name -> start of its next closing tag at or after `last` (-1: none)
    for element in opening.finditer(text):
        if element.start() < last:
            continue  # inside an element already found
        name, end = element.group(1).lower(), element.end()
        if not element.group(2).endswith("/"):
            close = closing.get(name, 0)
            if 0 <= close < end:
                found = _element_edges(name)[1].search(text, end)
                close = closing[name] = found.start() if found else -1
            if close < 0 or (is_parsable(name) and _element_edges(name)[0].search(text, end, close)):
                continue
            end = text.index(">", close) + 1
        yield element.start(), end
        last = end


def _cut(text: str) -> str:
    """Comments, refs, tables and templates that show nothing out of wikitext without verbatim elements."""
    if "<!--" in text:
        text = _drop_comments(text)
    if "<" in text:
        kept, last = [], 0
        for start, end in _closed_elements(text, _CUT_ELEMENT):
            kept.append(text[last:start])
            last = end
        kept.append(text[last:])
        text = "".join(kept)
    if "{|" in text:
        text = _drop_tables(text)
    if "{{" in text and "{{{" not in text:
        text = _drop_templates(text)
    return text


def first_pass(text: str) -> str:
    """What the renderer would drop, cut out of wikitext at regex speed; <nowiki> and <pre> stay as they are."""
    kept, last = [], 0
    if "<" in text:
        for start, end in _closed_elements(text, _VERBATIM):
            kept += [_cut(text[last:start]), text[start:end]]
            last = end
    kept.append(_cut(text[last:]))
    return "".join(kept)


def wikitext_paragraphs(text: str, namespaces: tuple[str, ...] = (), fast: bool = True) -> Sections:
    """(heading, paragraph) pairs of an article's wikitext; the lead section has heading "".
    `namespaces`: the wiki's own names of its File, Media and Category namespaces (from <siteinfo>).
    `fast=False` skips the first pass: slower, and the same result (the tests hold the two equal)."""
    prefixes = link_prefixes(namespaces)
    if fast:
        text = first_pass(text)
    if _too_tangled(text):
        return _fallback(text, prefixes)
    try:
        renderer = _Renderer(_Tokenizer().tokenize(text, 0, False), prefixes)
        renderer.span(0, len(renderer.tokens))
        return _sections(renderer.out)
    except Exception:  # a pathological page must not stop a dump: degrade, never raise
        try:
            return _fallback(text, prefixes)
        except Exception:
            return []
