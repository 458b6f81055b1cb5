"""The `ernie-corpus` command line. Library modules never print; this layer owns output and exit codes."""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from corpus_tools import __version__
from corpus_tools.dedup import DedupConfig
from corpus_tools.formats import FORMATS, ReadOptions
from corpus_tools.process import TextSettings
from corpus_tools.shards import OutputError
from corpus_tools.sources import DEFAULT_MAX_LINE_CHARS, InputError
from schemas import SchemaError

err = Console(stderr=True)
out = Console()
USER_ERRORS = (InputError, OutputError, SchemaError)


class CorpusGroup(click.Group):
    """Turns every failure into one line on stderr and an exit code: 1 for bad data or
    output, 130 for Ctrl-C, 70 for a bug (set ERNIE_DEBUG=1 for the traceback)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except USER_ERRORS as exc:
            err.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
            sys.exit(1)
        except KeyboardInterrupt:
            err.print("interrupted; rerun with --resume to continue")
            sys.exit(130)
        except Exception as exc:  # a bug: still one line unless debugging
            if os.environ.get("ERNIE_DEBUG"):
                raise
            err.print(f"[red]internal error:[/] {type(exc).__name__}: {exc} (set ERNIE_DEBUG=1 for a traceback)",
                      highlight=False, soft_wrap=True)
            sys.exit(70)


@click.group(cls=CorpusGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="ernie-corpus")
def main() -> None:
    """Build ERNIE 2.0 pre-training data.

    \b
    ingest   raw dumps -> a documents (or searchlog) dataset of Arrow shards
    inspect  show what a dataset holds
    """


@main.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path), help="Output dataset directory.")
@click.option("--format", "fmt", type=click.Choice(["auto", *FORMATS]), default="auto", show_default=True,
              help="Input format; auto detects it from each file's name and content.")
@click.option("--lang", type=click.Choice(["auto", "en", "zh"]), default="auto", show_default=True,
              help="Document language; auto detects it per document by script.")
@click.option("--workers", type=click.IntRange(1), default=1, show_default=True,
              help="Worker processes. The output is identical for any value.")
@click.option("--resume", is_flag=True, help="Continue an interrupted run: finished shards are kept.")
@click.option("--overwrite", is_flag=True, help="Replace an existing output directory.")
@click.option("--nfkc/--no-nfkc", default=True, show_default=True, help="Unicode NFKC normalization.")
@click.option("--t2s", is_flag=True, help="Convert Traditional Chinese to Simplified (OpenCC).")
@click.option("--dedup/--no-dedup", default=True, show_default=True, help="Exact and near-duplicate removal.")
@click.option("--near-dedup/--no-near-dedup", default=True, show_default=True, help="MinHash LSH near-duplicates.")
@click.option("--dedup-threshold", type=click.FloatRange(0.1, 0.95), default=0.8, show_default=True,
              help="Jaccard similarity above which a document is a near-duplicate.")
@click.option("--spacy-model", default=None, metavar="NAME",
              help="English sentence boundaries from an installed spaCy model (default: the rule-based sentencizer).")
@click.option("--zh-splitter", type=click.Choice(["rules", "hanlp"]), default="rules", show_default=True,
              help="Chinese sentence splitter: our rules or HanLP's rule-based splitter.")
@click.option("--reddit-threads", is_flag=True, help="Reddit: one document per submission with its comments.")
@click.option("--titles", type=click.Path(exists=True, dir_okay=False), default=None,
              help="SogouQ: a url<TAB>title table (SogouQ logs carry no titles).")
@click.option("--text-unit", type=click.Choice(["line", "block"]), default="line", show_default=True,
              help="text: one document per line, or per blank-line separated block.")
@click.option("--text-field", default="text", show_default=True, help="jsonl: the field holding the text.")
@click.option("--source", default=None, help="text/jsonl: the source label stored with each document.")
@click.option("--shard-size", type=click.IntRange(1), default=5000, show_default=True,
              help="Input records per shard (fixes the layout; keep it when resuming).")
@click.option("--max-line-chars", type=click.IntRange(1024), default=DEFAULT_MAX_LINE_CHARS, show_default=True,
              help="Longer input lines are rejected without being held in memory.")
@click.option("--quiet", is_flag=True, help="No progress bar or summary.")
def ingest(inputs, out_dir, fmt, lang, workers, resume, overwrite, nfkc, t2s, dedup, near_dedup, dedup_threshold,
           spacy_model, zh_splitter, reddit_threads, titles, text_unit, text_field, source, shard_size,
           max_line_chars, quiet) -> None:
    """Ingest raw corpora into a typed, deduplicated Arrow dataset.

    \b
    INPUT is a file or a directory (read recursively, in sorted order):
      wiki-xml       Wikipedia pages-articles XML (.xml, .bz2, .gz, .zst)
      wikiextractor  WikiExtractor output (--json lines or <doc> files)
      books          Project Gutenberg / BookCorpus plain-text books
      reddit         Pushshift RC/RS dumps (JSON lines; plain, .bz2, .zst)
      dureader, clicklog, sogouq   search logs -> a searchlog dataset
      text, jsonl    your own corpora, one document per line/block/object

    \b
    OUT gets part-NNNNN.arrow shards, manifest.json, stats.json and rejects.jsonl.

    \b
    Example:
      ernie-corpus ingest ../shared/data/enwiki_xml --out data/docs-en --workers 2
    """
    from corpus_tools.ingest import IngestConfig, ingest as run_ingest

    config = IngestConfig(
        fmt=fmt,
        text=TextSettings(lang=lang, nfkc=nfkc, t2s=t2s, spacy_model=spacy_model, zh_splitter=zh_splitter,
                          dedup=DedupConfig(exact=dedup, near=dedup and near_dedup, threshold=dedup_threshold)),
        read=ReadOptions(max_line_chars=max_line_chars, reddit_threads=reddit_threads, titles=titles,
                         text_unit=text_unit, text_field=text_field, source=source),
        shard_size=shard_size, workers=workers)
    started = time.monotonic()
    # auto_refresh=False: no display thread, so worker processes can be forked safely
    with Progress(TextColumn("[bold]ingest"), BarColumn(), TextColumn("{task.fields[info]}"), TimeElapsedColumn(),
                  console=err, disable=quiet, transient=False, auto_refresh=False) as bar:
        task = bar.add_task("ingest", total=None, info="starting")
        last = [0.0]

        def update(p) -> None:
            now = time.monotonic()
            bar.update(task, total=p.bytes_total or None, completed=p.bytes_read,
                       info=f"{p.records:,} records  {p.kept:,} kept  {p.shards} shards  "
                            f"{p.bytes_read / 1e6 / max(now - started, 1e-6):.1f} MB/s")
            if now - last[0] > 0.1:
                bar.refresh()
                last[0] = now

        result = run_ingest(inputs, out_dir, config, overwrite=overwrite, resume=resume, progress=update)
    if not quiet:
        _print_summary(result)
    for line in result.errors:
        err.print(f"[red]error:[/] {line}", highlight=False, soft_wrap=True)
    if result.errors:
        sys.exit(1)


def _print_summary(result) -> None:
    stats = result.stats
    table = Table(title=f"{result.kind} -> {result.out}", show_header=False)
    table.add_row("records read", f"{stats.get('records', 0):,}")
    table.add_row("kept", f"{stats.get('kept', 0):,} in {stats['shards']} shard(s)")
    for group in ("lang", "source", "dropped", "dedup", "rejected"):
        for key, value in stats.get(group, {}).items():
            table.add_row(f"{group}: {key}", f"{value:,}")
    if stats.get("utf8_replaced"):
        table.add_row("invalid UTF-8 bytes replaced", f"{stats['utf8_replaced']:,}")
    err.print(table)


@main.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--rows", type=click.IntRange(0), default=3, show_default=True, help="Sample records to show.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--validate/--no-validate", "check", default=True, show_default=True,
              help="Check every shard against its schema.")
def inspect(path, rows, as_json, check) -> None:
    """Show a dataset's schema, metadata, counts by source and language, and sample records.

    PATH is a dataset directory or one .arrow shard. Shards also open directly with
    pyarrow (pa.ipc.open_file), polars (pl.read_ipc) or datasets.Dataset.from_file.
    """
    from corpus_tools.inspect import summarize

    summary = summarize(path, rows=rows, check=check)
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2, default=str))
        return
    from corpus_tools.render import render_summary

    render_summary(out, summary)


if __name__ == "__main__":
    main()
