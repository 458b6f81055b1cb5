"""The `ernie-corpus` command line. Library modules never print; this layer owns output and exit codes."""
from __future__ import annotations

import functools
import json
import sys
import time
from pathlib import Path

import click

from corpus_tools import __version__
from corpus_tools.dedup.minhash import DedupConfig
from corpus_tools.run.engine import ENGINES, Parallel
from corpus_tools.ingest.formats import FORMATS
from corpus_tools.ingest.readers.options import ReadOptions
from corpus_tools.ingest.process import TextSettings
from corpus_tools.ingest.sources import DEFAULT_MAX_LINE_CHARS
from schemas.cli_errors import LazyConsole, OneLineErrors, err, escape
from schemas.errors import InputError

out = LazyConsole()


def progress_bar(label: str, quiet: bool):
    """rich's progress bar on stderr, drawn when told (auto_refresh=False: no display thread, so worker
    processes can be forked safely); with --quiet a stand-in that draws nothing, and rich stays unimported."""
    if quiet:
        return _NoProgress()
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn(label), BarColumn(), TextColumn("{task.fields[info]}"), TimeElapsedColumn(),
                    console=err.console, auto_refresh=False)


class _NoProgress:
    def __enter__(self) -> "_NoProgress":
        return self

    def __exit__(self, *exc) -> None:
        pass

    def add_task(self, *args, **kwargs) -> int:
        return 0

    def update(self, *args, **kwargs) -> None:
        pass

    def refresh(self) -> None:
        pass


def parallel_options(command):
    """--workers and --engine, shared by ingest, build, dedup and decontaminate: neither changes the
    output. The command gets them as one `parallel` (Parallel), the argument every job takes."""
    @functools.wraps(command)
    def with_parallel(*args, workers: int, engine: str, **kwargs):
        return command(*args, parallel=Parallel(workers, engine), **kwargs)

    engine = click.option("--engine", type=click.Choice(ENGINES), default="local", show_default=True,
                          help="local: a process pool; ray: Ray tasks (a cluster if RAY_ADDRESS is set). "
                               "Same output.")
    workers = click.option("--workers", type=click.IntRange(1), default=1, show_default=True,
                           help="Worker processes. The output is identical for any value.")
    return workers(engine(with_parallel))


def decontamination_options(flag: str, required: bool = False):
    """The eval files and n-gram settings, shared by decontaminate (--against) and ingest (--decontaminate)."""
    def apply(command):
        for option in reversed([
            click.option(flag, "against", multiple=True, required=required, metavar="EVAL_FILE",
                         type=click.Path(path_type=Path),
                         help="An eval set (TSV/CSV/JSONL with a header, or the NER layout) whose text is removed; repeatable."),
            click.option("--granularity", type=click.Choice(["document", "sentence"]), default="document",
                         show_default=True, help="Remove the whole document, or only the sentences holding eval text."),
            click.option("--ngram-en", type=click.IntRange(1), default=13, show_default=True,
                         help="n-gram size in words for English (GPT-3: 13)."),
            click.option("--ngram-zh", type=click.IntRange(1), default=20, show_default=True,
                         help="n-gram size in characters for Chinese (about 13 words)."),
        ]):
            command = option(command)
        return command
    return apply


@click.group(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="ernie-corpus")
def main() -> None:
    """Build ERNIE 2.0 pre-training data.

    \b
    ingest   raw dumps -> a documents (or searchlog) dataset of Arrow shards
    decontaminate  documents -> documents without fine-tuning eval-set text
    dedup    documents datasets -> one documents dataset without their duplicates
    vocab    documents -> a WordPiece vocab (tokenizer.json + vocab.txt)
    build    documents + vocab -> task shards for the pre-training tasks (the seven, NSP, plugins)
    inspect  show what a dataset or task holds

    \b
    ernie-corpus ingest ../shared/data/enwiki_xml --out data/docs
    ernie-corpus vocab data/docs --out data/vocab --vocab-size 30000
    ernie-corpus build --task all --docs data/docs --vocab data/vocab --out data/tasks
    ernie-corpus inspect data/tasks/sentence_reorder
    """


