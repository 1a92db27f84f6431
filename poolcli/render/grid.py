"""The grid of 2-D panels that :func:`~poolcli.render.columns.render_columns` draws: cells and
their values, window boundaries, winners, padding and the colour scales.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from poolcli.render.arrays import (
    _disjoint,
    _reduce_for_display,
)
from poolcli.render.canvas import (
    Picture,
    _Canvas,
    _checkerboard,
    _edges,
    _font,
    _line_metrics,
    _lines_height,
    _resize,
    _short,
    _text_width,
    _wrap,
)
from poolcli.render.colours import (
    FRAME,
    MUTED,
    SEPARATOR,
    _colour_pixels,
    _Mapping,
    _text_colour,
)
from poolcli.render.marks import (
    _draw_bins,
    _draw_crosses,
    _draw_first_window,
    _draw_ring,
    _draw_windows,
    _draw_winners,
    _first_window_rect,
    _outline_width,
)
from poolcli.render.scales import _bar_labels, _draw_scale

#: Smallest and largest size of the values written in cells.
VALUE_FONT = (10, 24)


def _value_font(cell_w: float, cell_h: float, labels: Sequence[str], reserve: int):
    """The largest font (within VALUE_FONT, and about a third of the cell) that fits ``labels``."""
    probe = _font(20)
    widest = max(labels, key=lambda t: _text_width(probe, t))
    size = min(VALUE_FONT[1], round(min(cell_w, cell_h) * 0.32))
    while size > VALUE_FONT[0]:
        font = _font(size)
        fits_w = _text_width(font, widest) + reserve <= cell_w
        fits_h = _line_metrics(font)[1] + reserve <= cell_h
        if fits_w and fits_h:
            break
        size -= 1
    return _font(max(size, VALUE_FONT[0]))


@dataclass
class _GridLayout:
    """Where everything of a grid goes: fonts, column and bar positions, rows, text lines."""

    font: Any
    title_font: Any
    margin: int
    gap: int
    ring: tuple[int, int, int, int]  # pixels of padding cells around the input panel
    spatial2: bool = False  # 2-D panels of a 2-D input (not slices of a volume)
    index_font: Any = None  # row and column numbers beside panels drawn cell by cell
    col_w: list[int] = field(default_factory=list)
    xs: list[int] = field(default_factory=list)
    bars: dict = field(default_factory=dict)
    bar_x: dict[str, int] = field(default_factory=dict)
    bar_w: int = 0
    width: int = 0
    height: int = 0
    title_lines: list[str] = field(default_factory=list)
    header_lines: list[list[str]] = field(default_factory=list)
    note_lines: list[str] = field(default_factory=list)
    title_y: int = 0
    header_y: int = 0
    row_boxes: list[tuple[int, int]] = field(default_factory=list)
    notes_y: int = 0


def _draw_grid(
    columns, datas, rows, fields, mappings, sizes, title, windows, notes, crossed=None
) -> Picture:
    """The panels cell by cell or scaled; ``crossed``: per row, the input cells to cross out
    (left out by the pooling), or None."""
    spatial2 = len(datas[0].shape) == 4
    legend = _legend(columns, windows, sizes, spatial2, rows, fields[0][0].shape)
    grid = _grid_layout(columns, rows, mappings, sizes, title, legend + list(notes))
    grid.spatial2 = spatial2
    canvas = _Canvas(grid.width, grid.height)
    picture = Picture(canvas.image, notes=list(notes), ops=canvas.ops, mappings=mappings)
    canvas.lines(grid.margin, grid.title_y, grid.title_lines, grid.title_font)
    for k in range(len(columns)):
        centre = grid.xs[k] + grid.col_w[k] / 2
        canvas.lines(centre, grid.header_y, grid.header_lines[k], grid.font, align="center")
    winner_column = next((k for k, c in enumerate(columns) if c.winners is not None), None)
    for r, row in enumerate(rows):
        _draw_row(canvas, picture, grid, r, row, columns, fields[r], mappings, sizes, windows)
        cell, first = sizes.cell, picture.panels[f"r{r}c0"]
        if spatial2 and windows is not None:
            if cell is not None:
                if sizes.mark_windows:
                    _draw_windows(canvas, first, cell, windows)
                    _draw_bins(canvas, first, cell, windows)
            else:
                _draw_first_window(canvas, first, fields[r][0], windows)
        if cell is not None and row.channel is not None and spatial2 and winner_column:
            _draw_winners(canvas, picture, r, row, fields[r], columns, winner_column, cell)
        if cell is not None and row.channel is not None:
            reserve = 2 * (_outline_width(cell) + 4)
            for k in range(len(columns)):
                if k not in row.padded:
                    _draw_values(canvas, picture.panels[f"r{r}c{k}"], fields[r][k], reserve)
            if crossed is not None and crossed[r] is not None and spatial2:
                _draw_crosses(canvas, first, cell, crossed[r])
    _draw_scales(canvas, picture, grid, rows, mappings)
    canvas.lines(grid.margin, grid.notes_y, grid.note_lines, grid.font, fill=MUTED)
    picture.texts = canvas.texts
    return picture


def _grid_layout(columns, rows, mappings, sizes, title, notes) -> _GridLayout:
    """Fonts and spacing from the panel size, then the columns across and the rows down."""
    box_w, box_h, cell = sizes.box_w, sizes.box_h, sizes.cell
    base = max(12, min(20, round(max(box_w, box_h) / 24)))
    ring = tuple(r * cell for r in sizes.ring) if cell else (0, 0, 0, 0)
    grid = _GridLayout(_font(base), _font(base + 4), base + 4, max(24, base * 2), ring)
    grid.bars = {name: _bar_labels(m) for name, m in mappings.items() if name != "colour"}
    grid.bar_w = max(14, base)
    grid.index_font = _font(max(10, base - 4)) if cell else None
    x = _place_columns(grid, columns, box_w)
    widest_label = max((_text_width(grid.font, row.label) for row in rows), default=0)
    grid.width = max(x - grid.gap + grid.margin, widest_label + 2 * grid.margin)
    text_width = grid.width - 2 * grid.margin
    grid.title_lines = _wrap(grid.title_font, title, text_width) if title else []
    grid.header_lines = [_wrap(grid.font, c.title, grid.col_w[k]) for k, c in enumerate(columns)]
    grid.note_lines = _wrap(grid.font, "\n".join(notes), text_width) if notes else []
    _place_rows(grid, rows, box_h)
    return grid


def _place_columns(grid: _GridLayout, columns, box_w: int) -> int:
    """Column widths and x positions, with a colour bar after the last column of each scale;
    returns the x after the last column."""
    font, gap, ring = grid.font, grid.gap, grid.ring
    # Column widths: the panel (and the padding ring of the input), or the widest title word.
    for k, column in enumerate(columns):
        width = box_w + (ring[0] + ring[2] if k == 0 else 0)
        widest_word = max(_text_width(font, word) for word in column.title.split(" "))
        grid.col_w.append(max(width, widest_word))
    group_end = {}
    for k, column in enumerate(columns):
        group_end[column.scale] = k
    bar_block = {
        name: gap // 2 + grid.bar_w + 6 + max(_text_width(font, t) for _, t in labels)
        for name, labels in grid.bars.items()
    }
    x = grid.margin
    for k, column in enumerate(columns):
        grid.xs.append(x)
        x += grid.col_w[k]
        if group_end.get(column.scale) == k and column.scale in grid.bars:
            grid.bar_x[column.scale] = x + gap // 2
            x += bar_block[column.scale]
        x += gap
    return x


def _place_rows(grid: _GridLayout, rows, box_h: int) -> None:
    """The y of the title, the column headers, each row (label and panel top) and the notes."""
    font, gap, ring = grid.font, grid.gap, grid.ring
    y = grid.margin
    grid.title_y = y
    y += _lines_height(grid.title_font, len(grid.title_lines))
    y += gap // 2 if grid.title_lines else 0
    grid.header_y = y
    y += _lines_height(font, max(len(h) for h in grid.header_lines)) + 4
    index_h = _lines_height(grid.index_font, 1) if grid.index_font else 0
    for row in rows:
        label_y = y
        if row.label:
            y += _lines_height(font, 1)
        top = y + ring[1] + index_h
        grid.row_boxes.append((label_y, top))
        y = top + box_h + ring[3] + gap
    y -= gap
    y += gap // 2
    grid.notes_y = y
    y += _lines_height(font, len(grid.note_lines))
    grid.height = y + grid.margin - (4 if grid.note_lines else 0)


def _draw_row(canvas, picture, grid, r, row, columns, row_fields, mappings, sizes, windows):
    """The panels of one row: colours, cells or a scaled field, each in a thin frame."""
    box_w, box_h, cell = sizes.box_w, sizes.box_h, sizes.cell
    ring = grid.ring
    label_y, top = grid.row_boxes[r]
    if row.label:
        canvas.text(grid.margin, label_y, row.label, grid.font, fill=MUTED)
    for k, column in enumerate(columns):
        x0 = grid.xs[k] + (grid.col_w[k] - box_w - (ring[0] + ring[2] if k == 0 else 0)) // 2
        x0 += ring[0] if k == 0 else 0
        box = (x0, top, x0 + box_w, top + box_h)
        picture.panels[f"r{r}c{k}"] = box
        f = row_fields[k]
        if k in row.padded:  # a depth slice of padding: no values
            _draw_ring(canvas, box, cell or max(8, box_w // 16), (0, 0, 0, 0))
        elif row.channel is None:
            _draw_colour(canvas, box, f, mappings["colour"])
        elif cell is not None:
            mapping = mappings[column.scale]
            picture.grids[f"r{r}c{k}"] = f.shape[:2]
            if k == 0 and grid.spatial2 and windows is not None and any(sizes.ring):
                _draw_ring(
                    canvas, box, cell, sizes.ring, (windows[1].extra_end, windows[0].extra_end)
                )
            _draw_cells(canvas, box, f, mapping)
            inset = (ring[0], ring[1]) if k == 0 and grid.spatial2 else (0, 0)
            _draw_indices(canvas, box, f.shape[:2], inset, grid.index_font)
        else:
            _draw_field(canvas, box, f, mappings[column.scale])
        canvas.draw.rectangle((box[0] - 1, box[1] - 1, box[2], box[3]), outline=FRAME, width=1)


def _bins_text(windows) -> str:
    """The cells of every adaptive or fractional window, per axis: ``rows 0-1, 1-2; ...``."""
    parts = []
    for name, axis in zip(("rows", "columns"), windows):
        spans = [f"{s}-{e - 1}" if e - s > 1 else f"{s}" for s, e in axis.bins or ()]
        parts.append(f"{name} {', '.join(spans)}")
    return f"Windows of each output row and column (cells): {'; '.join(parts)}."


def _draw_indices(canvas, box, shape, inset, font) -> None:
    """Column numbers above a grid of cells and row numbers left of it (from 0)."""
    rows, cols = shape
    x0, y0, x1, y1 = box
    xs, ys = _edges(x0, x1 - x0, cols), _edges(y0, y1 - y0, rows)
    _, height = _line_metrics(font)
    for c in range(cols):
        canvas.text(
            (xs[c] + xs[c + 1]) / 2, y0 - inset[1] - height - 2, str(c), font, MUTED, "center"
        )
    for r in range(rows):
        canvas.text(
            x0 - inset[0] - 4, (ys[r] + ys[r + 1]) / 2, str(r), font, MUTED, "right", "middle"
        )


def _draw_scales(canvas, picture, grid: _GridLayout, rows, mappings) -> None:
    """Colour scales: the same scale next to every row of values, so each row reads alone."""
    scalar_rows = [r for r, row in enumerate(rows) if row.channel is not None]
    for n, r in enumerate(scalar_rows):
        _, top, _, bottom = picture.panels[f"r{r}c0"]
        for name, x_bar in grid.bar_x.items():
            box = (x_bar, top, x_bar + grid.bar_w, bottom)
            scale = _draw_scale(canvas, box, mappings[name], grid.bars[name], grid.font)
            picture.scales[name if n == 0 else f"{name}@r{r}"] = scale


def _legend(columns, windows, sizes, spatial2, rows, shape) -> list[str]:
    """The sentences that explain the marks drawn on the panels."""
    lines: list[str] = []
    if not spatial2 or windows is None or len(windows) != 2:
        return lines
    if sizes.cell is None:
        if _first_window_rect((0, 0, sizes.box_w, sizes.box_h), shape, windows) is not None:
            lines.append("Red box: the first window.")
        return lines
    if not sizes.mark_windows:
        pass  # the caller draws the windows (the animation)
    elif all(_disjoint(a) for a in windows):
        lines.append("Black lines: window boundaries.")
    else:
        lines.append("Windows overlap: the first window is framed.")
    if any(a.dilation > 1 for a in windows):
        lines.append("Triangles: the cells a dilated window reads.")
    if any(a.bins is not None for a in windows):
        if sizes.mark_windows and not all(_disjoint(a) for a in windows):
            lines.append(
                "Bars under and right of the input: the cells of each output column's and "
                "row's window, in two lanes where neighbours overlap."
            )
        lines.append(_bins_text(windows))
    if any(sizes.ring):
        lines.append("Hatched: padding cells.")
    if any(a.extra_end for a in windows):
        lines.append("Dotted: cells that exist only through --ceil (never counted).")
    picks = [c.pick for c in columns if c.winners is not None]
    if picks and any(r.channel is not None for r in rows):
        lines.append(
            f"Numbered frames: each window's output cell and its {picks[0]} input cell share a "
            "number and a colour (windows counted in reading order)."
        )
    return lines


def _draw_colour(canvas, box, values, mapping: _Mapping) -> None:
    """An image's colours (transparency over a checkerboard), scaled to the box."""
    x0, y0, x1, y1 = box
    values = _reduce_for_display(values, x1 - x0, y1 - y0)
    rgba = Image.fromarray(_colour_pixels(values, mapping.high))
    rgba = _resize(rgba, x1 - x0, y1 - y0)
    if values.shape[-1] == 3:  # opaque: no checkerboard to show through
        canvas.paste(rgba.convert("RGB"), (x0, y0))
        return
    under = _checkerboard(x1 - x0, y1 - y0).convert("RGBA")
    canvas.paste(Image.alpha_composite(under, rgba).convert("RGB"), (x0, y0))


