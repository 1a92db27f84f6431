"""Columns of panels: :func:`render_columns` draws an input and arrays laid out like it (outputs,
gradients), one row per channel or depth slice; ``grad`` and the pool pictures are made with it.

What is drawn
-------------
- Colour images (RGB, RGBA, gray with alpha) read from image files in their own colours,
  transparency over a checkerboard.
- Everything single-channel (arrays, each channel of an array, grayscale images, and the
  channels of a small colour image) through viridis, with one colour scale shared by the
  panels; its ends are the minimum and maximum of everything shown (input and output), so
  a label map or a dim 16-bit image shows its structure.
- Several channels: one row per channel (the first few; the picture says how many are left
  out). 3-D volumes: a few depth slices, each output slice next to the input slice at the
  centre of its windows. 1-D signals: a line plot of input and output on the same axis, every
  output value drawn at the centre of its window.
- Small inputs (at most 16x16 cells): every cell shows its value, window boundaries are drawn
  on the input, padding as hatched cells, and for max, min, median, mode and stochastic
  sampling each window's winning cell is outlined in the same colour as its output cell. The
  winners are data the caller gives (:func:`poolcli.learn.winners.window_winners`, the
  engine's own answer); nothing here computes them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from poolcli.model.layout import Layout
from poolcli.model.window import AxisWindow
from poolcli.render.arrays import _canonical, _finite_range, _integral, _numpy, _spread
from poolcli.render.canvas import Picture, _font, _line_metrics, _short, _text_width
from poolcli.render.chart import _render_signals
from poolcli.render.colours import _Mapping
from poolcli.render.grid import VALUE_FONT, _draw_grid
from poolcli.render.marks import _outline_width

if TYPE_CHECKING:
    from poolcli.io import ImageInfo


#: Inputs with at most this many cells along each of two spatial axes are drawn cell by cell.
SMALL = 16


#: Shortest side of a panel drawn cell by cell, in pixels (more when its text needs it).
MIN_PANEL = 256


#: Longest side of other panels: enlarged by a whole factor to at least the first number
#: (the second when the picture has a single row), shrunk to at most MAX_PANEL.
MIN_LARGE_PANEL = (256, 384)


MAX_PANEL = 512


#: Rows (channels or depth slices) drawn at most, unless the caller asks for more.
MAX_ROWS = 4


@dataclass
class Column:
    """One column of panels: an array laid out like the input, and its title.

    ``windows``: the windows that made this array from the first column (``None`` when it
    has the first column's own shape, like a gradient); it places 1-D output values and pairs
    3-D slices. ``winners``: the (N, C, *out) winning taps of
    :func:`poolcli.learn.winners.window_winners`; on small inputs they are outlined on the
    first column and on this one (only the first column that has them). Columns with the same
    ``scale`` share one colour scale; ``cmap`` names its colour map (``viridis``, ``grey``,
    ``diverging``: centred at 0, ``categorical``: one colour per value; default: chosen
    from the values).
    """

    title: str
    array: Any
    windows: tuple[AxisWindow, ...] | None = None
    winners: Any = None
    scale: str = "values"
    cmap: str | None = None
    pick: str = "winning"  # how the legend names the framed input cell ("sampled"...)
    value_range: tuple[float, float] | None = None  # its scale covers at least this range
    #: For the first column: the cells a pooling left out (bool, shaped as ``array``); on
    #: small inputs they are crossed out.
    left_out: Any = None
    #: For an input column of a 3-D picture: which of each window's depth cells it shows
    #: (from 0); None: the middle one.
    tap: int | None = None


@dataclass
class _Row:
    label: str
    channel: int | None  # None: the colour row of an image (all channels)
    depth: list[int | None]  # per column: depth slice (3-D)
    #: Columns whose depth slice is padding (or not in a shorter adaptive bin): hatched.
    padded: tuple[int, ...] = ()


@dataclass
class _Sizes:
    box_w: int
    box_h: int
    cell: int | None  # pixels per input cell, for inputs drawn cell by cell
    ring: tuple[int, int, int, int] = (0, 0, 0, 0)  # padding cells left, top, right, bottom
    mark_windows: bool = True  # window boundaries (or the first window) drawn on the input


def render_columns(
    columns: Sequence[Column],
    layout: Layout | str,
    *,
    title: str = "",
    image: ImageInfo | None = None,
    max_rows: int = MAX_ROWS,
    notes: Sequence[str] = (),
    windows: Sequence[AxisWindow] | None = None,
    channels: Sequence[int] | None = None,
    mark_windows: bool = True,
) -> Picture:
    """Draw columns of panels: the first column is the input, the others share its layout.

    Parameters
    ----------
    columns : sequence of Column
        The first is the input; its spatial size sets every panel's displayed size.
    layout : Layout or str
        The layout of every column's array.
    title : str
        Drawn on top, wrapped to the picture's width (``\\n`` starts a new line).
    image : poolcli.io.ImageInfo, optional
        Set when the input was read from an image file: drawn in its own colours.
    max_rows, channels : int, sequence of int
        Channels (or depth slices) drawn at most; the channels drawn, one row each.
    notes : sequence of str
        Sentences printed under the panels.
    windows : sequence of AxisWindow, optional
        Windows drawn on a 2-D input panel (boundaries, padding). Default: the windows of
        the first column that has them.
    mark_windows : bool
        Draw window boundaries on a small input (padding is drawn either way).

    Returns a :class:`Picture`.
    """
    if not columns:
        raise ValueError("render_columns needs at least one column")
    chosen = None if channels is None else tuple(channels)
    if windows is None:
        windows = next((c.windows for c in columns if c.windows is not None), None)
    layout = layout if isinstance(layout, Layout) else Layout.parse(str(layout))
    datas = [_canonical(_numpy(c.array), layout) for c in columns]
    notes = list(notes)
    n, channels = datas[0].shape[:2]
    if n > 1:
        notes.append(f"Item 1 of {n} (axis N) is shown.")
    if len(layout.spatial) == 1:
        return _render_signals(columns, datas, title, max_rows, notes)
    colour = image is not None and "C" in layout.letters and channels in (2, 3, 4)
    rows = _plan_rows(columns, datas, layout, colour, (max_rows, chosen), notes)
    fields = [[_field(d, row, k) for k, d in enumerate(datas)] for row in rows]
    mappings = _mappings(columns, rows, fields, image)
    sizes = _sizes(rows, fields, windows)
    sizes.mark_windows = mark_windows
    if sizes.cell is None:
        notes.append(_display_scale(sizes.box_w / fields[0][0].shape[1]))
    args = (columns, datas, rows, fields, mappings, sizes, title, windows, notes)
    return _draw_grid(*args, crossed=_crossed(columns[0], layout, rows))


def _crossed(column: Column, layout: Layout, rows: list[_Row]) -> list | None:
    """Per row, the input cells the pooling left out (to cross out), or None."""
    if column.left_out is None:
        return None
    hidden = _canonical(np.asarray(column.left_out), layout)
    return [_field(hidden, row, 0) if row.channel is not None else None for row in rows]


def _plan_rows(columns, datas, layout, colour, limits, notes) -> list[_Row]:
    max_rows, chosen = limits
    channels = datas[0].shape[1]
    ncols = len(columns)
    spatial = datas[0].shape[2:]
    rows: list[_Row] = []
    if len(spatial) == 3:
        if channels > 1:
            notes.append(f"Channel 0 of {channels} is shown.")
        windows = next((c.windows for c in columns if c.windows is not None), None)
        if windows is not None:
            depth_axis = windows[0]
            for j in _spread(depth_axis.out, max_rows):
                rows.append(_depth_row(columns, depth_axis, j))
        else:
            for d in _spread(spatial[0], max_rows):
                rows.append(_Row(f"depth slice D={d}", 0, [d] * ncols))
        shown = rows
        if len(shown) < (windows[0].out if windows is not None else spatial[0]):
            total = windows[0].out if windows is not None else spatial[0]
            notes.append(f"{len(shown)} of {total} depth slices are shown.")
        return rows
    small = max(spatial) <= SMALL
    if colour:
        rows.append(_Row("", None, [None] * ncols))
        if not small:
            return rows
    names = {
        2: ("gray", "alpha"),
        3: ("red", "green", "blue"),
        4: ("red", "green", "blue", "alpha"),
    }
    picked = _picked(chosen, channels, max_rows, notes)
    shown = len(picked)
    for ch in picked:
        if colour:
            label = f"{names[channels][ch]} channel"
        elif channels > 1:
            label = f"channel {ch}"
        else:
            label = ""
        rows.append(_Row(label, ch, [None] * ncols))
    if channels > shown and chosen is None:
        notes.append(
            f"Channels {shown}-{channels - 1} are not shown ({channels - shown} more; "
            f"channels count from 0; --channels picks them)."
        )
    return rows


def _depth_row(columns, depth_axis: AxisWindow, j: int) -> _Row:
    """The row of output slice ``j``: each input column shows one depth slice it pools (its
    ``tap``, else the middle one); a tap that falls in the depth padding is hatched."""
    cells = depth_axis.cells(j)
    real = [c for c in cells if 0 <= c < depth_axis.size] or [0]
    d_in = real[len(real) // 2]
    depth: list[int | None] = []
    padded = []
    for k, column in enumerate(columns):
        if column.windows is not None:
            depth.append(j)
        elif column.tap is not None:
            inside = column.tap < len(cells) and 0 <= cells[column.tap] < depth_axis.size
            depth.append(cells[column.tap] if inside else real[0])
            padded += [] if inside else [k]
        else:
            depth.append(d_in)
    reach = f"D={real[0]}" if len(real) == 1 else f"D={real[0]}-{real[-1]}"
    label = f"output slice D={j} pools input {reach}"
    pads = sum(1 for c in cells if not 0 <= c < depth_axis.size)
    if pads:
        label += f" and {pads} padding slice{'s' * (pads > 1)}"
    if not any(c.tap is not None for c in columns):
        label += f"; input slice D={d_in} shown"
    return _Row(label, 0, depth, tuple(padded))


def _display_scale(ratio: float) -> str:
    """The display scale of a panel drawn as a whole, in words."""
    if ratio < 1:
        return (
            f"Shown at 1/{1 / ratio:.2g} size: each screen pixel is the mean of about "
            f"{1 / ratio:.2g}x{1 / ratio:.2g} cells."
        )
    if ratio > 1:
        return f"Shown {ratio:.2g}x enlarged: each cell is a {ratio:.2g}x{ratio:.2g} block."
    return "Shown at full size: one screen pixel per cell."


def _picked(chosen, channels: int, max_rows: int, notes: list[str]) -> list[int]:
    """The channels drawn: those asked for that exist, else the first ``max_rows``."""
    if chosen is None:
        return list(range(min(channels, max_rows)))
    picked = [c for c in chosen if c < channels]
    if len(picked) < len(chosen):
        notes.append(f"The input has {channels} channels (from 0): others are left out.")
    return picked or [0]


def _field(data: np.ndarray, row: _Row, k: int) -> np.ndarray:
    item = data[0]
    if row.channel is None:
        return np.moveaxis(item, 0, -1)
    field_ = item[row.channel]
    if row.depth[k] is not None:
        field_ = field_[min(row.depth[k], field_.shape[0] - 1)]
    return field_


#: Integer values with at most this many distinct values are drawn as categories.
CATEGORIES = 10


def _mappings(columns, rows, fields, image) -> dict[str, _Mapping]:
    """One colour mapping per scale group, over the scalar panels shown in it."""
    groups: dict[str, list[np.ndarray]] = {}
    cmaps: dict[str, str | None] = {}
    spans = {c.scale: c.value_range for c in columns if c.value_range is not None}
    for row, row_fields in zip(rows, fields):
        for column, f in zip(columns, row_fields):
            if row.channel is not None:
                groups.setdefault(column.scale, []).append(f)
                cmaps[column.scale] = cmaps.get(column.scale) or column.cmap
    colour_fields = [f for row, rf in zip(rows, fields) if row.channel is None for f in rf]
    mappings = {}
    grey = image is not None and image.mode in ("L", "I", "I;16", "F", "LA", "1")
    for name, group in groups.items():
        # Only the input's own scale may hold labels; sums of labels are not labels.
        cmap = cmaps.get(name) or (None if name == "values" else "viridis")
        mappings[name] = _scale_mapping(group, cmap, grey, spans.get(name))
    if colour_fields:
        mappings["colour"] = _colour_mapping(colour_fields, image)
    return mappings


def _scale_mapping(group, cmap: str | None, grey: bool, span=None) -> _Mapping:
    """The mapping of one scale group: its colour map named, or chosen from the values;
    over their range, widened to ``span`` when given."""
    low, high = _finite_range(group) or (0.0, 1.0)
    if span is not None:
        low, high = min(low, span[0]), max(high, span[1])
    integral = _integral(group)
    if cmap == "diverging":
        reach = max(abs(low), abs(high)) or 1.0
        return _Mapping(-reach, reach, integral, "diverging")
    if cmap in (None, "categorical") and integral and high > low:
        values = np.unique(np.concatenate([np.asarray(f).ravel() for f in group]))
        values = values[np.isfinite(values.astype(np.float64))]
        if len(values) <= CATEGORIES:
            return _Mapping(low, high, True, "categorical", tuple(values.tolist()))
    return _Mapping(low, high, integral, cmap or ("grey" if grey else "viridis"))


def _colour_mapping(fields, image) -> _Mapping:
    """Full intensity of an image's colour rows: its bit depth, or 1.0 for floats in [0, 1]."""
    if image is not None and not image.floating:
        top = float(2**image.bits - 1)
    else:
        span = _finite_range(fields) or (0.0, 1.0)
        top = 1.0 if span[1] <= 1.0 else span[1]
    return _Mapping(0.0, top, False)


def _sizes(rows, fields, windows) -> _Sizes:
    h, w = fields[0][0].shape[:2]
    scalar = [(r, rf) for r, rf in zip(rows, fields) if r.channel is not None]
    if max(h, w) > SMALL:
        longest = max(h, w)
        least = MIN_LARGE_PANEL[1] if len(rows) == 1 else MIN_LARGE_PANEL[0]
        if longest < least:
            scale = float(-(-least // longest))
        elif longest <= MAX_PANEL:
            scale = 1.0
        else:
            scale = MAX_PANEL / longest
        box_w = max(round(w * scale), 48)
        box_h = max(round(h * scale), 48)
        return _Sizes(box_w, box_h, None)
    cell0 = -(-MIN_PANEL // max(h, w))
    font = _font(VALUE_FONT[0])
    _, text_h = _line_metrics(font)
    reserve = 2 * (_outline_width(cell0) + 4)
    need = text_h + reserve
    for _, row_fields in scalar:
        for f in row_fields:
            fh, fw = f.shape[:2]
            integer = f.dtype.kind in "biu"
            labels = {_short(v, integer) for v in np.asarray(f).ravel().tolist()}
            widest = max(_text_width(font, t) for t in labels) if labels else 0
            # A panel's cells are (w / fw) input cells wide.
            need = max(need, math.ceil((widest + reserve) * fw / w), math.ceil(need * fh / h))
    cell = max(cell0, need)
    ring = (0, 0, 0, 0)
    if windows is not None and len(windows) == 2:
        wy, wx = windows
        ring = (wx.pad_begin, wy.pad_begin, wx.pad_end + wx.extra_end, wy.pad_end + wy.extra_end)
    return _Sizes(w * cell, h * cell, cell, ring)
