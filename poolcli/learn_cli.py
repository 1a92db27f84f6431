"""The ``shape`` and ``explain`` commands, added to the main Typer app by :func:`register`.

Kept thin: ``shape`` is :mod:`poolcli.shapes` (pure Python; torch is never imported), and
``explain`` reads the input, pools it with :func:`poolcli.core.run` and prints
:func:`poolcli.explain.explain_result`. Consoles are created when a command runs.
"""

from enum import Enum
from typing import Annotated

import typer

from poolcli.errors import PoolError, UsageError
from poolcli.spec import Reduction, WindowSpec, format_axes

WINDOW = "Window"
SHOW = "Explanation"
OUTPUT = "Output"
DEVICE = "Device and precision"


class ComputeDtype(str, Enum):
    float32 = "float32"
    float64 = "float64"
    float16 = "float16"
    bfloat16 = "bfloat16"


# Window options, spelled as CONTRACT.md spells them for the reduction commands.
Kernel = Annotated[
    str | None,
    typer.Option("-k", "--kernel", help="Kernel size: 3, or per axis 3x2.", rich_help_panel=WINDOW),
]
Stride = Annotated[
    str | None,
    typer.Option("-s", "--stride", help="Stride (default: the kernel).", rich_help_panel=WINDOW),
]
Padding = Annotated[
    str | None,
    typer.Option(
        "-p",
        "--padding",
        help="Padding: 1, 1x2, same, valid, or per axis begin:end (0:1x1:2). Default 0.",
        rich_help_panel=WINDOW,
    ),
]
Dilation = Annotated[
    str | None,
    typer.Option("-d", "--dilation", help="Dilation (default 1).", rich_help_panel=WINDOW),
]
Ceil = Annotated[
    bool,
    typer.Option(
        "--ceil", help="Ceil mode for the output size (torch rule).", rich_help_panel=WINDOW
    ),
]
GlobalPool = Annotated[
    bool,
    typer.Option("--global", help="One window over every spatial axis.", rich_help_panel=WINDOW),
]
OutputSize = Annotated[
    str | None,
    typer.Option(
        "--output-size", help="Adaptive pooling to this size: 7 or 7x5.", rich_help_panel=WINDOW
    ),
]
CountIncludePad = Annotated[
    bool,
    typer.Option(
        "--count-include-pad/--no-count-include-pad",
        help="Count padded cells in the mean (default: no).",
        rich_help_panel=WINDOW,
    ),
]


def _spec(kernel, stride, padding, dilation, ceil, global_pool, output_size, count_include_pad):
    return WindowSpec.make(
        kernel_size=kernel,
        stride=stride,
        padding=padding,
        dilation=dilation,
        ceil_mode=ceil,
        count_include_pad=count_include_pad,
        global_pool=global_pool,
        output_size=output_size,
    )


_OPTION_NAMES = {"STEP": "STEP", "SIZE": "SIZE"}


def _usage(error: UsageError) -> typer.BadParameter:
    """A usage error as Typer shows it (exit status 2, with the usage line)."""
    hint = _OPTION_NAMES.get(error.option or "", error.option)
    return typer.BadParameter(str(error), param_hint=hint)


# --------------------------------------------------------------------------------------
# shape

SHAPE_HELP = """Work out output sizes, step by step, without running anything.

One pooling layer from the window options, or a stack of STEPs (pooling and conv layers).
Every size uses the arithmetic of the pooling commands, and is printed with its formula.

\b
Steps (per-axis values joined with x, options separated by commas):
  pool:k=2,s=2,p=same,d=1,ceil   sliding-window pooling; stride defaults to k
                                 (max:, avg:, min:, ... work the same)
  conv:k=5,s=1,p=0,d=1,c=16      convolution (torch Conv rule, floor);
                                 stride defaults to 1, c = output channels
  global                         one window over everything: sizes become 1
  adaptive:o=7                   adaptive pooling to a fixed size
  p is N, begin:end, same or valid; pool:2, conv:5, adaptive:7 are short forms.

\b
Examples:
  poolcli shape 28x28 -k 2
  poolcli shape 7x7 -k 3 -s 2 -p 1 --ceil
  poolcli shape 28x28 conv:k=5,c=6 max:k=2 conv:k=5,c=16 max:k=2 -c 1
  poolcli shape 224x224 conv:k=7,s=2,p=3 pool:k=3,s=2,p=1 adaptive:o=7 --json
"""


