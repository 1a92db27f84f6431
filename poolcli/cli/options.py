"""Commands built from the one option table (:mod:`poolcli.model.flags`).

:func:`add_command` turns a list of declared options into a Typer command whose arguments
arrive as one dictionary, and runs its body through the edge (:func:`poolcli.cli.edge.
run_guarded`), so that every command parses, documents and fails the same way.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from enum import Enum
from typing import Annotated, Any

import typer

from poolcli.cli.edge import run_guarded
from poolcli.model.flag import Flag
from poolcli.model.flags import FLAGS

#: A command's body: the Typer context and the values of its options, by name; returns the
#: exit status.
Body = Callable[[typer.Context, dict[str, Any]], int]


def annotation(flag: Flag) -> Any:
    """The Typer annotation of one declared option or argument."""
    if flag.argument:
        info = typer.Argument(metavar=flag.metavar, help=flag.help, show_default=False)
        return Annotated[flag.type, info]
    spellings = flag.flags
    if flag.negative is not None:
        spellings = (*spellings[:-1], f"{spellings[-1]}/{flag.negative}")
    extra: dict[str, Any] = {}
    if flag.metavar is not None:
        extra["metavar"] = flag.metavar
    if flag.minimum is not None:
        extra["min"] = flag.minimum
    if flag.maximum is not None:
        extra["max"] = flag.maximum
    if isinstance(flag.value_type, type) and issubclass(flag.value_type, Enum):
        extra["case_sensitive"] = False
    info = typer.Option(
        *spellings, help=flag.help, rich_help_panel=flag.panel, show_default=False, **extra
    )
    return Annotated[flag.type, info]


def add_command(
    app: typer.Typer,
    name: str,
    options: Sequence[str | Flag],
    body: Body,
    *,
    help: str,
    panel: str | None = None,
) -> None:
    """Register ``poolcli NAME`` with ``options`` (names in the table, or a command's own
    :class:`Flag`), running ``body`` through the edge."""
    declared = [FLAGS[o] if isinstance(o, str) else o for o in options]

    def command(ctx: typer.Context, **args: Any) -> None:
        run_guarded(ctx, bool(args.get("debug")), lambda: body(ctx, args))

    keyword = inspect.Parameter.POSITIONAL_OR_KEYWORD
    parameters = [inspect.Parameter("ctx", keyword, annotation=typer.Context)]
    for flag in declared:
        default = inspect.Parameter.empty if flag.default is ... else flag.default
        parameters.append(
            inspect.Parameter(flag.name, keyword, annotation=annotation(flag), default=default)
        )
    # Typer reads the signature and the annotations; one function serves every command.
    command.__signature__ = inspect.Signature(parameters)
    command.__annotations__ = {p.name: p.annotation for p in parameters}
    command.__name__ = name
    app.command(name, help=help, rich_help_panel=panel, no_args_is_help=True)(command)
