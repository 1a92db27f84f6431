"""The ``unpool`` command: pooled values put back at their ``--indices`` in zeros."""

from __future__ import annotations

import sys
from typing import Any

import typer

from poolcli.cli.call import check_writes
from poolcli.cli.options import add_command
from poolcli.errors import STDIN, ExitStatus, PoolError, UsageError, display_path, error_line
from poolcli.model.flags import FLAGS
from poolcli.model.window import WindowSpec, parse_ints

PANEL = "Learning"

UNPOOL_HELP = (
    "Put each pooled value back at its index, in an array of zeros (MaxUnpool).\n\n"
    "VALUES is a pooled output and --indices the file `poolcli max ... --indices` wrote for "
    "it (same shape). The result has the input's layout; its spatial size is --output-size, "
    "or per axis (in − 1)·stride − padding + kernel from the window options the values "
    "were pooled with, as torch.nn.functional.max_unpool1d/2d/3d. With --index-style onnx "
    "the indices count over the whole N,C,spatial tensor (ONNX MaxUnpool); --output-size is "
    "then ONNX's output_shape, which adds zeros at the end of each axis.\n\n"
    "Made by: poolcli max x.npy -k 2 --indices i.npy -o y.npy\n\n"
    "Examples:\n"
    "  poolcli unpool y.npy --indices i.npy -k 2 -o back.npy\n"
    "  poolcli unpool y.npy --indices i.npy --output-size 5x7 -o back.npy\n"
)

OPTIONS = (
    FLAGS["input_path"].but(
        metavar="VALUES", help="Pooled values: .npy or image; - reads standard input."
    ),
    FLAGS["indices"].but(help="The indices of VALUES (.npy, integers, same shape).", default=None),
    "kernel",
    "stride",
    "padding",
    FLAGS["output_size"].but(
        help="Spatial size of the result: 7 or 7x5. Default: from the window options."
    ),
    "index_style",
    "layout",
    FLAGS["output"].but(
        help="Write the result: FILE.npy, an image suffix, or - for .npy bytes on standard output."
    ),
    FLAGS["json"].but(help="Print one JSON document describing the result."),
    "quiet",
    "debug",
)


def add_commands(app: typer.Typer) -> None:
    add_command(app, "unpool", OPTIONS, _body, help=UNPOOL_HELP, panel=PANEL)


def _body(ctx: typer.Context, args: dict[str, Any]) -> int:
    values, indices, output = args["input_path"], args["indices"], args["output"]
    if indices is None:
        raise UsageError("unpool needs --indices FILE.npy.", option="--indices")
    if output is None:
        raise UsageError("unpool needs -o FILE (.npy or an image).", option="-o")
    spec = _window(args)
    size = parse_ints(args["output_size"], "--output-size") if args["output_size"] else None
    if spec is None and size is None:
        raise UsageError(
            "unpool needs the window options the values were pooled with (--kernel...) or "
            "--output-size.",
            option="--kernel",
        )
    if args["json"] and output == STDIN:
        raise UsageError("--json and -o - would both write to standard output.", option="--json")
    check_writes((values, indices), {"-o": output})
    style = str(getattr(args["index_style"], "value", args["index_style"]))
    try:
        written, result, layout = _unpool_files(
            values, indices, output, spec, size, style, args["layout"]
        )
    except PoolError as error:
        typer.echo(error_line(str(error)), err=True)
        return ExitStatus.ERROR
    if args["json"]:
        from poolcli.render.learn_json import unpool_json
        from poolcli.render.schema import dumps

        typer.echo(dumps(unpool_json(values, indices, output, str(layout), style, result)))
    elif not args["quiet"] and output != STDIN:
        typer.echo(f"poolcli: wrote {display_path(output)}: unpooled {written}", err=True)
    return ExitStatus.OK


def _window(args: dict[str, Any]) -> WindowSpec | None:
    if args["kernel"] is None:
        for name in ("stride", "padding"):
            if args[name] is not None:
                raise UsageError(f"--{name} needs --kernel.", option=f"--{name}")
        return None
    return WindowSpec.make(
        kernel_size=args["kernel"], stride=args["stride"], padding=args["padding"]
    )


def _unpool_files(values, indices, output, spec, size, style, layout_text):
    """Read, unpool and write; returns what the message says of the result, the result
    and its layout."""
    from poolcli import io
    from poolcli.engine.unpool import full_size, unpool, unpool_plane
    from poolcli.model.options import resolve_layout

    loaded = (
        io.read_input(values, stdin=sys.stdin.buffer) if values == STDIN else io.read_input(values)
    )
    found = io.read_input(indices)
    name = display_path(indices)
    if found.array.dtype.kind not in "iu":
        raise PoolError(f"indices must be integers, not {found.array.dtype}.", path=name)
    if found.array.shape != loaded.array.shape:
        have, want = ("x".join(map(str, a.shape)) for a in (found.array, loaded.array))
        raise PoolError(
            f"indices have shape {have} but {display_path(values)} has {want}.", path=name
        )
    if loaded.layout is not None and layout_text is not None and layout_text != loaded.layout:
        raise UsageError(
            f"--layout {layout_text} does not apply: images are read as {loaded.layout}.",
            option="--layout",
        )
    layout, _ = resolve_layout(loaded.array.shape, loaded.layout or layout_text)
    spatial = layout.spatial_shape(loaded.array.shape)
    plane = unpool_plane(spec, spatial, size, layout.spatial, style)
    try:
        result = unpool(loaded.array, found.array, layout, plane, style, full_size(size, spatial))
    except PoolError as error:
        raise (error.with_path(name) if error.path is None else error) from None
    if output == STDIN:
        _stdout(result)
    else:
        io.write_output(output, result, loaded, layout=str(layout))
    message = f"{display_path(values)} → {'x'.join(map(str, result.shape))}"
    return message, result, layout


def _stdout(result) -> None:
    from poolcli import io
    from poolcli.cli.single import _Stream

    io.write_npy_stream(_Stream(sys.stdout.buffer), result)