@main.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "out_dir", required=True, metavar="DIR|URI",
              help="Output dataset directory, or a pyarrow filesystem URI (s3://, gs://, hdfs://, file://): "
                   "on a Ray cluster, shared storage that every node can write.")
@click.option("--format", "fmt", type=click.Choice(["auto", *FORMATS]), default="auto", show_default=True,
              help="Input format; auto detects it from each file's name and content.")
@click.option("--lang", default="auto", show_default=True, metavar="auto|en|zh|en,zh",
              help="Languages to keep (auto: en and zh). Each document's language is identified (Han script, "
                   "else py3langid); the others are counted as dropped: lang, by language in dropped_lang. "
                   "Where the language is known (a wiki dump's xml:lang, or one language here), a word check "
                   "confirms it and py3langid sees a sample and the rest (counted under lang_check).")
@parallel_options
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
@click.option("--text-field", default="text", show_default=True,
              help="jsonl: the field holding the text; tsv/csv: the column name in the header, or a 0-based "
                   "index for a file without a header (label<TAB>text: --text-field 1).")
@click.option("--source", default=None, help="text/jsonl: the source label stored with each document.")
@click.option("--shard-size", type=click.IntRange(1), default=5000, show_default=True,
              help="Input records per shard, within one unit of work (fixes the layout; keep it when resuming).")
@click.option("--unit-bytes", type=click.IntRange(1), default=16 << 20, show_default=True,
              help="Work unit size: large JSON-lines/text files are cut into ranges of this many bytes at line "
                   "breaks, multistream .xml.bz2 dumps into runs of bz2 streams (fixes the layout, not the "
                   "worker count; keep it when resuming).")
@click.option("--max-line-chars", type=click.IntRange(1024), default=DEFAULT_MAX_LINE_CHARS, show_default=True,
              help="Longer input lines are rejected without being held in memory.")
@click.option("--max-sentence-chars", type=click.IntRange(16), default=1000, show_default=True,
              help="Longer sentences (text without punctuation) are cut at a clause break or a space near the "
                   "bound, in Chinese at a character; the cuts are counted as forced_splits.")
@click.option("--force", is_flag=True,
              help="Read inputs that look binary (mostly invalid UTF-8, NUL or control bytes).")
