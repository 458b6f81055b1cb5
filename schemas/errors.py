"""The errors every layer raises for bad input, output or shards: str() is the one line a CLI
prints. They live in schemas, the package everything may import, so that task builders, the
corpus tools and the trainer raise and catch the same classes without importing each other."""
from __future__ import annotations


class InputError(Exception):
    """A problem with an input file; str() is the one line the CLI prints."""


class OutputError(Exception):
    """A problem with the output directory; str() is the one line the CLI prints."""


class SchemaError(ValueError):
    """A shard does not match its declared schema; the message is one line."""
