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
from poolcli.render.pool_picture import describe, op_text, picture_source
from poolcli.render.viz_files import write_bytes
from poolcli.render.window_steps import check_steppable, window_steps


def page_data(source, result, channel: int = 0) -> dict:
    """Everything the page draws, as JSON-ready data."""
    array, picture, geometry = still(source, result, channel)
    steps = window_steps(array, result, channel)
    pixels = picture.image.load()
    rows, cols = geometry.input_grid
    out_rows, out_cols = geometry.output_grid
    windows = result.windows
    field_in = _field(array, result, channel)
    field_out = _field(result.output, result, channel)

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

    return {
        "title": describe(result, picture_source(source)[1]),
        "op": op_text(result),
        "input": {
            "rows": rows,
            "cols": cols,
            "cells": grid(field_in, geometry.input_cell, rows, cols),
            "ring": _ring(windows),
        },
        "ceil_rows": windows[0].extra_end,
        "ceil_cols": windows[1].extra_end,
        "output": {
            "rows": out_rows,
            "cols": out_cols,
            "cells": grid(field_out, geometry.output_cell, out_rows, out_cols),
        },
        "steps": [
            {
                "pos": list(step.position),
                "cells": [list(cell) for cell in step.cells],
                "winner": list(step.winner) if step.winner is not None else None,
                "text": step.text,
                "caption": step.caption,
            }
            for step in steps
        ],
    }


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
    check_steppable(path, result, picture_source(source)[0])
    data = page_data(source, result, channel)
    data["file"] = os.path.basename(path)
    write_bytes(path, render_page(data).encode("utf-8"))
