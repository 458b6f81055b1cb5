"""`report`: one static HTML page about a dataset (documents, searchlog or task shards), with its
charts inline as SVG, so it opens from disk in any browser, with no server.

What it shows: length histograms (characters, sentences and words per record; tokens per task
example), languages and sources, drop and reject reasons (from stats.json), markup residue left
in the text (RESIDUE: wiki templates and links, image parameters, HTML tags and entities, ANSI
and backslash escape sequences, word/TAG part-of-speech patterns), and for task shards the class balance, positive rates and five
decoded examples per class (corpus_tools.show.inspect_tasks). `collect` gathers the numbers (JSON-able,
for tests and scripts); `render` makes the page.
"""
from __future__ import annotations

import html
import io
import json
import re
import warnings
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any, Iterable, Optional, Union

import pyarrow as pa

from corpus_tools.run.dataset import dataset_kind, shard_paths
from corpus_tools.show.inspect_tasks import decode_example, find_vocab
from corpus_tools.run.shards import STATS, OutputError, write_text
from schemas import metadata
from schemas.tasks import UNLABELLED, head_of
from schemas.validate import read_table

_TAG = r"[A-Za-z]{1,5}\$?"
RESIDUE: dict[str, re.Pattern] = {
    # a whole template, or one opening with its name and a pipe ("auto cue}}" in a review is not markup)
    "wiki template {{ }}": re.compile(r"\{\{[^{}\n]{0,300}\}\}|\{\{\s*[A-Za-z][^{}|\n]{0,60}\|"),
    # a whole link, an unclosed one with a pipe, or a half-closed one ("seva]]"); not "=[[" emoticons
    "wiki link [[ ]]": re.compile(r"\[\[[^\[\]\n]{1,300}\]\]|\[\[[^\]\n]{0,200}\||(?<![\[\]])[^\s\[\]]{1,60}\]\](?!\])"),
    "image parameter |px": re.compile(r"\|\s*\d+\s*px\b|\b\d+px\s*\||\|\s*(?:thumb|thumbnail|upright|frameless)\b"),
    "HTML tag": re.compile(r"</?[A-Za-z][A-Za-z0-9]{0,11}(?:\s+[A-Za-z:-]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>]+))?)*\s*/?>"),
    "HTML entity": re.compile(r"&(?:[a-z]{2,8}|#\d{2,6}|#x[0-9a-fA-F]{2,6});"),
    "escape sequence": re.compile(r"\x1b|\[\d{1,3}(?:;\d{1,3})*[mK]|\[m(?=[\s.,]|$)|\\u[0-9a-fA-F]{4}|\\[nrt](?=[A-Za-z\s])"),
    "word/TAG pattern": re.compile(rf"(?:[^\s/]+/{_TAG}\s+){{2,}}[^\s/]+/{_TAG}(?=\s|$)"),
}
WORDS = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[^\W_]+")  # a Han character is a word; else runs of letters/digits
EXAMPLES_PER_CLASS = 5


@dataclass
class Residue:
    records: int = 0  # records with at least one hit
    hits: int = 0
    examples: list[str] = field(default_factory=list)  # "record id: …context…", at most 3


def residue_counts(records: Iterable[tuple[str, str]]) -> dict[str, Residue]:
    """Per RESIDUE category, over (record id, text) pairs."""
    found = {name: Residue() for name in RESIDUE}
    for record_id, text in records:
        for name, pattern in RESIDUE.items():
            hits = list(pattern.finditer(text))
            if not hits:
                continue
            entry = found[name]
            entry.records += 1
            entry.hits += len(hits)
            if len(entry.examples) < 3:
                start = hits[0].start()
                entry.examples.append(f"{record_id}: …{text[max(0, start - 40):start + 60]}…")
    return found


def collect(path: Union[str, Path], vocab: Optional[Union[str, Path]] = None) -> dict[str, Any]:
    """The report's numbers for a documents, searchlog or task dataset."""
    kind = dataset_kind(path)
    tables = [read_table(p) for p in shard_paths(path)]
    report: dict[str, Any] = {"path": str(path), "kind": kind, "shards": len(tables),
                              "rows": sum(t.num_rows for t in tables)}
    stats_path = Path(path) / STATS
    stats = json.loads(stats_path.read_text(encoding="utf-8")) if Path(path).is_dir() and stats_path.exists() else {}
    report["totals"] = {k: v for k, v in stats.items() if isinstance(v, int) and not isinstance(v, bool)}
    report["reasons"] = {group: stats[group] for group in ("dropped", "rejected", "dedup", "skipped")
                         if isinstance(stats.get(group), dict) and stats[group]}
    if kind == "documents":
        report.update(_documents(tables))
    elif kind == "searchlog":
        report.update(_searchlog(tables))
    else:
        report.update(_task(kind, tables, vocab))
    report["residue"] = {k: vars(v) for k, v in report.pop("_residue").items()}
    return report


