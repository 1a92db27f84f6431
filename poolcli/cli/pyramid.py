"""``poolcli pyramid INPUT -o OUT --levels N``: successively pooled levels, block by block."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import typer

from poolcli.cli.options import add_command
from poolcli.errors import ExitStatus, PoolError, UsageError, display_path, error_line, failure
from poolcli.model.display import format_shape
from poolcli.model.flags import FLAGS, WINDOW_OPTIONS
from poolcli.model.reductions import Reduction

PYRAMID_HELP = (
    "Write N successively pooled levels (default: avg -k 2), each pooled from the one "
    "before, block by block within --max-memory: an OME-Zarr multiscale image when OUT ends "
    "in .zarr, else a folder with one file per level.\n\n"
    "Example: poolcli pyramid scan.tif -o scan.zarr --levels 5\n\n"
    "Example: poolcli pyramid labels.npy -o labels.zarr --levels 4 --op mode"
)


def add_commands(app: typer.Typer) -> None:
    """Add ``pyramid`` to ``app``."""
    options = [
        "input_path",
        FLAGS["output"].but(help="OUT.zarr (OME-Zarr), or a folder of levels."),
        "levels",
        FLAGS["op"].but(
            default=Reduction.AVG,
            help="The reduction of every level (mode for label maps). Default: avg.",
        ),
        *WINDOW_OPTIONS,
        "norm_type",
        "seed",
        "layout",
        "max_memory",
        "scheduler",
        "device",
        "dtype",
        FLAGS["json"].but(help="Print one JSON document listing the levels."),
        "quiet",
        "debug",
    ]
    add_command(app, "pyramid", options, _pyramid, help=PYRAMID_HELP, panel="Bigger than memory")


def _pyramid(ctx: typer.Context, args: dict[str, Any]) -> int:
    from poolcli.cli.blockwise import _step
    from poolcli.engine.devices import check_device_name, resolve_device

    if args["input_path"] is None or args["output"] is None:
        missing = "an INPUT" if args["input_path"] is None else "-o OUT (.zarr or a folder)"
        raise UsageError(f"pyramid needs {missing}.", option="-o")
    windowing = ("kernel", "global_pool", "output_size")
    if not any(args.get(name) not in (None, False) for name in windowing):
        args = {**args, "kernel": "2"}
    step = _step(Reduction(args["op"]), args)
    device = resolve_device(check_device_name(args.get("device") or "auto"))
    options = dataclasses.replace(step.options, device=device)
    output = args["output"]
    if os.path.abspath(output.rstrip("/")) == os.path.abspath(args["input_path"].rstrip("/")):
        raise UsageError(f"-o {output} is the input; give the pyramid its own name.", option="-o")
    from poolcli.blocks.schedule import check_reachable, check_scheduler

    check_reachable(check_scheduler(args.get("scheduler")))
    memory = args.get("max_memory")
    try:
        done = _write(args, step, options, memory, output)
    except PoolError as error:
        typer.echo(error_line(failure(error, display_path(args["input_path"]))), err=True)
        return ExitStatus.ERROR
    if args.get("json"):
        from poolcli.render.schema_plain import dumps

        first = args["levels"] + 1 - len(done.shapes)  # OME-Zarr holds the input as level 0
        levels = [{"level": first + i, "shape": list(s)} for i, s in enumerate(done.shapes)]
        document = {"command": "pyramid", "input": display_path(args["input_path"])}
        document.update(output=display_path(done.output), op=str(step.reduction), levels=levels)
        typer.echo(dumps(document))
    elif not args.get("quiet"):
        shapes = ", ".join(format_shape(s) for s in done.shapes)
        typer.echo(f"{display_path(done.output)}: {len(done.shapes)} levels ({shapes})")
    return ExitStatus.OK


def _write(args, step, options, memory, output):
    from poolcli.blocks.pyramid import pyramid
    from poolcli.blocks.schedule import check_scheduler
    from poolcli.cli.blockwise import _progress
    from poolcli.model.blocks import parse_size

    with _progress(bool(args.get("quiet") or args.get("json"))) as bar:
        return pyramid(
            args["input_path"],
            output,
            args["levels"],
            step.reduction,
            step.spec,
            layout=args.get("layout"),
            options=options,
            max_memory=parse_size(memory) if memory else 512 * 2**20,
            scheduler=check_scheduler(args.get("scheduler")),
            progress=(lambda level, d, t: bar(f"level {level}", d, t)) if bar else None,
        )
