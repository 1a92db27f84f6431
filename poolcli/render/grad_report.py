"""What ``grad`` shows: the gradient (or, with ``--unpool``, what pooling kept) as matrices
next to the input and the output, and as a picture."""

from __future__ import annotations

import functools

from rich.console import Group
from rich.text import Text

from poolcli.learn.winners import gradient_routes, window_winners
from poolcli.model.reductions import Reduction
from poolcli.render import pictures as visualize
from poolcli.render import report
from poolcli.render.heading import result_heading
from poolcli.render.matrices import MATRIX_DECIMALS, _rounded
from poolcli.render.pool_picture import framed_winners, with_multiples
from poolcli.render.report import format_value

OVERLAP_RULE = "where windows overlap, their contributions add up"


def _matrices(arrays, layout, small: bool, written: str) -> list:
    """Every named array as matrices when ``small``, else each one's top-left corner, and a
    note on what is not shown exactly and what ``-o`` writes (``written``)."""
    blocks: list = []
    shown = []
    for name, array in arrays:
        for title, matrix in report.matrix_slices(array, layout):
            rows, cols = matrix.shape
            if not small:
                name += ", top-left corner"
                matrix = matrix[: report.PREVIEW_ROWS, : report.PREVIEW_COLS]
            heading = name + (f" · {title}" if title else "")
            blocks += [Text(""), report.Matrix(matrix, heading, rows, cols)]
            shown.append(matrix)
            if not small:
                break
    facts = [] if small else ["the arrays are too large to show in full"]
    if any(_rounded(matrix) for matrix in shown):
        facts.append(f"values are rounded to {MATRIX_DECIMALS} decimals")
    if facts:
        text = " and ".join(facts)
        blocks.append(Text(f"{text[0].upper()}{text[1:]}; {written}.", style="dim"))
    return blocks


def grad_report(array, result, name: str):
    """The gradient of ``result`` (a GradResult) next to the input ``array`` (named ``name``),
    the output and the upstream gradient, with the rule that sent it there."""
    arrays = [("input", array), ("output", result.output)]
    if result.upstream_given:
        arrays.append(("upstream", result.upstream))
    arrays.append(("gradient", result.grad))
    total = result.grad.sum() if not result.undefined else float("nan")
    title = f"{report.describe_op(result)} over {name}"
    small = report.is_small(result.input_shape, result.layout)
    blocks = [
        result_heading(title, result, result.input_shape, result.input_dtype),
        Text(f"Gradient: {result.rule}; {OVERLAP_RULE}.", overflow="fold"),
        *_matrices(arrays, result.layout, small, "-o FILE.npy writes the gradient"),
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


def unpool_report(array, result, name: str):
    """What unpooling ``result`` (an UnpoolResult) kept of ``array``, and which cells won."""
    pooled = result.pooled
    shape = tuple(array.shape)
    arrays = [
        ("input", array),
        ("output", pooled.output),
        ("unpooled (kept values, 0 elsewhere)", result.kept),
        ("windows won per cell", result.wins),
    ]
    share = result.kept_cells / max(array.size, 1)
    small = report.is_small(shape, pooled.layout)
    return Group(
        result_heading(f"{report.describe_op(pooled)} over {name}", pooled, shape, array.dtype),
        Text(
            "Each output value is put back on the cell its window took it from "
            "(of tied cells, the first in window order).",
            overflow="fold",
        ),
        *_matrices(arrays, pooled.layout, small, "-o FILE writes what pooling kept"),
        Text(""),
        Text(f"Pooling kept {result.kept_cells} of {array.size} input cells ({share:.1%})."),
    )


def grad_picture(loaded, result, name: str, unpool: bool):
    """Input, output and gradient (or what unpooling kept), drawn by poolcli.render.pictures.

    On small 2-D inputs each window's winning cell is outlined, as ``--viz`` does for the
    reduction commands; where the windows overlap, each window is drawn on its own under the
    picture with the cells its gradient reaches (its winner, for unpooling) framed. Unpooled
    images keep their own colours; the upstream gradient and the gradient use a diverging map
    centred at 0.
    """
    pooled = result.pooled if unpool else result
    winners = None
    if visualize.frames_winners(pooled):
        winners = window_winners(loaded.array, pooled)
    upstream = []
    if unpool:
        last = visualize.Column("kept (unpooled)", result.kept)
        title = f"unpooled: {visualize.describe(pooled, name)}"
    else:
        last = visualize.Column("gradient", result.grad, scale="gradient", cmap="diverging")
        title = f"gradient of {visualize.describe(result, name)}"
        what = "given" if result.upstream_given else "all ones"
        upstream = [
            visualize.Column(
                f"upstream gradient ({what})",
                result.upstream,
                pooled.windows,
                scale="upstream",
                cmap="diverging",
            )
        ]
    framed = framed_winners(pooled, winners)
    columns = [
        visualize.Column("input", loaded.array),
        visualize.Column(f"{pooled.reduction} output", pooled.output, pooled.windows, framed),
        *upstream,
        last,
    ]
    image = loaded.image if unpool and loaded.kind == "image" else None
    picture = visualize.render_columns(columns, pooled.layout, title=title, image=image)
    if unpool:
        return with_multiples(picture, loaded.array, pooled, pooled.output, 0, winners)
    return with_multiples(
        picture, loaded.array, result, result.output, 0, None, _routes(loaded, result)
    )


def _routes(loaded, result):
    """The cells each output cell's gradient reaches, as :func:`with_multiples` asks for
    them; None where each run samples afresh (stochastic sampling without a seed)."""
    options = result.options
    if (
        result.reduction is Reduction.STOCHASTIC
        and not options.expectation
        and options.seed is None
    ):
        return None
    return functools.partial(gradient_routes, loaded.array, result)
