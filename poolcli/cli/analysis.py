"""The ``grad``, ``compare`` and ``invariance`` commands, added to the app by :func:`add_commands`.

Each reads its one input exactly as ``poolcli REDUCTION`` does
(:func:`poolcli.cli.single.process_input`), calls :mod:`poolcli.engine.grad`,
:mod:`poolcli.learn.compare` or :mod:`poolcli.learn.invariance`, and prints what they return;
pictures come from :mod:`poolcli.render.pictures`. Their options come from the one option table.
"""

import dataclasses
from typing import Any

import typer

from poolcli.cli.call import make_call
from poolcli.cli.options import add_command
from poolcli.cli.single import Printer, process_input
from poolcli.engine.devices import resolve_device
from poolcli.errors import ExitStatus, PoolError, UsageError, display_path
from poolcli.model.flag import LEARN
from poolcli.model.flags import FLAGS, WINDOW_OPTIONS
from poolcli.model.reductions import Reduction

SHOW = LEARN
PANEL = "Learning"

GRAD_HELP = (
    "Show the gradient of a pooling op with respect to its input.\n\n"
    "Computed by torch autograd through the same engine as the reduction commands, for the "
    "upstream gradient dL/d(output) given with --upstream (default: ones). Where the gradient "
    "goes, per --op (overlapping windows add up):\n\n"
    "  max, min     the window's largest (smallest) cell; of tied cells, the first\n"
    "               in window order, as torch's max_pool\n"
    "  avg          1/|R| to each cell the mean counts (padding only with\n"
    "               --count-include-pad; padding itself receives nothing)\n"
    "  sum          the whole value to every real cell\n"
    "  lp           sign(x)·|x|^(p−1)/y^(p−1); NaN where a window is all 0\n"
    "  median       the one cell holding the median\n"
    "  mode         the one cell the most frequent value is taken from\n"
    "  stochastic   the sampled cell; with --expectation (2x·Σx − Σx²)/(Σx)²\n\n"
    "Small inputs print input, output and gradient as matrices; -o writes the gradient as "
    ".npy (float64). --unpool instead puts each output value back on the cell it came from "
    "(zeros elsewhere, as F.max_unpool) and shows what pooling kept; -o then writes that in "
    "the input's type, so an image input can give an image.\n\n"
    "Examples:\n"
    "  poolcli grad sample_data/seed001_4x4.npy -k 2\n"
    "  poolcli grad x.npy --op avg -k 3 -s 1 -p 1 --upstream up.npy -o dx.npy\n"
    "  poolcli grad photo.png -k 2 --unpool -o kept.png --viz kept_viz.png\n"
)

COMPARE_HELP = (
    "Compare several reductions over the same windows of one input.\n\n"
    "Pools INPUT with each op of --ops (default max,avg,min,median,lp; all for every one) and "
    "prints min, max, mean and standard deviation of each output, and for each pair of ops "
    "the mean and largest |a − b| over the output cells. --viz draws the input and one panel "
    "per op on one colour scale.\n\n"
    "Examples:\n"
    "  poolcli compare sample_data/seed001_4x4.npy -k 2\n"
    "  poolcli compare photo.png --ops max,avg,median -k 4 --viz ops.png\n"
    "  poolcli compare x.npy --ops all -k 3 -s 2 --json\n"
)

INVARIANCE_HELP = (
    "Measure how much each op's output changes when the input shifts or gets noisy.\n\n"
    "For each shift s of --shifts along each spatial axis, the op is applied to the input "
    "without its last s cells and to the input without its first s cells (the same content "
    "moved by s, cropped to the overlap: nothing wraps around), and the outputs are compared "
    "cell by cell. --noise adds Gaussian noise of sigma = noise × the input's range (seeded "
    "by --seed; integer inputs stay integers, non-negative inputs stay non-negative). "
    "Reported per op: the share of output cells exactly unchanged, and the mean and largest "
    '|change| divided by the input\'s range. The "input" rows measure the input itself: the '
    "baseline pooling should improve on.\n\n"
    "Examples:\n"
    "  poolcli invariance photo.png -k 2\n"
    "  poolcli invariance x.npy -k 2 --ops max,avg --shifts 1,2,4 --noise 0.05\n"
    "  poolcli invariance photo.png -k 3 -s 2 --viz invariance.png\n"
)


