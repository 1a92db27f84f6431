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
from poolcli.model.flag import BATCH, Flag
from poolcli.model.flags import FLAGS

#: A command's body: the Typer context and the values of its options, by name; returns the
#: exit status.
Body = Callable[[typer.Context, dict[str, Any]], int]


def annotation(flag: Flag) -> Any:
    """The Typer annotation of one declared option or argument.

    Help stays narrow enough for 80 columns: an argument shows no ``<str>`` type, bounds
    are checked by a callback instead of printed as ``[1<=x<=100]``, and the ``--no-...``
    spelling of a boolean is a hidden option of its own (:func:`negative_parameter`).
    """
    if flag.argument:
        info = typer.Argument(
            metavar=flag.metavar, help=flag.help, show_default=False, click_type=_plain_type()
        )
        return Annotated[flag.type, info]
    extra: dict[str, Any] = {}
    if flag.metavar is not None:
        extra["metavar"] = flag.metavar
    if flag.minimum is not None or flag.maximum is not None:
        extra["callback"] = _bounds(flag)
    if isinstance(flag.value_type, type) and issubclass(flag.value_type, Enum):
        extra["case_sensitive"] = False
    if flag.panel == BATCH:  # listed by `poolcli help batch`: each command's help stays short
        extra["hidden"] = True
    info = typer.Option(
        *flag.flags, help=flag.help, rich_help_panel=flag.panel, show_default=False, **extra
    )
    return Annotated[flag.type, info]


def negative_parameter(flag: Flag) -> inspect.Parameter:
    """The hidden ``--no-...`` option of a boolean ``flag`` that has one; its value arrives
    as ``NAME__no`` and turns the option off."""
    info = typer.Option(flag.negative, hidden=True, show_default=False)
    return inspect.Parameter(
        f"{flag.name}__no",
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        annotation=Annotated[bool, info],
        default=False,
    )


def _bounds(flag: Flag):
    """A callback refusing a number outside ``flag``'s bounds, with Click's exit status 2."""

    def check(value):
        if value is None:
            return value
        low, high = flag.minimum, flag.maximum
        if (low is not None and value < low) or (high is not None and value > high):
            if low is not None and high is not None:
                want = f"from {low:g} to {high:g}"
            else:
                want = f"at least {low:g}" if low is not None else f"at most {high:g}"
            raise typer.BadParameter(f"{value} is not {want}.")
        return value

    return check


def _plain_type():
    """A text type that adds no ``<str>`` to the help of an argument (its metavar says it)."""
    try:
        from typer._click.types import StringParamType
    except ImportError:  # another Typer: its own rendering
        return None

    class Plain(StringParamType):
        def get_metavar(self, param, ctx=None):
            return ""

    return Plain()


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
        for flag in declared:
            if args.pop(f"{flag.name}__no", False):
                args[flag.name] = False
        run_guarded(ctx, bool(args.get("debug")), lambda: body(ctx, args))

    keyword = inspect.Parameter.POSITIONAL_OR_KEYWORD
    parameters = [inspect.Parameter("ctx", keyword, annotation=typer.Context)]
    for flag in declared:
        default = inspect.Parameter.empty if flag.default is ... else flag.default
        parameters.append(
            inspect.Parameter(flag.name, keyword, annotation=annotation(flag), default=default)
        )
        if flag.negative is not None:
            parameters.append(negative_parameter(flag))
    # Typer reads the signature and the annotations; one function serves every command.
    command.__signature__ = inspect.Signature(parameters)
    command.__annotations__ = {p.name: p.annotation for p in parameters}
    command.__name__ = name
    app.command(name, help=help, rich_help_panel=panel, no_args_is_help=True)(command)