def shape(
    size: Annotated[
        str,
        typer.Argument(
            metavar="SIZE",
            help="Input size per spatial axis: 100, 28x28, 16x28x28.",
            show_default=False,
        ),
    ],
    steps: Annotated[
        list[str] | None,
        typer.Argument(metavar="STEP", help="Layers, in order (see above).", show_default=False),
    ] = None,
    kernel: Kernel = None,
    stride: Stride = None,
    padding: Padding = None,
    dilation: Dilation = None,
    ceil: Ceil = False,
    global_pool: GlobalPool = False,
    output_size: OutputSize = None,
    channels: Annotated[
        int | None,
        typer.Option(
            "-c",
            "--channels",
            min=1,
            help="Input channels, to follow them through conv c= and flatten.",
            rich_help_panel=OUTPUT,
        ),
    ] = None,
    json_out: Annotated[
        bool,
        typer.Option(
            "--json", help="Print one JSON document instead of the table.", rich_help_panel=OUTPUT
        ),
    ] = False,
) -> None:
    from poolcli import shapes

    window_given = any(
        v not in (None, False)
        for v in (kernel, stride, padding, dilation, ceil, global_pool, output_size)
    )
    try:
        spatial = shapes.parse_size(size)
        if steps and window_given:
            raise UsageError(
                "Give window options (-k, -s, ...) for one pooling layer, or STEPs for a stack, "
                "not both. Write the pooling layer as a step, such as pool:k=2,s=2.",
                option="STEP",
            )
        if steps:
            parsed = [shapes.parse_step(text) for text in steps]
        elif window_given:
            spec = _spec(kernel, stride, padding, dilation, ceil, global_pool, output_size, False)
            parsed = [shapes.Step.from_spec(spec)]
        else:
            raise UsageError(
                "Nothing to compute: give window options such as -k 2, or STEPs such as "
                "conv:k=5 pool:k=2.",
                option="STEP",
            )
        results = shapes.stack(spatial, parsed, channels)
    except UsageError as error:
        raise _usage(error) from None

    if json_out:
        _print_shape_json(spatial, channels, results)
    else:
        _print_shape_table(spatial, channels, results)


def _print_shape_json(spatial, channels, results) -> None:
    import json

    from poolcli import shapes

    last = results[-1]
    document = {
        "input_size": list(spatial),
        "channels": channels,
        "output_size": list(last.output_size),
        "output_channels": last.channels_out,
        "flat_size": shapes.flat_size(last.output_size, last.channels_out),
        "steps": [r.to_dict() for r in results],
    }
    typer.echo(json.dumps(document, indent=2, ensure_ascii=False))


def _print_shape_table(spatial, channels, results) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from poolcli import shapes

    console = Console(highlight=False)
    with_channels = any(r.channels_in is not None or r.channels_out is not None for r in results)
    rows = []
    for r in results:
        size = f"{format_axes(r.input_size)} → {format_axes(r.output_size)}"
        if with_channels:
            size += f"\nC {_channels(r.channels_in)} → {_channels(r.channels_out)}"
        step = Text(r.step.text)
        step.append("\n" + r.params, style="dim")
        rows.append((str(r.index), step, size, Text("\n".join(r.formulas))))
    widest = max(len(line) for r in results for line in r.formulas)
    if console.width >= widest + 40:
        table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
        table.add_column("#", justify="right")
        table.add_column("step")
        table.add_column("size", no_wrap=True)
        table.add_column("output-size formula", no_wrap=True)
        for row in rows:
            table.add_row(*row)
        console.print(table)
    else:
        # Narrow terminals: one block per step, so no formula is cut in two.
        for index, step, size, formulas in rows:
            head = Text(f"{index}. ", style="bold")
            head.append(step.plain.split("\n")[0], style="bold")
            head.append("   " + size.replace("\n", "   "))
            console.print(head)
            console.print(Text("   " + step.plain.split("\n", 1)[1], style="dim"))
            for line in formulas.plain.split("\n"):
                console.print(Text("   " + line))
    last = results[-1]
    summary = Text(f"{format_axes(spatial)} → {format_axes(last.output_size)}", style="bold")
    count = len(results)
    summary.append(f" after {count} step{'s' if count > 1 else ''}")
    if last.channels_out is not None:
        dims = "×".join(map(str, (last.channels_out, *last.output_size)))
        flat = shapes.flat_size(last.output_size, last.channels_out)
        summary.append(f"; flattened: {dims} = {flat} values")
    console.print(summary)


def _channels(value) -> str:
    return "?" if value is None else str(value)


# --------------------------------------------------------------------------------------
# explain

