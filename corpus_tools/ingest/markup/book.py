"""Book text -> (heading, paragraph) pairs: Project Gutenberg boilerplate stripped, hard wraps joined,
chapter headings turned into the heading of the paragraphs under them.

Headings are layered: a part ("BOOK II", "PART THREE", "VOLUME I", "ACT I"), a chapter ("Chapter 1",
"Letter 4", "STAVE ONE", "ADVENTURE I. A SCANDAL IN BOHEMIA", "I. A SCANDAL IN BOHEMIA", "PREFACE",
a short ALL-CAPS line after two or more blank lines) and a section (a lone numeral, "II."); a paragraph's
heading is the active layers joined with " / ". A run of headings (a table of contents) gives no
paragraphs; neither do the title-page lines before the first heading or prose paragraph.
"""
from __future__ import annotations

import re

Sections = list[tuple[str, str]]

# --- Gutenberg boilerplate --------------------------------------------------------------------

_START = re.compile(r"^[^\w\n]*START OF (THIS|THE) PROJECT GUTENBERG|^[^\w\n]*END\W*THE SMALL PRINT", re.I | re.M)
_END = re.compile(r"^[^\w\n]*END OF (THIS |THE )?PROJECT GUTENBERG", re.I | re.M)
_CREDITS = re.compile(r"^\s*(produced by|e-?text prepared by|prepared by|transcribed (from|by)|"
                      r"this (e-?text|e-?book) was (produced|prepared))\b", re.I)
_BLANK_RUN = re.compile(r"\n\s*\n")


def strip_boilerplate(text: str) -> str:
    """The book body: the Gutenberg header (through the START line and the credits after it) and
    the footer (from the END line, licence included) removed; text without markers is kept whole."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    start = _START.search(text)
    if start:
        lines = text[start.start():].split("\n")
        skip = 1
        if lines[0].lstrip().startswith("*") and not lines[0].rstrip().endswith("*"):
            for i in (1, 2):  # a START line wrapped over two or three lines, closed by "***"
                if i < len(lines) and lines[i].rstrip().endswith("***"):
                    skip = i + 1
                    break
        text = "\n".join(lines[skip:])
    end = _END.search(text)
    if end:
        text = text[: end.start()]
    if start:
        while True:  # "Produced by ..." credits right after the START line
            body = text.lstrip()
            if not _CREDITS.match(body):
                break
            block_end = _BLANK_RUN.search(body)
            text = body[block_end.end():] if block_end else ""
    return text


# --- headings ---------------------------------------------------------------------------------

_ROMAN = r"(?=[MDCLXVI]+\b)M{0,3}(?:CM|CD|D?C{0,3})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})"
_WORD_NUMBERS = (r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
                 r"fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|"
                 r"eighty|ninety|hundred|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|"
                 r"eleventh|twelfth|last|final)")
_NUMBER = rf"(?:\d{{1,3}}|(?i:{_ROMAN})|(?i:{_WORD_NUMBERS}(?:[- ]{_WORD_NUMBERS})*))"
_PART_WORDS = r"book|part|volume|act"
_CHAPTER_WORDS = r"chapter|letter|stave|adventure|section|canto|scene|episode"
_KEYWORD = re.compile(rf"^(?i:(?P<kw>{_PART_WORDS}|{_CHAPTER_WORDS}))\s+{_NUMBER}\b\.?(?P<rest>.*)$")
_NUMBERED_TITLE = re.compile(rf"^(?:{_ROMAN}|\d{{1,3}})\.\s+[A-Z\"'‘“]")
_LONE_NUMBER = re.compile(rf"^(?:{_ROMAN}|\d{{1,3}})\.?$")
_NAMED = re.compile(r"^(?i:prologue|epilogue|preface|introduction|contents|table of contents|foreword|"
                    r"afterword|appendix|acknowledge?ments|dedication|postscript|interlude)[.:]?$")
_CONTENTS = re.compile(r"^(?i:(table of )?contents)\.?$")
_SENTENCE_END = re.compile(r"[.!?\"'”’)\]]$")
_MAX_HEADING = 80

PART, CHAPTER, SECTION = 0, 1, 2


def _titleish(rest: str) -> bool:
    """The title after a heading number: empty, or short, capitalised, not a sentence."""
    rest = rest.strip(" .:—-")
    if not rest:
        return True
    return len(rest) <= 60 and len(rest.split()) <= 10 and not rest[0].islower() and not re.search(r"[,;!?]$", rest)


def caps_line(line: str) -> bool:
    """A short ALL-CAPS line (a possible heading)."""
    letters = [c for c in line if c.isalpha()]
    return (len(letters) >= 2 and not any(c.islower() for c in letters) and len(line) <= 60
            and len(line.split()) <= 10 and line[0] not in "\"'‘“(" and not re.search(r"[,;:\"”]$", line))


def title_line(line: str) -> bool:
    """A short Title Case line without sentence punctuation (a subtitle under a heading)."""
    words = [w for w in re.findall(r"[^\W\d_][\w'’-]*", line) if len(w) >= 4]
    return (bool(words) and len(line) <= 60 and line[0] not in "\"'‘“(" and not re.search(r"[.,;:!?\"”’—-]$", line)
            and all(w[0].isupper() for w in words))


def heading_level(line: str) -> int | None:
    """PART, CHAPTER or SECTION when `line` (stripped) is a structural heading, else None."""
    if len(line) > _MAX_HEADING:
        return None
    match = _KEYWORD.match(line)
    if match and _titleish(match.group("rest")):
        return PART if re.fullmatch(_PART_WORDS, match.group("kw"), re.I) else CHAPTER
    if _LONE_NUMBER.match(line):
        return SECTION
    if _NUMBERED_TITLE.match(line) and _titleish(line.split(".", 1)[1]) and not _SENTENCE_END.search(line):
        return CHAPTER
    if _NAMED.match(line):
        return CHAPTER
    return None


# --- paragraphs -------------------------------------------------------------------------------

_ILLUSTRATION = re.compile(r"\[Illustration[^\]]*\]", re.I)
_UNDERSCORE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")  # italic markers, not snake_case
_LETTER = re.compile(r"[^\W\d_]")


def _blocks(text: str) -> list[tuple[int, list[str]]]:
    """Blank-line separated blocks as (blank lines before, stripped lines)."""
    out: list[tuple[int, list[str]]] = []
    gap, current = 0, []
    for line in text.split("\n"):
        if line.strip():
            current.append(line.strip())
            continue
        if current:
            out.append((gap, current))
            gap, current = 0, []
        gap += 1
    if current:
        out.append((gap, current))
    return out


def _clean(lines: list[str]) -> str:
    return " ".join(_UNDERSCORE.sub("", " ".join(lines)).split())


def _title_page(lines: list[str]) -> bool:
    """Short lines with no sentence end: a title, a byline, an author's name."""
    return len(lines) <= 4 and all(len(x) <= 60 for x in lines) and not _SENTENCE_END.search(_clean(lines))


