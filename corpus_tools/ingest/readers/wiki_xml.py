"""MediaWiki `pages-articles` XML dumps (.xml, .xml.bz2/.gz/.xz/.zst), streamed in constant memory.

Main-namespace articles become RawDoc(markup="wikitext") with the raw wikitext: conversion happens later,
in worker processes. Other namespaces and redirects are counted Drops. DTDs and entity declarations are
refused outright (defusedxml), so an entity-expansion bomb never expands."""
from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Iterator, Optional
from urllib.parse import urlsplit
from xml.etree.ElementTree import Element, ParseError
from xml.parsers.expat import ErrorString

import defusedxml
import defusedxml.ElementTree as safe_et

from corpus_tools.ingest.readers.options import ReadOptions
from corpus_tools.ingest.readers.records import Drop, RawDoc
from corpus_tools.ingest.sources import InputError, open_text

NAME = "wiki-xml"
DATASET = "documents"
SOURCE = "wikipedia"

DEFAULT_HOST = "https://en.wikipedia.org"
_REDIRECT = re.compile(r"\s*#redirect\b", re.IGNORECASE)


_PROLOG = re.compile(r"\s*(?:<\?xml[^>]*\?>\s*|<!--.*?-->\s*)*", re.DOTALL)
_ROOT = re.compile(r"<([A-Za-z_][\w.:-]*)")


def sniff(path: Path, head: str) -> bool:
    """A MediaWiki export: its root element opens within the first characters."""
    return xml_root(head) == "mediawiki"


def xml_root(head: str) -> Optional[str]:
    """The root element's local name when `head` starts like an XML document: with an XML declaration,
    a DOCTYPE ("!DOCTYPE" is returned: what it declares is never read) or `<mediawiki`. None otherwise
    (WikiExtractor's `<doc ...>` lines and text are not XML documents)."""
    head = head.lstrip("\ufeff \t\r\n")
    if head.startswith("<mediawiki"):
        return "mediawiki"
    if not head.startswith(("<?xml", "<!DOCTYPE", "<!doctype")):
        return None
    rest = head[_PROLOG.match(head).end():]
    if rest[:9].upper() == "<!DOCTYPE":
        return "!DOCTYPE"
    root = _ROOT.match(rest)
    return root.group(1).rpartition(":")[2] if root else "?"


def check_xml(path: Path, head: str) -> None:
    """Refuse, before any output exists, an XML file that is not a plain MediaWiki dump: a DTD or entity
    declaration (entity-expansion bombs) or another root element."""
    root = xml_root(head)
    if root is None or root == "mediawiki":
        return
    if root == "!DOCTYPE" or "<!ENTITY" in head:
        raise InputError(f"{path}: refused: XML DTD/entity declarations are not allowed "
                         "(possible entity-expansion bomb)")
    raise InputError(f"{path}: an XML file that is not a MediaWiki dump (root element <{root}>); "
                     "XML is read only as a pages-articles dump")


def _local(tag) -> str:
    """The tag without its `{namespace-uri}` (export-0.3 ... export-0.11 all work)."""
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _child(elem: Element, name: str) -> Optional[Element]:
    for child in elem:
        if _local(child.tag) == name:
            return child
    return None


def _child_text(elem: Optional[Element], name: str) -> str:
    child = _child(elem, name) if elem is not None else None
    return (child.text or "") if child is not None else ""


XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
# Namespaces whose links are not running text: Media (-2), File (6), Category (14).
LINK_NAMESPACE_KEYS = ("-2", "6", "14")


class _Site:
    """What a page needs from <siteinfo>: the URL host, the namespace prefixes (for old exports) and the
    wiki's own names of the File, Media and Category namespaces (Datei:, Kategorie:, ...), with any aliases
    the dump lists (<namespacealias> elements, when present)."""

    def __init__(self) -> None:
        self.host = DEFAULT_HOST
        self.prefixes: tuple[str, ...] = ()
        self.link_namespaces: tuple[str, ...] = ()
        self.lang = ""  # the language the dump declares (<mediawiki xml:lang="ltg">)

    def read(self, siteinfo: Element) -> None:
        base = urlsplit(_child_text(siteinfo, "base").strip())
        if base.scheme and base.netloc:
            self.host = f"{base.scheme}://{base.netloc}"
        names = []
        for group in ("namespaces", "namespacealiases"):
            listed = _child(siteinfo, group)
            names += [(ns.get("key"), (ns.text or "").strip()) for ns in (listed if listed is not None else ())]
        names = [(key, name) for key, name in names if name]
        self.prefixes = tuple(f"{name}:" for key, name in names if key != "0")
        self.link_namespaces = tuple(dict.fromkeys(name for key, name in names if key in LINK_NAMESPACE_KEYS))

    def namespace(self, page: Element, title: str) -> str:
        ns = _child(page, "ns")
        if ns is not None:
            return (ns.text or "").strip()
        return "other" if title.startswith(self.prefixes) else "0"  # exports before 0.6 have no <ns>


