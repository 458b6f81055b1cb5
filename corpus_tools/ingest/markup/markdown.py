"""Reddit markdown -> paragraphs: entities decoded, links reduced to their label, URLs, code,
quote markers, header marks, emphasis, list bullets and table pipes removed. The heading is always ""."""
from __future__ import annotations

import html
import re

Sections = list[tuple[str, str]]

_ESCAPABLE = "\\`*_{}[]()#+-.!|>~^<&"
_PLACEHOLDER = {c: chr(0xE000 + i) for i, c in enumerate(_ESCAPABLE)}  # private use, restored at the end
_RESTORE = {v: k for k, v in _PLACEHOLDER.items()}
_ESCAPE = re.compile(r"\\([" + re.escape(_ESCAPABLE) + r"])")
_ZERO_WIDTH = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff]|&#x200b;|&#8203;", re.I)

_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_INDENTED = re.compile(r"^(?: {4}|\t)")
_QUOTE = re.compile(r"^\s*(?:>\s?)+")
_HEADER = re.compile(r"^\s*#{1,6}\s*|\s+#+\s*$")
_BULLET = re.compile(r"^\s*(?:[-*+]|\d{1,3}[.)])\s+")
_RULE = re.compile(r"^\s*([-*_])(?:\s*\1){2,}\s*$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$")

_SPOILER = re.compile(r">!(.*?)!<", re.S)
_LINK = re.compile(r"!?\[([^\]]*)\]\(\s*<?(?:[^()\s]|\([^()\s]*\))*>?(?:\s+\"[^\"]*\")?\s*\)")
_REF_LINK = re.compile(r"\[([^\]]+)\]\[[^\]]*\]")
_ANGLE_URL = re.compile(r"<(?:https?://|www\.)[^>\s]*>", re.I)
_URL = re.compile(r"(?:https?://|ftp://|www\.)\S+", re.I)
_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.S)
_SUPERSCRIPT = re.compile(r"\^\(([^)]*)\)|\^")
_EMPHASIS = re.compile(r"(?:\*{1,3}|_{2,3}|~~)(?=\S)|(?<=\S)(?:\*{1,3}|_{2,3}|~~)")
_BLANK_LINES = re.compile(r"\n\s*\n")
_LETTER = re.compile(r"[^\W\d_]")


def _escape(text: str) -> str:
    return _ESCAPE.sub(lambda m: _PLACEHOLDER[m.group(1)], text)


def _restore(text: str) -> str:
    return "".join(_RESTORE.get(c, c) for c in text)


def _block_lines(text: str) -> list[str]:
    """Line-level markup removed; code blocks, rules and table separators dropped."""
    out: list[str] = []
    fenced = False
    previous_blank = True
    in_code = False
    for line in text.split("\n"):
        if _FENCE.match(line):
            fenced = not fenced
            out.append("")
            continue
        if fenced:
            continue
        if not line.strip():
            out.append("")
            previous_blank, in_code = True, False
            continue
        if _INDENTED.match(line) and (previous_blank or in_code):
            in_code, previous_blank = True, False
            continue  # an indented code block (a following blank line ends it)
        previous_blank = False
        if in_code:
            continue
        line = _QUOTE.sub("", _SPOILER.sub(r"\1", line))
        if _RULE.match(line):
            out.append("")
            continue
        if _TABLE_RULE.match(line):
            continue
        line = _BULLET.sub("", _HEADER.sub("", line))
        out.append(line.replace("|", " "))
    return out


def _inline(paragraph: str) -> str:
    paragraph = _CODE_SPAN.sub(r"\2", paragraph)
    paragraph = _LINK.sub(r"\1", paragraph)
    paragraph = _REF_LINK.sub(r"\1", paragraph)
    paragraph = _URL.sub("", _ANGLE_URL.sub("", paragraph))
    paragraph = _SUPERSCRIPT.sub(lambda m: m.group(1) or "", paragraph)
    paragraph = _EMPHASIS.sub("", paragraph)
    return " ".join(_restore(paragraph).split())


def markdown_paragraphs(text: str) -> Sections:
    """("", paragraph) pairs of a Reddit comment or post body."""
    text = _ZERO_WIDTH.sub("", html.unescape(text.replace("\r\n", "\n")))
    text = _escape(text.replace("\xa0", " "))
    out: Sections = []
    for block in _BLANK_LINES.split("\n".join(_block_lines(text))):
        paragraph = _inline(block)
        if _LETTER.search(paragraph):
            out.append(("", paragraph))
    return out
