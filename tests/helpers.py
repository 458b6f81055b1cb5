"""Small helpers shared by the tests."""
from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa

from corpus_tools.run.engine import Parallel
from schemas.validate import read_table


def read_dataset(out: Path) -> pa.Table:
    """All shards of an ingest output, in manifest order."""
    manifest = json.loads((out / "manifest.json").read_text())
    return pa.concat_tables([read_table(out / e["name"]) for e in manifest["shards"]])


def stats(out: Path) -> dict:
    return json.loads((out / "stats.json").read_text())


def rejects(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "rejects.jsonl").read_text().splitlines()]


def shard_digests(out: Path) -> list[tuple[str, str]]:
    manifest = json.loads((out / "manifest.json").read_text())
    return [(e["name"], e["sha256"]) for e in manifest["shards"]]


def build_task(task: str, docs, vocab, out: Path, parallel: Parallel = Parallel(), **settings) -> pa.Table:
    """Build one task into out/<task> and return all its rows (validated on write)."""
    from corpus_tools.tasks.build import build
    from task_builders.base import BuildSettings

    docs = docs if isinstance(docs, (list, tuple)) else [docs]
    build([task], list(docs), vocab, out, BuildSettings(**settings), parallel=parallel, overwrite=True)
    return read_dataset(out / task)


def task_meta(out: Path, task: str) -> dict:
    """The ernie.* metadata of a built task, JSON values decoded."""
    from schemas import metadata

    manifest = json.loads((out / task / "manifest.json").read_text())
    meta = metadata.decode(read_table(out / task / manifest["shards"][0]["name"]).schema)
    return {k: (json.loads(v) if v[:1] in "[{" else v) for k, v in meta.items()}


def label_histogram(out: Path, task: str) -> dict:
    """The ernie.label_histogram of every shard of a built task, summed."""
    from collections import Counter

    manifest = json.loads((out / task / "manifest.json").read_text())
    total: Counter = Counter()
    for entry in manifest["shards"]:
        raw = read_table(out / task / entry["name"]).schema.metadata[b"ernie.label_histogram"]
        total.update(json.loads(raw))
    return dict(total)


def wiki_pages(xml: Path, pages: int) -> tuple[str, list[str]]:
    """The head (root tag and siteinfo) and the first `pages` <page> elements of a plain XML dump."""
    text = xml.read_text(encoding="utf-8")
    head, rest = text.split("<page>", 1)
    bodies = ["<page>" + p for p in ("<page>" + rest).split("<page>")[1:]][:pages]
    bodies[-1] = bodies[-1].split("</mediawiki>")[0]
    return head, bodies


def multistream(xml: Path, out: Path, pages: int, per_stream: int, index: bool = True) -> tuple[Path, list[int]]:
    """A Wikipedia-style `pages-articles-multistream.xml.bz2` from the first `pages` pages of a plain
    dump: the header (root tag and siteinfo) in its own stream, then `per_stream` pages per bz2 stream,
    then the closing tag, with the `-index.txt.bz2` (offset:page_id:title) beside it when `index`.
    Returns the dump and the byte offsets of the page streams."""
    import bz2
    import re

    head, bodies = wiki_pages(xml, pages)
    dump = out / "enwiki-test-pages-articles-multistream.xml.bz2"
    offsets, lines = [], []
    with open(dump, "wb") as fh:
        fh.write(bz2.compress(head.encode("utf-8")))
        for start in range(0, len(bodies), per_stream):
            offsets.append(fh.tell())
            group = bodies[start:start + per_stream]
            for page in group:
                page_id = re.search(r"<id>(\d+)</id>", page).group(1)
                title = re.search(r"<title>(.*?)</title>", page).group(1)
                lines.append(f"{fh.tell()}:{page_id}:{title}\n")
            fh.write(bz2.compress("".join(group).encode("utf-8")))
        fh.write(bz2.compress(b"</mediawiki>\n"))
    if index:
        (out / "enwiki-test-pages-articles-multistream-index.txt.bz2").write_bytes(
            bz2.compress("".join(lines).encode("utf-8")))
    return dump, offsets


def sample_corpus(data: Path, root: Path, reviews: int, articles: int = 0, shard_size: int = 100,
                  vocab_size: int = 3000) -> tuple[Path, Path]:
    """The first `reviews` IMDb reviews and `articles` English WikiExtractor articles ingested into
    root/docs (shards of `shard_size` documents), and a WordPiece vocab trained on them in root/vocab."""
    from corpus_tools.ingest.ingest import IngestConfig, ingest
    from corpus_tools.run.dataset import iter_sentences
    from task_builders.vocab import train_vocab

    inputs = [root / "reviews.txt"]
    lines = (data / "imdb_unsup" / "unsup_12k.txt").read_text(encoding="utf-8").splitlines()[:reviews]
    inputs[0].write_text("\n".join(lines) + "\n", encoding="utf-8")
    if articles:
        inputs.append(root / "articles.jsonl")
        lines = (data / "enwiki_extracted" / "wiki_00.jsonl").read_text(encoding="utf-8").splitlines()[:articles]
        inputs[1].write_text("\n".join(lines) + "\n", encoding="utf-8")
    ingest(inputs, root / "docs", IngestConfig(shard_size=shard_size))
    train_vocab(iter_sentences(root / "docs"), root / "vocab", vocab_size=vocab_size)
    return root / "docs", root / "vocab"


def cli_build(task: str, docs: Path, vocab: Path, out: Path, max_seq_len: int, workers: int = 1) -> pa.Table:
    """`ernie-corpus build --task TASK` through the CLI, into out/<task>; all its rows."""
    from click.testing import CliRunner

    from corpus_tools.cli import main

    result = CliRunner().invoke(main, ["build", "--task", task, "--docs", str(docs), "--vocab", str(vocab), "--out",
                                       str(out), "--max-seq-len", str(max_seq_len), "--workers", str(workers), "--quiet"])
    assert result.exit_code == 0, result.output
    return read_dataset(out / task)
