"""Rich rendering of `inspect` summaries (CLI only)."""
from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

MAX_PARAGRAPHS = 3


def render_summary(console: Console, summary: dict[str, Any]) -> None:
    head = Table(show_header=False, title=f"{summary['kind']} v{summary['schema_version']}  {summary['path']}")
    head.add_row("shards", str(summary["shards"]))
    head.add_row("rows", f"{summary['rows']:,}")
    head.add_row("by source", ", ".join(f"{k} {v:,}" for k, v in summary["by_source"].items()))
    head.add_row("by lang", ", ".join(f"{k} {v:,}" for k, v in summary["by_lang"].items()))
    head.add_row("schema", "\n".join(summary["schema"]))
    for key, value in summary["metadata"].items():
        head.add_row(key, json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value)
    stats = summary.get("stats")
    if stats:
        for group in ("dropped", "dedup", "rejected", "decontaminated"):
            if stats.get(group):
                head.add_row(group, ", ".join(f"{k} {v:,}" for k, v in stats[group].items()))
        for name, counts in (stats.get("decontamination") or {}).get("eval", {}).items():
            head.add_row(escape(f"removed: {name}"), f"{counts['documents_removed']:,} documents, "
                                                     f"{counts['sentences_removed']:,} sentences")
        for example in (stats.get("decontamination") or {}).get("examples", [])[:3]:
            head.add_row("eval match", escape(f"{example['doc_id']} ~ {example['eval']} ({example['match']}): "
                                              f"{example['text'][:120]}"))
    console.print(head)
    for row in summary["samples"]:
        console.print(_record(row, summary["kind"]))


def _record(row: dict[str, Any], kind: str) -> Panel:
    if kind == "searchlog":
        label = {True: "clicked", False: "shown, not clicked", None: "unlabelled"}[row["clicked"]]
        body = escape(f"query: {row['query']}\ntitle: {row['title']}\nurl:   {row['url']}\nrank {row['rank']}  {label}")
        return Panel(body, title=f"{row['result_id']}  {row['source']}/{row['lang']}", title_align="left")
    lines = []
    current = ""
    for heading, sentences in list(zip(row["headings"], row["paragraphs"]))[:MAX_PARAGRAPHS]:
        if heading and heading != current:
            lines.append(f"[bold]§ {escape(heading)}[/]")
        current = heading
        lines.extend(f"  [dim]{i}[/] {escape(s)}" for i, s in enumerate(sentences, 1))
    more = len(row["paragraphs"]) - MAX_PARAGRAPHS
    if more > 0:
        lines.append(f"[dim]... {more} more paragraphs[/]")
    return Panel("\n".join(lines), title=f"{escape(row['title'] or '(untitled)')}  [dim]{escape(row['doc_id'])}  {row['source']}/{row['lang']}[/]",
                 title_align="left")


def render_task(console: Console, summary: dict[str, Any]) -> None:
    head = Table(show_header=False, title=f"{summary['task']} (schema v{summary['schema_version']})  {summary['path']}")
    head.add_row("shards", str(summary["shards"]))
    head.add_row("examples", f"{summary['rows']:,}  ({summary['tokens']:,} tokens)")
    head.add_row("classes", str(summary["num_classes"]))
    total = sum(summary["labels"].values()) or 1
    bars = [f"{escape(name):<24} {count:>8,}  {'█' * round(30 * count / total)}"
            for name, count in list(summary["labels"].items())[:20]]
    head.add_row("labels", "\n".join(bars))
    recorded = summary.get("label_histogram") or {}
    if recorded:
        head.add_row("label histogram\n(metadata)", ", ".join(f"{escape(k)} {v:,}" for k, v in recorded.items()))
    if summary.get("positive_rate") is not None:
        head.add_row("positive rate", f"{summary['positive_rate']:.1%}")
    head.add_row("vocab", escape(summary["vocab"] or "not found: pass --vocab to decode tokens"))
    for key in ("ernie.vocab_fingerprint", "ernie.seed", "ernie.max_seq_len", "ernie.task_id"):
        head.add_row(key, summary["metadata"].get(key, ""))
    stats = summary.get("stats") or {}
    for group in ("dropped", "skipped", "fallback"):
        if stats.get(group):
            head.add_row(group, ", ".join(f"{k} {v:,}" for k, v in stats[group].items()))
    console.print(head)
    for example in summary["samples"]:
        lines = [f"[bold]{escape(k)}[/]: {escape(json.dumps(v, ensure_ascii=False) if isinstance(v, list) else str(v))}"
                 for k, v in example.items() if k not in ("doc_id", "length")]
        console.print(Panel("\n".join(lines), title=f"{escape(example['doc_id'])}  {example['length']} tokens",
                            title_align="left"))
