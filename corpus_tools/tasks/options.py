"""`build`'s task options, made from the Settings dataclasses of the registered tasks (the seven
and any plugin): one flag per field (max_segments -> --max-segments, help and bounds from the
field's metadata), and `--opt key=value` for any of them; and the list of tasks `build --help`
shows, from the same registry."""
from __future__ import annotations

import dataclasses
import typing
from typing import Any, Callable

import click

from schemas.errors import InputError
from schemas.tasks import PAPER_TASKS
from task_builders import registry
from task_builders.base import own_fields


@dataclasses.dataclass
class TaskOption:
    name: str
    type: click.ParamType
    help: str
    metavar: str | None
    tasks: list[str]


class CommaList(click.ParamType):
    """LABEL,LABEL,... -> a tuple of the non-empty items."""

    name = "list"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        return tuple(item.strip() for item in str(value).split(",") if item.strip())


def _click_type(field: dataclasses.Field, hint: Any) -> click.ParamType:
    meta = field.metadata
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    base = args[0] if typing.get_origin(hint) is typing.Union and len(args) == 1 else hint
    if meta.get("path"):
        return click.Path(exists=True, dir_okay=meta["path"] == "dir", file_okay=meta["path"] == "file")
    if base is bool:
        return click.BOOL
    if base is int:
        return click.IntRange(meta.get("min"), meta.get("max"))
    if base is float:
        return click.FloatRange(meta.get("min"), meta.get("max"), max_open=meta.get("max_open", False))
    if typing.get_origin(base) is tuple:
        return CommaList()
    return click.STRING


def task_options() -> dict[str, TaskOption]:
    """Every option of every task that loads here, by field name (tasks sharing a name share the flag)."""
    options: dict[str, TaskOption] = {}
    try:
        names = list(registry.available())
    except InputError:  # a broken module in ERNIE_TASKS: the paper tasks' options still work
        names = list(PAPER_TASKS)
    for name in names:
        try:
            module = registry.load(name)
        except InputError:
            continue  # a broken plugin: `build --task NAME` reports why
        hints = typing.get_type_hints(module.Settings)
        for field in own_fields(module.Settings):
            if field.name == "langs":  # filled by build from the input
                continue
            if field.name in options:
                options[field.name].tasks.append(name)
                continue
            default = field.default if field.default is not dataclasses.MISSING else None
            text = field.metadata.get("help", "")
            if default is not None:
                text += f"  [default: {','.join(default) if isinstance(default, tuple) else default}]"
            options[field.name] = TaskOption(field.name, _click_type(field, hints[field.name]), text,
                                             field.metadata.get("metavar"), [name])
    return options


def task_params() -> list[click.Option]:
    """One flag per task option, default None (the task's own default applies)."""
    return [click.Option([f"--{option.name.replace('_', '-')}", option.name], type=option.type, default=None,
                         metavar=option.metavar, help=f"{'/'.join(option.tasks)}: {option.help}")
            for option in task_options().values()]


def parse_opts(values: tuple[str, ...], ctx: click.Context | None = None) -> dict[str, Any]:
    """--opt key=value pairs, each value checked and converted as its flag would be."""
    options = task_options()
    parsed = {}
    for value in values:
        key, sep, text = value.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise click.BadParameter(f"{value!r}: use KEY=VALUE, e.g. max_segments=4", param_hint="--opt")
        if key not in options:
            raise click.BadParameter(f"{key!r} is no task option; options: {', '.join(sorted(options))}",
                                     param_hint="--opt")
        parsed[key] = options[key].type.convert(text, None, ctx)
    return parsed


def task_summaries() -> list[tuple[str, str]]:
    """(name, one line on its labels) of every registered task, in the registry's order: its SUMMARY,
    else the first line of its docstring without the leading "name:"."""
    try:
        names = list(registry.available())
    except InputError:
        names = list(PAPER_TASKS)
    out = []
    for name in names:
        try:
            module = registry.load(name)
        except InputError as exc:
            out.append((name, f"(cannot be loaded: {exc})"))
            continue
        summary = getattr(module, "SUMMARY", None)
        if not summary:
            first = (module.__doc__ or "").strip().splitlines()[:1]
            summary = first[0].removeprefix(f"{name}:").strip() if first else ""
        out.append((name, summary))
    return out
