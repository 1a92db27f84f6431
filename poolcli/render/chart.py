"""Line charts: :func:`line_chart` draws named series on one axis; 1-D inputs are drawn as
charts of the input and its outputs, every output value at the centre of its window.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from poolcli.render.arrays import _centres
from poolcli.render.canvas import (
    Box,
    Picture,
    _Canvas,
    _font,
    _line_metrics,
    _lines_height,
    _text_width,
    _vertical_text,
    _wrap,
)
from poolcli.render.colours import FRAME, MUTED, SERIES


def _nice_ticks(low: float, high: float, count: int = 5) -> tuple[list[float], int]:
    """Round tick values covering [low, high] and the decimals their labels need."""
    if not high > low:
        return [low], 0
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = magnitude * 10
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * magnitude:
            step = m * magnitude
            break
    first = math.ceil(low / step - 1e-9)
    ticks = []
    k = first
    while k * step <= high + step * 1e-9:
        ticks.append(k * step)
        k += 1
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    if round(step / magnitude, 6) == 2.5:
        decimals += 1
    return ticks, decimals


def _tick_label(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}"
    return "0" if float(text) == 0 else text


#: Legend: the length of a series' line sample, and the space after each entry.
_SWATCH = 22
_ENTRY_GAP = 18


@dataclass
class _Series:
    label: str
    x: np.ndarray
    y: np.ndarray
    colour: tuple[int, int, int]
    markers: bool
    width: int = 2
    shape: int = 0  # marker: square, circle, triangle, diamond, triangle down
    grow: int = 0  # marker radius beyond the line's width


@dataclass
class _Axes:
    """A chart's plot area and the value ranges it spans, with their ticks."""

    plot: Box
    xspan: tuple[float, float]
    yspan: tuple[float, float]
    x_ticks: list[float]
    x_decimals: int
    y_ticks: list[float]
    y_labels: list[str]

    def px(self, x: float) -> float:
        left, _, right, _ = self.plot
        return left + (x - self.xspan[0]) / (self.xspan[1] - self.xspan[0]) * (right - left)

    def py(self, y: float) -> float:
        _, top, _, bottom = self.plot
        return bottom - (y - self.yspan[0]) / (self.yspan[1] - self.yspan[0]) * (bottom - top)


def _draw_chart(canvas, box, series: Sequence[_Series], font, x_label="", y_label="") -> Box:
    """Axes, ticks, a legend and the series; returns the plot area."""
    legend_rows = _legend_rows(font, series, box[2] - box[0])
    _, line_h = _line_metrics(font)
    legend_h = len(legend_rows) * (line_h + 6)
    axes = _chart_axes(series, font, box, legend_h, bool(x_label), bool(y_label))
    _draw_axes(canvas, axes, font, box, x_label, y_label)
    left, _, right, _ = axes.plot
    for s in series:
        _draw_series(canvas.draw, axes, s, right - left)
    shapes = {s.label: s.shape for s in series if s.markers}
    _draw_legend(canvas, legend_rows, left, box[1], font, shapes)
    return axes.plot


def _legend_rows(font, series: Sequence[_Series], width: int) -> list[list[tuple[str, tuple]]]:
    """Legend entries (label, colour), wrapped into lines that fit ``width``."""
    rows: list[list[tuple[str, tuple]]] = [[]]
    used = 0
    for s in series:
        need = _SWATCH + 6 + _text_width(font, s.label) + _ENTRY_GAP
        if rows[-1] and used + need > width:
            rows.append([])
            used = 0
        rows[-1].append((s.label, s.colour))
        used += need
    return rows