def _page(page: Element, site: _Site, path: Path) -> RawDoc | Drop:
    title = _child_text(page, "title").strip()
    if site.namespace(page, title) != "0":
        return Drop("namespace")
    revisions = [child for child in page if _local(child.tag) == "revision"]
    revision = revisions[-1] if revisions else None  # the newest, should a history dump be fed in
    text = _child_text(revision, "text")
    if _child(page, "redirect") is not None or _REDIRECT.match(text):
        return Drop("redirect")
    if not text.strip():
        return Drop("empty")
    page_id = _child_text(page, "id").strip()
    return RawDoc(
        doc_id=f"wikipedia:{page_id}",
        source=SOURCE,
        text=text,
        markup="wikitext",
        title=title,
        meta={
            "url": f"{site.host}/wiki?curid={page_id}",
            "revision_id": _child_text(revision, "id").strip(),
            "timestamp": _child_text(revision, "timestamp").strip(),
        },
        origin=f"{path}:page {page_id}",
        link_namespaces=site.link_namespaces,
        declared_lang=site.lang,
    )


def read(path: Path, options: ReadOptions) -> Iterator[RawDoc | Drop]:
    """Pages in file order; each element is cleared once read, so memory stays flat on any dump size."""
    with open_text(path) as fh:
        yield from _parse(fh, path, _Site())


def _parse(fh, path: Path, site: _Site, label: Optional[str] = None) -> Iterator[RawDoc | Drop]:
    """Pages of one XML document; `label` names it in errors (default: the file)."""
    where = label or str(path)
    events = safe_et.iterparse(fh, events=("start", "end"), forbid_dtd=True, forbid_entities=True,
                               forbid_external=True)
    root: Optional[Element] = None
    try:
        for event, elem in events:
            if root is None:
                root = elem
                if _local(elem.tag) != "mediawiki":
                    raise InputError(f"{where}: not a MediaWiki XML dump (root element <{_local(elem.tag)}>, "
                                     "expected <mediawiki>)")
                site.lang = (elem.get(XML_LANG) or site.lang).strip().lower()
            if event != "end":
                continue
            name = _local(elem.tag)
            if name == "page":
                yield _page(elem, site, path)
            elif name == "siteinfo":
                site.read(elem)
            else:
                continue
            elem.clear()
            root.clear()  # drop finished pages from the tree
    except defusedxml.DefusedXmlException:
        raise InputError(f"{where}: refused: XML DTD/entity declarations are not allowed "
                         "(possible entity-expansion bomb)") from None
    except ParseError as exc:
        line, column = exc.position
        raise InputError(f"{where}:{line}:{column}: malformed XML ({ErrorString(exc.code)}); "
                         "pages before that point were kept") from None


# --- multistream dumps: one work unit reads some of the bz2 streams ------------------------------

_OPEN = re.compile(r"<mediawiki\b[^>]*>")
_SITEINFO_END = re.compile(r"</siteinfo\s*>")
_CLOSE = re.compile(r"</mediawiki\s*>\s*$")


def _decode(data: bytes) -> str:
    return data.decode("utf-8", errors="ernie.count_replace")


def read_streams(path: Path, streams: list[tuple[int, int]], header: tuple[int, int],
                 lost: list[InputError], compressed: bool = True) -> Iterator[RawDoc | Drop]:
    """The pages of `streams` (byte ranges of whole bz2 streams) of a multistream dump, or with
    `compressed=False` of byte ranges of a plain XML dump that start at a <page> tag.

    A stream holds whole <page> elements; the root tag and <siteinfo> are in the first stream
    (`header`), read here too so that every unit knows the wiki's namespaces. Each stream is parsed
    as its own document under that root tag, so a corrupt stream costs only its own pages: its
    CorruptStream is appended to `lost` and the next stream is read."""
    from corpus_tools.ingest.sources import CorruptStream, read_bz2_streams, read_bytes

    fetch = read_bz2_streams if compressed else read_bytes
    head = _decode(fetch(path, *header))
    opening = _OPEN.search(head)
    if opening is None:
        raise InputError(f"{path}: the first bz2 stream holds no <mediawiki> root tag; not a multistream dump")
    site = _Site()
    info_end = _SITEINFO_END.search(head)
    if info_end is not None:
        for _ in _parse(io.StringIO(head[: info_end.end()] + "</mediawiki>"), path, site):
            pass
    for start, stop in streams:
        try:
            text = _decode(fetch(path, start, stop))
        except CorruptStream as exc:
            lost.append(exc)
            continue
        found = _OPEN.search(text, 0, 4096)
        if found is not None:  # the header stream: its pages (if any) follow <siteinfo>
            end = _SITEINFO_END.search(text)
            text = text[end.end():] if end else text[found.end():]
        text = _CLOSE.sub("", text)
        label = f"{path} (bz2 stream at byte {start:,})" if compressed else f"{path} (bytes {start:,} to {stop:,})"
        yield from _parse(io.StringIO(opening.group(0) + text + "</mediawiki>"), path, site, label=label)