def add_commands(app: typer.Typer) -> None:
    """Add ``grad``, ``compare`` and ``invariance`` to ``app``."""
    window = [*WINDOW_OPTIONS, "norm_type", "seed", "expectation"]
    grad_output = FLAGS["output"].but(
        help="Write the gradient (FILE.npy, float64), or with --unpool what was kept (.npy, or "
        "an image suffix for image inputs)."
    )
    viz = FLAGS["viz"].but(help="Also draw a picture to FILE.png.")
    ending = ["layout", "straight_alpha", viz, "json", "device", "dtype", "debug"]
    grad = ["input_path", "op", *window, "upstream", "unpool", "layout", "straight_alpha"]
    grad += [grad_output, viz, "quiet", "device", "debug"]
    add_command(app, "grad", grad, _grad_command, help=GRAD_HELP, panel=PANEL)
    compare = ["input_path", "ops", *window, *ending]
    add_command(app, "compare", compare, _compare_command, help=COMPARE_HELP, panel=PANEL)
    seed = FLAGS["seed"].but(
        type=int, default=0, panel=SHOW, help="Seed of the noise and of stochastic sampling."
    )
    invariance = ["input_path", "ops", "shifts", "noise", seed]
    invariance += [name for name in window if name != "seed"] + ending
    add_command(
        app, "invariance", invariance, _invariance_command, help=INVARIANCE_HELP, panel=PANEL
    )


def _grad_command(ctx: typer.Context, args: dict[str, Any]) -> int:
    if args["upstream"] is not None and args["unpool"]:
        raise UsageError(
            "--upstream and --unpool do not go together: unpooling has no gradient.",
            option="--upstream",
        )
    call = make_call(args["op"], args)
    device = resolve_device(call.device)
    return _grad(call, device, upstream=args["upstream"], unpool=args["unpool"])


def _compare_command(ctx: typer.Context, args: dict[str, Any]) -> int:
    from poolcli.learn.compare import parse_ops

    ops = parse_ops(args["ops"])
    call = make_call(ops[0], args)
    return _compare(call, resolve_device(call.device), ops=ops)


def _invariance_command(ctx: typer.Context, args: dict[str, Any]) -> int:
    from poolcli.learn.compare import parse_ops
    from poolcli.learn.invariance import check_noise
    from poolcli.model.window import parse_ints

    ops = parse_ops(args["ops"])
    shifts = parse_ints(args["shifts"], "--shifts")
    check_noise(args["noise"])
    call = make_call(ops[0], args)
    device = resolve_device(call.device)
    return _invariance(call, device, ops=ops, shifts=shifts, noise=args["noise"])


def _load(call, device):
    """Read the one input as the reduction commands do; returns (outcome, printer)."""
    printer = Printer()
    reading = dataclasses.replace(call, output=None, viz=None, json=False)
    outcome = process_input(call.inputs[0], reading, device)
    for warning in outcome.warnings:
        printer.warning(warning)
    if outcome.error:
        printer.error(outcome.error)
    return outcome, printer


def _layout(call, loaded):
    """The layout as given to process_input: an image's own, else --layout (None: guessed)."""
    return loaded.layout or call.layout


def _failed(printer, error: PoolError, name: str):
    """Report an error found after the input was read; returns the exit status."""
    if error.path is None:
        error.path = name
    printer.error(str(error))
    return ExitStatus.USAGE if isinstance(error, UsageError) else ExitStatus.ERROR


# --------------------------------------------------------------------------------------------
# Printing helpers


def _shape(shape) -> str:
    return "×".join(map(str, shape))


def _heading(result, name: str, shape, dtype) -> str:
    """``max over x.npy: 4×4 int64, layout HW (guessed); kernel 2x2, stride 2x2 → 2×2``."""
    from poolcli.render import report

    layout = f"layout {result.layout}" + (" (guessed)" if result.layout_guessed else "")
    out = tuple(w.out for w in result.windows)
    return (
        f"{report.describe_op(result)} over {name}: {_shape(shape)} {dtype}, {layout}; "
        f"{report.describe_window(result)} → {_shape(out)}"
    )


def _matrices(arrays, layout, small: bool) -> list:
    """Every named array as matrices when ``small``, else each one's top-left corner."""
    from rich.text import Text

    from poolcli.render import report

    blocks: list = []
    for name, array in arrays:
        for title, matrix in report.matrix_slices(array, layout):
            heading = name + (f" · {title}" if title else "")
            rows, cols = matrix.shape
            if not small:
                heading += ", top-left corner"
                matrix = matrix[: report.PREVIEW_ROWS, : report.PREVIEW_COLS]
            blocks += [Text(""), report.Matrix(matrix, heading, rows, cols)]
            if not small:
                break
    if not small:
        blocks.append(
            Text("The arrays are too large to show in full; -o FILE.npy writes them.", style="dim")
        )
    return blocks


