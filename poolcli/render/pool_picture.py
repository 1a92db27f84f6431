"""Pictures of a pooling, drawn from the real result.

* :func:`render_pool` draws one :class:`~poolcli.model.options.PoolResult`: the input and the output
  at the same displayed size (the output enlarged by nearest neighbour, so every output cell is a
  visible block), titled with the op, its parameters and the shapes (:func:`describe`).
* :func:`render_compare` draws one input and several results of the same windows (one panel
  per op).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from poolcli.learn.missing import left_out_note, used_cells
from poolcli.model.display import format_shape
from poolcli.model.reductions import Reduction
from poolcli.model.window import format_axes
from poolcli.render.arrays import _numpy
from poolcli.render.canvas import Picture
from poolcli.render.columns import MAX_ROWS, SMALL, Column, render_columns

if TYPE_CHECKING:
    from poolcli.io import ImageInfo
    from poolcli.model.options import PoolResult


def window_text(result: PoolResult) -> str:
    """The windowing of ``result`` in words, e.g. ``kernel 2x2, stride 2x2, padding 1``."""
    spec, windows = result.spec, result.windows
    if spec.mode == "global":
        return "global window"
    if spec.mode == "fractional":
        return f"fractional windows, output size {format_axes(tuple(a.out for a in windows))}"
    if spec.mode == "adaptive":
        return f"adaptive, output size {format_axes(tuple(a.out for a in windows))}"
    parts = [
        f"kernel {format_axes(tuple(a.kernel for a in windows))}",
        f"stride {format_axes(tuple(a.stride for a in windows))}",
    ]
    pads = tuple(
        a.pad_begin if a.pad_begin == a.pad_end else (a.pad_begin, a.pad_end) for a in windows
    )
    if spec.padding == "same":
        parts.append(f"padding same ({format_axes(pads)})")
    elif any(a.pad_begin or a.pad_end for a in windows):
        parts.append(f"padding {format_axes(pads)}")
    if any(a.dilation != 1 for a in windows):
        parts.append(f"dilation {format_axes(tuple(a.dilation for a in windows))}")
    if spec.ceil_mode:
        parts.append("ceil mode")
    if spec.count_include_pad and result.reduction is Reduction.AVG:
        parts.append("count-include-pad")
    return ", ".join(parts)


def op_text(result: PoolResult) -> str:
    """``max pooling``, ``lp pooling (p=3)``, ``stochastic pooling (sampled, seed 1)``..."""
    text = f"{result.reduction} pooling"
    options = result.options
    if result.reduction in (Reduction.LP, Reduction.GEM):
        text += f" (p={options.norm_type:g})"
    elif result.reduction is Reduction.STOCHASTIC:
        if options.expectation:
            text += " (expectation)"
        elif options.seed is not None:
            text += f" (sampled, seed {options.seed})"
        else:
            text += " (sampled)"
    return text


def describe(result: PoolResult, name: str | None = None) -> str:
    """A picture's title: the op, its windows, and the shapes in and out (two lines)."""
    head = f"{op_text(result)}, {window_text(result)}"
    if name:
        head = f"{name}: {head}"
    output = _numpy(result.output)
    shape_in = format_shape(result.input_shape, ascii=True)
    shape_out = format_shape(output.shape, ascii=True)
    shapes = (
        f"input {shape_in} ({result.layout}, {result.input_dtype})"
        f" -> output {shape_out} ({output.dtype})"
    )
    return f"{head}\n{shapes}"


