"""Pictures of poolings, drawn from the real results: one import for the commands.

* :func:`render_pool` draws one result (input next to output), :func:`render_compare` one input
  and several results over the same windows (:mod:`poolcli.render.pool_picture`);
  :func:`render_columns` is the general form behind both (:mod:`poolcli.render.columns`);
* :func:`line_chart` draws a few named series on one axis (:mod:`poolcli.render.chart`);
* :func:`write_viz` renders and writes a picture (atomically); :func:`save_viz` writes any
  picture (:mod:`poolcli.render.viz_files`); :func:`viridis` is the colour map
  (:mod:`poolcli.render.colours`).

Pillow and numpy only.
"""

from poolcli.render.canvas import Box, Picture, Scale
from poolcli.render.chart import line_chart
from poolcli.render.colours import (
    BACKGROUND,
    BOUNDARY,
    CHECKER,
    FIRST_WINDOW,
    FRAME,
    HATCH_BACK,
    HATCH_LINE,
    INK,
    MUTED,
    NAN_COLOUR,
    PALETTE,
    SEPARATOR,
    SERIES,
    VIRIDIS,
    viridis,
    window_colour,
)
from poolcli.render.columns import (
    MAX_PANEL,
    MAX_ROWS,
    MIN_LARGE_PANEL,
    MIN_PANEL,
    SMALL,
    Column,
    render_columns,
)
from poolcli.render.pool_picture import describe, op_text, render_compare, render_pool, window_text
from poolcli.render.viz_files import check_viz_path, save_viz, write_viz

__all__ = [
    "BACKGROUND",
    "BOUNDARY",
    "CHECKER",
    "FIRST_WINDOW",
    "FRAME",
    "HATCH_BACK",
    "HATCH_LINE",
    "INK",
    "MAX_PANEL",
    "MAX_ROWS",
    "MIN_LARGE_PANEL",
    "MIN_PANEL",
    "MUTED",
    "NAN_COLOUR",
    "PALETTE",
    "SEPARATOR",
    "SERIES",
    "SMALL",
    "VIRIDIS",
    "Box",
    "Column",
    "Picture",
    "Scale",
    "check_viz_path",
    "describe",
    "line_chart",
    "op_text",
    "render_columns",
    "render_compare",
    "render_pool",
    "save_viz",
    "viridis",
    "window_colour",
    "window_text",
    "write_viz",
]