def _number(value: float) -> str:
    """A statistic for a table: 6 significant digits."""
    return "nan" if value != value else f"{value:.6g}"


def _save_viz(path: str, picture) -> None:
    from poolcli.render import pictures as visualize

    visualize.save_viz(path, picture.image)


# --------------------------------------------------------------------------------------------
# grad


def _grad(call, device: str, *, upstream: str | None, unpool: bool):
    from poolcli import io
    from poolcli.engine import grad

    viz = call.viz
    outcome, printer = _load(call, device)
    if outcome.error:
        return outcome.status
    loaded = outcome.loaded
    layout = _layout(call, loaded)
    options = call.pool_options(device)
    try:
        if unpool:
            result = grad.unpool(
                loaded.array, call.reduction, call.spec, layout, options, alpha=loaded.has_alpha
            )
        else:
            up = io.read_input(upstream).array if upstream is not None else None
            result = grad.gradient(
                loaded.array,
                call.reduction,
                call.spec,
                layout,
                options,
                up,
                alpha=loaded.has_alpha,
            )
        notes = _write_grad(io, call.output, result, loaded, unpool)
        if viz is not None:
            _save_viz(viz, _grad_picture(loaded, result, outcome.name, unpool))
    except PoolError as error:
        return _failed(printer, error, outcome.name)
    for note in notes:
        printer.warning(f"{display_path(call.output)}: {note}")
    if call.output is not None:
        what = "what pooling kept" if unpool else "the gradient"
        printer.message(f"wrote {display_path(call.output)}: {what} of {outcome.name}")
    elif unpool:
        printer.report(_unpool_report(loaded.array, result, outcome.name))
    else:
        printer.report(_grad_report(loaded.array, result, outcome.name))
    if viz is not None:
        printer.message(f"wrote {display_path(viz)}")
    return ExitStatus.OK


def _write_grad(io, path, result, loaded, unpool: bool) -> list[str]:
    if path is None:
        return []
    if unpool:
        return io.write_output(path, result.kept, loaded, layout=str(result.pooled.layout)).warnings
    io.check_not_input(path, loaded)
    if io.output_format(path) != "NPY":
        raise UsageError(
            f"-o {path}: the gradient is written as .npy (exact float64 values); "
            "--viz FILE.png draws it.",
            option="-o",
        )
    return io.write_output(path, result.grad).warnings


def _grad_report(array, result, name: str):
    from rich.console import Group
    from rich.text import Text

    from poolcli.engine import grad
    from poolcli.render import report
    from poolcli.render.report import format_value

    arrays = [("input", array), ("output", result.output)]
    if result.upstream_given:
        arrays.append(("upstream", result.upstream))
    arrays.append(("gradient", result.grad))
    total = result.grad.sum() if not result.undefined else float("nan")
    blocks = [
        Text(_heading(result, name, result.input_shape, result.input_dtype), style="bold"),
        Text(f"Gradient: {result.rule}; {grad.OVERLAP_RULE}.", overflow="fold"),
        *_matrices(arrays, result.layout, report.is_small(result.input_shape, result.layout)),
        Text(""),
        Text(
            f"Σ gradient = {format_value(total)}, Σ upstream = "
            f"{format_value(result.upstream.sum())}"
        ),
    ]
    if result.undefined:
        blocks.append(
            Text(f"{result.undefined} gradient values are NaN: no gradient is defined there.")
        )
    return Group(*blocks)


def _unpool_report(array, result, name: str):
    from rich.console import Group
    from rich.text import Text

    from poolcli.render import report

    pooled = result.pooled
    shape = tuple(array.shape)
    arrays = [
        ("input", array),
        ("output", pooled.output),
        ("unpooled (kept values, 0 elsewhere)", result.kept),
        ("windows won per cell", result.wins),
    ]
    share = result.kept_cells / max(array.size, 1)
    return Group(
        Text(_heading(pooled, name, shape, array.dtype), style="bold"),
        Text(
            "Each output value is put back on the cell its window took it from "
            "(of tied cells, the first in window order).",
            overflow="fold",
        ),
        *_matrices(arrays, pooled.layout, report.is_small(shape, pooled.layout)),
        Text(""),
        Text(f"Pooling kept {result.kept_cells} of {array.size} input cells ({share:.1%})."),
    )