def book_paragraphs(text: str) -> Sections:
    """(heading, paragraph) pairs of a Gutenberg or BookCorpus book, in order."""
    body = _ILLUSTRATION.sub("", strip_boilerplate(text))
    layers = ["", "", ""]  # part, chapter, section
    out: Sections = []
    front = True  # title page: until the first structural heading or prose paragraph
    contents: list[str] | None = None  # entries seen after a CONTENTS heading, until the text begins
    after_heading = False  # the previous block was a heading (a subtitle may follow)

    def set_heading(level: int, line: str, strong: bool = True) -> None:
        nonlocal front, contents, after_heading
        line = _clean([line])
        if contents is not None:
            if contents and line == contents[0]:  # the first entry again: the text begins
                contents = None
            else:
                contents.append(line)
        if _CONTENTS.match(line):
            contents = []
        layers[level] = line
        layers[level + 1:] = [""] * (len(layers) - level - 1)
        front = front and not strong
        after_heading = True

    def deepest() -> int:
        return max((i for i, x in enumerate(layers) if x), default=CHAPTER)

    for index, (gap, lines) in enumerate(_blocks(body)):
        levels = [heading_level(x) for x in lines]
        if all(level is not None for level in levels):  # a heading, or a run of them (contents)
            for level, line in zip(levels, lines):
                set_heading(level, line)
            continue
        first = levels[0]
        plain = [_clean([x]) for x in lines]
        if first is not None and len(lines) <= 3 and all(caps_line(x) or title_line(x) for x in plain[1:]):
            set_heading(first, " ".join(lines))  # "CHAPTER I." + "THE BEGINNING"
            continue
        if len(lines) == 1 and after_heading and gap < 2 and (caps_line(plain[0]) or title_line(plain[0])):
            set_heading(deepest(), f"{layers[deepest()]} {lines[0]}", strong=False)  # a subtitle
            continue
        if len(lines) == 1 and caps_line(plain[0]) and (gap >= 2 or index == 0):
            set_heading(CHAPTER, lines[0], strong=False)
            continue
        if first is not None:  # "Chapter 1" with the prose right under it
            set_heading(first, lines[0])
            lines = lines[1:]
        after_heading = False
        if (front or contents is not None) and _title_page(lines):
            continue
        paragraph = _clean(lines)
        if not _LETTER.search(paragraph):
            continue
        front, contents = False, None
        out.append((" / ".join(x for x in layers if x), paragraph))
    return out
