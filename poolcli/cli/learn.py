"""The ``shape`` and ``explain`` commands, added to the app by :func:`add_commands`.

``shape`` is :mod:`poolcli.learn.shapes` (pure Python; torch is never imported); ``explain``
reads and pools its input exactly as ``poolcli REDUCTION`` does
(:func:`poolcli.cli.single.process_input`) and prints
:func:`poolcli.learn.explain.explain_result`. Their options come from the one option table.
"""

from typing import Any

import typer

from poolcli.cli.call import make_call
from poolcli.cli.options import add_command
from poolcli.cli.single import Printer, process_input
from poolcli.engine.devices import resolve_device
from poolcli.errors import ExitStatus, UsageError
from poolcli.model.flags import DATA_OPTIONS, FLAGS, WINDOW_OPTIONS
from poolcli.model.window import WindowSpec

PANEL = "Learning"

SHAPE_HELP = (
    "Work out output sizes, step by step, without running anything.\n\n"
    "One pooling layer from the window options, or a stack of STEPs (pooling and conv "
    "layers). Every size uses the arithmetic of the pooling commands and is printed with "
    "its formula.\n\n"
    "Steps (options joined by commas, per-axis values by x):\n"
    "  pool:k=2,s=2,p=same,d=1,ceil  pooling; the stride defaults to k\n"
    "  conv:k=5,s=1,p=0,d=1,c=16     convolution, torch's rule; c: channels\n"
    "  global                        one window over everything\n"
    "  adaptive:o=7                  adaptive pooling to a fixed size\n"
    "max:, avg:, ... work as pool:. p is N, begin:end, same or valid.\n"
    "Short forms: pool:2, conv:5, adaptive:7.\n\n"
    "Examples:\n"
    "  poolcli shape 28x28 -k 2\n"
    "  poolcli shape 7x7 -k 3 -s 2 -p 1 --ceil\n"
    "  poolcli shape 28x28 conv:k=5,c=6 max:k=2 conv:k=5,c=16 max:k=2 -c 1\n"
    "  poolcli shape 224x224 conv:k=7,s=2,p=3 pool:k=3,s=2,p=1 adaptive:o=7\n"
)


EXPLAIN_HELP = (
    "Show what a pooling op does to INPUT, window by window.\n\n"
    "First the output-size formula of each axis with the numbers put in: effective kernel, "
    "padding begin:end, floor or ceil, windows dropped by the ceil rule, or the bin edges of "
    "adaptive pooling. Then every window in order: its output position, the input cells it "
    "covers (· padding, × cells past the padded input that only ceil mode reaches, * the cell "
    "the result comes from) and the result of the real op. Large inputs list the first "
    "windows; channels and batch items come one at a time, the first few.\n\n"
    "Examples:\n"
    "  poolcli explain sample_data/seed_4x4.npy -k 2\n"
    "  poolcli explain sample_data/seed_4x4.npy --op avg -k 3 -s 2 -p 1\n"
    "  poolcli explain photo.png --op median -k 3 -p same --windows 10\n"
    "  poolcli explain signal.npy --layout W --output-size 4\n"
)


def add_commands(app: typer.Typer) -> None:
    """Add ``shape`` and ``explain`` to ``app``."""
    shape = [
        "size",
        "steps",
        *(name for name in WINDOW_OPTIONS if name != "count_include_pad"),
        "spp",
        "channels",
        FLAGS["json"].but(help="Print one JSON document instead of the table."),
        "debug",
    ]
    add_command(app, "shape", shape, _shape, help=SHAPE_HELP, panel=PANEL)
    explain = [
        "input_path",
        "op",
        *WINDOW_OPTIONS,
        "pool_axes",
        "fractional",
        "output_ratio",
        "spp",
        "blur",
        "norm_type",
        "seed",
        "expectation",
        "layout",
        "straight_alpha",
        *(name for name in DATA_OPTIONS if name != "valid_count"),
        "windows",
        "slices",
        FLAGS["json"].but(help="Print one JSON document (every window listed) instead."),
        "device",
        "dtype",
        "debug",
    ]
    add_command(app, "explain", explain, _explain_command, help=EXPLAIN_HELP, panel=PANEL)