def _grad_picture(loaded, result, name: str, unpool: bool):
    """Input, output and gradient (or what unpooling kept), drawn by poolcli.render.pictures.

    On small 2-D inputs each window's winning cell is outlined, as ``--viz`` does for the
    reduction commands. Unpooled images keep their own colours; gradients use viridis.
    """
    from poolcli.engine import ops
    from poolcli.render import pictures as visualize

    pooled = result.pooled if unpool else result
    winners = None
    spatial = pooled.layout.spatial_shape(pooled.input_shape)
    unseen = pooled.reduction is Reduction.STOCHASTIC and (
        pooled.options.expectation or pooled.options.seed is None
    )
    if pooled.reduction.info.winner and not unseen:
        if len(spatial) == 2 and max(spatial) <= visualize.SMALL:
            winners = ops.window_winners(
                loaded.array, pooled.reduction, pooled.windows, pooled.layout, pooled.options
            ).numpy()
    if unpool:
        last = visualize.Column("kept (unpooled)", result.kept)
        title = f"unpooled: {visualize.describe(pooled, name)}"
    else:
        last = visualize.Column("gradient", result.grad, scale="gradient")
        title = f"gradient of {visualize.describe(result, name)}"
    columns = [
        visualize.Column("input", loaded.array),
        visualize.Column(f"{pooled.reduction} output", pooled.output, pooled.windows, winners),
        last,
    ]
    image = loaded.image if unpool and loaded.kind == "image" else None
    return visualize.render_columns(columns, pooled.layout, title=title, image=image)


# --------------------------------------------------------------------------------------------
# compare


def _compare(call, device: str, *, ops):
    from poolcli.learn import compare

    viz = call.viz
    outcome, printer = _load(call, device)
    if outcome.error:
        return outcome.status
    loaded = outcome.loaded
    try:
        result = compare.compare(
            loaded.array,
            ops,
            call.spec,
            _layout(call, loaded),
            call.pool_options(device),
            alpha=loaded.has_alpha,
        )
        if viz is not None:
            from poolcli.render import pictures as visualize

            picture = visualize.render_compare(loaded, list(result.results.values()))
            _save_viz(viz, picture)
    except PoolError as error:
        return _failed(printer, error, outcome.name)
    if call.json:
        _print_json(compare_document(result, outcome.name, loaded.array))
    else:
        printer.report(_compare_report(result, outcome.name, loaded.array))
    if viz is not None:
        printer.message(f"wrote {display_path(viz)}")
    return ExitStatus.OK


def _compare_report(result, name: str, array):
    from rich import box
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    first = result.first
    heading = _heading(first, name, array.shape, array.dtype).split(": ", 1)[1]
    ops = ", ".join(str(op) for op in result.ops)
    stats = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, title_justify="left")
    for column in ("op", "min", "max", "mean", "std"):
        stats.add_column(column, justify="left" if column == "op" else "right")
    with_nan = any(s.nan for s in result.stats)
    if with_nan:
        stats.add_column("NaN", justify="right")
    for s in result.stats:
        cells = [_number(v) for v in (s.min, s.max, s.mean, s.std)]
        stats.add_row(str(s.op), *cells, *([str(s.nan)] if with_nan else []))
    pairs = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for column in ("ops", "mean |a − b|", "max |a − b|"):
        pairs.add_column(column, justify="left" if column == "ops" else "right")
    for p in result.pairs:
        pairs.add_row(f"{p.a} − {p.b}", _number(p.mean_abs), _number(p.max_abs))
    blocks = [Text(f"compare {ops} on {name}: {heading}", style="bold", overflow="fold")]
    blocks += [Text(""), Text("Each output", style="bold"), stats]
    if result.pairs:
        blocks += [Text(""), Text("Differences, cell by cell", style="bold"), pairs]
    return Group(*blocks)


def compare_document(result, name: str, array) -> dict:
    """The ``compare --json`` document."""
    import numpy as np

    from poolcli.render.report import json_value

    first = result.first

    def number(value):
        return json_value(np.float64(value))

    return {
        "input": name,
        "input_shape": list(array.shape),
        "layout": str(first.layout),
        "output_shape": list(first.output.shape),
        "ops": [str(op) for op in result.ops],
        "stats": [
            {
                "op": str(s.op),
                **{k: number(getattr(s, k)) for k in ("min", "max", "mean", "std")},
                "nan": s.nan,
            }
            for s in result.stats
        ],
        "pairs": [
            {
                "a": str(p.a),
                "b": str(p.b),
                "mean_abs": number(p.mean_abs),
                "max_abs": number(p.max_abs),
            }
            for p in result.pairs
        ],
    }


def _print_json(document: dict) -> None:
    import json

    typer.echo(json.dumps(document, indent=2, ensure_ascii=False))