def render_pool(
    source,
    result: PoolResult,
    *,
    winners=None,
    title: str | None = None,
    max_rows: int = MAX_ROWS,
    channels: Sequence[int] | None = None,
    mark_windows: bool = True,
    region: tuple[str, str] | None = None,
) -> Picture:
    """Draw the input of ``result`` next to its output.

    Parameters
    ----------
    source : poolcli.io.LoadedInput or numpy.ndarray
        The input that was pooled (a loaded image is drawn in its own colours).
    result : poolcli.model.options.PoolResult
        What :func:`poolcli.engine.core.run` returned for it.
    winners : numpy.ndarray, optional
        Each window's winning tap, ``(N, C, *out)`` as
        :func:`poolcli.learn.winners.window_winners` gives it, framed where
        :func:`frames_winners` holds.
    title : str, optional
        Default: :func:`describe` of the result, with the file name.
    max_rows, channels : int, sequence of int
        Channels (or depth slices) drawn at most; the channels drawn (default: the first).
    mark_windows : bool
        Draw window boundaries on a small input (the animation draws its own).
    region : (str, str), optional
        For a part of a larger pooling: the input cells and the output cells it is, in
        words (:func:`region_text`), said in the panel titles instead of the shapes.

    Returns a :class:`Picture` (for a large 2-D input, a zoom and a difference map below).
    """
    array, name, image = picture_source(source)
    output = _numpy(result.output)
    used = used_cells(array, result) if array.shape == tuple(result.input_shape) else None
    notes = _pool_notes(result, used is not None)
    framed = framed_winners(result, winners, mark_windows)
    columns = _pool_columns(array, output, result, framed, region)
    columns[0].left_out = None if used is None else ~used
    picture = render_columns(
        columns,
        result.layout,
        title=describe(result, name) if title is None else title,
        image=image,
        max_rows=max_rows,
        notes=notes,
        channels=channels,
        mark_windows=mark_windows,
    )
    if mark_windows:
        channel = channels[0] if channels else 0
        picture = with_multiples(picture, array, result, result.output, channel, winners)
    return _with_zoom(picture, array, result, channels, image)


def _pool_notes(result: PoolResult, left_out: bool) -> list[str]:
    """The notes under a pooling's picture: what marks and colours mean for this result."""
    notes: list[str] = []
    if frames_winners(result):
        notes += _unseeded_notes(result) + _padding_notes(result)
    if result.premultiplied:
        notes.append("Colour was weighted by alpha (premultiplied) while pooling.")
    notes += _depth_notes(result)
    return notes + ([left_out_words(result)] if left_out else [])


#: Overlapping windows whose winners are also framed on the input at most; with more, the
#: numbered frames would crowd the cells, and the small multiples show each winner.
MAX_FRAMED = 20


def framed_winners(result: PoolResult, winners, mark_windows: bool = True):
    """The winners framed on the input and output panels (None: left to the multiples)."""
    from poolcli.render.multiples import overlapping

    many = int(np.prod([a.out for a in result.windows or ()])) > MAX_FRAMED
    if winners is not None and mark_windows and overlapping(result.windows or ()) and many:
        return None
    return winners


def with_multiples(
    picture: Picture, array, result, outputs, channel: int = 0, winners=None, routes=None
) -> Picture:
    """``picture`` of a small 2-D input whose windows overlap, with each window on its own
    under it (:mod:`poolcli.render.multiples`); else ``picture`` itself. ``result``: the
    pooling (or its gradient); ``outputs``: its output, or ``(name, output)`` pairs of several
    ops over the same windows; framed in black: the ``winners`` (as
    :func:`poolcli.learn.winners.window_winners` gives them), or the cells ``routes(channel,
    shown)`` names (:func:`poolcli.learn.winners.gradient_routes`)."""
    from poolcli.render import multiples

    if not frames_winners(result) or not multiples.overlapping(result.windows):
        return picture
    if "values" not in picture.mappings:
        return picture
    from poolcli.render.zoom import stack

    marked = None
    if routes is not None:
        shown = multiples.shown_channel(array, result.layout, channel)
        marked = multiples.routes_marked(routes(shown, multiples.shown_cells(result.windows)))
    below = multiples.multiples_of(
        picture, array, outputs, result.layout, result.windows, winners, channel, marked
    )
    return stack([picture], [below], name="windows")


def region_text(rows: tuple[int, int], cols: tuple[int, int]) -> str:
    """``rows 0-15, columns 0-15``: a block of cells (first and last of each axis)."""
    return f"rows {rows[0]}-{rows[1]}, columns {cols[0]}-{cols[1]}"


