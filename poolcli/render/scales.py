"""Colour scales beside the panels: a bar with its ends and round values labelled, or one
swatch per category."""

from __future__ import annotations

import numpy as np
from PIL import Image

from poolcli.render.canvas import Scale, _edges, _label, _line_metrics, _short
from poolcli.render.colours import FRAME, _Mapping, nice_ticks


def _bar_labels(mapping: _Mapping) -> list[tuple[float, str]]:
    """The labels of a colour scale, bottom to top: its ends (the minimum and maximum shown)
    and round values between them; each category of a categorical scale."""
    low, high = mapping.low, mapping.high
    if mapping.cmap == "categorical":
        return [(v, _short(v, True)) for v in mapping.categories]
    if high <= low:
        return [(low, f"all {_label(low)}")]
    inner = [t for t in nice_ticks(low, high) if low < t < high]
    ends = _short(low, False), _short(high, False)
    return [(low, ends[0]), *((t, _label(t)) for t in inner), (high, ends[1])]


def _draw_scale(canvas, box, mapping: _Mapping, labels, font) -> Scale:
    """A vertical colour bar: the top row is colour(1), the bottom row colour(0); a
    categorical scale is one swatch per category, the first at the bottom."""
    x0, y0, x1, y1 = box
    height = y1 - y0
    _, line_h = _line_metrics(font)
    tx = x1 + 6
    if mapping.cmap == "categorical":
        edges = _edges(y0, height, len(labels))[::-1]
        colours = mapping(np.asarray([v for v, _ in labels]))
        for k, (_, text) in enumerate(labels):
            top, bottom = edges[k + 1], edges[k]
            canvas.draw.rectangle((x0, top, x1 - 1, bottom - 1), fill=tuple(colours[k]))
            canvas.text(tx, (top + bottom) / 2, text, font, valign="middle")
        canvas.draw.rectangle((x0 - 1, y0 - 1, x1, y1), outline=FRAME, width=1)
        return Scale(box, mapping.low, mapping.high, labels[0][1], labels[-1][1])
    if mapping.high > mapping.low and height > 1:
        column = mapping.ramp(1.0 - np.arange(height) / (height - 1))
    else:
        column = mapping.ramp(np.full(height, 0.5))
    strip = np.repeat(column[:, None, :], x1 - x0, axis=1)
    canvas.paste(Image.fromarray(strip), (x0, y0))
    canvas.draw.rectangle((x0 - 1, y0 - 1, x1, y1), outline=FRAME, width=1)
    if len(labels) == 1:
        canvas.text(tx, (y0 + y1) / 2, labels[0][1], font, valign="middle")
        return Scale(box, mapping.low, mapping.high, labels[0][1], labels[0][1])
    canvas.text(tx, y0, labels[-1][1], font)
    canvas.text(tx, y1 - line_h, labels[0][1], font)
    taken = [y0 + line_h / 2, y1 - line_h / 2]
    for value, text in labels[1:-1]:
        y = y1 - 1 - (value - mapping.low) / (mapping.high - mapping.low) * (height - 1)
        if all(abs(y - t) > 1.3 * line_h for t in taken):
            canvas.text(tx, y, text, font, valign="middle")
            canvas.draw.line((x1, round(y), x1 + 3, round(y)), fill=FRAME)
            taken.append(y)
    return Scale(box, mapping.low, mapping.high, labels[0][1], labels[-1][1])