def _documents(tables: list[pa.Table]) -> dict[str, Any]:
    chars, sentences, words = [], [], []
    langs, sources = Counter(), Counter()

    def records():
        for table in tables:
            langs.update(table.column("lang").cast(pa.string()).to_pylist())
            sources.update(table.column("source").cast(pa.string()).to_pylist())
            for doc_id, title, headings, paragraphs in zip(*(table.column(c).to_pylist() for c in
                                                             ("doc_id", "title", "headings", "paragraphs"))):
                text = "\n".join(s for p in paragraphs for s in p)
                chars.append(len(text))
                sentences.append(sum(map(len, paragraphs)))
                words.append(len(WORDS.findall(text)))
                yield doc_id, "\n".join([title or "", *headings, text])

    residue = residue_counts(records())
    return {"lengths": {"characters per document": chars, "sentences per document": sentences,
                        "words per document (a Han character is one)": words},
            "langs": dict(langs.most_common()), "sources": dict(sources.most_common()), "_residue": residue}


def _searchlog(tables: list[pa.Table]) -> dict[str, Any]:
    queries, titles = [], []
    langs, sources, clicks = Counter(), Counter(), Counter()

    def records():
        for table in tables:
            langs.update(table.column("lang").cast(pa.string()).to_pylist())
            sources.update(table.column("source").cast(pa.string()).to_pylist())
            clicks.update({True: "clicked", False: "shown, not clicked", None: "unlabelled"}[c]
                          for c in table.column("clicked").to_pylist())
            for result_id, query, title in zip(*(table.column(c).to_pylist() for c in ("result_id", "query", "title"))):
                queries.append(len(query))
                titles.append(len(title))
                yield result_id, f"{query}\n{title}"

    residue = residue_counts(records())
    return {"lengths": {"characters per query": queries, "characters per title": titles},
            "langs": dict(langs.most_common()), "sources": dict(sources.most_common()),
            "classes": dict(clicks.most_common()), "_residue": residue}


def _task(task: str, tables: list[pa.Table], vocab_path) -> dict[str, Any]:
    meta = metadata.decode(tables[0].schema)
    names = json.loads(meta[metadata.LABEL_NAMES])
    head = head_of(meta, tables[0].schema)
    vocab = find_vocab(meta, vocab_path)
    lengths, classes, examples = [], Counter(), {}
    texts = []
    for table in tables:
        lengths += [len(ids) for ids in table.column("input_ids").to_pylist()]
        if head == "sequence":
            labels = table.column("label").to_pylist()
            classes.update(names[label] for label in labels)
            for i, label in enumerate(labels):
                if len(examples.setdefault(names[label], [])) < EXAMPLES_PER_CLASS:
                    examples[names[label]].append(decode_example(task, table.slice(i, 1).to_pylist()[0], vocab, meta))
        else:
            if head == "token":
                for row in table.column("labels").to_pylist():
                    classes.update(names[v] for v in row if v >= 0)
            elif head in UNLABELLED:
                classes[names[0]] += table.num_rows
            else:
                classes["phrase"] += sum(len(s) for s in table.column("phrase_spans").to_pylist())
                classes.update(f"entity {s['label']}" for row in table.column("entity_spans").to_pylist() for s in row)
            shown = examples.setdefault("examples", [])
            for row in table.slice(0, EXAMPLES_PER_CLASS - len(shown)).to_pylist():
                shown.append(decode_example(task, row, vocab, meta))
    for group in examples.values():
        for example in group:
            texts.append((example["doc_id"], " ".join(str(v) for k, v in example.items() if k not in ("doc_id", "length"))))
    if head in ("sequence", "token", *UNLABELLED):
        classes = Counter({name: classes.get(name, 0) for name in names})
    total = sum(classes.values())
    out: dict[str, Any] = {"task": meta.get(metadata.TASK), "num_classes": len(names),
                           "lengths": {"tokens per example": lengths}, "classes": dict(classes),
                           "examples": examples, "_residue": residue_counts(texts)}
    if head == "token" and len(names) == 2 and total:
        out["positive_rate"] = round(classes[names[1]] / total, 4)
    return out


# One style for every chart of a page: the same fonts at the same sizes, and the page shows every SVG at
# its own size (no CSS scaling), so a wide class-balance chart has the histograms' letters. Fixed ids
# and no date: the same data gives the same page.
STYLE = {"font.size": 8, "axes.titlesize": 10, "axes.labelsize": 8, "xtick.labelsize": 7, "ytick.labelsize": 7,
         "svg.fonttype": "none", "svg.hashsalt": "ernie-report"}
CHART = (3.6, 2.4)  # inches: three histograms side by side on the page