@decontamination_options("--decontaminate")
@click.option("--quiet", is_flag=True, help="No progress bar or summary.")
def ingest(inputs, out_dir, fmt, lang, parallel, resume, overwrite, nfkc, t2s, dedup, near_dedup, dedup_threshold,
           spacy_model, zh_splitter, reddit_threads, titles, text_unit, text_field, source, shard_size,
           unit_bytes, max_line_chars, max_sentence_chars, force, against, granularity, ngram_en, ngram_zh, quiet) -> None:
    """Ingest raw corpora into a typed, deduplicated Arrow dataset.

    \b
    INPUT is a file or a directory (read recursively, in sorted order):
      wiki-xml       Wikipedia pages-articles XML (.xml, .bz2, .gz, .zst)
      wikiextractor  WikiExtractor output (--json lines or <doc> files)
      books          Project Gutenberg / BookCorpus plain-text books
      reddit         Pushshift RC/RS dumps (JSON lines; plain, .bz2, .zst)
      dureader, clicklog, sogouq   search logs -> a searchlog dataset
      text, jsonl    your own corpora, one document per line/block/object
      tsv, csv       one document per row, the text in --text-field (name or index)

    \b
    Each worker reads, cleans and writes its own unit of the inputs: a file, a range of lines of a large
    file, or bz2 streams of a multistream Wikipedia dump (located through its -index.txt.bz2); then
    duplicates are found across all units (the first in input order is kept) and removed.
    --reddit-threads reads all Reddit inputs as one unit (a thread's comments may be in any file).

    \b
    OUT gets part-NNNNN.arrow shards, manifest.json, stats.json and rejects.jsonl.
    --decontaminate EVAL_FILE removes documents holding eval-set text (see `decontaminate --help`).

    \b
    Example:
      ernie-corpus ingest ../shared/data/enwiki_xml --out data/docs-en --workers 2
    """
    from corpus_tools.ingest.ingest import IngestConfig, ingest as run_ingest
    from corpus_tools.run.shards import arrow_without_pandas

    arrow_without_pandas()  # ingest gives pyarrow no pandas objects: pandas is not imported

    from corpus_tools.text.lang import parse_langs

    try:
        parse_langs(lang)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--lang") from None
    decontaminate = None
    if against:
        from corpus_tools.decontam.decontaminate import DecontaminationConfig, eval_sets

        decontaminate = eval_sets(against, DecontaminationConfig(granularity, ngram_en, ngram_zh))
    config = IngestConfig(
        fmt=fmt,
        text=TextSettings(lang=lang, nfkc=nfkc, t2s=t2s, spacy_model=spacy_model,
                          zh_splitter=zh_splitter, max_sentence_chars=max_sentence_chars,
                          dedup=DedupConfig(exact=dedup, near=dedup and near_dedup, threshold=dedup_threshold),
                          decontaminate=decontaminate),
        read=ReadOptions(max_line_chars=max_line_chars, reddit_threads=reddit_threads, titles=titles,
                         text_unit=text_unit, text_field=text_field, source=source, force=force),
        shard_size=shard_size, unit_bytes=unit_bytes)
    started = time.monotonic()
    with progress_bar("[bold]ingest", quiet) as bar:
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

        result = run_ingest(inputs, out_dir, config, parallel, overwrite=overwrite, resume=resume, progress=update)
    if not quiet:
        _print_summary(result)
    for line in result.errors:
        err.print(f"[red]error:[/] {escape(line)}", highlight=False, soft_wrap=True)
    if result.errors:
        sys.exit(1)


def _print_summary(result) -> None:
    from rich.table import Table

    stats = result.stats
    table = Table(title=f"{result.kind} -> {result.out}", show_header=False)
    table.add_row("records read", f"{stats.get('records', 0):,}")
    table.add_row("kept", f"{stats.get('kept', 0):,} in {stats['shards']} shard(s)")
    for group in ("lang", "lang_check", "source", "dropped", "dropped_lang", "dedup", "rejected", "decontaminated"):
        for key, value in stats.get(group, {}).items():
            table.add_row(f"{group}: {key}", f"{value:,}")
    for name, counts in stats.get("decontamination", {}).get("eval", {}).items():
        table.add_row(f"eval: {name}", f"{counts['documents_removed']:,} documents, {counts['sentences_removed']:,} sentences")
    if stats.get("forced_splits"):
        table.add_row("sentences cut at --max-sentence-chars", f"{stats['forced_splits']:,}")
    if stats.get("utf8_replaced"):
        table.add_row("invalid UTF-8 bytes replaced", f"{stats['utf8_replaced']:,}")
    err.print(table)


@main.command()
@click.argument("docs", type=click.Path(path_type=Path))
@click.option("--out", "out_dir", required=True, metavar="DIR|URI",
              help="Output dataset directory, or a pyarrow filesystem URI (s3://, gs://, hdfs://, file://): "
                   "on a Ray cluster, shared storage that every node can write.")
