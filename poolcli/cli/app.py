"""The ``poolcli`` Typer app: every command, ``--version``, and the entry point."""

import sys
from collections.abc import Callable
from typing import Annotated

import typer

from poolcli.cli import analysis, learn, pyramid, unpool
from poolcli.cli.edge import HELP, PoolcliGroup
from poolcli.cli.reduce import add_reduction_commands
from poolcli.cli.server import server_app
from poolcli.errors import interrupted_status, stop_on_signals
from poolcli.version import __version__

APP_SETTINGS = dict(
    cls=PoolcliGroup,
    name="poolcli",
    pretty_exceptions_enable=False,
    add_completion=True,
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)
app = typer.Typer(**APP_SETTINGS)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"poolcli {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Pool images and .npy arrays: max, avg, min, sum, lp, median, stochastic, mode, gem.

    Example: poolcli max photo.png -k 2 -o half.png

    Example: poolcli avg x.npy -k 3 -s 1 -p same

    Help on one command: poolcli help max (or poolcli max --help).

    Tab completion for bash, zsh or fish: poolcli --install-completion.
    """


add_reduction_commands(app)
learn.add_commands(app)
analysis.add_commands(app)
unpool.add_commands(app)
pyramid.add_commands(app)
app.add_typer(server_app, rich_help_panel="Warm engine")


def main() -> None:
    """Entry point of the ``poolcli`` script and ``python -m poolcli``."""
    stop_on_signals()
    if sys.argv[1:] == [HELP, "batch"]:
        sys.exit(_batch_help())
    try:
        built = _BUILT.get(_command_name(sys.argv[1:]), _BUILT.get(None))
        (built or _app_for(sys.argv[1:]))(prog_name="poolcli")
    except KeyboardInterrupt as stop:
        typer.echo("poolcli: interrupted.", err=True)
        sys.exit(interrupted_status(stop))


def _batch_help() -> int:
    """``poolcli help batch``: the batch options, which each command's help leaves out."""
    from rich.console import Console

    from poolcli.model.batch_flags import BATCH_FLAGS
    from poolcli.model.flag import BATCH
    from poolcli.render.flag_help import BATCH_INTRO, options_panel

    flags = [flag for flag in BATCH_FLAGS if flag.panel == BATCH]
    Console().print(options_panel("Batch", BATCH_INTRO, flags))
    return 0


def _command_name(argv: list[str]) -> str | None:
    """The command that ``argv`` names (``poolcli help CMD`` names CMD), if any."""
    name = argv[0] if argv else None
    return argv[1] if name == HELP and len(argv) > 1 else name


#: Click commands built ahead of time, by name (``None``: the whole app).
_BUILT: dict[str | None, Callable[..., object]] = {}


def build_ahead() -> None:
    """Build every command's Click command now, as Typer would on each call (5 to 15 ms).
    The warm server does this once, so that its children only parse and run."""
    for name in (None, *(info.name for info in app.registered_commands)):
        _BUILT[name] = typer.main.get_command(_app_for([name] if name else []))


def _app_for(argv: list[str]) -> typer.Typer:
    """The app, holding only the command that ``argv`` names when it names one.

    Typer builds every command's options before running one; with a single command it builds
    a thirteenth of them, which takes about 0.1 s off every call. Help, errors and behaviour
    are the same.
    """
    chosen = [info for info in app.registered_commands if info.name == _command_name(argv)]
    if not chosen:
        return app
    single = typer.Typer(**APP_SETTINGS)
    single.registered_callback = app.registered_callback
    single.registered_commands = chosen
    return single