def _svg(figure) -> str:
    buffer = io.StringIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # glyphs the fonts lack: the browser draws the text (svg.fonttype none)
        figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    import matplotlib.pyplot as plt

    plt.close(figure)
    svg = buffer.getvalue()
    return svg[svg.index("<svg"):]


def histogram_svg(values: list[int], title: str) -> str:
    import matplotlib.pyplot as plt

    with plt.rc_context(STYLE):
        figure, axes = plt.subplots(figsize=CHART)
        if values:
            axes.hist(values, bins=min(40, max(5, len(set(values)))), color="#4c78a8")
            axes.set_yscale("log" if max(values) > 50 * (sorted(values)[len(values) // 2] or 1) else "linear")
        axes.set_title(title)
        axes.set_ylabel("records")
        return _svg(figure)


def bars_svg(counts: dict[str, int], title: str, limit: int = 40) -> str:
    import matplotlib.pyplot as plt

    items = sorted(counts.items(), key=lambda kv: -kv[1])[:limit]
    with plt.rc_context(STYLE):
        figure, axes = plt.subplots(figsize=(min(10.5, 2 + 0.28 * len(items)), CHART[1]) if len(items) > 8 else CHART)
        axes.bar(range(len(items)), [v for _, v in items], color="#f58518")
        axes.set_xticks(range(len(items)), [k for k, _ in items], rotation=60 if len(items) > 4 else 0,
                        ha="right" if len(items) > 4 else "center")
        axes.set_title(title)
        return _svg(figure)


def render(report: dict[str, Any]) -> str:
    """The page, from collect()'s numbers."""
    import matplotlib

    matplotlib.use("Agg")
    e = html.escape
    parts = [f"<p>{report['rows']:,} records in {report['shards']} shard(s)"
             + (f"; task <b>{e(report['task'])}</b>, {report['num_classes']} classes" if "task" in report else "")
             + "</p>"]
    parts.append("<h2>Lengths</h2><div class='charts'>")
    parts += [histogram_svg(values, name) for name, values in report["lengths"].items()]
    parts.append("</div>")
    for key, title in (("langs", "Languages"), ("sources", "Sources")):
        if report.get(key):
            parts.append(f"<h2>{title}</h2>" + _table(report[key]))
    if report.get("classes"):
        rate = report.get("positive_rate")
        parts.append("<h2>Classes</h2>" + (f"<p>positive rate: <b>{rate:.1%}</b></p>" if rate is not None else ""))
        parts.append(f"<div class='wide'>{bars_svg(report['classes'], 'class balance')}</div>" + _table(report["classes"]))
    parts.append("<h2>Dropped and rejected</h2>")
    if report.get("totals"):
        parts.append("<p>" + ", ".join(f"{e(k)} {v:,}" for k, v in report["totals"].items()) + "</p>")
    parts += [f"<h3>{e(group)}</h3>" + _table(reasons) for group, reasons in report["reasons"].items()] or \
        ["<p class='muted'>no stats.json reasons recorded</p>"]
    total = sum(r["hits"] for r in report["residue"].values())
    parts.append(f"<h2>Markup residue</h2><p class='{'ok' if total == 0 else 'bad'}'>{total:,} hits</p>")
    rows = "".join(f"<tr><td>{e(name)}</td><td class='n'>{r['records']:,}</td><td class='n'>{r['hits']:,}</td>"
                   f"<td>{''.join(f'<pre>{e(x)}</pre>' for x in r['examples'])}</td></tr>"
                   for name, r in report["residue"].items())
    parts.append(f"<table><tr><th>pattern</th><th>records</th><th>hits</th><th>examples</th></tr>{rows}</table>")
    if report.get("examples"):
        parts.append("<h2>Decoded examples</h2>")
        for label, examples in report["examples"].items():
            parts.append(f"<h3>{e(label)}</h3>")
            parts += [f"<pre>{e(json.dumps(x, ensure_ascii=False, indent=1))}</pre>" for x in examples]
    template = Template((resources.files("corpus_tools.show") / "resources" / "report.html").read_text("utf-8"))
    return template.substitute(title=e(f"{report['kind']}: {Path(report['path']).name}"),
                               subtitle=e(report["path"]), body="\n".join(parts))


def _table(counts: dict[str, int]) -> str:
    rows = "".join(f"<tr><td>{html.escape(str(k))}</td><td class='n'>{v:,}</td></tr>" for k, v in counts.items())
    return f"<table>{rows}</table>"


def write_report(path: Union[str, Path], out: Union[str, Path], overwrite: bool = False,
                 vocab: Optional[Union[str, Path]] = None) -> dict[str, Any]:
    """collect + render into `out` (atomically; an existing file only with overwrite)."""
    out = Path(out)
    if out.exists() and not overwrite:
        raise OutputError(f"{out} exists; pass --overwrite to replace it")
    report = collect(path, vocab)
    write_text(out, render(report))
    return report
