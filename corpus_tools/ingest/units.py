"""Work units of an ingest: independent pieces of the inputs that one worker reads, cleans and writes.

A unit is one of:
- whole files: consecutive inputs that are not cut (small files, gzip/xz, one-frame zstd) are packed
  into one unit up to `unit_bytes`, in input order. A directory of books (one small file each) thus
  gives shards of many documents, as a builder needs for its negatives from other documents of a
  batch (sentence_distance), and a few small inputs give the same shards as one reading process;
- a run of consecutive bz2 streams of a Wikipedia `pages-articles-multistream.xml.bz2`, located
  through its `-index.txt.bz2` when it sits next to the dump, else found by scanning the file for
  bz2 stream headers;
- a byte range of a large uncompressed MediaWiki XML dump, starting at a <page> tag (the worker also
  reads the dump's head for the root tag and siteinfo);
- a byte range of a large uncompressed JSON-lines or text file (one record per line), cut at line
  breaks. Its lines keep their numbers in the whole file, so ids and origins do not depend on the cut;
- a run of zstd frames of a large multi-frame .zst JSON-lines or text file (as pzstd or the seekable
  format write them): the unit owns the lines that start in its frames. Frames need not end at a
  line break, so a worker also reads the frame before (did it end a line?) and the frames after (to
  finish its last line). Line numbers come from a counting pass over the units, in the workers;
- with --reddit-threads, all Reddit inputs together: a thread's comments may sit in any file (a month's
  comments file holds replies to earlier months' submissions), so threads are assembled in one unit.

The plan depends on the inputs and `unit_bytes` alone, never on the worker count or engine, so the
shard layout (and bytes) is the same for any of them. Other compressed files (gzip, xz, a one-frame
zstd as Pushshift ships) cannot be entered mid-way and are whole-file units. Planning reads only the bz2 index, the stream headers, and (for byte ranges) the line breaks,
which it counts at memory speed so that line numbers stay exact."""
from __future__ import annotations

import bz2
import re
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional

import zstandard

from corpus_tools.ingest import sources
from corpus_tools.ingest.formats import reader
from corpus_tools.ingest.readers.options import ReadOptions
from corpus_tools.ingest.readers.wikiextractor import is_doc_format
from corpus_tools.ingest.sources import COMPRESSED_SUFFIXES, InputError

UNIT_BYTES = 16 << 20  # input bytes per unit, as planned: a setting of the output, like shard_size
LINE_FORMATS = ("jsonl", "reddit", "dureader", "text")  # one record per line: a range may start at any line
SCAN_CHUNK = 16 << 20
# A bz2 stream starts with "BZh" and the block size digit, then the first block's magic (pi) or, for
# an empty stream, the end-of-stream magic (sqrt pi). Byte-aligned only at a stream's start.
_STREAM_START = re.compile(rb"BZh[1-9](?:1AY&SY|\x17rE8P\x90)")


@dataclass(frozen=True)
class Unit:
    index: int
    fmt: str
    paths: tuple[str, ...]
    kind: str = "files"  # files | lines | bz2-streams | xml-ranges | zst-frames | threads
    fmts: tuple[str, ...] = ()  # files: the format of each path
    start: int = 0  # lines: the byte range [start, stop)
    stop: int = 0
    first_line: int = 1  # lines: the number of the range's first line in the file
    streams: tuple[tuple[int, int], ...] = ()  # bz2-streams: byte ranges of the unit's streams
    header: tuple[int, int] = (0, 0)  # bz2-streams, xml-ranges: the file's head (root tag and siteinfo)
    frames: tuple[tuple[int, int], ...] = ()  # zst-frames: the unit's frames ...
    before: Optional[tuple[int, int]] = None  # ... the frame before them ...
    after: tuple[tuple[int, int], ...] = ()  # ... and the frames after them
    bytes: int = 0  # input bytes the unit reads, for progress

    def where(self) -> str:
        """The unit's input in words, for an error: its files and, for part of a file, the byte range."""
        about = self.describe()
        span = f" bytes {about['start']}-{about['stop']}" if "start" in about else ""
        return f"{', '.join(self.paths)}{span}"

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "paths": [Path(p).name for p in self.paths], "bytes": self.bytes}
        if self.kind == "lines":
            out.update(start=self.start, stop=self.stop, first_line=self.first_line)
        if self.kind in ("bz2-streams", "xml-ranges"):
            out.update(start=self.streams[0][0], stop=self.streams[-1][1], streams=len(self.streams))
        if self.kind == "zst-frames":
            out.update(start=self.frames[0][0], stop=self.frames[-1][1], frames=len(self.frames),
                       first_line=self.first_line)
        return out


