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


@dataclass
class _Series:
    label: str
    x: np.ndarray
    y: np.ndarray
    colour: tuple[int, int, int]
    markers: bool
    width: int = 2


def _draw_chart(canvas, box, series: Sequence[_Series], font, x_label="", y_label="") -> Box:
    """Axes, ticks, a legend and the series; returns the plot area."""
    x0, y0, x1, y1 = box
    _, line_h = _line_metrics(font)
    # Legend entries, wrapped into lines that fit the box.
    entries = [(s.label, s.colour) for s in series]
    swatch = 22
    legend_rows: list[list[tuple[str, tuple]]] = [[]]
    used = 0
    for text, colour in entries:
        need = swatch + 6 + _text_width(font, text) + 18
        if legend_rows[-1] and used + need > x1 - x0:
            legend_rows.append([])
            used = 0
        legend_rows[-1].append((text, colour))
        used += need
    legend_h = len(legend_rows) * (line_h + 6)
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
    y_labels = [_tick_label(v, y_dec) for v in y_ticks]
    left = x0 + max(_text_width(font, t) for t in y_labels) + 10
    if y_label:
        left += line_h + 6
    top = y0 + legend_h + 4
    bottom = y1 - line_h - 8 - (line_h + 4 if x_label else 0)
    right = x1 - max(8, _text_width(font, _tick_label(x_ticks[-1], x_dec)) // 2 + 2)
    plot = (left, top, right, bottom)
    xspan = (x_low - (x_high - x_low) * 0.02, x_high + (x_high - x_low) * 0.02)
    yspan = (low - pad, high + pad)

    def px(x):
        return left + (x - xspan[0]) / (xspan[1] - xspan[0]) * (right - left)

    def py(y):
        return bottom - (y - yspan[0]) / (yspan[1] - yspan[0]) * (bottom - top)

    draw = canvas.draw
    for value, text in zip(y_ticks, y_labels):
        yy = round(py(value))
        if top <= yy <= bottom:
            draw.line((left, yy, right, yy), fill=(232, 232, 232))
            canvas.text(left - 6, yy, text, font, align="right", valign="middle")
    for value in x_ticks:
        xx = round(px(value))
        if left <= xx <= right:
            draw.line((xx, top, xx, bottom), fill=(240, 240, 240))
            draw.line((xx, bottom, xx, bottom + 4), fill=FRAME)
            canvas.text(xx, bottom + 6, _tick_label(value, x_dec), font, align="center")
    draw.rectangle((left, top, right, bottom), outline=FRAME, width=1)
    if x_label:
        canvas.text((left + right) / 2, y1 - line_h, x_label, font, fill=MUTED, align="center")
    if y_label:
        _vertical_text(canvas, x0, (top + bottom) / 2, y_label, font)
    for s in series:
        xs = np.asarray(s.x, dtype=np.float64)
        ys = np.asarray(s.y, dtype=np.float64)
        if len(xs) > 2 * (right - left):
            xs, ys = _envelope(xs, ys, right - left)
        points = [(px(x), py(y)) for x, y in zip(xs.tolist(), ys.tolist())]
        run: list[tuple[float, float]] = []
        for point, value in zip(points, ys.tolist()):
            if math.isfinite(value):
                run.append(point)
            else:
                _polyline(draw, run, s)
                run = []
        _polyline(draw, run, s)
        if s.markers:
            r = s.width + 1
            for (x, y), value in zip(points, ys.tolist()):
                if math.isfinite(value):
                    draw.rectangle((x - r, y - r, x + r, y + r), fill=s.colour)
    ly = y0
    for entries_row in legend_rows:
        lx = left
        for text, colour in entries_row:
            mid = ly + line_h // 2
            draw.line((lx, mid, lx + swatch, mid), fill=colour, width=3)
            canvas.text(lx + swatch + 6, ly, text, font)
            lx += swatch + 6 + _text_width(font, text) + 18
        ly += line_h + 6
    return plot


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
    groups: list[list[int]] = []
    names: list[str] = []
    for k, column in enumerate(columns):
        if column.scale not in names:
            names.append(column.scale)
            groups.append([])
        groups[names.index(column.scale)].append(k)
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
    picture = Picture(canvas.image, notes=list(notes))
    canvas.lines(margin, margin, title_lines, title_font)
    for ch, (label_y, top) in enumerate(row_tops):
        if channels > 1:
            canvas.text(margin, label_y, f"channel {ch}", font, fill=MUTED)
        for g, members in enumerate(groups):
            x0 = margin + g * (chart_w + gap)
            series = []
            for k in members:
                values = datas[k][0, ch]
                column = columns[k]
                if k == 0 or column.windows is None:
                    x = np.arange(values.shape[0], dtype=np.float64)
                    if values.shape[0] != length and k != 0:
                        x = np.linspace(0, length - 1, values.shape[0])
                else:
                    x = _centres(column.windows[0])
                colour = SERIES[k % len(SERIES)]
                markers = values.shape[0] <= 64
                series.append(_Series(column.title, x, values, colour, markers, 2 if k else 3))
                picture.series_colours[column.title] = colour
            box = (x0, top, x0 + chart_w, top + chart_h)
            plot = _draw_chart(canvas, box, series, font, x_label="cell index (W)")
            picture.panels[f"r{ch}g{g}"] = plot
    canvas.lines(margin, notes_y, note_lines, font, fill=MUTED)
    picture.texts = canvas.texts
    return picture


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
    picture = Picture(canvas.image)
    canvas.lines(margin, margin, title_lines, title_font)
    drawn = []
    for k, (name, ys) in enumerate(series.items()):
        ys = np.asarray(ys, dtype=np.float64)
        xs = np.arange(len(ys), dtype=np.float64) if x is None else np.asarray(x, np.float64)
        colour = SERIES[k % len(SERIES)]
        drawn.append(_Series(name, xs, ys, colour, len(ys) <= 64))
        picture.series_colours[name] = colour
    box = (margin, top, width - margin, top + height)
    picture.panels["plot"] = _draw_chart(canvas, box, drawn, font, x_label, y_label)
    picture.texts = canvas.texts
    return picture
