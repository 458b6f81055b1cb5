"""Labelled data for fine-tuning: TSV, CSV or JSON lines with a header, and NER files.

Columns are found by name (`--text`, `--text-pair`, `--label`) or by the usual names of GLUE,
CLUE and ERNIE task files. NER files are either the MSRA layout (a `text_a` column of
space-separated characters or words and a `label` column of space-separated tags) or CoNLL (one
token and its tag per line, blank lines between sentences).

Files are read by `schemas/eval_files.py`, the reader decontamination uses too: strict UTF-8, a
UTF-8 BOM (or a BOM that was decoded twice, `ï»¿`, as in the MRPC sample) removed, CRLF and lone
CR line ends, GLUE TSVs split at tabs (their quotes are text, not CSV quoting). A NER line whose
tag count differs from its token count is a reject (with `file:line`), not an error: the other
lines are kept.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence, Union

from schemas.eval_files import read_lines, read_rows
from schemas.errors import InputError

KINDS = ("classification", "pair", "regression", "ner")
TEXT_NAMES = ("sentence", "text_a", "sentence1", "question", "text", "#1 String", "query", "premise")
PAIR_NAMES = ("text_b", "sentence2", "#2 String", "hypothesis", "passage", "title")
LABEL_NAMES = ("label", "Quality", "labels", "score", "tags")


class DataError(ValueError):
    """A problem with a fine-tuning file or its labels; str() is one line."""


@dataclass
class Example:
    text: Union[str, list[str]]  # a string, or the words of a NER sentence
    pair: Optional[str] = None
    label: Union[str, float, list[str], None] = None  # a label name, a float, or the tags of a NER sentence
    origin: str = ""  # file:line


@dataclass
class Split:
    examples: list[Example]
    rejects: list[dict] = field(default_factory=list)  # {"origin", "reason"}
    path: str = ""


@dataclass
class Columns:
    text: Optional[str] = None
    pair: Optional[str] = None
    label: Optional[str] = None


def _rows(path: Path) -> tuple[list[str], list[tuple[int, dict]]]:
    """The header and (line number, row) of a TSV, CSV or JSON-lines file."""
    try:
        table = read_rows(path)
    except InputError as exc:
        raise DataError(str(exc)) from None
    return table.header, [(number, dict(zip(table.header, cells))) for number, cells in table.rows]


def _lines(path: Path) -> list[str]:
    try:
        return read_lines(path)
    except InputError as exc:
        raise DataError(str(exc)) from None


def _pick(header: Sequence[str], given: Optional[str], names: Sequence[str], what: str, path: Path,
          required: bool) -> Optional[str]:
    if given is not None:
        if given not in header:
            raise DataError(f"{path}: no {what} column {given!r}; columns are {', '.join(header)}")
        return given
    for name in names:
        if name in header:
            return name
    if required:
        raise DataError(f"{path}: no {what} column (looked for {', '.join(names)}); columns are "
                        f"{', '.join(header)}; name it with --{what.replace(' ', '-')}")
    return None


def read_split(path: Union[str, Path], kind: str, columns: Columns = Columns(), labelled: bool = True) -> Split:
    """All examples of one file. `labelled=False` (a test file) makes the label column optional."""
    path = Path(path)
    if kind not in KINDS:
        raise DataError(f"unknown task kind {kind!r}; kinds are {', '.join(KINDS)}")
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if kind == "ner":
        return _read_ner(path, columns, labelled)
    header, rows = _rows(path)
    text = _pick(header, columns.text, TEXT_NAMES, "text", path, True)
    pair = _pick(header, columns.pair, PAIR_NAMES, "text pair", path, kind == "pair") if kind == "pair" else None
    label = _pick(header, columns.label, LABEL_NAMES, "label", path, labelled)
    examples: list[Example] = []
    rejects: list[dict] = []
    for number, row in rows:
        origin = f"{path}:{number}"
        first = row.get(text)
        second = row.get(pair) if pair else None
        value = row.get(label) if label else None
        if first is None or (pair and second is None) or (label and labelled and value is None):
            rejects.append({"origin": origin, "reason": "missing_column"})
            continue
        if label and value is not None:
            value = str(value).strip()
            if kind == "regression":
                try:
                    value = float(value)
                except ValueError:
                    rejects.append({"origin": origin, "reason": "label_not_a_number"})
                    continue
            elif labelled and not value:
                rejects.append({"origin": origin, "reason": "empty_label"})
                continue
        examples.append(Example(str(first).strip(), None if second is None else str(second).strip(), value, origin))
    return Split(examples, rejects, str(path))


def _read_ner(path: Path, columns: Columns, labelled: bool) -> Split:
    lines = _lines(path)
    first = lines[0].split("\t") if lines else []
    if len(first) >= 2 and (columns.text in first or any(n in first for n in TEXT_NAMES)):
        header = [h.strip() for h in first]
        words_col = _pick(header, columns.text, TEXT_NAMES, "text", path, True)
        tags_col = _pick(header, columns.label, LABEL_NAMES, "label", path, labelled)
        examples, rejects = [], []
        for number, line in enumerate(lines[1:], 2):
            if not line.strip():
                continue
            row = dict(zip(header, line.split("\t")))
            words = row.get(words_col, "").split()
            tags = row.get(tags_col, "").split() if tags_col else None
            origin = f"{path}:{number}"
            if tags is not None and len(tags) != len(words):
                rejects.append({"origin": origin, "reason": f"{len(words)} tokens but {len(tags)} tags"})
                continue
            if words:
                examples.append(Example(words, None, tags, origin))
        return Split(examples, rejects, str(path))
    return _read_conll(path, lines, labelled)


def _read_conll(path: Path, lines: list[str], labelled: bool) -> Split:
    """CoNLL: `token [... ] tag` per line (the tag last), blank lines between sentences."""
    examples, rejects = [], []
    words: list[str] = []
    tags: list[str] = []
    start, bad = 1, None
    for number, line in enumerate(lines + [""], 1):
        parts = line.split()
        if parts and parts[0] == "-DOCSTART-":
            continue
        if not parts:
            if words and bad is None:
                examples.append(Example(words, None, tags if labelled else None, f"{path}:{start}"))
            elif bad is not None:
                rejects.append({"origin": f"{path}:{bad}", "reason": "a token line without a tag"})
            words, tags, start, bad = [], [], number + 1, None
            continue
        if labelled and len(parts) < 2:
            bad = bad or number
            continue
        words.append(parts[0])
        tags.append(parts[-1])
    if not examples and not rejects:
        raise DataError(f"{path}: no NER sentences (expected text_a/label columns or CoNLL lines)")
    return Split(examples, rejects, str(path))


def label_names_from(train: Split, kind: str, labels_file: Optional[Union[str, Path]] = None) -> list[str]:
    """The label names: from `labels_file` (a JSON list, or an object name -> id as in
    label2id.json; several names may share an id, the first is its name), else from the training
    data (numbers in numeric order, other names sorted; NER: O first, then tags sorted)."""
    if kind == "regression":
        return []
    if labels_file is not None:
        try:
            raw = json.loads(Path(labels_file).read_text(encoding="utf-8-sig"))
        except (OSError, json.JSONDecodeError) as exc:
            raise DataError(f"{labels_file}: not a JSON label file ({exc})") from None
        if isinstance(raw, list):
            return [str(x) for x in raw]
        if isinstance(raw, dict):
            names: dict[int, str] = {}
            for name, index in raw.items():
                names.setdefault(int(index), str(name))
            if sorted(names) != list(range(len(names))):
                raise DataError(f"{labels_file}: label ids must be 0..n-1, got {sorted(names)}")
            return [names[i] for i in range(len(names))]
        raise DataError(f"{labels_file}: expected a JSON list of names or an object name -> id")
    seen: set[str] = set()
    for example in train.examples:
        seen.update(example.label if kind == "ner" else [example.label])
    seen.discard(None)
    if kind == "ner":
        return ["O"] * ("O" in seen) + sorted(seen - {"O"}, key=lambda t: (t[2:], t[:1]))
    try:
        return sorted(seen, key=float)
    except ValueError:
        return sorted(seen)


def label_aliases(labels_file: Optional[Union[str, Path]]) -> dict[str, int]:
    """Every name of a label file -> its id (XNLI's map gives `contradictory` and `contradiction` one id)."""
    if labels_file is None:
        return {}
    raw = json.loads(Path(labels_file).read_text(encoding="utf-8-sig"))
    return {str(k): int(v) for k, v in raw.items()} if isinstance(raw, dict) else {str(n): i for i, n in enumerate(raw)}


def split_off(split: Split, size: Union[int, float], seed: int) -> tuple[Split, Split]:
    """A deterministic seeded split of one labelled file: (train, dev). `size` < 1 is a fraction of
    the examples, else a count."""
    n = len(split.examples)
    count = round(n * size) if size < 1 else int(size)
    if not 0 < count < n:
        raise DataError(f"{split.path}: cannot split {count} dev examples off {n}")
    order = list(range(n))
    random.Random(seed).shuffle(order)
    dev = sorted(order[:count])
    chosen = set(dev)
    train = [e for i, e in enumerate(split.examples) if i not in chosen]
    return (Split(train, split.rejects, split.path),
            Split([split.examples[i] for i in dev], [], f"{split.path} (split {count} of {n}, seed {seed})"))


def guess_kind(path: Union[str, Path], text_pair: Optional[str] = None) -> str:
    """pair when the file has a second text column (or --text-pair is given), else classification."""
    if text_pair:
        return "pair"
    path = Path(path)
    if path.suffix.lower() not in (".tsv", ".csv", ".jsonl", ".json", ".txt"):
        return "classification"
    try:
        header, _ = _rows(path)
    except DataError:
        return "classification"
    return "pair" if any(name in header for name in PAIR_NAMES) else "classification"
