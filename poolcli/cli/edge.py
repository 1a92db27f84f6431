"""The edge of the command line: the one place that catches errors and decides exit statuses.

Every command runs its body through :func:`run_guarded`, and the app's group
(:class:`PoolcliGroup`) prints usage errors, so that every failure reads the same::

    poolcli: error: --kernel must be positive, got 0.
    Try 'poolcli max --help' for its options.

Exit statuses are :class:`poolcli.errors.ExitStatus`: 0 all inputs done, 1 an input failed,
2 the call is wrong whatever the inputs, 128 + the signal when stopped (130 for Ctrl-C).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from typing import NoReturn

import typer
from typer.core import TyperGroup

from poolcli.errors import (
    ExitStatus,
    UsageError,
    error_line,
    internal_error,
    interrupted_status,
    raise_on_signals,
)

THEN = "--then"


def _click_class(name: str) -> type:
    # Typer re-exports only BadParameter from its (vendored) Click; its bases are the classes
    # Click raises for every usage problem.
    return next(c for c in typer.BadParameter.__mro__ if c.__name__ == name)


ClickException = _click_class("ClickException")
ClickUsageError = _click_class("UsageError")


def usage_message(error: Exception) -> str:
    """A Click usage error in poolcli's words: one sentence, the closest option suggested."""
    possibilities = sorted(getattr(error, "possibilities", None) or ())
    name = getattr(error, "option_name", None)
    if name and type(error).__name__ == "NoSuchOption":
        if possibilities:
            return f"no such option {name}; did you mean {' or '.join(possibilities)}?"
        return f"no such option {name}."
    message = error.format_message().strip()
    return message if message.endswith((".", "?", "!")) else message + "."


def show_usage_error(error: Exception) -> None:
    """Print a usage error, and where the help is, on standard error."""
    if type(error).__name__ == "NoArgsIsHelpError":
        error.show()  # a command given nothing prints its help
        return
    typer.echo(error_line(usage_message(error)), err=True)
    ctx = getattr(error, "ctx", None)
    if ctx is not None:
        typer.echo(f"Try '{ctx.command_path} --help' for its options.", err=True)


class PoolcliGroup(TyperGroup):
    """Typer's command group: ``--then`` steps cut off first, usage errors in poolcli's style.

    Help keeps Typer's rich panels.
    """

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            args = help_args(list(sys.argv[1:] if args is None else args))
            if THEN in args:
                # Later steps of a chain: cut them off before Click parses the first command.
                from poolcli.model.steps import split_then

                try:
                    args, then = split_then(args)
                except UsageError as error:
                    raise ClickUsageError(str(error)) from None
                extra["obj"] = {"then": tuple(then)}
            status = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except ClickUsageError as error:
            show_usage_error(error)
            status = error.exit_code
        except ClickException as error:
            error.show()
            status = error.exit_code
        except typer.Abort:
            status = ExitStatus.ERROR
        sys.exit(int(status or 0))


HELP = "help"


def help_args(args: list[str]) -> list[str]:
    """``poolcli help CMD`` as ``poolcli CMD --help``, and ``poolcli help`` as ``--help``.

    >>> help_args(["help", "max"]), help_args(["help"]), help_args(["max", "help"])
    (['max', '--help'], ['--help'], ['max', 'help'])
    """
    if args[:1] != [HELP]:
        return args
    return [*args[1:2], "--help"]


def usage_error(ctx: typer.Context, error: UsageError) -> Exception:
    """A UsageError as Click's, so that the group prints it with its hint and exits 2."""
    return ClickUsageError(str(error), ctx=ctx)


def show_debug_log() -> None:
    """With --debug, poolcli's own log lines (such as why compiled kernels are off) go to
    standard error."""
    logger = logging.getLogger("poolcli")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("poolcli: debug: %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)


def run_guarded(ctx: typer.Context, debug: bool, body: Callable[[], int]) -> NoReturn:
    """Run a command's ``body`` and turn what happens into the exit status: the one place.

    A UsageError is a usage message (2); a stop is 128 + its signal (130 for Ctrl-C); a
    closed standard output ends quietly (1); anything unexpected is one line saying it is a
    bug (1), or its traceback with --debug.
    """
    raise_on_signals()
    if debug:
        show_debug_log()
    try:
        try:
            status = body()
        except UsageError as error:
            raise usage_error(ctx, error) from None
    except KeyboardInterrupt as stop:
        typer.echo("poolcli: interrupted.", err=True)
        raise typer.Exit(interrupted_status(stop)) from None
    except BrokenPipeError:
        # The reader of standard output went away (| head): nothing more to say to it.
        drop_stdout()
        raise typer.Exit(ExitStatus.ERROR) from None
    except (typer.Exit, ClickException):
        raise
    except Exception as error:
        if debug:
            raise
        typer.echo(error_line(internal_error(None, error)), err=True)
        raise typer.Exit(ExitStatus.ERROR) from None
    raise typer.Exit(int(status))


def worst(statuses) -> ExitStatus:
    """The exit status of several inputs: a wrong call over a failure over success."""
    rank = {ExitStatus.OK: 0, ExitStatus.ERROR: 1, ExitStatus.USAGE: 2}
    return max(statuses, key=lambda status: rank.get(status, 3), default=ExitStatus.OK)


def drop_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null so the final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, AttributeError, ValueError):  # no real file descriptor (tests)
        pass