def _pool_columns(array, output, result: PoolResult, winners, region=None) -> list[Column]:
    """The input, stochastic's probabilities where they apply, and the output."""
    spatial_in = result.layout.spatial_shape(tuple(array.shape))
    spatial_out = result.layout.spatial_shape(tuple(output.shape))
    sampled = result.reduction is Reduction.STOCHASTIC and not result.options.expectation
    out_where = region[1] if region else format_shape(spatial_out, ascii=True)
    columns = [
        *_input_columns(array, spatial_in, result, region and region[0]),
        *_probabilities(array, result),
        Column(
            f"{result.reduction} output {out_where}",
            output,
            windows=result.windows,
            winners=winners,
            scale=output_scale(result),
            pick="sampled" if sampled else "winning",
        ),
    ]
    return columns


#: A volume's picture shows every depth slice an output slice pools, up to this many
#: (more: this many spread from the first to the last).
MAX_DEPTH_TAPS = 5


def _input_columns(array, spatial_in, result: PoolResult, where=None) -> list[Column]:
    """The input; for a volume whose windows read several depth slices, one input column per
    slice a window reads (its padding slices hatched), so every slice an output slice pools
    is drawn (MAX_DEPTH_TAPS of them, spread, when there are more)."""
    from poolcli.render.arrays import _spread

    title = f"input {where or format_shape(spatial_in, ascii=True)}"
    windows = result.windows
    if len(spatial_in) != 3 or windows is None or len(windows) != 3 or windows[0].kernel < 2:
        return [Column(title, array)]
    count = windows[0].kernel  # adaptive: the longest bin
    return [
        Column(f"{title}, slice {t + 1} of {count} in each window", array, tap=t)
        for t in _spread(count, MAX_DEPTH_TAPS)
    ]


def _depth_notes(result: PoolResult) -> list[str]:
    """What the input columns of a volume leave out or hatch."""
    windows = result.windows
    if windows is None or len(windows) != 3 or windows[0].kernel < 2:
        return []
    depth, notes = windows[0], []
    if depth.kernel > MAX_DEPTH_TAPS:
        notes.append(
            f"Each window reads {depth.kernel} depth slices; {MAX_DEPTH_TAPS} of them, spread "
            "from the first to the last, are drawn."
        )
    if any(not 0 <= c < depth.size for j in range(depth.out) for c in depth.cells(j)):
        notes.append("Hatched panels: depth padding, where a window reaches past the volume.")
    return notes


def _with_zoom(picture: Picture, array, result: PoolResult, channels, image) -> Picture:
    """A large 2-D input's picture with the zoomed crop and the difference map under it."""
    spatial = result.layout.spatial_shape(tuple(array.shape))
    if len(spatial) != 2 or max(spatial) <= SMALL:
        return picture
    from poolcli.render.zoom import stack, zoom_pictures

    channel = channels[0] if channels else 0
    below = zoom_pictures(array, result, channel, str(result.reduction), image)
    return stack([picture], below) if below else picture


#: Ops drawn in one band of a compare picture (the default five fit one); more wrap.
PER_BAND = 5


def render_compare(
    source,
    results: Sequence[PoolResult],
    *,
    title: str | None = None,
    max_rows: int = MAX_ROWS,
) -> Picture:
    """Draw one input and the outputs of several ops over the same windows, one panel each,
    PER_BAND ops to a band (each band starts with the input again); where the windows of a
    small input overlap, each window on its own under them, titled with every op's value.

    The ops that keep the input's range share its colour scale, so equal colours mean equal
    values across them (in every band); sum and lp (whose values grow with the window) get
    a scale each.
    """
    if not results:
        raise ValueError("render_compare needs at least one result")
    array, name, image = picture_source(source)
    first = results[0]
    spatial_in = first.layout.spatial_shape(tuple(array.shape))
    columns = [Column(f"input {format_shape(spatial_in, ascii=True)}", array)]
    for result in results:
        output = _numpy(result.output)
        label = op_text(result).replace(" pooling", "")
        shape = format_shape(result.layout.spatial_shape(tuple(output.shape)), ascii=True)
        columns.append(
            Column(f"{label} {shape}", output, windows=result.windows, scale=output_scale(result))
        )
    if title is None:
        ops = ", ".join(str(r.reduction) for r in results)
        title = f"{name + ': ' if name else ''}{ops}, {window_text(first)}"
    spans = _spans(columns)
    for column in columns:
        column.value_range = spans.get(column.scale)
    bands = []
    for start in range(1, len(columns), PER_BAND):
        band = [columns[0], *columns[start : start + PER_BAND]]
        heading = title if start == 1 else ""
        bands.append(
            render_columns(band, first.layout, title=heading, image=image, max_rows=max_rows)
        )
    from poolcli.render.zoom import stack

    picture = bands[0]
    for band in bands[1:]:
        picture = stack([picture], [band], scales=True)
    # The windows are the same for every op: one set of copies, each titled with every value.
    outputs = [(str(result.reduction), result.output) for result in results]
    return with_multiples(picture, array, first, outputs)