EXPLAIN_HELP = """Show what a pooling op does to INPUT, window by window.

Prints the output-size formula of each axis with the numbers put in (effective kernel,
padding begin:end, floor or ceil, windows dropped by the ceil rule; bin edges for adaptive
pooling), then each window in order: its output position, the input cells it covers
(· padding, × cells past the padded input that only ceil mode reaches) and the result,
taken from the real op. Large inputs list the first windows; channels and batch items are
shown one at a time, the first few.

\b
Examples:
  poolcli explain sample_data/seed_4x4.npy -k 2
  poolcli explain sample_data/seed_4x4.npy --op avg -k 3 -s 2 -p 1
  poolcli explain image.png --op median -k 3 -p same --windows 10
  poolcli explain signal.npy --layout W --output-size 4
"""


def explain(
    input_path: Annotated[
        str,
        typer.Argument(
            metavar="INPUT", help="Image or .npy file, or - for stdin.", show_default=False
        ),
    ],
    op: Annotated[
        Reduction,
        typer.Option("--op", help="The reduction to explain.", case_sensitive=False),
    ] = Reduction.MAX,
    kernel: Kernel = None,
    stride: Stride = None,
    padding: Padding = None,
    dilation: Dilation = None,
    ceil: Ceil = False,
    count_include_pad: CountIncludePad = False,
    global_pool: GlobalPool = False,
    output_size: OutputSize = None,
    layout: Annotated[
        str | None,
        typer.Option("--layout", help="Axis letters of an array input: HW, CHW, NCHW, HWC, ..."),
    ] = None,
    norm_type: Annotated[float, typer.Option("--norm-type", help="p of lp pooling.")] = 2.0,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of stochastic pooling.")] = None,
    expectation: Annotated[
        bool, typer.Option("--expectation", help="Stochastic pooling's expected value.")
    ] = False,
    straight_alpha: Annotated[
        bool, typer.Option("--straight-alpha", help="Pool RGBA channels independently.")
    ] = False,
    windows: Annotated[
        int,
        typer.Option(
            "--windows",
            min=1,
            help="List at most this many windows per slice.",
            rich_help_panel=SHOW,
        ),
    ] = 32,
    slices: Annotated[
        int,
        typer.Option(
            "--slices",
            min=1,
            help="Explain at most this many channels / batch items.",
            rich_help_panel=SHOW,
        ),
    ] = 3,
    device: Annotated[
        str, typer.Option("--device", help="cpu, cuda, mps or auto.", rich_help_panel=DEVICE)
    ] = "auto",
    dtype: Annotated[
        ComputeDtype | None,
        typer.Option(
            "--dtype", help="Compute precision of avg, lp and stochastic.", rich_help_panel=DEVICE
        ),
    ] = None,
) -> None:
    try:
        spec = _spec(
            kernel, stride, padding, dilation, ceil, global_pool, output_size, count_include_pad
        )
    except UsageError as error:
        raise _usage(error) from None

    from rich.console import Console

    from poolcli.core import PoolOptions, run
    from poolcli.explain import explain_result

    options = PoolOptions(
        norm_type=norm_type,
        seed=seed,
        expectation=expectation,
        device=device,
        dtype=dtype.value if dtype is not None else None,
        straight_alpha=straight_alpha,
    )
    from poolcli import io

    try:
        loaded = io.read_input(input_path)
        array = loaded.array
        # Images come with their own layout (HW or HWC), as for the pooling commands.
        use_layout = loaded.layout or layout
        result = run(array, op, spec, layout=use_layout, options=options, alpha=loaded.has_alpha)
        explanation = explain_result(array, result, max_windows=windows, max_slices=slices)
    except UsageError as error:
        raise _usage(error.with_path(input_path)) from None
    except PoolError as error:
        _fail(error.with_path(input_path))
    err = Console(stderr=True, highlight=False)
    for warning in loaded.warnings:
        err.print(f"poolcli: warning: {loaded.path}: {warning}", markup=False)
    console = Console(highlight=False)
    console.print(loaded.path, markup=False, style="bold")
    console.print(explanation.renderable(), soft_wrap=True)


def _fail(error: PoolError) -> None:
    from rich.console import Console

    Console(stderr=True, highlight=False).print(f"poolcli: error: {error}", markup=False)
    raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``shape`` and ``explain`` to ``app``."""
    app.command("shape", help=SHAPE_HELP, no_args_is_help=True)(shape)
    app.command("explain", help=EXPLAIN_HELP, no_args_is_help=True)(explain)