@decontamination_options("--against", required=True)
@parallel_options
@click.option("--overwrite", is_flag=True, help="Replace an existing output directory.")
@click.option("--quiet", is_flag=True, help="No progress bar or summary.")
def decontaminate(docs, out_dir, against, granularity, ngram_en, ngram_zh, parallel, overwrite, quiet) -> None:
    """Remove fine-tuning eval-set text from a documents dataset (DOCS -> OUT).

    \b
    EVAL_FILE (--against, repeatable) is an eval set as the fine-tuner reads it, with a header:
      .tsv/.txt  GLUE-style TSV (sentence, text_a/text_b, sentence1/sentence2, question,
                 MRPC's "#1 String"/"#2 String", ...), or the NER layout (text_a of
                 space-separated characters + label of BIO tags)
      .csv       the same columns, CSV quoting
      .jsonl     one object per line with such fields

    \b
    A document goes if it shares an n-gram with an eval text: n words for English (--ngram-en,
    13 as in GPT-3), n characters for Chinese (--ngram-zh, 20: about 13 words). Eval texts
    shorter than n are compared whole with each sentence and paragraph. Comparison is after
    ingest's normalization, lower-cased, Traditional Chinese as Simplified, punctuation ignored.
    --granularity sentence removes only the sentences holding eval text.

    \b
    OUT is a documents dataset like ingest's; stats.json counts the documents and sentences
    removed per eval file, with examples (doc_id, the n-gram, eval file:line).

    \b
    Example:
      ernie-corpus decontaminate data/docs --against glue/SST-2/dev.tsv --against clue/dev.tsv --out data/docs-clean
    """
    from corpus_tools.run.dataset import dataset_kind
    from corpus_tools.decontam.decontaminate import DecontaminationConfig, decontaminate as run, eval_sets

    config = DecontaminationConfig(granularity=granularity, ngram_en=ngram_en, ngram_zh=ngram_zh)
    eval_sets(against, config)  # bad eval files and inputs fail in one line before the progress bar
    if dataset_kind(docs) != "documents":
        raise InputError(f"{docs}: not a documents dataset; decontaminate reads ingest's documents output")
    with progress_bar("[bold]decontaminate", quiet) as bar:
        task = bar.add_task("decontaminate", total=None, info="")

        def update(done: int, total: int) -> None:
            bar.update(task, total=total, completed=done, info=f"{done:,}/{total:,} documents")
            bar.refresh()

        result = run(docs, out_dir, list(against), config, parallel, overwrite=overwrite, progress=update)
    if not quiet:
        from rich.table import Table

        stats = result.stats
        table = Table(title=f"decontaminate -> {result.out}", show_header=False)
        table.add_row("documents read", f"{stats.get('records', 0):,}")
        table.add_row("kept", f"{stats.get('kept', 0):,} in {stats['shards']} shard(s)")
        for name, counts in stats["decontamination"]["eval"].items():
            table.add_row(f"removed: {name}", f"{counts['documents_removed']:,} documents, "
                                              f"{counts['sentences_removed']:,} sentences")
        err.print(table)


@main.command()
@click.argument("datasets", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "out_dir", required=True, metavar="DIR|URI",
              help="Output dataset directory, or a pyarrow filesystem URI (s3://, gs://, hdfs://, file://): "
                   "on a Ray cluster, shared storage that every node can write.")
@click.option("--against", multiple=True, type=click.Path(path_type=Path), metavar="DATASET",
              help="A documents dataset deduplicated before (repeatable): its documents count as kept and come "
                   "first; it is not rewritten.")
@click.option("--exact/--no-exact", default=True, show_default=True, help="Remove exact duplicates (same text).")
@click.option("--near/--no-near", default=True, show_default=True, help="Remove MinHash LSH near-duplicates.")
@click.option("--dedup-threshold", type=click.FloatRange(0.1, 0.95), default=0.8, show_default=True,
              help="Jaccard similarity at which a document is a near-duplicate (as ingest's).")
