"""Opening inputs: compression (.bz2 .gz .xz .zst), UTF-8 with BOM and CRLF, counted replacements,
truncation detected and reported with the file and byte position, lines read in bounded memory."""
from __future__ import annotations

import bz2
import codecs
import gzip
import io
import lzma
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Callable, Iterator, Optional, Union

import zstandard

from schemas.errors import InputError  # noqa: F401  (re-exported: corpus_tools.ingest.sources.InputError)

COMPRESSED_SUFFIXES = (".bz2", ".gz", ".xz", ".zst")
CHUNK = 1 << 20
DEFAULT_MAX_LINE_CHARS = 32 << 20  # a longer line is rejected, never held whole in memory




class TruncatedInput(InputError):
    """A compressed stream ended early or is corrupt; records before the fault are kept."""

    def __init__(self, path: Union[str, Path], position: int, why: str):
        self.path, self.position = str(path), position
        super().__init__(f"{path}: truncated or corrupt at compressed byte {position:,} ({why}); "
                         "records before that point were kept")


# --- counted UTF-8 replacement -------------------------------------------------------------

_replacements = [0]


def _count_and_replace(exc: UnicodeDecodeError):
    _replacements[0] += exc.end - exc.start
    return "\ufffd", exc.end


codecs.register_error("ernie.count_replace", _count_and_replace)


def replacement_count() -> int:
    """How many invalid UTF-8 bytes this process has replaced with U+FFFD so far."""
    return _replacements[0]


# --- binary streams ------------------------------------------------------------------------


_bytes_read = [0]


def bytes_read() -> int:
    """Input bytes (compressed, as on disk) this process has read so far: drives progress MB/s."""
    return _bytes_read[0]


class _Counting(io.RawIOBase):
    """Counts the compressed bytes handed to a decompressor, for error positions."""

    def __init__(self, raw: BinaryIO):
        self.raw, self.position = raw, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        n = self.raw.readinto(buf)
        self.position += n or 0
        _bytes_read[0] += n or 0
        return n

    def close(self) -> None:
        self.raw.close()
        super().close()


