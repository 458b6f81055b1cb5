"""The error handling both command lines share (`ernie-corpus`, `ernie-train`): every failure is
one line on stderr and an exit code, never a traceback."""
from __future__ import annotations

import os
import sys

import click
from rich.console import Console
from rich.markup import escape

from schemas.errors import InputError, OutputError, SchemaError

err = Console(stderr=True)


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