def _draw_field(canvas, box, values, mapping: _Mapping) -> None:
    """A scalar field through its colour map, scaled to the box."""
    x0, y0, x1, y1 = box
    values = _reduce_for_display(values, x1 - x0, y1 - y0)
    rgb = Image.fromarray(mapping(values))
    canvas.paste(_resize(rgb, x1 - x0, y1 - y0), (x0, y0))


def _draw_cells(canvas, box, values, mapping: _Mapping) -> None:
    """A small field cell by cell, with thin lines between the cells."""
    x0, y0, x1, y1 = box
    fh, fw = values.shape
    xs, ys = _edges(x0, x1 - x0, fw), _edges(y0, y1 - y0, fh)
    rgb = mapping(values)
    draw = canvas.draw
    for i in range(fh):
        for j in range(fw):
            draw.rectangle((xs[j], ys[i], xs[j + 1] - 1, ys[i + 1] - 1), fill=tuple(rgb[i, j]))
    for x in xs[1:-1]:
        draw.line((x, y0, x, y1 - 1), fill=SEPARATOR)
    for y in ys[1:-1]:
        draw.line((x0, y, x1 - 1, y), fill=SEPARATOR)


def _draw_values(canvas, box, values, reserve: int) -> None:
    """Each cell's value in its middle, black or white by the cell's brightness."""
    x0, y0, x1, y1 = box
    fh, fw = values.shape[:2]
    xs, ys = _edges(x0, x1 - x0, fw), _edges(y0, y1 - y0, fh)
    integer = values.dtype.kind in "biu"
    labels = [[_short(v, integer) for v in line] for line in values.tolist()]
    flat = [t for line in labels for t in line]
    font = _value_font((x1 - x0) / fw, (y1 - y0) / fh, flat, reserve)
    pixels = canvas.image.load()
    for i in range(fh):
        for j in range(fw):
            cx, cy = (xs[j] + xs[j + 1]) / 2, (ys[i] + ys[i + 1]) / 2
            fill = _text_colour(pixels[int(cx), int(cy)])
            canvas.text(cx, cy, labels[i][j], font, fill, "center", "middle")