# --------------------------------------------------------------------------------------------
# invariance


def _invariance(call, device: str, *, ops, shifts, noise: float):
    from poolcli.learn import invariance

    viz = call.viz
    outcome, printer = _load(call, device)
    if outcome.error:
        return outcome.status
    loaded = outcome.loaded
    try:
        result = invariance.measure(
            loaded.array,
            ops,
            call.spec,
            _layout(call, loaded),
            call.pool_options(device),
            shifts=shifts,
            noise=noise,
            seed=call.seed,
            alpha=loaded.has_alpha,
        )
        if viz is not None:
            _save_viz(viz, _invariance_chart(result, outcome.name))
    except PoolError as error:
        return _failed(printer, error, outcome.name)
    if call.json:
        _print_json(invariance_document(result, outcome.name, loaded.array))
    else:
        printer.report(_invariance_report(result, outcome.name, loaded.array, outcome.result))
    if viz is not None:
        printer.message(f"wrote {display_path(viz)}")
    return ExitStatus.OK


def _invariance_report(result, name: str, array, pooled):
    from rich import box
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    from poolcli.learn import invariance

    heading = _heading(pooled, name, array.shape, array.dtype).split(": ", 1)[1]
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for column in ("op", "change", "unchanged", "mean |Δ|", "max |Δ|"):
        table.add_column(column, justify="left" if column in ("op", "change") else "right")
    groups = [None, *result.ops]
    for k, op in enumerate(groups):
        rows = result.for_op(op)
        for j, c in enumerate(rows):
            table.add_row(
                ("input" if op is None else str(op)) if j == 0 else "",
                c.perturbation.label,
                f"{c.unchanged:.1%}",
                _number(c.mean_change),
                _number(c.max_change),
                end_section=j == len(rows) - 1 and k < len(groups) - 1,
            )
    noise = ""
    if any(p.kind == "noise" for p in result.perturbations):
        noise = f"; noise σ = {_number(result.sigma)} (seed {result.seed})"
    return Group(
        Text(f"invariance on {name}: {heading}", style="bold", overflow="fold"),
        Text(
            f"Changes are relative to the input's range ({_number(result.input_range)}){noise}. "
            f"Edges: {invariance.EDGE_RULE}.",
            overflow="fold",
        ),
        Text(""),
        table,
    )


def invariance_document(result, name: str, array) -> dict:
    """The ``invariance --json`` document."""
    import numpy as np

    from poolcli.render.report import json_value

    return {
        "input": name,
        "input_shape": list(array.shape),
        "layout": str(result.layout),
        "input_range": json_value(np.float64(result.input_range)),
        "sigma": json_value(np.float64(result.sigma)),
        "seed": result.seed,
        "changes": [
            {
                "op": None if c.op is None else str(c.op),
                "kind": c.perturbation.kind,
                "axis": c.perturbation.axis,
                "amount": c.perturbation.amount,
                "unchanged": c.unchanged,
                "mean_change": json_value(np.float64(c.mean_change)),
                "max_change": json_value(np.float64(c.max_change)),
                "cells": c.cells,
            }
            for c in result.changes
        ],
    }


def _invariance_chart(result, name: str):
    """Two charts side by side, against the shift (mean over the axes), one line per op:
    the share of output cells unchanged, and the mean change relative to the input's range."""
    import numpy as np
    from PIL import Image

    from poolcli.render import pictures as visualize

    shifts = sorted({int(p.amount) for p in result.perturbations if p.kind == "shift"})
    if not shifts:
        raise UsageError("--viz draws the shifts; give at least one with --shifts.", option="--viz")
    charts = []
    for field, title, unit in (
        ("unchanged", "output cells unchanged by a shift", "unchanged (%)"),
        ("mean_change", "mean change, relative to the input's range", "mean |change| (%)"),
    ):
        series = {}
        for op in (None, *result.ops):
            changes = [c for c in result.for_op(op) if c.perturbation.kind == "shift"]
            series["input" if op is None else str(op)] = [
                100 * np.mean([getattr(c, field) for c in changes if c.perturbation.amount == s])
                for s in shifts
            ]
        charts.append(
            visualize.line_chart(
                series,
                shifts,
                title=f"{name}: {title}",
                x_label="shift (cells, mean over axes)",
                y_label=unit,
            )
        )
    width = sum(c.image.width for c in charts)
    picture = Image.new("RGB", (width, max(c.image.height for c in charts)), "white")
    picture.paste(charts[0].image, (0, 0))
    picture.paste(charts[1].image, (charts[0].image.width, 0))
    return visualize.Picture(picture)
