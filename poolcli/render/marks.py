"""The marks drawn over the cells of a grid of panels: the windows, the winning cells and
their numbers, the padding ring and the cells ceil mode adds, crosses over left-out cells.
"""

from __future__ import annotations

from PIL import Image, ImageDraw

from poolcli.model.window import AxisWindow
from poolcli.render.arrays import _canonical, _disjoint, _layout_of, _numpy, _span, _tap_cell
from poolcli.render.canvas import Box, _edges, _font, _line_metrics, _text_width
from poolcli.render.colours import (
    BOUNDARY,
    FIRST_WINDOW,
    HATCH_BACK,
    HATCH_LINE,
    rim_colour,
    window_colour,
    window_number,
)

#: The colour of the crosses over left-out cells.
CROSS = (214, 39, 40)


def _outline_width(cell: int) -> int:
    return max(2, round(cell / 22))


def _draw_crosses(canvas, box, cell: int, hidden) -> None:
    """A cross over each input cell the pooling left out (--nan omit, --nodata, --mask)."""
    width = max(1, cell // 24)
    for i, j in zip(*hidden.nonzero()):
        x0, y0 = box[0] + int(j) * cell + 3, box[1] + int(i) * cell + 3
        x1, y1 = x0 + cell - 7, y0 + cell - 7
        canvas.draw.line((x0, y0, x1, y1), fill=CROSS, width=width)
        canvas.draw.line((x0, y1, x1, y0), fill=CROSS, width=width)


def _draw_ring(canvas, box, cell, ring_cells, extra=(0, 0)) -> None:
    """Hatched padding cells around the input panel; dotted the cells past the padding that
    only ceil mode adds (``extra``: how many at the right and at the bottom)."""
    left, top, right, bottom = (r * cell for r in ring_cells)
    x0, y0, x1, y1 = box[0] - left, box[1] - top, box[2] + right, box[3] + bottom
    w, h = x1 - x0, y1 - y0
    hatch = Image.new("RGB", (w, h), HATCH_BACK)
    draw = ImageDraw.Draw(hatch)
    for k in range(-h, w, 7):
        draw.line((k, h, k + h, 0), fill=HATCH_LINE, width=1)
    for x in range(0, w + 1, cell):
        draw.line((x, 0, x, h), fill=(200, 200, 200))
    for y in range(0, h + 1, cell):
        draw.line((0, y, w, y), fill=(200, 200, 200))
    _dot_ceil_cells(draw, w, h, cell, extra)
    canvas.paste(hatch, (x0, y0))
    canvas.draw.rectangle((x0, y0, x1 - 1, y1 - 1), outline=(200, 200, 200), width=1)


def _dot_ceil_cells(draw, w: int, h: int, cell: int, extra) -> None:
    """Cells only ceil mode adds: white with a grid of dots, unlike the hatched padding."""
    right, bottom = extra[0] * cell, extra[1] * cell
    areas = [(w - right, 0, w, h)] if right else []
    areas += [(0, h - bottom, w, h)] if bottom else []
    for x0, y0, x1, y1 in areas:
        draw.rectangle((x0 + 1, y0 + 1, x1 - 1, y1 - 1), fill=(255, 255, 255))
        for y in range(y0 + 4, y1 - 2, 6):
            for x in range(x0 + 4, x1 - 2, 6):
                draw.point((x, y), fill=HATCH_LINE)
    for x in range(w - right, w + 1, cell) if right else ():
        draw.line((x, 0, x, h), fill=(200, 200, 200))
    for y in range(h - bottom, h + 1, cell) if bottom else ():
        draw.line((0, y, w, y), fill=(200, 200, 200))


def _window_box(box, cell, wy: AxisWindow, wx: AxisWindow, i: int, j: int) -> Box:
    (r0, r1), (c0, c1) = _span(wy, i), _span(wx, j)
    x0, y0 = box[0] + c0 * cell, box[1] + r0 * cell
    return x0, y0, box[0] + (c1 + 1) * cell, box[1] + (r1 + 1) * cell


def _draw_windows(canvas, box, cell, windows) -> None:
    """Window boundaries on a small input: all of them when they tile, else the first."""
    wy, wx = windows
    disjoint = _disjoint(wy) and _disjoint(wx)
    chosen = [(i, j) for i in range(wy.out) for j in range(wx.out)] if disjoint else [(0, 0)]
    for i, j in chosen:
        x0, y0, x1, y1 = _window_box(box, cell, wy, wx, i, j)
        colour = BOUNDARY if disjoint else window_colour((i, j))
        canvas.draw.rectangle((x0 - 1, y0 - 1, x1 + 1, y1 + 1), outline=colour, width=3)
        if wy.dilation > 1 or wx.dilation > 1:
            size = max(4, cell // 5)
            for r in wy.cells(i):
                for c in wx.cells(j):
                    tx, ty = box[0] + c * cell + 2, box[1] + r * cell + 2
                    canvas.draw.polygon([(tx, ty), (tx + size, ty), (tx, ty + size)], fill=colour)


def _first_window_rect(box, shape, windows) -> Box | None:
    """Where the first window lies on a large input panel; None when too small to see."""
    if len(windows) != 2 or all(a.out == 1 for a in windows):
        return None
    h, w = shape[:2]
    sx, sy = (box[2] - box[0]) / w, (box[3] - box[1]) / h
    (r0, r1), (c0, c1) = _span(windows[0], 0), _span(windows[1], 0)
    r0, c0, r1, c1 = max(r0, 0), max(c0, 0), min(r1, h - 1), min(c1, w - 1)
    x0, y0 = box[0] + round(c0 * sx), box[1] + round(r0 * sy)
    x1, y1 = box[0] + round((c1 + 1) * sx), box[1] + round((r1 + 1) * sy)
    if x1 - x0 < 6 or y1 - y0 < 6:
        return None
    return x0, y0, x1, y1


def _draw_first_window(canvas, box, values, windows) -> None:
    """On a large input: frame the first window, when it is big enough to see."""
    rect = _first_window_rect(box, values.shape, windows)
    if rect is not None:
        x0, y0, x1, y1 = rect
        canvas.draw.rectangle((x0, y0, x1 - 1, y1 - 1), outline=FIRST_WINDOW, width=2)


def _draw_winners(canvas, picture, r, row, row_fields, columns, k, cell) -> None:
    """Frame each window's winning input cell and its output cell in the window's colour (with
    a contrasting rim), and number both: the output cell carries its window's number, the
    winning input cell the numbers of every window it wins."""
    column = columns[k]
    wy, wx = column.windows
    winners = _canonical(_numpy(column.winners), _layout_of(column.winners))[0, row.channel]
    values_in, values_out = row_fields[0], row_fields[k]
    in_box, out_box = picture.panels[f"r{r}c0"], picture.panels[f"r{r}c{k}"]
    lw = _outline_width(cell)
    stacked: dict[tuple[int, int], int] = {}
    tags: dict[tuple[int, int], list[str]] = {}
    oxs = _edges(out_box[0], out_box[2] - out_box[0], wx.out)
    oys = _edges(out_box[1], out_box[3] - out_box[1], wy.out)
    font = _font(max(10, min(14, cell // 6)))
    shape = (wy.out, wx.out)
    for i in range(wy.out):
        for j in range(wx.out):
            ti, tj = divmod(int(winners[i, j]), wx.kernel)
            cy, cx = _tap_cell(wy, i, ti), _tap_cell(wx, j, tj)
            if cy is None or cx is None or not (0 <= cy < wy.size and 0 <= cx < wx.size):
                continue
            a, b = values_in[cy, cx], values_out[i, j]
            if not (a == b or (a != a and b != b)):
                continue
            colour = window_colour((i, j), shape)
            picture.window_colours[(i, j)] = colour
            number = str(window_number((i, j), shape) + 1)
            level = stacked.get((cy, cx), 0)
            stacked[(cy, cx)] = level + 1
            tags.setdefault((cy, cx), []).append(number)
            inset = 2 + level * (lw + 2)
            if inset + lw < cell // 2:
                x0, y0 = in_box[0] + cx * cell, in_box[1] + cy * cell
                box = (x0 + inset, y0 + inset, x0 + cell - 1 - inset, y0 + cell - 1 - inset)
                _frame(canvas, box, colour, lw)
            box = (oxs[j] + 2, oys[i] + 2, oxs[j + 1] - 3, oys[i + 1] - 3)
            _frame(canvas, box, colour, lw)
            _tag(canvas, box[0] + lw + 2, box[1] + lw + 2, number, font)
    for (cy, cx), numbers in tags.items():
        x0, y0 = in_box[0] + cx * cell, in_box[1] + cy * cell
        inset = min(2 + len(numbers) * (lw + 2), cell // 4)
        _tag(canvas, x0 + inset, y0 + inset, ",".join(numbers), font)


def _frame(canvas, box, colour, width: int) -> None:
    """A coloured frame with a thin rim inside it that contrasts with the colour."""
    canvas.draw.rectangle(box, outline=colour, width=width)
    x0, y0, x1, y1 = box
    rim = (x0 + width, y0 + width, x1 - width, y1 - width)
    canvas.draw.rectangle(rim, outline=rim_colour(colour), width=1)


def _tag(canvas, x, y, text, font) -> None:
    """A small label on a white ground: the number linking a window's cells."""
    _, height = _line_metrics(font)
    width = _text_width(font, text)
    canvas.draw.rectangle((x, y, x + width + 3, y + height + 2), fill=(255, 255, 255))
    canvas.text(x + 2, y + 1, text, font)


def _draw_bins(canvas, box, cell: int, windows) -> None:
    """Adaptive or fractional windows that overlap: one bar per window under the input
    panel (columns) and right of it (rows), spanning its cells with end ticks; neighbours
    alternate between two lanes, so the cells they share show."""
    wy, wx = windows
    x0, y0, x1, y1 = box
    for axis, across in ((wx, True), (wy, False)):
        if axis.bins is None or _disjoint(axis):
            continue
        for i, (start, end) in enumerate(axis.bins):
            lane = 4 + 5 * (i % 2)
            a, b = start * cell + 2, end * cell - 3
            if across:
                y = y1 + lane
                points = ((x0 + a, y - 3), (x0 + a, y), (x0 + b, y), (x0 + b, y - 3))
            else:
                x = x1 + lane
                points = ((x - 3, y0 + a), (x, y0 + a), (x, y0 + b), (x - 3, y0 + b))
            canvas.draw.line(points, fill=BOUNDARY, width=2)
