"""Reading labelled files (GLUE, CLUE, NER): one reader for fine-tuning (`trainer/finetune_data.py`)
and for decontamination (`corpus_tools/decontam/eval_sets.py`), so that decontamination sees exactly
the texts, and the line numbers, that fine-tuning trains and scores on. It lives in schemas, the one
package both layers may import.

- Bytes are UTF-8, strictly: a file that is not is an InputError naming the byte (a replaced byte
  would be trained on, and matched against, text that is not in the file).
- A UTF-8 BOM, and the BOM decoded twice that MRPC's MSR file starts with (`ï»¿`), are removed.
- `\\r\\n`, `\\n` and a lone `\\r` each end a line.
- `.csv`: CSV quoting (a quoted field may span lines; a row's line is the line it starts on).
  `.jsonl`/`.json`: one JSON object per line, the keys of the first object are the header.
  Anything else (`.tsv`, `.txt`): split at tabs, no quoting (GLUE's TSVs hold `"` as text).
- Blank rows are skipped; the first row that is not blank is the header (lines count from 1).
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from schemas.errors import InputError

BOMS = ("\ufeff", "\u00ef\u00bb\u00bf")  # UTF-8 BOM decoded, and decoded twice (MRPC's MSR file)


@dataclass
class Rows:
    """A file's header and its rows: (line, cells), the cells in header order for JSON lines."""

    header: list[str]
    rows: list[tuple[int, list[Any]]] = field(default_factory=list)


def read_lines(path: Union[str, Path]) -> list[str]:
    """The file's lines, decoded, without BOM or line ends."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 (byte {exc.start}); convert it to UTF-8") from None
    for bom in BOMS:
        if text.startswith(bom):
            text = text[len(bom):]
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def read_rows(path: Union[str, Path]) -> Rows:
    """The header and rows of a TSV, CSV or JSON-lines file (InputError: empty, or not parseable)."""
    path = Path(path)
    lines = read_lines(path)
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json"):
        rows = _json_rows(path, lines)
    elif suffix == ".csv":
        rows = _csv_rows(path, lines)
    else:
        rows = [(number, line.split("\t")) for number, line in enumerate(lines, 1)]
    rows = [(number, cells) for number, cells in rows if any(str(c).strip() for c in cells)]
    if not rows:
        raise InputError(f"{path}: the file is empty")
    header = rows[0][1] if suffix in (".jsonl", ".json") else [h.strip() for h in rows[0][1]]
    return Rows(header, rows[1:])


def _csv_rows(path: Path, lines: list[str]) -> list[tuple[int, list[Any]]]:
    reader = csv.reader(io.StringIO("\n".join(lines)))
    out, start = [], 1
    try:
        for row in reader:
            out.append((start, row))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise InputError(f"{path}:{reader.line_num}: bad CSV ({exc})") from None
    return out


def _json_rows(path: Path, lines: list[str]) -> list[tuple[int, list[Any]]]:
    """The keys of the first object as a header row (line 0), then each object's values in that order."""
    keys: list[str] = []
    out: list[tuple[int, list[Any]]] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}:{number}: not a JSON object ({exc.msg})") from None
        if not isinstance(record, dict):
            raise InputError(f"{path}:{number}: not a JSON object")
        if not keys:
            keys = list(record)
            out.append((0, keys))
        out.append((number, [record.get(k) for k in keys]))
    return out
