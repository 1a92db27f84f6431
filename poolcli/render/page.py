"""``--viz FILE.html``: one self-contained page (inline SVG, script and style; the data as
JSON in the page; nothing fetched) to explore the windows of a small 2-D pooling.

Pointing at an output cell (or stepping with the arrow keys, Home and End) highlights the
cells of its window on the input (padding dashed, cells only ceil mode adds crossed, the
winner thicker; the bins of an adaptive pooling and the taps of a dilated one are just
the cells listed) and writes the arithmetic under the grids. The cells' colours are those
of the still picture (:func:`poolcli.render.animation.still`), so page and picture agree.
"""

from __future__ import annotations

import html
import json
import os

from poolcli.render.animation import still
from poolcli.render.canvas import _short
from poolcli.render.colours import _text_colour
from poolcli.render.pool_picture import op_text
from poolcli.render.viz_files import write_bytes
from poolcli.render.window_steps import step_view, window_steps


def page_data(source, result, channel: int = 0, path: str | None = None) -> dict:
    """Everything the page draws, as JSON-ready data: of the top-left windows of a large
    input (:func:`~poolcli.render.window_steps.step_view`; an error names ``path``)."""
    view = step_view(source, result, channel, path)
    picture, geometry = still(view, channel)
    steps = window_steps(view.array, view.result, channel, view.winners)
    pixels = picture.image.load()
    rows, cols = geometry.input_grid
    out_rows, out_cols = geometry.output_grid
    windows = view.result.windows
    captions = _captions(view, result)

    def colour(box):
        x0, y0, x1, y1 = box
        rgb = pixels[x1 - 3, y0 + 3]
        return _hex(rgb), _hex(_text_colour(rgb))

    def grid(values, cell, n_rows, n_cols):
        integer = values.dtype.kind in "biu"
        cells = []
        for r in range(n_rows):
            for c in range(n_cols):
                fill, ink = colour(cell(r, c))
                cells.append([r, c, _short(values[r, c], integer), fill, ink])
        return cells

    field_in = _field(view.array, view.result, channel)
    field_out = _field(view.result.output, view.result, channel)
    return {
        "title": view.title,
        "op": op_text(result),
        "input": {
            "rows": rows,
            "cols": cols,
            "caption": captions[0],
            "cells": grid(field_in, geometry.input_cell, rows, cols),
            "ring": _ring(windows),
            "unused": _unused(result.windows, rows, cols),
        },
        "ceil_rows": windows[0].extra_end,
        "ceil_cols": windows[1].extra_end,
        "output": {
            "rows": out_rows,
            "cols": out_cols,
            "caption": captions[1],
            "cells": grid(field_out, geometry.output_cell, out_rows, out_cols),
        },
        "steps": [_step_data(step) for step in steps],
    }


def _step_data(step) -> dict:
    return {
        "pos": list(step.position),
        "cells": [list(cell) for cell in step.cells],
        "winner": list(step.winner) if step.winner is not None else None,
        "text": step.text,
        "caption": step.caption,
    }


def _captions(view, result) -> tuple[str, str]:
    """The titles of the input and output grids: which cells of how many they show (as the
    still picture's panels say)."""
    op = f"{result.reduction} output"
    if view.region is None:
        all_in, all_out = (tuple(getattr(a, k) for a in result.windows) for k in ("size", "out"))
        return f"input {all_in[0]}x{all_in[1]}", f"{op} {all_out[0]}x{all_out[1]}"
    return f"input {view.region[0]}", f"{op} {view.region[1]}"


def _unused(windows, rows: int, cols: int) -> list[list[int]]:
    """The input cells (of the first ``rows`` x ``cols``) that no window of the pooling reads:
    past a stride longer than the kernel, between dilation taps, or left by a floor-mode grid."""
    read = []
    for axis in windows:
        read.append({c for i in range(axis.out) for c in axis.cells(i)})
    return [
        [r, c] for r in range(rows) for c in range(cols) if r not in read[0] or c not in read[1]
    ]


def _hex(rgb) -> str:
    r, g, b = rgb[:3]
    return f"#{r:02x}{g:02x}{b:02x}"


def _ring(windows) -> list[int]:
    """Padding cells drawn left, top, right and bottom (with those only ceil mode adds)."""
    wy, wx = windows
    return [wx.pad_begin, wy.pad_begin, wx.pad_end + wx.extra_end, wy.pad_end + wy.extra_end]


def _field(values, result, channel: int):
    """The 2-D slice of ``values`` (laid out as the result) that the page shows."""
    from poolcli.render.arrays import _canonical, _numpy

    data = _canonical(_numpy(values), result.layout)
    return data[0, min(channel, data.shape[1] - 1)]


def render_page(data: dict) -> str:
    """The page: the template with the data, script and style put inline."""
    from poolcli.render.page_assets import SCRIPT as script
    from poolcli.render.page_assets import STYLE as style
    from poolcli.render.page_assets import TEMPLATE as template

    payload = json.dumps(data).replace("</", "<\\/")
    return (
        template.replace("{{TITLE}}", html.escape(data["title"].replace("\n", " — ")))
        .replace("{{STYLE}}", style)
        .replace("{{DATA}}", payload)
        .replace("{{SCRIPT}}", script)
    )


def write_page(path: str, source, result, *, channel: int = 0) -> None:
    """Write the page of ``result`` to ``path`` atomically (an error for inputs too large)."""
    data = page_data(source, result, channel, path)
    data["file"] = os.path.basename(path)
    write_bytes(path, render_page(data).encode("utf-8"))
