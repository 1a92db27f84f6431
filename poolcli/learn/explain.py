"""Explain a pooling call window by window, with the values of the real result.

:func:`explain` walks the windows that :func:`poolcli.model.window.resolve` describes (the same
:class:`~poolcli.model.window.AxisWindow` objects the engine pools with) and pairs each window with
its input cells and with the value the engine wrote to the output array. Nothing here
reduces a window itself: every result shown is read from the engine's output, so the
explanation cannot disagree with the op.

It returns an :class:`Explanation`: per axis the resolved window, then for the first few
channels / batch items (a *slice*: one index of every non-spatial axis) every window in order,
with the cells it covers (input, padding, or past the padded input in ceil mode), the winning
cell where the op has one, and the result. Large inputs keep only the first windows and say
so. :mod:`poolcli.render.explanation` puts it in words.

Pure Python apart from numpy, which is imported where an array is read.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from poolcli.learn.missing import left_out_note, used_cells
from poolcli.learn.winners import has_winner, result_winners
from poolcli.model.layout import Layout
from poolcli.model.reductions import Reduction
from poolcli.model.window import AxisWindow

if TYPE_CHECKING:
    import numpy as np

    from poolcli.model.options import PoolResult


MAX_WINDOWS = 32
MAX_SLICES = 3
MAX_CELLS = 64
#: Winning cells are marked for inputs up to this many values (they need a second pass).
MAX_WINNER_CELLS = 1 << 22


@dataclass(frozen=True)
class Cell:
    """One cell a window covers: ``kind`` is ``"in"`` (an input cell), ``"out"`` (an input
    cell left out by --nan omit, --nodata or --mask), ``"pad"`` or ``"ceil"``."""

    index: tuple[int, ...]
    kind: str
    value: Any = None
    winner: bool = False


@dataclass(frozen=True)
class WindowExplanation:
    """One window: its output position, its cells per axis and in order, and the result."""

    position: tuple[int, ...]
    axis_cells: tuple[tuple[int, ...], ...]
    cells: tuple[Cell, ...] | None
    result: Any
    real: int
    padding: int
    winner: tuple[int, ...] | None = None
    #: Input cells of the window left out (--nan omit, --nodata, --mask).
    left_out: int = 0

    @property
    def size(self) -> int:
        total = 1
        for cells in self.axis_cells:
            total *= len(cells)
        return total


@dataclass(frozen=True)
class SliceExplanation:
    """The windows of one channel / batch item (``label`` like ``"N=0 C=2"``)."""

    label: str
    index: tuple[int, ...]
    windows: tuple[WindowExplanation, ...]
    total_windows: int


@dataclass(frozen=True)
class Explanation:
    """Everything :func:`explain` found; :func:`explanation_lines` and
    :func:`explanation_renderable` put it in words."""

    reduction: Reduction
    layout: Layout
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    input_dtype: str
    output_dtype: str
    axes: tuple[AxisWindow, ...]
    slices: tuple[SliceExplanation, ...]
    total_slices: int
    count_include_pad: bool = False
    layout_guessed: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)
    winners: bool = False
    global_pool: bool = False
    left_out: bool = False


def _cell_kind(axis: AxisWindow, i: int) -> str:
    if 0 <= i < axis.size:
        return "in"
    if axis.bins is None and (i < -axis.pad_begin or i >= axis.size + axis.pad_end):
        return "ceil"
    return "pad"


def explain(
    array: np.ndarray,
    layout: Layout | str,
    windows: tuple[AxisWindow, ...],
    reduction: Reduction | str,
    output: np.ndarray,
    *,
    count_include_pad: bool = False,
    global_pool: bool = False,
    layout_guessed: bool = False,
    notes: tuple[str, ...] = (),
    winners: np.ndarray | None = None,
    max_windows: int = MAX_WINDOWS,
    max_slices: int = MAX_SLICES,
    max_cells: int = MAX_CELLS,
    used: np.ndarray | None = None,
) -> Explanation:
    """Pair every window of a pooling call with its input cells and its result.

    ``array`` and ``output`` (the engine's result for it, where every value shown is read) are
    laid out as ``layout``; ``windows`` are the resolved windows, one per spatial axis.
    ``count_include_pad`` and ``global_pool`` are kept for the wording. ``winners``, shaped like
    ``output``, gives per window the kernel tap its result came from, as
    :func:`poolcli.learn.winners.result_winners` does. At most ``max_windows`` windows per
    slice, ``max_slices`` slices (channel / batch indices) and ``max_cells`` cells per window
    are kept; ``used`` (bool, as ``array``) marks the cells not left out. In words: :func:`
    poolcli.render.explanation.explanation_lines`."""
    import numpy as np

    layout = Layout.parse(layout) if isinstance(layout, str) else layout
    array, output, reduction = np.asarray(array), np.asarray(output), Reduction(reduction)
    expected = layout.with_spatial(tuple(array.shape), tuple(a.out for a in windows))
    if tuple(output.shape) != expected:
        raise ValueError(f"output shape {output.shape} does not match the windows ({expected})")
    limits = (max_windows, max_slices, max_cells)
    found = _slices(array, output, layout, windows, (winners, used), limits)
    slices, total_slices, total_windows = found
    notes = tuple(notes)
    if total_windows > max_windows:
        notes += (
            f"Only the first {max_windows} of the {total_windows} windows per slice are listed.",
        )
    return Explanation(
        reduction=reduction,
        layout=layout,
        input_shape=tuple(array.shape),
        output_shape=tuple(output.shape),
        input_dtype=str(array.dtype),
        output_dtype=str(output.dtype),
        axes=tuple(windows),
        slices=tuple(slices),
        total_slices=total_slices,
        count_include_pad=count_include_pad,
        layout_guessed=layout_guessed,
        notes=notes,
        winners=winners is not None,
        global_pool=global_pool,
        left_out=used is not None,
    )


def _slices(array, output, layout: Layout, windows, marks, limits):
    """The first slices (one index of every non-spatial axis), each with its first windows;
    and how many slices and windows per slice there are in all."""
    import numpy as np

    max_windows, max_slices, max_cells = limits
    winners, used = marks
    spatial_axes = layout.spatial_axes
    other = tuple(i for i in range(array.ndim) if i not in spatial_axes)
    order = other + spatial_axes
    source = array.transpose(order)
    result = output.transpose(order)
    chosen = np.asarray(winners).transpose(order) if winners is not None else None
    kept = np.asarray(used).transpose(order) if used is not None else None
    other_shape = source.shape[: len(other)]
    total_slices = int(np.prod(other_shape, dtype=np.int64)) if other else 1

    outs = tuple(axis.out for axis in windows)
    total_windows = int(np.prod(outs, dtype=np.int64))
    slices = []
    for index in itertools.islice(np.ndindex(*other_shape), max_slices):
        label = " ".join(f"{layout.letters[a]}={i}" for a, i in zip(other, index, strict=True))
        src, res = source[index], result[index]
        won = chosen[index] if chosen is not None else None
        keep = kept[index] if kept is not None else None
        items = []
        for position in itertools.islice(itertools.product(*map(range, outs)), max_windows):
            tap = int(won[position]) if won is not None else None
            items.append(_window(src, res, windows, position, max_cells, tap, keep))
        slices.append(SliceExplanation(label, tuple(index), tuple(items), total_windows))
    return slices, total_slices, total_windows


def _winner(windows, axis_cells, tap: int | None) -> tuple[int, ...] | None:
    """The input index of kernel tap ``tap`` (row-major over ``axis.kernel`` per axis)."""
    if tap is None:
        return None
    offsets = []
    for axis in reversed(windows):
        tap, offset = divmod(tap, axis.kernel)
        offsets.append(offset)
    offsets.reverse()
    if tap or any(o >= len(c) for o, c in zip(offsets, axis_cells, strict=True)):
        return None  # not a tap of this window (cannot happen for the engine's winners)
    return tuple(c[o] for o, c in zip(offsets, axis_cells, strict=True))


def _window(src, res, windows, position, max_cells, tap=None, keep=None) -> WindowExplanation:
    axis_cells = tuple(tuple(axis.cells(i)) for axis, i in zip(windows, position, strict=True))
    kinds = [
        [_cell_kind(axis, c) for c in cells]
        for axis, cells in zip(windows, axis_cells, strict=True)
    ]
    size = 1
    real_per_axis = []
    pad_or_real = []
    for axis_kinds in kinds:
        size *= len(axis_kinds)
        real_per_axis.append(sum(k == "in" for k in axis_kinds))
        pad_or_real.append(sum(k != "ceil" for k in axis_kinds))
    real = 1
    within = 1
    for r, w in zip(real_per_axis, pad_or_real, strict=True):
        real *= r
        within *= w
    winner = _winner(windows, axis_cells, tap)
    cells = None
    if size <= max_cells:
        cells = []
        for combo in itertools.product(*(range(len(c)) for c in axis_cells)):
            index = tuple(axis_cells[a][j] for a, j in enumerate(combo))
            cell_kinds = [kinds[a][j] for a, j in enumerate(combo)]
            if "ceil" in cell_kinds:
                cells.append(Cell(index, "ceil"))
            elif "pad" in cell_kinds:
                cells.append(Cell(index, "pad"))
            else:
                kind = "in" if keep is None or keep[index] else "out"
                cells.append(Cell(index, kind, src[index], winner=index == winner))
        cells = tuple(cells)
    return WindowExplanation(
        position=tuple(position),
        axis_cells=axis_cells,
        cells=cells,
        result=res[tuple(position)],
        real=real,
        padding=within - real,
        winner=winner,
        left_out=_left_out(keep, windows, axis_cells),
    )


def _left_out(keep, windows, axis_cells) -> int:
    """How many input cells of the window ``keep`` leaves out."""
    if keep is None:
        return 0
    import numpy as np

    reals = [[c for c in cells if 0 <= c < a.size] for a, cells in zip(windows, axis_cells)]
    return int((~keep[np.ix_(*reals)]).sum()) if all(reals) else 0


def _blur_notes(options) -> list[str]:
    if not options.blur:
        return []
    return [
        f"BlurPool: the maxima are taken at stride 1 and blurred with the binomial filter of "
        f"{options.blur} taps at the stride shown, so each result mixes the maxima of "
        "neighbouring windows; the cells marked are each window's own maximum."
    ]


def _reduction_notes(reduction: Reduction, options) -> list[str]:
    """What the report says of the reduction's own rule (p, seed, lower median...)."""
    notes = []
    if reduction is Reduction.LP:
        notes.append(f"lp: (Σ|x|^p)^(1/p) with p = {options.norm_type:g}.")
    elif reduction is Reduction.GEM:
        notes.append(f"gem: (mean of x^p)^(1/p) with p = {options.norm_type:g}.")
    elif reduction is Reduction.STOCHASTIC:
        if options.expectation:
            notes.append("stochastic, expectation: Σx² / Σx per window (0 for an all-zero window).")
        else:
            seed = f" (seed {options.seed})" if options.seed is not None else " (no --seed)"
            notes.append(
                "stochastic: one cell per window, drawn with probability x / Σx" + seed + "."
            )
    elif reduction is Reduction.MEDIAN:
        notes.append("median: the lower median for an even number of cells (as torch.median).")
    elif reduction is Reduction.MODE:
        notes.append("mode: the most frequent value; ties go to the smallest.")
    return notes


def explain_result(
    array: np.ndarray,
    result: PoolResult,
    *,
    max_windows: int = MAX_WINDOWS,
    max_slices: int = MAX_SLICES,
    max_cells: int = MAX_CELLS,
    known_winners: np.ndarray | None = None,
) -> Explanation:
    """:func:`explain` for a :class:`poolcli.model.options.PoolResult` of ``array``.
    ``known_winners``: the winners, laid out like the output, when already found (for a
    crop of a larger pooling, whose sampled winners the crop alone would not draw again)."""
    from poolcli.learn.views import plain_view

    array, result = plain_view(array, result)  # --pool-axes: the pooled axes as spatial
    reduction = Reduction(result.reduction)
    options = result.options
    notes = _reduction_notes(reduction, options)
    notes += _blur_notes(options)
    if result.premultiplied:
        notes.append(
            "RGBA image: colour was weighted by alpha (premultiplied) before pooling and divided "
            "by the pooled alpha after, so colour results are not plain functions of the cells "
            "shown (--straight-alpha turns this off)."
        )
    used = used_cells(array, result)
    if used is not None:
        notes.append(left_out_note(result))
    winners = None
    if has_winner(result) and not result.premultiplied:
        if known_winners is not None:
            winners = known_winners
        elif array.size <= MAX_WINNER_CELLS:
            winners = result_winners(array, result)
        else:
            notes.append("The input is too large to mark the winning cells (*).")
    return explain(
        array,
        result.layout,
        result.windows,
        reduction,
        result.output,
        count_include_pad=result.spec.count_include_pad,
        global_pool=result.spec.global_pool,
        layout_guessed=result.layout_guessed,
        notes=tuple(notes),
        winners=winners,
        max_windows=max_windows,
        max_slices=max_slices,
        max_cells=max_cells,
        used=used,
    )