def _spans(columns: Sequence[Column]) -> dict[str, tuple[float, float]]:
    """The range of every colour scale over all its columns (finite values only)."""
    from poolcli.render.arrays import _finite_range

    groups: dict[str, list] = {}
    for column in columns:
        groups.setdefault(column.scale, []).append(_numpy(column.array))
    return {name: r for name, group in groups.items() if (r := _finite_range(group)) is not None}


#: Reductions whose outputs leave the input's range: drawn on their own colour scale.
OWN_SCALE = (Reduction.SUM, Reduction.LP)


def output_scale(result: PoolResult) -> str:
    """The colour scale of ``result``'s output: the input's (``values``), or for sums its
    own (on the input's scale, the input would look flat)."""
    return str(result.reduction) if result.reduction in OWN_SCALE else "values"


def _probabilities(array, result: PoolResult) -> list[Column]:
    """For stochastic pooling of a small 2-D array whose windows do not overlap: a panel of
    each cell's probability x/sum(x) of being drawn in its window."""
    from poolcli.render.arrays import _disjoint

    windows = result.windows
    if result.reduction is not Reduction.STOCHASTIC or not frames_winners(result):
        return []
    if array.ndim != 2 or not all(_disjoint(a) for a in windows):
        return []
    values = np.asarray(array, dtype=np.float64)
    chance = np.full(values.shape, np.nan)
    wy, wx = windows
    for i in range(wy.out):
        rows = [r for r in wy.cells(i) if 0 <= r < wy.size]
        for j in range(wx.out):
            cols = [c for c in wx.cells(j) if 0 <= c < wx.size]
            block = values[np.ix_(rows, cols)]
            total = block.sum()
            share = block / total if total > 0 else np.full(block.shape, 1 / block.size)
            chance[np.ix_(rows, cols)] = share
    return [Column("probability x / sum of its window", chance, scale="probability")]


def frames_winners(result: PoolResult) -> bool:
    """Whether :func:`render_pool` frames each window's winner: on inputs it draws cell by cell
    (two spatial axes, at most SMALL cells each)."""
    spatial = result.layout.spatial_shape(tuple(result.input_shape))
    return len(spatial) == 2 and max(spatial) <= SMALL


def left_out_words(result: PoolResult) -> str:
    """The note under a picture whose pooling left cells out."""
    return left_out_note(result).replace("shown in parentheses", "crossed out on small inputs")


def _unseeded_notes(result: PoolResult) -> list[str]:
    """Why the cells a sampling run chose are not framed."""
    options = result.options
    if result.reduction is Reduction.STOCHASTIC and not options.expectation:
        if options.seed is None:
            return ["The sampled cells are not outlined: give --seed N to see them."]
    return []


def _padding_notes(result: PoolResult) -> list[str]:
    """What the hatched padding cells mean for this reduction."""
    windows = result.windows
    notes = []
    if any(a.pad_begin or a.pad_end for a in windows):
        if result.reduction is Reduction.AVG and result.spec.count_include_pad:
            notes.append("Padding counts as 0 in each mean (--count-include-pad).")
        elif result.reduction is Reduction.AVG:
            notes.append("Padding is left out of each mean.")
        elif result.reduction in (Reduction.SUM, Reduction.LP):
            notes.append("Padding adds nothing.")
        else:
            notes.append("Padding is never chosen.")
    return notes


def picture_source(source) -> tuple[np.ndarray, str | None, ImageInfo | None]:
    """(array, display name, image info) of a LoadedInput or a plain array."""
    if hasattr(source, "array") and hasattr(source, "kind"):
        image = source.image if source.kind == "image" else None
        return source.array, os.path.basename(source.path) or source.path, image
    return _numpy(source), None, None