def multistream_index(path: Path) -> Optional[Path]:
    """The `-index.txt.bz2` that Wikimedia publishes next to a `...-multistream.xml.bz2`."""
    name = path.name
    return path.with_name(name[: -len(".xml.bz2")] + "-index.txt.bz2") if name.endswith(".xml.bz2") else None


def plan(planned: list[tuple[Path, str]], options: ReadOptions, unit_bytes: int = UNIT_BYTES) -> list[Unit]:
    """The units of `planned` (path, format) inputs, in input order."""
    indexes = {multistream_index(p) for p, f in planned if f == "wiki-xml"}
    units: list[Unit] = []
    pack: list[tuple[Path, str, int]] = []  # whole files waiting to fill a unit

    def add(**unit) -> None:
        flush()
        units.append(Unit(len(units), **unit))

    def flush() -> None:
        if pack:
            units.append(Unit(len(units), pack[0][1], tuple(str(p) for p, _, _ in pack), "files",
                              fmts=tuple(f for _, f, _ in pack), bytes=sum(n for _, _, n in pack)))
            pack.clear()

    reddit = [p for p, f in planned if f == "reddit"]
    for path, fmt in planned:
        if path in indexes:
            continue  # the index of a multistream dump given alongside it is not a text input
        if fmt == "reddit" and options.reddit_threads:
            if path == reddit[0]:
                add(fmt=fmt, paths=tuple(map(str, reddit)), kind="threads", bytes=sum(p.stat().st_size for p in reddit))
            continue
        size = path.stat().st_size
        if fmt == "wiki-xml" and path.suffix.lower() == ".bz2":
            streams = bz2_streams(path)  # read stream by stream even in one unit: a corrupt one costs only itself
            if len(streams) > 1:
                for group in _group(streams, unit_bytes):
                    add(fmt=fmt, paths=(str(path),), kind="bz2-streams", streams=tuple(group), header=streams[0],
                        bytes=group[-1][1] - group[0][0])
                continue
        if fmt == "wiki-xml" and path.suffix.lower() not in COMPRESSED_SUFFIXES and size > unit_bytes:
            ranges = page_ranges(path, unit_bytes)
            if len(ranges) > 2:
                for start, stop in ranges[1:]:
                    add(fmt=fmt, paths=(str(path),), kind="xml-ranges", streams=((start, stop),), header=ranges[0],
                        bytes=stop - start)
                continue
        lines = (fmt in LINE_FORMATS and not (fmt == "text" and options.text_unit != "line")
                 or fmt == "wikiextractor" and not is_doc_format(path))
        if lines and size > unit_bytes and path.suffix.lower() == ".zst":
            frames = zstd_frames(path)
            groups = list(_group(frames, unit_bytes)) if len(frames) > 1 else []
            if len(groups) > 1:
                for k, group in enumerate(groups):
                    before = groups[k - 1][-1] if k else None
                    after = tuple(f for g in groups[k + 1:] for f in g)
                    add(fmt=fmt, paths=(str(path),), kind="zst-frames", frames=tuple(group), before=before, after=after,
                        first_line=0, bytes=group[-1][1] - group[0][0])
                continue
        if lines and size > unit_bytes and path.suffix.lower() not in COMPRESSED_SUFFIXES:
            for start, stop, first in line_ranges(path, unit_bytes):
                add(fmt=fmt, paths=(str(path),), kind="lines", start=start, stop=stop, first_line=first,
                    bytes=stop - start)
            continue
        if pack and sum(n for _, _, n in pack) + size > unit_bytes:
            flush()
        pack.append((path, fmt, size))
    flush()
    return units


