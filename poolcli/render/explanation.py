"""An explanation in words: what :func:`poolcli.learn.explain.explain` found, as text.

Per axis, the output-size formula with the numbers put in, the effective kernel with dilation,
the padding ``begin:end``, floor or ceil and the windows the ceil rule dropped; for adaptive
pooling, the bin edges. Then, per slice, every window in order::

    (0, 1) ← H 0..1, W 2..3: [2 4 | 7 8] → 8

the output position, the input indices per axis (``a..b`` for a run, ``a,c,e`` with
dilation), the covered cells (the last axis varies fastest; ``|`` separates rows and ``||``
depth slices; ``·`` marks padding, ``×`` a cell past the padded input that only ceil mode
reaches, ``*`` the winning cell, ``(v)`` a cell left out by --nan omit, --nodata or
--mask), and the result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from poolcli.learn.explain import (
    MAX_SLICES,
    MAX_WINDOWS,
    Cell,
    Explanation,
    SliceExplanation,
    WindowExplanation,
    explain_result,
)
from poolcli.model.display import format_shape, format_value
from poolcli.model.reductions import Reduction
from poolcli.model.window import AxisWindow, adaptive_bins

if TYPE_CHECKING:
    import numpy as np

    from poolcli.model.options import PoolResult


#: Marks for cells that are not input cells.
PAD = "·"


CEIL = "×"


WINNER = "*"


def explanation_segments(explanation: Explanation) -> list[list[tuple[str, str]]]:
    """The explanation as lines of ``(text, style)`` pieces (style names rich understands)."""
    e = explanation
    lines: list[list[tuple[str, str]]] = []
    shape_in = format_shape(e.input_shape, ascii=True)
    shape_out = format_shape(e.output_shape, ascii=True)
    guessed = ", guessed" if e.layout_guessed else ""
    lines.append(
        [
            (f"{e.reduction.value} pooling", "bold"),
            (
                f": input {shape_in} ({e.layout}{guessed}, {e.input_dtype}) → output "
                f"{shape_out} ({e.output_dtype})",
                "",
            ),
        ]
    )
    for axis in e.axes:
        lines.extend(_axis_segments(axis, e.global_pool))
    for note in e.notes:
        lines.append([(note, "italic")])
    lines.append([(_legend(e), "dim")])
    for piece in e.slices:
        lines.extend(_slice_segments(e, piece))
    left = e.total_slices - len(e.slices)
    if left:
        lines.append(
            [
                (
                    f"{left} more slice{'s' if left > 1 else ''} (channels / batch items) "
                    "not shown.",
                    "italic",
                )
            ]
        )
    return lines


def explanation_lines(explanation: Explanation) -> list[str]:
    """The explanation as plain text lines."""
    return ["".join(text for text, _ in line) for line in explanation_segments(explanation)]


def explanation_renderable(explanation: Explanation):
    """A rich renderable (a Group of Text lines; no markup is parsed)."""
    from rich.console import Group
    from rich.text import Text

    return Group(*(Text.assemble(*line) for line in explanation_segments(explanation)))


def _legend(explanation: Explanation) -> str:
    mean = explanation.reduction is Reduction.AVG
    if explanation.count_include_pad:
        pad = "padding (a 0, counted in the mean)" if mean else "padding"
    else:
        pad = "padding (never counted)" if mean else "padding (never counted or chosen)"
    if explanation.reduction in (Reduction.SUM, Reduction.LP):
        pad = "padding (adds nothing)"
    text = f"cells: {PAD} {pad}"
    if any(axis.extra_end for axis in explanation.axes):
        text += f"; {CEIL} past the padded input, reached only in ceil mode (never counted)"
    if explanation.left_out:
        text += "; (v) a cell left out"
    if explanation.winners:
        which = {
            Reduction.STOCHASTIC: "the sampled cell",
            Reduction.MODE: "the first cell holding the result",
        }.get(explanation.reduction, "the cell the result comes from (ties: the first)")
        text += f"; {WINNER} {which}"
    return text


def _slice_segments(
    explanation: Explanation, piece: SliceExplanation
) -> list[list[tuple[str, str]]]:
    lines = []
    shown = len(piece.windows)
    count = f"{piece.total_windows} window{'s' if piece.total_windows != 1 else ''}"
    if shown < piece.total_windows:
        count += f", the first {shown} shown"
    head = f"{piece.label}: " if piece.label else ""
    lines.append([(f"{head}{count}", "bold")])
    for window in piece.windows:
        lines.append(_window_segments(explanation, window))
    if shown < piece.total_windows:
        lines.append([(f"  … {piece.total_windows - shown} more windows not shown.", "italic")])
    return lines


def _window_segments(explanation: Explanation, window: WindowExplanation) -> list[tuple[str, str]]:
    position = "(" + ", ".join(map(str, window.position)) + ")"
    where = ", ".join(
        f"{axis.name} {_index_text(cells)}"
        for axis, cells in zip(explanation.axes, window.axis_cells, strict=True)
    )
    line = [("  ", ""), (position, "bold"), (f" ← {where}: ", "")]
    if window.cells is None:
        line.append((f"[{window.size} cells, not listed]", "dim"))
    else:
        line.append(("[", ""))
        line.extend(_grid_segments(window))
        line.append(("]", ""))
    line.append((" → ", ""))
    line.append((_value_text(window.result), "bold green"))
    if explanation.reduction is Reduction.AVG and (window.padding or window.left_out):
        counted = window.real - window.left_out
        counted += window.padding if explanation.count_include_pad else 0
        line.append((f"  (mean over {counted} cells)", "dim"))
    if window.left_out:
        line.append((f"  ({window.left_out} left out)", "dim"))
    return line


def _axis_segments(axis: AxisWindow, global_pool: bool) -> list[list[tuple[str, str]]]:
    name = f"{axis.name}: "
    if axis.bins is not None and axis.bins != adaptive_bins(axis.size, axis.out):
        edges = " ".join(f"[{start},{end})" for start, end in axis.bins)
        return [
            [
                (name, "bold"),
                (f"fractional, {axis.out} windows of {axis.kernel}: ", ""),
                (edges, ""),
            ],
            [("   placed by the sample of --seed, as torch's fractional_max_pool", "dim")],
        ]
    if axis.bins is not None:
        edges = " ".join(f"[{start},{end})" for start, end in axis.bins)
        return [
            [
                (name, "bold"),
                (f"adaptive, {axis.size} cells into {axis.out} bins: ", ""),
                (edges, ""),
            ],
            [
                (
                    f"   bin i covers [floor(i·{axis.size}/{axis.out}), "
                    f"ceil((i+1)·{axis.size}/{axis.out}))",
                    "dim",
                )
            ],
        ]
    if global_pool:
        cells = f"{axis.size} cell{'s' if axis.size != 1 else ''}"
        return [[(name, "bold"), (f"global, one window over all {cells} → 1", "")]]
    parts = [f"kernel {axis.kernel}"]
    if axis.dilation != 1:
        parts.append(f"dilation {axis.dilation} → effective kernel {axis.effective_kernel}")
    parts.append(f"stride {axis.stride}")
    parts.append(f"padding {axis.pad_begin}:{axis.pad_end}")
    parts.append("ceil" if axis.ceil_mode else "floor")
    lines = [[(name, "bold"), (axis.formula(), ""), (f"   ({', '.join(parts)})", "dim")]]
    if axis.dropped_by_ceil:
        start = axis.out * axis.stride - axis.pad_begin
        lines.append(
            [
                (
                    f"   ceil rule: {axis.dropped_by_ceil} more window (starting at {start}) would "
                    "begin in the end padding, so it is dropped",
                    "",
                )
            ]
        )
    if axis.extra_end:
        lines.append(
            [
                (
                    f"   ceil mode: the last window reaches {axis.extra_end} "
                    f"cell{'s' if axis.extra_end > 1 else ''} past the padded input ({CEIL})",
                    "",
                )
            ]
        )
    return lines


def _index_text(cells: tuple[int, ...]) -> str:
    """``(0, 1, 2)`` -> ``0..2``; ``(0, 2)`` -> ``0,2``; ``(3,)`` -> ``3``."""
    if len(cells) > 1 and all(b - a == 1 for a, b in zip(cells, cells[1:], strict=False)):
        return f"{cells[0]}..{cells[-1]}"
    return ",".join(map(str, cells))


def _grid_segments(window: WindowExplanation) -> list[tuple[str, str]]:
    lengths = [len(c) for c in window.axis_cells]
    pieces: list[tuple[str, str]] = []
    for n, cell in enumerate(window.cells):
        if n:
            # How many trailing axes wrap at this cell decides the separator.
            wraps, rest = 0, n
            for length in reversed(lengths[1:]):
                if rest % length:
                    break
                wraps += 1
                rest //= length
            pieces.append(({0: " ", 1: " | "}.get(wraps, " || "), "dim" if wraps else ""))
        pieces.append((_cell_text(cell), "dim" if cell.kind != "in" else ""))
    return pieces


def _cell_text(cell: Cell) -> str:
    if cell.kind == "pad":
        return PAD
    if cell.kind == "ceil":
        return CEIL
    if cell.kind == "out":
        return f"({_value_text(cell.value)})"
    return _value_text(cell.value) + (WINNER if cell.winner else "")


def render_explanation(
    array: np.ndarray,
    result: PoolResult,
    *,
    max_windows: int = MAX_WINDOWS,
    max_slices: int = MAX_SLICES,
):
    """A rich renderable explaining ``result`` (for ``--explain``; print it before the report).

    An ``--spp`` result is explained level by level: each level is the adaptive pooling it
    holds, and a last line says how the levels are joined."""
    if result.spec.mode != "spp":
        explanation = explain_result(array, result, max_windows=max_windows, max_slices=max_slices)
        return explanation_renderable(explanation)
    from rich.console import Group
    from rich.text import Text

    from poolcli.learn.pyramid_levels import spp_levels

    parts = []
    levels = spp_levels(array, result)
    for n, level in levels:
        parts.append(Text(f"SPP level {n}: adaptive pooling to {n} per spatial axis", "bold"))
        parts.append(
            render_explanation(array, level, max_windows=max_windows, max_slices=max_slices)
        )
    cells = [_cells(level.output, level) for _, level in levels]
    joined = " + ".join(str(c) for c in cells)
    parts.append(
        Text(
            f"SPP joins the levels per channel, each flattened row-major, coarsest first: "
            f"{joined} = {sum(cells)} values along {result.layout.spatial[0]}."
        )
    )
    return Group(*parts)


def _cells(output, result: PoolResult) -> int:
    """How many cells per channel an adaptive level's output has."""
    import math

    return math.prod(result.layout.spatial_shape(tuple(output.shape)))


def _value_text(value) -> str:
    """A cell's value or a window's result as the report prints it; ``?`` when unknown."""
    return "?" if value is None else format_value(value)