def _chart_axes(series, font, box, legend_h: int, x_label: bool, y_label: bool) -> _Axes:
    """Round ticks over the finite values, and a plot area that leaves room for their labels."""
    x0, y0, x1, y1 = box
    _, line_h = _line_metrics(font)
    ys = [v for s in series for v in np.asarray(s.y, dtype=np.float64).tolist() if math.isfinite(v)]
    xs_all = [v for s in series for v in np.asarray(s.x, dtype=np.float64).tolist()]
    low, high = (min(ys), max(ys)) if ys else (0.0, 1.0)
    if high <= low:
        low, high = low - (abs(low) * 0.5 or 1.0), high + (abs(high) * 0.5 or 1.0)
    pad = (high - low) * 0.06
    y_ticks, y_dec = _nice_ticks(low - pad, high + pad)
    x_low, x_high = (min(xs_all), max(xs_all)) if xs_all else (0.0, 1.0)
    if x_high <= x_low:
        x_low, x_high = x_low - 1, x_high + 1
    x_ticks, x_dec = _nice_ticks(x_low, x_high, 6)
    if xs_all and all(float(v).is_integer() for v in xs_all):  # whole steps: whole ticks
        whole = [t for t in x_ticks if float(t).is_integer()]
        x_ticks, x_dec = (whole, 0) if len(whole) >= 2 else (sorted(set(xs_all)), 0)
    y_labels = [_tick_label(v, y_dec) for v in y_ticks]
    left = x0 + max(_text_width(font, t) for t in y_labels) + 10
    if y_label:
        left += line_h + 6
    top = y0 + legend_h + 4
    bottom = y1 - line_h - 8 - (line_h + 4 if x_label else 0)
    right = x1 - max(8, _text_width(font, _tick_label(x_ticks[-1], x_dec)) // 2 + 2)
    xspan = (x_low - (x_high - x_low) * 0.02, x_high + (x_high - x_low) * 0.02)
    yspan = (low - pad, high + pad)
    return _Axes((left, top, right, bottom), xspan, yspan, x_ticks, x_dec, y_ticks, y_labels)


def _draw_axes(canvas, axes: _Axes, font, box, x_label: str, y_label: str) -> None:
    """Grid lines, tick labels, the frame and the axis labels."""
    left, top, right, bottom = axes.plot
    _, line_h = _line_metrics(font)
    draw = canvas.draw
    for value, text in zip(axes.y_ticks, axes.y_labels):
        yy = round(axes.py(value))
        if top <= yy <= bottom:
            draw.line((left, yy, right, yy), fill=(232, 232, 232))
            canvas.text(left - 6, yy, text, font, align="right", valign="middle")
    for value in axes.x_ticks:
        xx = round(axes.px(value))
        if left <= xx <= right:
            draw.line((xx, top, xx, bottom), fill=(240, 240, 240))
            draw.line((xx, bottom, xx, bottom + 4), fill=FRAME)
            canvas.text(xx, bottom + 6, _tick_label(value, axes.x_decimals), font, align="center")
    draw.rectangle((left, top, right, bottom), outline=FRAME, width=1)
    if x_label:
        canvas.text((left + right) / 2, box[3] - line_h, x_label, font, fill=MUTED, align="center")
    if y_label:
        _vertical_text(canvas, box[0], (top + bottom) / 2, y_label, font)


def _draw_series(draw, axes: _Axes, s: _Series, columns: int) -> None:
    """One series: lines broken at non-finite values, and square markers when asked."""
    xs = np.asarray(s.x, dtype=np.float64)
    ys = np.asarray(s.y, dtype=np.float64)
    if len(xs) > 2 * columns:
        xs, ys = _envelope(xs, ys, columns)
    points = [(axes.px(x), axes.py(y)) for x, y in zip(xs.tolist(), ys.tolist())]
    run: list[tuple[float, float]] = []
    for point, value in zip(points, ys.tolist()):
        if math.isfinite(value):
            run.append(point)
        else:
            _polyline(draw, run, s)
            run = []
    _polyline(draw, run, s)
    if s.markers:
        for (x, y), value in zip(points, ys.tolist()):
            if math.isfinite(value):
                _marker(draw, x, y, s.width + 1 + s.grow, s.shape, s.colour)


def _marker(draw, x: float, y: float, r: int, shape: int, colour) -> None:
    """One of five marker shapes, so series that coincide stay told apart."""
    shape %= 5
    if shape == 0:
        draw.rectangle((x - r, y - r, x + r, y + r), fill=colour)
    elif shape == 1:
        points = [
            (x + r * math.cos(a * math.pi / 6), y + r * math.sin(a * math.pi / 6))
            for a in range(12)
        ]
        draw.polygon(points, fill=colour)
    elif shape == 2:
        draw.polygon([(x, y - r - 1), (x + r + 1, y + r), (x - r - 1, y + r)], fill=colour)
    elif shape == 3:
        draw.polygon([(x, y - r - 1), (x + r + 1, y), (x, y + r + 1), (x - r - 1, y)], fill=colour)
    else:
        draw.polygon([(x, y + r + 1), (x + r + 1, y - r), (x - r - 1, y - r)], fill=colour)


def _draw_legend(canvas, legend_rows, left: int, y: int, font, shapes=None) -> None:
    shapes = shapes or {}
    _, line_h = _line_metrics(font)
    for entries_row in legend_rows:
        lx = left
        for text, colour in entries_row:
            mid = y + line_h // 2
            canvas.draw.line((lx, mid, lx + _SWATCH, mid), fill=colour, width=3)
            shape = shapes.get(text)
            if shape is not None:
                _marker(canvas.draw, lx + _SWATCH / 2, mid, 4 + shape % 2, shape, colour)
            canvas.text(lx + _SWATCH + 6, y, text, font)
            lx += _SWATCH + 6 + _text_width(font, text) + _ENTRY_GAP
        y += line_h + 6


def _envelope(xs, ys, columns: int) -> tuple[np.ndarray, np.ndarray]:
    """A long series cut to its lowest and highest value per pixel column, so spikes stay."""
    order = np.argsort(xs, kind="stable")
    xs, ys = xs[order], ys[order]
    span = max(xs[-1] - xs[0], 1e-12)
    bins = np.minimum(((xs - xs[0]) / span * columns).astype(np.int64), columns - 1)
    starts = np.flatnonzero(np.r_[True, bins[1:] != bins[:-1]])
    ends = np.r_[starts[1:], len(xs)]
    out_x: list[float] = []
    out_y: list[float] = []
    for a, b in zip(starts.tolist(), ends.tolist()):
        chunk = ys[a:b]
        finite = chunk[np.isfinite(chunk)]
        mid = float(xs[a:b].mean())
        if finite.size == 0:
            out_x.append(mid)
            out_y.append(math.nan)
            continue
        low, high = float(finite.min()), float(finite.max())
        # Lowest first when the column starts low, so the line does not zigzag backwards.
        out_y += [low, high] if finite[0] <= (low + high) / 2 else [high, low]
        out_x += [mid, mid]
    return np.array(out_x), np.array(out_y)


def _polyline(draw, points, s: _Series) -> None:
    if len(points) >= 2:
        draw.line(points, fill=s.colour, width=s.width, joint="curve")
    elif len(points) == 1 and not s.markers:
        x, y = points[0]
        draw.rectangle((x - 1, y - 1, x + 1, y + 1), fill=s.colour)


def _render_signals(columns, datas, title, max_rows, notes) -> Picture:
    """1-D: one chart per channel (and per colour scale), input and outputs on the same axis."""
    channels, length = datas[0].shape[1], datas[0].shape[2]
    shown = min(channels, max_rows)
    if channels > shown:
        notes.append(
            f"Channels {shown}-{channels - 1} are not shown ({channels - shown} more; "
            f"channels count from 0)."
        )
    groups = _scale_groups(columns)
    chart_w = max(560, min(960, 3 * length))
    chart_h = 300
    base = 14
    font, title_font = _font(base), _font(base + 4)
    margin, gap = base + 4, 28
    width = margin * 2 + len(groups) * chart_w + (len(groups) - 1) * gap
    text_width = width - 2 * margin
    if any(c.windows is not None for c in columns):
        notes.insert(0, "Each output value is drawn at the centre of its window.")
    title_lines = _wrap(title_font, title, text_width) if title else []
    note_lines = _wrap(font, "\n".join(notes), text_width) if notes else []
    y = margin + _lines_height(title_font, len(title_lines)) + (gap // 2 if title_lines else 0)
    row_tops = []
    for _ in range(shown):
        label_h = _lines_height(font, 1) if channels > 1 else 0
        row_tops.append((y, y + label_h))
        y += label_h + chart_h + gap
    notes_y = y - gap // 2
    height = notes_y + _lines_height(font, len(note_lines)) + margin
    canvas = _Canvas(width, height)
    picture = Picture(canvas.image, notes=list(notes), ops=canvas.ops)
    canvas.lines(margin, margin, title_lines, title_font)
    for ch, (label_y, top) in enumerate(row_tops):
        if channels > 1:
            canvas.text(margin, label_y, f"channel {ch}", font, fill=MUTED)
        for g, members in enumerate(groups):
            x0 = margin + g * (chart_w + gap)
            series = [_signal_series(columns[k], k, datas[k][0, ch], length) for k in members]
            picture.series_colours.update((s.label, s.colour) for s in series)
            box = (x0, top, x0 + chart_w, top + chart_h)
            plot = _draw_chart(canvas, box, series, font, x_label="cell index (W)")
            picture.panels[f"r{ch}g{g}"] = plot
    canvas.lines(margin, notes_y, note_lines, font, fill=MUTED)
    picture.texts = canvas.texts
    return picture


def _scale_groups(columns) -> list[list[int]]:
    """The column indices of each colour scale, in order of first appearance: one chart each."""
    groups: list[list[int]] = []
    names: list[str] = []
    for k, column in enumerate(columns):
        if column.scale not in names:
            names.append(column.scale)
            groups.append([])
        groups[names.index(column.scale)].append(k)
    return groups


def _signal_series(column, k: int, values, length: int) -> _Series:
    """Column ``k`` of a 1-D picture as a series: outputs at the centres of their windows."""
    if k == 0 or column.windows is None:
        x = np.arange(values.shape[0], dtype=np.float64)
        if values.shape[0] != length and k != 0:
            x = np.linspace(0, length - 1, values.shape[0])
    else:
        x = _centres(column.windows[0])
    colour = SERIES[k % len(SERIES)]
    markers = values.shape[0] <= 64
    return _Series(column.title, x, values, colour, markers, 2 if k else 3)


def line_chart(
    series: Mapping[str, Sequence[float]],
    x: Sequence[float] | None = None,
    *,
    title: str = "",
    x_label: str = "",
    y_label: str = "",
    width: int = 640,
    height: int = 360,
) -> Picture:
    """Draw named series of numbers as lines on one axis, with markers and a legend.

    ``x`` is shared by every series (default: 0, 1, 2, ...). ``Picture.panels["plot"]`` is
    the plot area and ``Picture.series_colours`` each series' colour.
    """
    if not series:
        raise ValueError("line_chart needs at least one series")
    base = 14
    font, title_font = _font(base), _font(base + 4)
    margin = base + 4
    title_lines = _wrap(title_font, title, width - 2 * margin) if title else []
    top = margin + _lines_height(title_font, len(title_lines)) + (8 if title_lines else 0)
    canvas = _Canvas(width, top + height + margin)
    picture = Picture(canvas.image, ops=canvas.ops)
    canvas.lines(margin, margin, title_lines, title_font)
    drawn = []
    for k, (name, ys) in enumerate(series.items()):
        ys = np.asarray(ys, dtype=np.float64)
        xs = np.arange(len(ys), dtype=np.float64) if x is None else np.asarray(x, np.float64)
        colour = SERIES[k % len(SERIES)]
        # Later series on top, smaller: markers that coincide show as nested shapes.
        drawn.append(_Series(name, xs, ys, colour, len(ys) <= 64, shape=k, grow=max(0, 4 - k)))
        picture.series_colours[name] = colour
    box = (margin, top, width - margin, top + height)
    picture.panels["plot"] = _draw_chart(canvas, box, drawn, font, x_label, y_label)
    picture.texts = canvas.texts
    return picture
