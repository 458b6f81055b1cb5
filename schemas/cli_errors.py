"""The error handling both command lines share (`ernie-corpus`, `ernie-train`): every failure is
one line on stderr and an exit code, never a traceback."""
from __future__ import annotations

import os
import sys

import click

from schemas.errors import InputError, OutputError, SchemaError


class LazyConsole:
    """A rich Console, made (and rich imported: 0.05 s) on first use, so that a command that prints
    nothing (`ingest --quiet`) never imports rich. Attributes are the Console's; `.console` is the
    Console itself, for what needs one (a Progress)."""

    def __init__(self, **options):
        self._options = options
        self._console = None

    @property
    def console(self):
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return self._console

    def __getattr__(self, name: str):
        return getattr(self.console, name)


def escape(text: str) -> str:
    """rich.markup.escape, imported on first use."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


err = LazyConsole(stderr=True)


class OneLineErrors(click.Group):
    """Turns every failure into one line on stderr and an exit code: 1 for bad data, config or
    output, 130 for Ctrl-C, 70 for a bug (set ERNIE_DEBUG=1 for the traceback)."""

    user_errors: tuple[type[Exception], ...] = (InputError, OutputError, SchemaError)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except self.user_errors as exc:
            err.print(f"[red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
            sys.exit(1)
        except KeyboardInterrupt:
            err.print("interrupted; rerun with --resume to continue")
            sys.exit(130)
        except Exception as exc:  # a bug: still one line unless debugging
            if os.environ.get("ERNIE_DEBUG"):
                raise
            err.print(f"[red]internal error:[/] {type(exc).__name__}: {escape(str(exc))} "
                      "(set ERNIE_DEBUG=1 for a traceback)",
                      highlight=False, soft_wrap=True)
            sys.exit(70)
