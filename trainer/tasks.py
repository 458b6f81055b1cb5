"""What the trainer knows about a task, read from its shards' metadata alone (it never imports a
builder, so a plugin task trains like the paper's): the kind of head, label names and class
counts, the vocab. The task embedding ids come from the run's task list (schemas.tasks.embedding_ids)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional, Union

from schemas.digests import check_sha256
from schemas import metadata
from schemas.errors import SchemaError
from schemas.tasks import embedding_ids, head_of
from schemas.validate import read_table, validate

# The shards' head kind -> the trainer's head (heads.py): masked LM is "mlm".
KINDS = {"masked_lm": "mlm", "token": "token", "sequence": "sequence", "contrastive": "contrastive",
         "skip_gram": "skip_gram"}


class TaskError(ValueError):
    """A problem with the task shards given to the trainer; str() is one line."""


@dataclass(frozen=True)
class TaskSpec:
    name: str  # knowledge_masking, capitalization, ...
    task_id: int  # the task embedding id in this run
    kind: str  # "mlm" (masked LM: knowledge_masking), "token" (a label per token), "sequence", "contrastive",
    # "skip_gram"
    num_classes: int
    label_names: tuple[str, ...]
    vocab_fingerprint: str
    vocab_size: int
    special_ids: Mapping[str, int]  # pad, unk, cls, sep, mask
    max_seq_len: int
    shards: tuple[Path, ...]
    vocab_path: str = ""  # where the build read the vocab (from the build config)


def read_task(name: str, directory: Union[str, Path], task_id: Optional[int] = None) -> TaskSpec:
    """The spec of one task from OUT/<task>/ (manifest order), every shard validated; `task_id`
    is its embedding id in the run (by default as in a run of this task alone: a paper task's id)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise TaskError(f"{name}: shard directory {directory} does not exist")
    manifest = directory / "manifest.json"
    names = ([e["name"] for e in json.loads(manifest.read_text())["shards"]] if manifest.exists()
             else sorted(p.name for p in directory.glob("*.arrow")))
    shards = tuple(directory / n for n in names)
    if not shards:
        raise TaskError(f"{name}: no shards in {directory}; build them with `ernie-corpus build --task {name}`")
    try:  # any task name is fine, but it must be the one its shards were built for
        kind = metadata.decode(read_table(shards[0]).schema).get(metadata.SCHEMA)
    except (OSError, ValueError):
        kind = None  # validation below names the problem
    if kind is not None and kind != name:
        raise TaskError(f"unknown task {name!r}: {directory} holds {kind} shards; name them {kind}={directory}")
    meta: dict[str, str] = {}
    for shard in shards:
        try:
            check_sha256(shard)  # against manifest.json: a flipped byte in a label column is not trained on
            table = read_table(shard)
            meta = validate(table, expect=name)
        except (SchemaError, OSError) as exc:
            raise TaskError(f"{name}: {shard}: {exc}") from None
    kind = KINDS[head_of(meta, table.schema)]
    task_id = embedding_ids([name])[name] if task_id is None else task_id
    return TaskSpec(name=name, task_id=task_id, kind=kind, num_classes=int(meta[metadata.NUM_CLASSES]),
                    label_names=tuple(json.loads(meta[metadata.LABEL_NAMES])),
                    vocab_fingerprint=meta[metadata.VOCAB_FINGERPRINT], vocab_size=int(meta[metadata.VOCAB_SIZE]),
                    special_ids=json.loads(meta[metadata.SPECIAL_IDS]), max_seq_len=int(meta[metadata.MAX_SEQ_LEN]),
                    shards=shards, vocab_path=str(json.loads(meta[metadata.BUILD_CONFIG]).get("vocab", {}).get("path", "")))


def read_tasks(dirs: Mapping[str, Union[str, Path]]) -> dict[str, TaskSpec]:
    """Specs of all tasks, any task whose shards say so (the paper's or a plugin's), with their
    embedding ids; they must share one vocab (a one-line TaskError otherwise)."""
    if not dirs:
        raise TaskError("no tasks given: pass --task NAME=SHARD_DIR, or a [tasks] table in the --config file")
    ids = embedding_ids(list(dirs))
    specs = {name: read_task(name, path, ids[name]) for name, path in dirs.items()}
    fingerprints = {s.vocab_fingerprint for s in specs.values()}
    if len(fingerprints) > 1:
        pairs = ", ".join(f"{s.name} {s.vocab_fingerprint[:12]}" for s in specs.values())
        raise TaskError(f"task shards were built with different vocabs ({pairs}); rebuild them with one vocab")
    return specs
