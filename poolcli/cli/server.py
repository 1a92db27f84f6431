"""``poolcli server start|status|stop``: the warm server, from the command line (the work is
:mod:`poolcli.client.control`'s)."""

from __future__ import annotations

from typing import Annotated

import typer

from poolcli.client.control import IDLE_TIMEOUT

server_app = typer.Typer(
    name="server",
    no_args_is_help=True,
    help=(
        "Keep torch loaded in a background server, so that every poolcli call starts at once.\n\n"
        "While it runs (start it with the start subcommand), every poolcli command of this "
        "user and installation is served by it, with the same output; POOLCLI_SERVER=off "
        "never uses it, POOLCLI_SERVER=auto starts it on first use.\n\n"
        "Example: poolcli server status"
    ),
)


def _place():
    from poolcli.client.place import Place, PlaceError

    try:
        place = Place()
        place.check()
    except PlaceError as error:
        typer.echo(f"poolcli: error: {error}", err=True)
        raise typer.Exit(1) from None
    return place


def _describe(facts: dict) -> str:
    return (
        f"poolcli server: running (pid {facts['pid']}, poolcli {facts['version']}), "
        f"{facts['running']} command(s) in progress, GPU: {'yes' if facts['gpu'] else 'no'}, "
        f"compiled kernels: {'loaded' if facts.get('kernel_worker') else 'not loaded'}, "
        f"idle timeout {facts['idle_timeout']:g} s.\nsocket: {facts['socket']}\n"
        f"log: {facts['log']}"
    )


@server_app.command()
def start(
    idle_timeout: Annotated[
        float,
        typer.Option(
            "--idle-timeout",
            min=1,
            metavar="SECONDS",
            help="Exit after this long without a command. Default: 900 (15 minutes).",
        ),
    ] = IDLE_TIMEOUT,
) -> None:
    """Start the server in the background (unless one runs) and wait until it is ready.

    Example: poolcli server start --idle-timeout 3600
    """
    from poolcli.client.control import start as start_server
    from poolcli.client.place import Place, PlaceError

    try:
        place = Place()
        facts = start_server(place, idle_timeout)
    except PlaceError as error:
        typer.echo(f"poolcli: error: {error}", err=True)
        raise typer.Exit(1) from None
    if facts is None:
        typer.echo(f"poolcli: error: the server did not start; see {place.log}.", err=True)
        raise typer.Exit(1)
    typer.echo(_describe(facts))


@server_app.command()
def status(
    json: Annotated[
        bool, typer.Option("--json", help="Print one JSON document: running, pid, paths...")
    ] = False,
) -> None:
    """Say whether a server runs: exit status 0 when one does, 1 when none does.

    Example: poolcli server status
    """
    from poolcli.client.control import status as server_status

    facts = server_status(_place())
    if json:
        import json as json_module

        document = {key: value for key, value in (facts or {}).items() if key != "running"}
        if facts is not None:  # the server's "running" counts its commands
            document["commands_in_progress"] = facts["running"]
        document = {"running": facts is not None, **document}
        typer.echo(json_module.dumps(document, indent=2, default=str))
    elif facts is not None:
        typer.echo(_describe(facts))
    else:
        typer.echo("poolcli server: not running.")
    if facts is None:
        raise typer.Exit(1)


@server_app.command()
def stop() -> None:
    """Stop the server (the commands it runs finish first).

    Example: poolcli server stop
    """
    from poolcli.client.control import stop as stop_server

    pid = stop_server(_place())
    typer.echo(
        "poolcli server: not running." if pid is None else f"poolcli server: stopped (pid {pid})."
    )