@parallel_options
@click.option("--overwrite", is_flag=True, help="Replace an existing output directory.")
@click.option("--quiet", is_flag=True, help="No progress bar or summary.")
def dedup(datasets, out_dir, against, exact, near, dedup_threshold, parallel, overwrite, quiet) -> None:
    """Deduplicate documents datasets together (DATASETS... -> OUT).

    \b
    For datasets ingested apart, e.g. several sources or months of one dump: the documents are
    judged in the order given (dataset, shard, row), as ingest judges its input, and a document
    goes if an earlier kept one has its doc_id, its exact text, or a near-duplicate text (MinHash
    LSH at --dedup-threshold; the first document of each group is kept). With --against, the
    earlier datasets' documents are kept and judged first: a new dump against the old ones.

    \b
    OUT is a documents dataset with one shard per input shard; stats.json counts what was
    removed, by reason, with examples (doc_id, duplicate_of, similarity).
    The work is spread over --workers (or Ray) in bounded memory per worker: signatures per
    shard, LSH buckets by band, duplicate pairs, then the removal per shard. The steps exchange
    files under OUT/.state: on a Ray cluster, OUT must be storage every node sees. DATASETS and
    --against are local directories (their manifests and shards are read from this file system:
    on a cluster, a shared one, mounted at the same path on every node). Where ingest kept its
    signature tables (DATASET/.state) and they match the settings and shards, they are reused.

    \b
    Example:
      ernie-corpus dedup data/docs-2024-01 data/docs-2024-02 --out data/docs-2024 --workers 4
      ernie-corpus dedup data/docs-2024-03 --against data/docs-2024 --out data/docs-2024-03-new
    """
    from corpus_tools.run.dataset import dataset_kind
    from corpus_tools.dedup.datasets import dedup as run

    for dataset in (*datasets, *against):
        if dataset_kind(dataset) != "documents":
            raise InputError(f"{dataset}: not a documents dataset; dedup reads ingest's documents output")
    config = DedupConfig(exact=exact, near=near, threshold=dedup_threshold)
    with progress_bar("[bold]dedup", quiet) as bar:
        task = bar.add_task("dedup", total=None, info="")

        def update(step: str, done: int, total: int) -> None:
            bar.update(task, total=total, completed=done, info=f"{step} {done:,}/{total:,}")
            bar.refresh()

        result = run(list(datasets), out_dir, list(against), config, parallel, overwrite=overwrite, progress=update)
    if not quiet:
        from rich.table import Table

        stats = result.stats
        table = Table(title=f"dedup -> {result.out}", show_header=False)
        table.add_row("documents read", f"{stats.get('records', 0):,}")
        table.add_row("kept", f"{stats.get('kept', 0):,} in {stats['shards']} shard(s)")
        for reason, count in stats.get("dedup", {}).items():
            table.add_row(f"removed: {reason}", f"{count:,}")
        err.print(table)


