"""A shard against its manifest: the sha256 its writer recorded in `manifest.json` beside it, checked
by whoever opens it (build, dedup and decontaminate for their inputs, inspect --validate), so that a
flipped byte, even inside a label column, is an error and not trained on."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Optional, Union

from schemas.errors import SchemaError

MANIFEST = "manifest.json"


def sha256_file(path: Union[str, Path]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def recorded_sha256(shard: Union[str, Path]) -> Optional[str]:
    """The sha256 the manifest beside `shard` lists for it; None without a manifest or an entry."""
    shard = Path(shard)
    manifest = shard.parent / MANIFEST
    try:
        entries = json.loads(manifest.read_text(encoding="utf-8")).get("shards", [])
    except (OSError, ValueError, AttributeError):
        return None
    return next((e.get("sha256") for e in entries if isinstance(e, dict) and e.get("name") == shard.name), None)


def check_sha256(shard: Union[str, Path], digest: Optional[str] = None) -> Optional[str]:
    """Raise a one-line SchemaError if `shard` (or its known `digest`) differs from the sha256 its
    manifest records; returns the digest (None where nothing is recorded, and none was given)."""
    want = recorded_sha256(shard)
    if want is None:
        return digest
    got = digest or sha256_file(shard)
    if got != want:
        raise SchemaError(f"{shard}: its sha256 {got[:12]}… is not the {want[:12]}… its manifest records: the file "
                          "changed after it was written (a copy gone wrong, a flipped byte); rebuild or re-copy it")
    return got
