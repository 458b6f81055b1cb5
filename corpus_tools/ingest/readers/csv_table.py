"""Comma-separated text, one document per row (see `tabular`): `--format csv --text-field NAME|N`.
Quoted fields may hold commas and newlines."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator, Union

from corpus_tools.ingest.readers.options import ReadOptions
from corpus_tools.ingest.readers import tabular
from corpus_tools.ingest.readers.records import Drop, RawDoc, Reject

NAME = "csv"
DATASET = "documents"


def sniff(path: Path, head: str) -> bool:
    return tabular.has_suffix(path, ".csv")


def check(path: Path, options: ReadOptions) -> None:
    """The text column must exist: checked before any output is made."""
    tabular.check_layout(path, options, tabular.csv_rows(path, options))


def read(path: Path, options: ReadOptions) -> Iterator[Union[RawDoc, Reject, Drop]]:
    return tabular.documents(path, options, tabular.csv_rows(path, options))