def _group(streams: list[tuple[int, int]], unit_bytes: int) -> Iterator[list[tuple[int, int]]]:
    group: list[tuple[int, int]] = []
    for stream in streams:
        group.append(stream)
        if group[-1][1] - group[0][0] >= unit_bytes:
            yield group
            group = []
    if group:
        yield group


def page_ranges(path: Path, unit_bytes: int) -> list[tuple[int, int]]:
    """The head of a plain XML dump (up to its first <page>), then ranges of about `unit_bytes`
    that each start at a <page> tag."""
    size = path.stat().st_size
    starts = []
    with open(path, "rb") as fh:
        target = 0
        while target < size:
            found = _find(fh, target, b"<page>")
            if found < 0:
                break
            starts.append(found)
            target = found + unit_bytes
    if not starts:
        return [(0, size)]
    bounds = [0, *starts, size]
    return [(a, b) for a, b in zip(bounds, bounds[1:])]


def zstd_frames(path: Path) -> list[tuple[int, int]]:
    """Byte ranges of the frames of a .zst file, from the frame and block headers alone (no
    decompression); [(0, size)] when the file does not walk as zstd frames (reading reports why)."""
    size = path.stat().st_size
    frames = []
    with open(path, "rb") as fh:
        pos = 0
        while pos < size:
            fh.seek(pos)
            head = fh.read(18)
            magic = int.from_bytes(head[:4], "little")
            if magic & 0xFFFFFFF0 == 0x184D2A50:  # a skippable frame
                pos += 8 + int.from_bytes(head[4:8], "little")
                continue
            try:
                if magic != 0xFD2FB528:
                    raise zstandard.ZstdError("no frame magic")
                end = pos + zstandard.frame_header_size(head)
                checksum = zstandard.get_frame_parameters(head).has_checksum
            except zstandard.ZstdError:
                return [(0, size)]
            while True:
                fh.seek(end)
                block = int.from_bytes(fh.read(3), "little")
                end += 3 + (1 if (block >> 1) & 3 == 1 else block >> 3)  # an RLE block stores one byte
                if block & 1 or end >= size:
                    break
            end += 4 * checksum
            frames.append((pos, min(end, size)))
            pos = end
    return frames


def _find(fh, offset: int, marker: bytes) -> int:
    """The file position of the first `marker` at or after `offset`, or -1; a marker cut by a block
    boundary is found too."""
    fh.seek(offset)
    base, tail = offset, b""
    while block := fh.read(1 << 20):
        data = tail + block
        found = data.find(marker)
        if found >= 0:
            return base - len(tail) + found
        base += len(block)
        tail = data[len(data) - len(marker) + 1:]
    return -1


def _line_breaks(blocks: Iterable[bytes]) -> int:
    """Line breaks as universal newlines (\\n, \\r\\n, \\r), as the readers count them; a \\r\\n cut by a
    block boundary counts once."""
    count, previous = 0, b""
    for block in blocks:
        count += block.count(b"\n") + block.count(b"\r") - block.count(b"\r\n")
        if previous == b"\r" and block[:1] == b"\n":
            count -= 1
        previous = block[-1:]
    return count


def count_lines(unit: Unit) -> int:
    """In a worker: the line breaks in the lines that start in a zst-frames unit."""
    return _line_breaks(sources.zstd_lines(unit.paths[0], list(unit.frames), unit.before, list(unit.after)))


