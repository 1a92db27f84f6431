"""The windows of a small 2-D pooling one at a time, with the arithmetic of each: what the
animation (:mod:`poolcli.render.animation`) and the page (:mod:`poolcli.render.page`) show.

Every step comes from :func:`poolcli.learn.explain.explain_result` (the windows the engine
pooled with, the cells each covers, the winner the engine chose) and every result shown is
the engine's output value; the caption only writes the cells out in the op's arithmetic.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from poolcli.errors import PoolError
from poolcli.model.reductions import Reduction
from poolcli.model.window import AxisWindow
from poolcli.render.arrays import _numpy
from poolcli.render.canvas import _short

#: Input cells drawn window by window along each of two spatial axes at most; a larger
#: input shows its top-left windows that fit.
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


@dataclass(frozen=True)
class StepView:
    """What the animation and the page step through: the input as drawn (``source``, the
    top-left crop of a large input), its ``array`` and ``result`` (windows and output cut to
    the crop), the winners of the whole pooling cut likewise (None: found from the crop),
    and the picture's ``title``, which names the region and channel shown; ``region``: the
    crop's input and output cells in words, for the panel titles (None: all of them)."""

    source: Any
    array: Any
    result: Any
    winners: Any
    title: str
    region: tuple[str, str] | None = None


def step_view(source, result, channel: int = 0, path: str | None = None) -> StepView:
    """The part of ``result`` (pooled from ``source``) stepped through, window by window: all
    of a small 2-D input; of a larger one, the top-left output cells whose windows read at
    most STEP_SIDE cells along each axis. A one-line error (naming ``path``) for 1-D and
    3-D inputs and for windows wider than STEP_SIDE cells."""
    from poolcli.render.pool_picture import describe, picture_source

    array, name, _ = picture_source(source)
    spatial = result.layout.spatial_shape(tuple(array.shape))
    crops = [_crop_axis(axis) for axis in result.windows] if len(spatial) == 2 else []
    if len(spatial) != 2 or None in crops:
        raise PoolError(_refusal(path, spatial, result.windows), path=path)
    lines = [describe(result, name), *_channel_words(array, result, channel)]
    if all(crop is axis for crop, axis in zip(crops, result.windows)):
        return StepView(source, array, result, None, "\n".join(lines))
    from poolcli.learn.winners import result_winners

    cut_in, cut_out = _slices(result.layout, array.ndim, crops)
    output = np.asarray(_numpy(result.output))
    view = _cropped_result(result, array[cut_in], output[cut_out], crops)
    winners = result_winners(array, result, [(0, 0, crop) for crop in crops])
    lines.append(_region_words(crops, spatial, tuple(a.out for a in result.windows)))
    loaded = hasattr(source, "array")
    return StepView(
        dataclasses.replace(source, array=array[cut_in]) if loaded else array[cut_in],
        array[cut_in],
        view,
        winners,
        "\n".join(lines),
        _region(crops, spatial, tuple(a.out for a in result.windows)),
    )


def _region(crops, spatial, outs) -> tuple[str, str]:
    """The input and output cells of a cropped view, of how many, in words."""
    from poolcli.render.pool_picture import region_text

    rows, cols = crops
    cells = region_text((0, rows.size - 1), (0, cols.size - 1))
    made = region_text((0, rows.out - 1), (0, cols.out - 1))
    return f"{cells} of {spatial[0]}x{spatial[1]}", f"{made} of {outs[0]}x{outs[1]}"


def _crop_axis(axis: AxisWindow) -> AxisWindow | None:
    """``axis`` itself when it has at most STEP_SIDE cells; else the windows of its first
    output cells that read cells within the first STEP_SIDE (None: not even the first)."""
    if axis.size <= STEP_SIDE:
        return axis
    shown = 0
    while shown < axis.out and max(axis.cells(shown)) < STEP_SIDE:
        shown += 1
    if shown == 0:
        return None
    end = max(c for i in range(shown) for c in axis.cells(i)) + 1
    bins = None if axis.bins is None else axis.bins[:shown]
    return AxisWindow(
        axis.name,
        end,
        shown,
        axis.kernel,
        axis.stride,
        axis.dilation,
        axis.pad_begin,
        0,
        bins=bins,
    )


def _slices(layout, ndim: int, crops) -> tuple[tuple, tuple]:
    """Index tuples cutting an input and an output laid out as ``layout`` to ``crops``."""
    cut_in, cut_out = [slice(None)] * ndim, [slice(None)] * ndim
    for axis, crop in zip(layout.spatial_axes, crops):
        cut_in[axis], cut_out[axis] = slice(0, crop.size), slice(0, crop.out)
    return tuple(cut_in), tuple(cut_out)


def _cropped_result(result, array, output, crops):
    """``result`` as if pooled from the crop ``array``: its windows and output cut to it."""
    options = result.options
    mask = options.mask
    if mask is not None and not isinstance(mask, str):
        cut = tuple(slice(0, crop.size) for crop in crops)
        options = dataclasses.replace(options, mask=np.asarray(mask)[cut])
    return dataclasses.replace(
        result,
        output=output,
        input_shape=tuple(array.shape),
        windows=tuple(crops),
        options=options,
        valid_count=None,
    )


def _region_words(crops, spatial, outs) -> str:
    """Which cells a cropped view shows, of how many."""
    rows, cols = crops
    return (
        f"Shown: input rows 0-{rows.size - 1}, columns 0-{cols.size - 1} of "
        f"{spatial[0]}x{spatial[1]}, and the output cells their windows make: rows "
        f"0-{rows.out - 1}, columns 0-{cols.out - 1} of {outs[0]}x{outs[1]}."
    )


def _channel_words(array, result, channel: int) -> list[str]:
    """Which channel is shown, when the input has several."""
    from poolcli.render.arrays import _canonical

    channels = _canonical(_numpy(array), result.layout).shape[1]
    if channels < 2:
        return []
    shown = channel if channel < channels else 0
    return [f"Channel {shown} of {channels} (from 0) is shown; --channels N shows another."]


def _refusal(path, spatial, windows) -> str:
    """Why an input cannot be stepped through, in one sentence or two."""
    suffix = os.path.splitext(path or "")[1].lower() or ".gif"
    kind = "an animation" if suffix == ".gif" else "a page"
    shape = "x".join(map(str, spatial))
    if len(spatial) == 3:
        return (
            f"--viz {suffix} draws {kind} of windows on a 2-D grid; this input is a volume "
            f"({shape}). Use .png or .svg: they show every input slice an output slice pools."
        )
    if len(spatial) != 2:
        return f"--viz {suffix} draws {kind} of 2-D inputs; this one is {shape}. Use .png or .svg."
    return (
        f"--viz {suffix} draws {kind} cell by cell, showing at most {STEP_SIDE}x{STEP_SIDE} "
        f"cells; the first window of this {shape} input reaches further. Use .png or .svg."
    )


def window_steps(array, result, channel: int = 0, winners=None) -> list[WindowStep]:
    """Every window of ``result`` (pooled from ``array``) in reading order, for one channel
    (or batch item): the channel-th slice :func:`explain_result` lists. ``winners``: those
    of a :class:`StepView` (None: asked of the engine)."""
    from poolcli.learn.explain import explain_result

    total = int(np.prod([a.out for a in result.windows]))
    cells = int(np.prod([a.kernel for a in result.windows]))  # adaptive: the longest bin
    explanation = explain_result(
        array,
        result,
        max_windows=total,
        max_slices=channel + 1,
        max_cells=cells,
        known_winners=winners,
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