@main.command()
@click.argument("docs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path), help="Output vocab directory.")
@click.option("--vocab-size", type=click.IntRange(100), default=30000, show_default=True)
@click.option("--cased", is_flag=True, help="Keep case (default: lower-cased, accents stripped, as BERT uncased).")
@click.option("--min-frequency", type=click.IntRange(1), default=2, show_default=True)
@click.option("--overwrite", is_flag=True, help="Replace an existing vocab directory.")
def vocab(docs, out_dir, vocab_size, cased, min_frequency, overwrite) -> None:
    """Train a BERT WordPiece vocab on documents datasets (DOCS...).

    English, Chinese (every CJK character its own word, as in BERT-Chinese) and mixed corpora.
    Writes tokenizer.json, vocab.txt and vocab.json (with the sha256 fingerprint every task
    shard records). `build` also takes an existing BERT/ERNIE vocab.txt instead.
    """
    from itertools import chain

    from corpus_tools.run.dataset import iter_sentences
    from task_builders.vocab import train_vocab

    with err.status("training WordPiece vocab"):
        result = train_vocab(chain.from_iterable(iter_sentences(d) for d in docs), out_dir, vocab_size=vocab_size,
                             cased=cased, min_frequency=min_frequency, overwrite=overwrite,
                             source={"docs": [str(Path(d).resolve()) for d in docs]})
    err.print(f"vocab: {result.size:,} tokens, {'lower-cased' if result.lowercase else 'cased'}, "
              f"fingerprint {result.fingerprint[:16]}… -> {escape(str(out_dir))}")


class TaskListCommand(click.Command):
    """`build`: its help lists the registered tasks (plugins included) where it says {tasks}, and its
    task options (one flag per field of each task's Settings, before --quiet) are made when the command
    is used: reading the registry imports every task module (0.07 s), which no other command needs."""

    def get_params(self, ctx):
        if not getattr(self, "_has_task_options", False):
            from corpus_tools.tasks.options import task_params

            at = next(i for i, param in enumerate(self.params) if param.name == "quiet")
            self.params[at:at] = task_params()
            self._has_task_options = True
        return super().get_params(ctx)

    def format_help_text(self, ctx, formatter) -> None:
        if self.help and "{tasks}" in self.help:
            from corpus_tools.tasks.options import task_summaries

            tasks = task_summaries()
            width = max(len(name) for name, _ in tasks) + 2
            indent = self.help[:self.help.index("{tasks}")].rsplit("\n", 1)[-1]  # the placeholder's
            self.help = self.help.replace("{tasks}", f"\n{indent}".join(f"{name:<{width}}{summary}"
                                                                         for name, summary in tasks))
        super().format_help_text(ctx, formatter)


@main.command(cls=TaskListCommand)
@click.option("--task", "tasks", multiple=True, required=True, metavar="NAME|all",
              help="A task to build (repeatable), or `all` for every task that applies to the input (but review_rating "
                   "and other tasks of one kind of corpus, built when named).")
@click.option("--docs", multiple=True, required=True, type=click.Path(path_type=Path),
              help="A documents dataset (a searchlog dataset for ir_relevance); repeatable.")
@click.option("--vocab", "vocab_path", required=True, type=click.Path(path_type=Path),
              help="A vocab directory from `ernie-corpus vocab`, or a BERT/ERNIE vocab.txt.")
@click.option("--out", "out_dir", required=True, metavar="DIR|URI",
              help="Shards go to OUT/<task>/; OUT may be a filesystem URI (s3://, gs://, hdfs://, file://).")
@click.option("--max-seq-len", type=click.IntRange(16, 8192), default=512, show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@parallel_options
@click.option("--resume", is_flag=True, help="Keep finished shards (the vocab and settings must be the same).")
@click.option("--overwrite", is_flag=True, help="Replace existing task directories.")
@click.option("--opt", "opts", multiple=True, metavar="KEY=VALUE",
              help="A task option by name, as its flag below would set it (max_segments=4); repeatable.")
@click.option("--quiet", is_flag=True, help="No progress bar or summary.")
def build(tasks, docs, vocab_path, out_dir, max_seq_len, seed, parallel, resume, overwrite, opts, quiet,
          **options) -> None:
    """Build ERNIE 2.0 task shards: OUT/<task>/part-NNNNN.arrow + manifest.json + stats.json.

    \b
    Tasks (labels; the metadata of every shard carries names, class counts and tables):
      {tasks}

    \b
    A plugin task (a package with an `ernie.tasks` entry point, or a module named in
    ERNIE_TASKS=package.module) builds the same way, and its options appear below. Each
    option applies to the tasks named in its help.

    \b
    Example:
      ernie-corpus build --task all --docs data/docs --docs data/searchlog --vocab data/vocab --out data/tasks
    """
    from corpus_tools.tasks.build import build as run_build
    from corpus_tools.tasks.options import parse_opts
    from task_builders import registry
    from task_builders.base import BuildSettings

    names = list(dict.fromkeys(tasks))
    if "all" in names and len(names) > 1:
        raise click.UsageError("--task all builds every task; do not combine it with task names")
    known = registry.available()
    unknown = [t for t in names if t != "all" and t not in known and "." not in t]
    if unknown:
        raise click.UsageError(f"unknown task {unknown[0]!r}; choose from all, {', '.join(known)}")
    given = {k: v for k, v in options.items() if v is not None}
    settings = BuildSettings(max_seq_len=max_seq_len, seed=seed, **{**given, **parse_opts(opts)})
    with progress_bar("[bold]{task.description}", quiet) as bar:
        bars: dict[str, int] = {}
        last = [0.0]

        def update(p) -> None:
            if p.task not in bars:
                bars[p.task] = bar.add_task(p.task, total=p.rows_total or None, info="")
            task_bar = bars[p.task]
            seconds = max(time.monotonic() - p.started, 1e-6)
            bar.update(task_bar, completed=p.rows_done,
                       info=f"{p.examples:,} examples  {p.examples / seconds:,.0f} ex/s  {p.tokens / seconds:,.0f} tok/s")
            now = time.monotonic()
            if now - last[0] > 0.1 or p.rows_done == p.rows_total:
                bar.refresh()
                last[0] = now

        results = run_build(names, list(docs), vocab_path, out_dir, settings, parallel, resume=resume,
                            overwrite=overwrite, progress=update)
    if not quiet:
        from rich.table import Table

        table = Table(title=f"tasks -> {out_dir}")
        for column in ("task", "examples", "labels", "dropped / skipped"):
            table.add_column(column)
        for r in results:
            if r.skipped:
                table.add_row(r.task, "-", "-", f"skipped: {r.skipped}")
                continue
            labels = ", ".join(f"{k} {v:,}" for k, v in list(r.stats.get("label", {}).items())[:6])
            dropped = ", ".join(f"{k} {v:,}" for group in ("dropped", "skipped")
                                for k, v in r.stats.get(group, {}).items())
            table.add_row(r.task, f"{r.stats.get('examples', 0):,}", labels, dropped)
        err.print(table)


@main.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--rows", type=click.IntRange(0), default=3, show_default=True, help="Sample records to show.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--validate/--no-validate", "check", default=True, show_default=True,
              help="Check every shard: schema, metadata, vocab fingerprint, label and id ranges.")
@click.option("--vocab", "vocab_path", type=click.Path(path_type=Path), default=None,
              help="Task shards: the vocab to decode with and check against (default: the one recorded).")
def inspect(path, rows, as_json, check, vocab_path) -> None:
    """Show what a dataset holds: schema, metadata, counts and sample records.

    PATH is a dataset directory (documents, searchlog or one task) or one .arrow shard. For
    task shards the examples are decoded: spans bracketed, permutations decoded, markers named,
    labels spelled out, with label histograms. Shards also open directly with pyarrow
    (pa.ipc.open_stream), polars (pl.read_ipc_stream) or datasets.Dataset.from_file.
    """
    from corpus_tools.run.dataset import dataset_kind
    from corpus_tools.show.inspect import summarize
    from corpus_tools.show.inspect_tasks import summarize_task
    from corpus_tools.show.render import render_summary, render_task

    is_task = dataset_kind(path) not in ("documents", "searchlog")
    summary = summarize_task(path, rows, check, vocab_path) if is_task else summarize(path, rows=rows, check=check)
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=2, default=str))
    elif is_task:
        render_task(out.console, summary)
    else:
        render_summary(out.console, summary)


@main.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The HTML file to write (charts inline: it opens from disk, no server).")
@click.option("--vocab", "vocab_path", type=click.Path(path_type=Path), default=None,
              help="Task shards: the vocab to decode examples with (default: the one recorded).")
@click.option("--overwrite", is_flag=True, help="Replace an existing report file.")
def report(path, out_file, vocab_path, overwrite) -> None:
    """Write a static HTML report about a dataset (documents, searchlog or one task).

    \b
    It shows length histograms (characters, sentences, words; tokens per task example),
    languages and sources, drop and reject reasons from stats.json, markup residue left in
    the text ({{, [[, |px, HTML tags, escape sequences, word/TAG patterns) with examples, and
    for tasks the class balance, positive rates and 5 decoded examples per class.

    \b
    Example:
      ernie-corpus report out/demo/documents-en --out documents-en.html
    """
    from corpus_tools.show.report import write_report

    with err.status("collecting the report"):
        result = write_report(path, out_file, overwrite=overwrite, vocab=vocab_path)
    residue = sum(r["hits"] for r in result["residue"].values())
    err.print(f"report: {result['rows']:,} records, {residue:,} markup residue hits -> {out_file}")


if __name__ == "__main__":
    main()