def _shape(ctx: typer.Context, args: dict[str, Any]) -> int:
    if args["size"] is None:  # optional for Typer, so that help shows no {SIZE}
        raise UsageError("Give the input SIZE, such as 28x28.", option="SIZE")
    window = [args[name] for name in WINDOW_OPTIONS if name != "count_include_pad"]
    size, steps, channels = args["size"], args["steps"], args["channels"]
    spatial, results = _shape_results(size, steps, channels, *window, spp=args.get("spp"))
    if args["json"]:
        from poolcli.render.schema_plain import dumps
        from poolcli.render.shape_table import shape_json

        typer.echo(dumps(shape_json(spatial, args["channels"], results)))
    else:
        from rich.console import Console

        from poolcli.render.shape_table import ShapeTable

        Console(highlight=False).print(ShapeTable(spatial, results))
    return ExitStatus.OK


def _explain_command(ctx: typer.Context, args: dict[str, Any]) -> int:
    call = make_call(args["op"], args)
    return _explain(call, resolve_device(call.device), args["windows"], args["slices"])


def _shape_results(
    size,
    steps,
    channels,
    kernel,
    stride,
    padding,
    dilation,
    ceil,
    global_pool,
    output_size,
    spp=None,
):
    from poolcli.learn import shapes

    spatial = shapes.parse_size(size)
    window_given = any(
        value not in (None, False)
        for value in (kernel, stride, padding, dilation, ceil, global_pool, output_size, spp)
    )
    if steps and window_given:
        raise UsageError(
            "Give window options (-k, -s, ...) for one pooling layer, or STEPs for a stack, "
            "not both. Write the pooling layer as a step, such as pool:k=2,s=2.",
            option="STEP",
        )
    if steps:
        parsed = [shapes.parse_layer(text) for text in steps]
    elif window_given:
        spec = WindowSpec.make(
            kernel_size=kernel,
            stride=stride,
            padding=padding,
            dilation=dilation,
            ceil_mode=ceil,
            global_pool=global_pool,
            output_size=output_size,
            spp=spp,
        )
        parsed = [shapes.Layer.from_spec(spec)]
    else:
        raise UsageError(
            "Nothing to compute: give window options such as -k 2, or STEPs such as "
            "conv:k=5 pool:k=2.",
            option="STEP",
        )
    return spatial, shapes.stack(spatial, parsed, channels)


# --------------------------------------------------------------------------------------
# explain


def _explain(call, device: str, windows: int, slices: int):
    """Pool the one input as the reduction command would, then print its explanation."""
    from poolcli.learn.explain import explain_result
    from poolcli.render.explanation import explanation_renderable

    path = call.inputs[0]
    outcome = process_input(path, call, device)
    printer = Printer()
    for warning in outcome.warnings:
        printer.warning(warning)
    if outcome.error:
        printer.error(outcome.error)
        return outcome.status
    if outcome.result.spec.mode == "spp":
        return _explain_levels(call, outcome, printer, windows, slices)
    explanation = explain_result(
        outcome.loaded.array, outcome.result, max_windows=windows, max_slices=slices
    )
    if call.json:
        from poolcli.render.learn_json import explain_json
        from poolcli.render.schema import dumps

        typer.echo(dumps(explain_json(explanation, outcome.result, outcome.name)))
        return ExitStatus.OK
    printer.out.print(outcome.name, style="bold")
    printer.out.print(explanation_renderable(explanation), soft_wrap=True)
    return ExitStatus.OK


def _explain_levels(call, outcome, printer, windows: int, slices: int) -> int:
    """``explain --spp``: every level as the adaptive pooling it holds."""
    array, result = outcome.loaded.array, outcome.result
    if call.json:
        from poolcli.learn.explain import explain_result
        from poolcli.learn.pyramid_levels import spp_levels
        from poolcli.render.learn_json import explain_json
        from poolcli.render.schema import dumps

        levels = []
        for n, level in spp_levels(array, result):
            explanation = explain_result(array, level, max_windows=windows, max_slices=slices)
            levels.append({"level": n, **explain_json(explanation, level, outcome.name)})
        typer.echo(dumps({"spp": list(result.spec.spp), "levels": levels}))
        return ExitStatus.OK
    from poolcli.render.explanation import render_explanation

    printer.out.print(outcome.name, style="bold")
    rendered = render_explanation(array, result, max_windows=windows, max_slices=slices)
    printer.out.print(rendered, soft_wrap=True)
    return ExitStatus.OK
