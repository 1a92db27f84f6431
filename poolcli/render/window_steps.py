"""The windows of a small 2-D pooling one at a time, with the arithmetic of each: what the
animation (:mod:`poolcli.render.animation`) and the page (:mod:`poolcli.render.page`) show.

Every step comes from :func:`poolcli.learn.explain.explain_result` (the windows the engine
pooled with, the cells each covers, the winner the engine chose) and every result shown is
the engine's output value; the caption only writes the cells out in the op's arithmetic.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from poolcli.errors import PoolError
from poolcli.model.reductions import Reduction
from poolcli.render.canvas import _short

#: Inputs drawn window by window: at most this many cells along each of two spatial axes.
STEP_SIDE = 16

#: Values written out in a caption; more are summarised.
CAPTION_VALUES = 16


@dataclass(frozen=True)
class WindowStep:
    """One window: its output cell, the cells it reads (``(row, col, kind)`` with kind
    ``in``, ``pad`` or ``ceil``), the winning input cell, the result and the arithmetic."""

    position: tuple[int, int]
    cells: tuple[tuple[int, int, str], ...]
    winner: tuple[int, int] | None
    value: float
    text: str
    caption: str


def check_steppable(path: str, result, array) -> None:
    """An error naming ``path`` unless ``result`` pools a small 2-D input."""
    spatial = result.layout.spatial_shape(tuple(array.shape))
    shape = "x".join(map(str, spatial))
    suffix = os.path.splitext(path)[1].lower()
    kind = "an animation" if suffix == ".gif" else "a page"
    if len(spatial) != 2:
        raise PoolError(
            f"--viz {suffix} draws {kind} of 2-D inputs; this one is {shape}. Use .png or .svg.",
            path=path,
        )
    if max(spatial) > STEP_SIDE:
        raise PoolError(
            f"--viz {suffix} draws {kind} of inputs up to "
            f"{STEP_SIDE}x{STEP_SIDE} cells, one window at a time; this one is {shape}. "
            "Crop it, or use .png or .svg for the whole input.",
            path=path,
        )


def window_steps(array, result, channel: int = 0) -> list[WindowStep]:
    """Every window of ``result`` (pooled from ``array``) in reading order, for one channel
    (or batch item): the channel-th slice :func:`explain_result` lists."""
    from poolcli.learn.explain import explain_result

    total = int(np.prod([a.out for a in result.windows]))
    cells = int(np.prod([len(a.cells(0)) for a in result.windows]))
    explanation = explain_result(
        array, result, max_windows=total, max_slices=channel + 1, max_cells=cells
    )
    chosen = explanation.slices[min(channel, len(explanation.slices) - 1)]
    integer = np.asarray(array).dtype.kind in "biu"
    out_integer = np.asarray(result.output).dtype.kind in "biu"
    steps = []
    for window in chosen.windows:
        kinds = tuple((c.index[0], c.index[1], c.kind) for c in window.cells or ())
        values = [c.value for c in window.cells or () if c.kind == "in"]
        pads = sum(1 for c in window.cells or () if c.kind == "pad")
        result_text = _short(window.result, out_integer)
        text = arithmetic(result, values, pads, result_text, integer)
        caption = f"output ({window.position[0]}, {window.position[1]}): {text}"
        steps.append(
            WindowStep(
                position=tuple(window.position),
                cells=kinds,
                winner=tuple(window.winner) if window.winner is not None else None,
                value=float(window.result),
                text=text,
                caption=caption,
            )
        )
    return steps


def arithmetic(result, values, pads: int, out: str, integer: bool) -> str:
    """The op written out over the window's values: ``max(1, 3, 5, 6) = 6``,
    ``(1+3+5+6)/4 = 3.75``... Padding counts only where the op counts it."""
    reduction = Reduction(result.reduction)
    shown = [_short(v, integer) for v in values[:CAPTION_VALUES]]
    more = len(values) - len(shown)
    if more:
        shown.append(f"... {more} more")
    plain = ", ".join(shown)
    if not values:
        return f"no input cells = {out}"
    if reduction is Reduction.AVG:
        counted = len(values)
        if result.spec.count_include_pad and pads:
            shown += ["0"] * pads
            counted += pads
        total = _sum(shown) if len(shown) == 1 else f"({_sum(shown)})"
        return f"{total}/{counted} = {out}"
    if reduction is Reduction.SUM:
        return f"{_sum(shown)} = {out}"
    if reduction is Reduction.LP:
        p = f"{result.options.norm_type:g}"
        return f"({_sum(f'|{v}|^{p}' for v in shown)})^(1/{p}) = {out}"
    if reduction is Reduction.MEDIAN:
        ordered = [_short(v, integer) for v in sorted(values)[:CAPTION_VALUES]]
        return f"median of sorted {', '.join(ordered)} = {out}"
    if reduction is Reduction.STOCHASTIC:
        return _stochastic(result, values, out, integer)
    return f"{reduction}({plain}) = {out}"


def _sum(terms) -> str:
    return "+".join(f"({t})" if t.startswith("-") else t for t in terms)


def _stochastic(result, values, out: str, integer: bool) -> str:
    """Each cell's probability x/Σx, and what was drawn (or the expectation)."""
    total = float(np.sum(np.clip(np.asarray(values, dtype=np.float64), 0, None)))
    if result.options.expectation:
        return f"sum x*x/sum x = {out}"
    if total <= 0:
        return f"all cells 0: p equal, drew {out}"
    parts = [f"{_short(v, integer)}/{_short(total, False)}" for v in values[:CAPTION_VALUES]]
    return f"p = x/sum x: {', '.join(parts)}; drew {out}"
