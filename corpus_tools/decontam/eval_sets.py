"""Reading fine-tuning eval sets for decontamination: the texts a model is scored on, with the
line each came from.

Layouts (the ones the fine-tuner reads), all with a header row naming the columns:
  .tsv/.txt   tab-separated, GLUE style: no quoting (a `"` is text), one row per line
  .csv        comma-separated with CSV quoting (a quoted field may span lines)
  .jsonl      one JSON object per line
Text columns are found by name (TEXT_COLUMNS, case-insensitive): sentence, text_a, text_b,
sentence1/2, question, premise/hypothesis, MRPC's "#1 String"/"#2 String", ... Every text
column of a row is its own eval text (a pair task contributes both sides).
The NER layout (MSRA-NER as UER/ERNIE ship it: `text_a` holds space-separated characters and
`label` the same number of BIO tags) is recognised per row and the characters are joined back
into the sentence.

The file is read by `schemas/eval_files.py`, the reader fine-tuning uses too (encoding, BOMs, line
ends, TSV/CSV/JSON rows), so decontamination sees the texts and lines that fine-tuning sees. A
missing file, a file with no recognisable text column or an unreadable row is an `InputError`
(one line)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Union

from schemas.eval_files import read_rows
from schemas.errors import InputError

TEXT_COLUMNS = ("sentence", "text", "text_a", "text_b", "sentence1", "sentence2", "question", "question1",
                "question2", "premise", "hypothesis", "passage", "context", "query", "content", "review",
                "#1 string", "#2 string")
_TAG = re.compile(r"^(O|[BIESM]-\S+)$")


@dataclass(frozen=True, slots=True)
class EvalText:
    file: int  # index of the eval file in the --against list
    line: int  # 1-based line of the row in that file (the header is line 1)
    text: str


def label(path: Union[str, Path]) -> str:
    """How an eval file is named in stats: its folder and name (sst2/glue_dev.tsv)."""
    path = Path(path)
    return f"{path.parent.name}/{path.name}" if path.parent.name else path.name


def read_eval(path: Union[str, Path], file: int = 0) -> list[EvalText]:
    """Every eval text of one file, in file order; raises InputError for what a user must fix."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such eval file")
    table = read_rows(path)
    columns = [i for i, name in enumerate(table.header) if name.strip().lower() in TEXT_COLUMNS]
    if not columns:
        shown = ", ".join(repr(h) for h in table.header[:8])
        raise InputError(f"{path}: no text column in the header ({shown}); expected one of "
                         f"{', '.join(TEXT_COLUMNS[:8])}, ... (a header row is required)")
    out: list[EvalText] = []
    for number, cells in table.rows:
        row = [c if isinstance(c, str) else "" for c in cells]
        for i in columns:
            if i < len(row) and row[i] and row[i].strip():
                out.append(EvalText(file, number, _ner_sentence(row, i)))
    return out


def _ner_sentence(row: list[str], column: int) -> str:
    """The NER layout: characters separated by spaces, with a column of as many BIO tags; the
    characters are joined back into the sentence. Any other text is returned as it is."""
    chars = row[column].split(" ")
    if len(chars) < 2 or any(len(c) != 1 for c in chars if c):
        return row[column]
    for j, value in enumerate(row):
        tags = value.split(" ")
        if j != column and len(tags) == len(chars) and all(_TAG.match(t) for t in tags):
            return "".join(chars)
    return row[column]