class _Guarded(io.RawIOBase):
    """Turns a decompressor's EOFError/OSError into TruncatedInput(path, position)."""

    def __init__(self, inner: BinaryIO, counter: _Counting, path: Path):
        self.inner, self.counter, self.path = inner, counter, path

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        try:
            data = self.inner.read(len(buf))
        except (EOFError, OSError, zlib.error, lzma.LZMAError, zstandard.ZstdError) as exc:
            raise TruncatedInput(self.path, self.counter.position, str(exc) or type(exc).__name__) from None
        buf[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self.inner.close()
        super().close()


class _ZstdReader(io.RawIOBase):
    """Multi-frame zstd (Pushshift uses a 2 GiB window) that notices a stream cut mid-frame."""

    def __init__(self, raw: _Counting, path: Path):
        self.raw, self.path = raw, path
        self.dctx = zstandard.ZstdDecompressor(max_window_size=1 << 31)
        self.obj = self.dctx.decompressobj()
        self.pending = b""
        self.done = False
        self.in_frame = False  # bytes of the current frame fed, frame not finished

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        while not self.pending and not self.done:
            chunk = self.raw.read(CHUNK)
            if not chunk:
                if self.in_frame:
                    raise TruncatedInput(self.path, self.raw.position, "zstd frame ended early")
                self.done = True
                break
            while chunk:
                try:
                    self.pending += self.obj.decompress(chunk)
                    self.in_frame = not self.obj.eof
                except zstandard.ZstdError as exc:
                    raise TruncatedInput(self.path, self.raw.position, str(exc)) from None
                chunk = self.obj.unused_data if self.obj.eof else b""
                if self.obj.eof:
                    self.obj = self.dctx.decompressobj()
                    self.in_frame = False
        n = min(len(buf), len(self.pending))
        buf[:n], self.pending = self.pending[:n], self.pending[n:]
        return n

    def close(self) -> None:
        self.raw.close()
        super().close()


# --- byte ranges: one work unit reads part of a large uncompressed file ------------------------

_windows: dict[str, tuple[Callable[[], io.RawIOBase], int]] = {}  # resolved path -> (opener, first line number)


@contextmanager
def window(path: Union[str, Path], start: int, stop: int, first_line: int,
           opener: Optional[Callable[[], io.RawIOBase]] = None) -> Iterator[None]:
    """Within this block, readers that open `path` see only bytes [start, stop) (whole lines, as
    planned), or what `opener` gives (the lines of some zstd frames), and iter_lines numbers them
    from `first_line`: ids and origins stay those of a whole-file read. A context, not a reader
    argument, so that every line reader works unchanged."""
    key = str(Path(path).resolve())
    _windows[key] = (opener or (lambda: _Range(open(path, "rb"), start, stop)), first_line)
    try:
        yield
    finally:
        del _windows[key]


def _window(path: Path) -> Optional[tuple[Callable[[], io.RawIOBase], int]]:
    return _windows.get(str(path.resolve())) if _windows else None


class _Chunks(io.RawIOBase):
    """A raw stream over an iterator of byte chunks."""

    def __init__(self, chunks: Iterator[bytes]):
        self.chunks, self.pending = chunks, b""

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        while not self.pending:
            self.pending = next(self.chunks, None)
            if self.pending is None:
                self.pending = b""
                return 0
        n = min(len(buf), len(self.pending))
        buf[:n], self.pending = self.pending[:n], self.pending[n:]
        return n


def zstd_raw(chunks: Iterator[bytes]) -> io.RawIOBase:
    return _Chunks(chunks)


def zstd_frame(path: Union[str, Path], start: int, stop: int) -> bytes:
    """The decompressed bytes of the whole zstd frames in [start, stop) of `path`."""
    with open(path, "rb") as fh:
        fh.seek(start)
        data = fh.read(stop - start)
    _bytes_read[0] += len(data)
    try:
        return b"".join(_zstd_frames(data))
    except zstandard.ZstdError as exc:
        raise TruncatedInput(path, start, str(exc)) from None


def _zstd_frames(data: bytes) -> Iterator[bytes]:
    dctx = zstandard.ZstdDecompressor(max_window_size=1 << 31)
    while data:
        obj = dctx.decompressobj()
        yield obj.decompress(data)
        if not obj.eof:
            raise zstandard.ZstdError("zstd frame ended early")
        data = obj.unused_data


def zstd_lines(path: Union[str, Path], frames: list[tuple[int, int]], before: Optional[tuple[int, int]],
               after: list[tuple[int, int]]) -> Iterator[bytes]:
    """The decompressed bytes of the lines that start in `frames`: a line cut by the frame before is
    left to the unit before (known from `before`'s last byte), and a line cut at the end is finished
    from the frames `after`."""
    skip = before is not None and not zstd_frame(path, *before).endswith(b"\n")
    tail = b""
    for start, stop in frames:
        data = zstd_frame(path, start, stop)
        if skip:
            cut = data.find(b"\n")
            if cut < 0:
                continue
            data, skip = data[cut + 1:], False
        if data:
            tail = data[-1:]
            yield data
    if skip or not tail or tail == b"\n":
        return
    for start, stop in after:
        data = zstd_frame(path, start, stop)
        cut = data.find(b"\n")
        yield data if cut < 0 else data[: cut + 1]
        if cut >= 0:
            return


class _Range(io.RawIOBase):
    def __init__(self, raw: BinaryIO, start: int, stop: int):
        raw.seek(start)
        self.raw, self.left = raw, stop - start

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        if self.left <= 0:
            return 0
        view = memoryview(buf)[: min(len(buf), self.left)]
        n = self.raw.readinto(view) or 0
        self.left -= n
        return n

    def close(self) -> None:
        self.raw.close()
        super().close()


class CorruptStream(InputError):
    """One bz2 stream of a multistream file does not decompress; the other streams are read."""

    def __init__(self, path: Union[str, Path], offset: int, why: str):
        self.path, self.offset = str(path), offset
        super().__init__(f"{path}: bz2 stream at byte {offset:,} is corrupt ({why}); its pages were skipped, "
                         "the other streams were kept")


def read_bytes(path: Union[str, Path], start: int, stop: int) -> bytes:
    with open(path, "rb") as fh:
        fh.seek(start)
        data = fh.read(stop - start)
    _bytes_read[0] += len(data)
    return data


def read_bz2_streams(path: Union[str, Path], start: int, stop: int) -> bytes:
    """The decompressed bytes of the whole bz2 streams in [start, stop) of `path`."""
    with open(path, "rb") as fh:
        fh.seek(start)
        data = fh.read(stop - start)
    _bytes_read[0] += len(data)
    out = []
    offset = start
    while data:
        decompressor = bz2.BZ2Decompressor()
        try:
            out.append(decompressor.decompress(data))
        except (OSError, EOFError, ValueError) as exc:
            raise CorruptStream(path, offset, str(exc) or type(exc).__name__) from None
        if not decompressor.eof:
            raise CorruptStream(path, offset, "the stream ends early")
        offset += len(data) - len(decompressor.unused_data)
        data = decompressor.unused_data
    return b"".join(out)


def open_binary(path: Union[str, Path]) -> BinaryIO:
    """Open a possibly compressed file as a buffered binary stream of its decompressed bytes."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory")
    span = _window(path)
    if span is not None:
        return io.BufferedReader(_Counting(span[0]()), CHUNK)
    counter = _Counting(open(path, "rb"))
    suffix = path.suffix.lower()
    if suffix == ".zst":
        raw: io.RawIOBase = _ZstdReader(counter, path)
    elif suffix in (".bz2", ".gz", ".xz"):
        buffered = io.BufferedReader(counter, CHUNK)
        inner = gzip.GzipFile(fileobj=buffered) if suffix == ".gz" else {".bz2": bz2.BZ2File, ".xz": lzma.LZMAFile}[suffix](buffered)
        raw = _Guarded(inner, counter, path)
    else:
        return io.BufferedReader(counter, CHUNK)
    return io.BufferedReader(raw, CHUNK)


def open_text(path: Union[str, Path]) -> io.TextIOWrapper:
    """UTF-8 text: BOM stripped, CRLF -> LF, invalid bytes replaced by U+FFFD and counted."""
    return io.TextIOWrapper(open_binary(path), encoding="utf-8-sig", errors="ernie.count_replace", newline=None)


def read_head(path: Union[str, Path], n_chars: int = 8192) -> str:
    """The first characters of a file (decompressed), for format detection; "" on any read error."""
    try:
        with open_text(path) as fh:
            return fh.read(n_chars)
    except (InputError, OSError):
        return ""


BINARY_SAMPLE = 1 << 16
BINARY_SHARE = 0.3  # past this share of bad bytes in the first 64 KiB a file is not text
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13)) + b"\x7f"


def binary_share(path: Union[str, Path]) -> float:
    """The share of the first 64 KiB (decompressed) that is invalid UTF-8, NUL or other control bytes;
    0.0 when the file cannot be read (reading it reports that)."""
    try:
        with open_binary(path) as fh:
            data = fh.read(BINARY_SAMPLE)
    except (InputError, OSError):
        return 0.0
    if not data:
        return 0.0
    text = data.decode("utf-8", errors="replace")
    invalid = text.count("\ufffd") - data.decode("utf-8", errors="ignore").count("\ufffd")
    if len(data) == BINARY_SAMPLE:  # a multi-byte character cut at the end of the sample is not invalid
        invalid -= min(invalid, 3) if text.endswith("\ufffd") else 0
    controls = sum(data.count(b) for b in _CONTROL_BYTES)
    return (invalid + controls) / len(data)


def check_text_file(path: Path, force: bool = False) -> None:
    """Refuse a file that is mostly not text (random bytes, an image, an archive read raw), unless `force`."""
    share = binary_share(path)
    if share > BINARY_SHARE and not force:
        raise InputError(f"{path}: not text ({share:.0%} of its first 64 KiB is invalid UTF-8, NUL or control "
                         "bytes); pass --force to read it anyway")


def iter_lines(path: Union[str, Path], max_chars: int = DEFAULT_MAX_LINE_CHARS) -> Iterator[tuple[int, str | None]]:
    """Yield (line_number, line without newline); a line over `max_chars` yields (n, None)
    after being skipped in bounded memory."""
    span = _window(Path(path))
    with open_text(path) as fh:
        number = span[1] - 1 if span else 0
        while True:
            line = fh.readline(max_chars)
            if not line:
                return
            number += 1
            if len(line) >= max_chars and not line.endswith("\n"):
                while True:  # drain the rest of the overlong line
                    rest = fh.readline(CHUNK)
                    if not rest or rest.endswith("\n"):
                        break
                yield number, None
                continue
            yield number, line.rstrip("\n")


def _is_data_file(path: Path, root: Path) -> bool:
    """Inside a directory, hidden files and documentation (*.md, README*, LICENSE*) are not data."""
    if any(part.startswith(".") for part in path.relative_to(root).parts):
        return False
    name = path.name.lower()
    return not (name.endswith(".md") or name.startswith(("readme", "license", "licence")))


def expand_inputs(inputs: list[Union[str, Path]]) -> list[Path]:
    """Files as given; directories expanded recursively to their data files, in sorted order."""
    out: list[Path] = []
    for item in inputs:
        path = Path(item)
        if not path.exists():
            raise InputError(f"{path}: no such file or directory")
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and _is_data_file(p, path))
            if not files:
                raise InputError(f"{path}: directory has no files")
            out.extend(files)
        else:
            out.append(path)
    return out