def bz2_streams(path: Path) -> list[tuple[int, int]]:
    """Byte ranges of the bz2 streams of `path`, from its index when there is one, else by scanning."""
    size = path.stat().st_size
    index = multistream_index(path)
    if index is not None and index.exists():
        try:
            with bz2.open(index, "rt", encoding="utf-8") as fh:
                starts = {int(line.split(":", 1)[0]) for line in fh if line.strip()}
        except (OSError, EOFError, ValueError) as exc:
            raise InputError(f"{index}: unreadable multistream index ({exc}); remove it to scan the dump instead") from None
        starts.add(0)
    else:
        starts = set(_scan(path))
    ordered = sorted(s for s in starts if s < size)
    return [(start, stop) for start, stop in zip(ordered, ordered[1:] + [size])]


def _scan(path: Path) -> Iterator[int]:
    overlap = 9  # a header cut by a block boundary is matched in the next block
    with open(path, "rb") as fh:
        offset, tail, last = 0, b"", -1
        while block := fh.read(SCAN_CHUNK):
            data = tail + block
            base = offset - len(tail)
            for match in _STREAM_START.finditer(data):
                if base + match.start() > last:
                    last = base + match.start()
                    yield last
            tail = data[-overlap:]
            offset += len(block)


def line_ranges(path: Path, unit_bytes: int) -> Iterator[tuple[int, int, int]]:
    """(start, stop, first line number) of ranges of about `unit_bytes`, each ending after a line break.
    Lines are counted as universal newlines (\\n, \\r\\n, \\r), as the readers count them."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        start, line = 0, 1
        while start < size:
            stop = size
            if start + unit_bytes < size:
                found = _find(fh, start + unit_bytes, b"\n")
                stop = found + 1 if found >= 0 else size
            yield start, stop, line
            line += _line_breaks(_blocks(fh, start, stop))
            start = stop


def _blocks(fh, start: int, stop: int) -> Iterator[bytes]:
    fh.seek(start)
    left = stop - start
    while left > 0 and (block := fh.read(min(left, SCAN_CHUNK))):
        left -= len(block)
        yield block


def items(unit: Unit, options: ReadOptions, errors: list[str], lost: list[dict]) -> Iterator[Any]:
    """The records of one unit; a faulty file or stream adds its one-line error to `errors`, and a
    corrupt bz2 stream its file and byte offset to `lost`."""

    def guarded(records: Iterator[Any]) -> Iterator[Any]:
        try:
            yield from records
        except InputError as exc:
            errors.append(str(exc))

    path = Path(unit.paths[0])
    if unit.kind == "threads":
        module = reader("reddit")
        yield from module.assemble_threads(chain.from_iterable(guarded(module.read(Path(p), options)) for p in unit.paths))
    elif unit.kind == "lines":
        with sources.window(path, unit.start, unit.stop, unit.first_line):
            yield from guarded(reader(unit.fmt).read(path, options))
    elif unit.kind == "zst-frames":
        def opener():
            return sources.zstd_raw(sources.zstd_lines(path, list(unit.frames), unit.before, list(unit.after)))

        with sources.window(path, 0, 0, unit.first_line, opener):
            yield from guarded(reader(unit.fmt).read(path, options))
    elif unit.kind in ("bz2-streams", "xml-ranges"):
        from corpus_tools.ingest.readers.wiki_xml import read_streams

        corrupt: list = []
        yield from guarded(read_streams(path, list(unit.streams), unit.header, corrupt,
                                        compressed=unit.kind == "bz2-streams"))
        errors.extend(str(exc) for exc in corrupt)
        lost.extend({"path": exc.path, "offset": exc.offset} for exc in corrupt)
    else:
        for name, fmt in zip(unit.paths, unit.fmts or (unit.fmt,) * len(unit.paths)):
            yield from guarded(reader(fmt).read(Path(name), options))
