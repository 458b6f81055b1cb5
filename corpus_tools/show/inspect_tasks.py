"""`inspect` for task shards: label histograms and examples decoded with the vocab, labels
spelled out by head kind (spans bracketed, token labels marked, the class named), plus what the
task's own decoder adds (sentence_reorder: the permutation) where the task module is installed."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any, Optional, Union

import pyarrow.compute as pc

from corpus_tools.run.dataset import open_shard, shard_paths
from corpus_tools.run.shards import STATS
from schemas import metadata
from schemas.tasks import UNLABELLED, head_of
from schemas.validate import read_table
from task_builders import registry
from task_builders.vocab import Vocab, load_vocab


def find_vocab(meta: dict[str, str], vocab: Optional[Union[str, Path]]) -> Optional[Vocab]:
    """The vocab given, else the one recorded in the build config if it is still there."""
    if vocab is not None:
        return load_vocab(vocab)
    recorded = json.loads(meta.get(metadata.BUILD_CONFIG, "{}")).get("vocab", {})
    path = recorded.get("path")
    if path and Path(path).exists():
        return load_vocab(path, recorded.get("lowercase"))
    return None


def summarize_task(path: Union[str, Path], rows: int = 3, check: bool = True,
                   vocab: Optional[Union[str, Path]] = None) -> dict[str, Any]:
    paths = shard_paths(path)
    first = read_table(paths[0])
    meta = metadata.decode(first.schema)
    found = find_vocab(meta, vocab)
    if vocab is not None and found is not None and found.fingerprint != meta.get(metadata.VOCAB_FINGERPRINT):
        from schemas.validate import SchemaError

        raise SchemaError(f"{paths[0]}: built with vocab {meta.get(metadata.VOCAB_FINGERPRINT, '')[:12]}…, "
                          f"not {found.fingerprint[:12]}… ({vocab})")
    names = json.loads(meta[metadata.LABEL_NAMES])
    head = head_of(meta, first.schema)
    histogram: Counter = Counter()
    total, tokens, samples = 0, 0, []
    recorded: Counter = Counter()  # the label histograms of the shard metadata
    for shard in paths:
        if check:
            table, meta = open_shard(shard, verify=True, vocab_fingerprint=found.fingerprint if found else None,
                                     vocab_size=found.size if found else None)
        else:
            table = read_table(shard)
        total += table.num_rows
        tokens += pc.sum(pc.list_value_length(table.column("input_ids"))).as_py() or 0
        histogram.update(_labels(head, table, names))
        recorded.update(metadata.load_json(metadata.decode(table.schema), metadata.LABEL_HISTOGRAM, {}))
        if len(samples) < rows:
            samples.extend(table.slice(0, rows - len(samples)).to_pylist())
    task = meta[metadata.SCHEMA]
    summary = {
        "path": str(path), "kind": task, "task": meta[metadata.TASK], "schema_version": meta[metadata.SCHEMA_VERSION],
        "head": head, "shards": len(paths), "rows": total, "tokens": tokens,
        "num_classes": int(meta[metadata.NUM_CLASSES]),
        "labels": dict(histogram.most_common()),
        "label_histogram": dict(recorded),  # per class as recorded at build time, zeros included
        "positive_rate": _rate(head, recorded, names),
        "schema": [f"{f.name}: {f.type}" for f in first.schema],
        "metadata": {k: v for k, v in meta.items() if k not in (metadata.LABEL_TABLE, metadata.INPUTS)},
        "vocab": str(found.path) if found else None,
        "samples": [decode_example(task, row, found, meta) for row in samples],
    }
    stats = Path(path) / STATS
    if Path(path).is_dir() and stats.exists():
        summary["stats"] = json.loads(stats.read_text(encoding="utf-8"))
    return summary


def _rate(head: str, histogram: Counter, names: list[str]) -> Optional[float]:
    """Binary token tasks: the share of labelled tokens that are 1."""
    total = sum(histogram.values())
    return round(histogram[names[1]] / total, 4) if head == "token" and len(names) == 2 and total else None


def _labels(head: str, table, names: list[str]) -> Counter:
    if head == "sequence":
        return Counter(names[v] for v in table.column("label").to_pylist())
    if head == "token":
        return Counter(names[v] for v in pc.list_flatten(table.column("labels")).to_pylist() if v >= 0)
    if head in UNLABELLED:
        return Counter({names[0]: table.num_rows})
    spans = Counter({"phrase": len(pc.list_flatten(table.column("phrase_spans")))})
    entities = pc.list_flatten(table.column("entity_spans").combine_chunks())
    spans.update(f"entity {label}" for label in entities.field("label").to_pylist())
    return spans


def decode_example(task: str, row: dict, vocab: Optional[Vocab], meta: dict[str, str]) -> dict[str, Any]:
    """One example in words: tokens, and its labels spelled out by head kind; the task's own
    decoder (its module's `decode`, where the module is installed here) adds fields."""
    names = json.loads(meta[metadata.LABEL_NAMES])
    head = meta.get(metadata.HEAD) or ("sequence" if "label" in row else "token" if "labels" in row else "masked_lm")
    tokens = ([vocab.tokenizer.id_to_token(i) for i in row["input_ids"]] if vocab
              else [str(i) for i in row["input_ids"]])
    out: dict[str, Any] = {"doc_id": row["doc_id"], "length": len(tokens)}
    segments = [_words(p) for p in _segments(tokens)]
    decoder = getattr(registry.find(task), "decode", None)
    if head == "sequence":
        out["label"] = names[row["label"]]
        if decoder is None:
            out["a"], out["b"] = (segments + ["", ""])[:2]
    elif head == "token":
        out["text"] = " ".join(f"{t}^{l}" if l >= 1 else t for t, l in zip(tokens, row["labels"]))
    elif head == "contrastive":
        out["a"], out["b"] = (segments + ["", ""])[:2]
    elif head == "skip_gram":
        out["text"] = segments[0] if segments else ""
    else:
        out["text"] = _bracketed(tokens, row)
    if decoder is not None:
        out.update(decoder(row, segments, meta))
    return out


def _words(pieces: list[str]) -> str:
    return " ".join(pieces).replace(" ##", "")


def _segments(tokens: list[str]) -> list[list[str]]:
    parts, current = [], []
    for token in tokens[1:]:
        if token == "[SEP]":
            parts.append(current)
            current = []
        else:
            current.append(token)
    return parts


def _bracketed(tokens: list[str], row: dict) -> str:
    """Phrases in [ ], entities in { }|LABEL."""
    opens: Counter = Counter()
    closes: dict[int, list[str]] = {}
    for span in row["phrase_spans"]:
        opens[span["start"], "["] += 1
        closes.setdefault(span["end"], []).append("]")
    for span in row["entity_spans"]:
        opens[span["start"], "{"] += 1
        closes.setdefault(span["end"], []).append("}|" + span["label"])
    words = []
    for i, token in enumerate(tokens):
        prefix = "{" * opens[i, "{"] + "[" * opens[i, "["]
        words.append(" ".join(closes.get(i, [])) + (" " if i in closes else "") + prefix + token)
    words.append(" ".join(closes.get(len(tokens), [])))
    return " ".join(w for w in words if w).replace(" ##", "")
