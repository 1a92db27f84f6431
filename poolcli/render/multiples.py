"""Small multiples of overlapping windows: one small copy of the input per output cell,
laid out like the output, each titled with its output cell and value. In each copy the
window's cells keep their colours and values (a dilated window: only the cells it reads),
everything else is faded, padding the window reaches is hatched, the window is framed in
the highlight colour and its winner (max, min, median, mode, seeded stochastic) in black.

Where windows share cells no frame drawn on one input can say which cells each output cell
came from; one copy per window can. A large output shows its top-left block of windows and
says which.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from poolcli.model.window import AxisWindow
from poolcli.render.arrays import _disjoint, _tap_cell
from poolcli.render.canvas import (
    Picture,
    _Canvas,
    _font,
    _line_metrics,
    _short,
    _text_width,
    _wrap,
)
from poolcli.render.colours import (
    BACKGROUND,
    HATCH_BACK,
    HATCH_LINE,
    HIGHLIGHT,
    INK,
    MUTED,
    _text_colour,
)
from poolcli.render.marks import _frame

#: Output cells drawn along each axis at most (a larger output: its top-left block).
MULTIPLES_SIDE = 6

#: Pixels of one input cell in a copy: at most, and at least.
CELL_RANGE = (6, 40)

#: How much of the colour the cells outside the window keep.
FADED = 0.25

MARGIN, GAP = 16, 14

#: Pixels across a copy aimed at when the picture above is narrow; pixels down it at most.
PANEL_AIM, PANEL_HEIGHT = 150, 200


def overlapping(windows) -> bool:
    """Whether some windows of a 2-D pooling share input cells."""
    return len(windows) == 2 and not all(_disjoint(a) for a in windows)


def window_multiples(
    values_in, outputs, windows, mapping, winners=None, *, width: int, what="", marked=None
):
    """The small multiples of a 2-D pooling: ``values_in`` is the 2-D input field,
    ``outputs`` the 2-D output field, or ``(name, field)`` pairs of several ops over the same
    windows (each copy is titled with every one's value); ``mapping`` the input's colour
    scale (as the main picture draws it). Framed in black in each copy: the winner, from
    ``winners`` (the (out_h, out_w) winning taps), or the cells ``marked`` names (a
    :class:`Marked`). ``width``: the picture's width to aim at; ``what``: the channel in
    words, for the heading."""
    wy, wx = windows
    shown = shown_cells(windows)
    if winners is not None:
        marked = Marked(_winner_cells(windows, shown, winners), "the winner")
    region = (_region(wy, shown[0]), _region(wx, shown[1]))
    grid = tuple(hi - lo + 1 for lo, hi in region)
    room = max(PANEL_AIM, (width - 2 * MARGIN - (shown[1] - 1) * GAP) // shown[1])
    cell = max(CELL_RANGE[0], min(CELL_RANGE[1], room // grid[1], PANEL_HEIGHT // grid[0]))
    panel = (grid[1] * cell, grid[0] * cell)
    font = _font(max(12, min(16, cell // 2 + 4)))
    labels = _labels(outputs, shown, font, panel[0])
    line_h = _line_metrics(font)[1] + 4
    title_h = line_h * max(len(lines) for lines in labels.values())
    total_w = max(width, 2 * MARGIN + shown[1] * panel[0] + (shown[1] - 1) * GAP)
    text = _heading(windows, shown, region, marked, what)
    heading = _wrap(_font(16), text, total_w - 2 * MARGIN)
    head_h = len(heading) * (_line_metrics(_font(16))[1] + 4) + 8
    step_y = title_h + panel[1] + GAP
    canvas = _Canvas(total_w, MARGIN + head_h + shown[0] * step_y + MARGIN - GAP)
    picture = Picture(canvas.image, ops=canvas.ops)
    canvas.lines(MARGIN, MARGIN, heading, _font(16))
    copy = _Copy(values_in, mapping(values_in), windows, region, cell)
    for i, j in np.ndindex(*shown):
        x0, y0 = MARGIN + j * (panel[0] + GAP), MARGIN + head_h + i * step_y
        for k, line in enumerate(labels[i, j]):
            canvas.text(x0 + panel[0] / 2, y0 + k * line_h, line, font, align="center")
        box = (x0, y0 + title_h, x0 + panel[0], y0 + title_h + panel[1])
        picture.panels[f"w{i},{j}"] = box
        cells = () if marked is None else marked.cells[i, j]
        copy.draw(canvas, box, (i, j), cells)
    picture.texts = canvas.texts
    return picture


@dataclass(frozen=True)
class Marked:
    """The input cells framed in black in each copy: ``cells[i, j]``, the (row, column)
    cells of output cell (i, j)'s copy; ``words``: what they are, for the heading."""

    cells: dict
    words: str


def routes_marked(routes) -> Marked:
    """The cells each output cell's gradient reaches (``routes``: bool, (*shown, h, w), as
    :func:`poolcli.learn.winners.gradient_routes` gives it), as :class:`Marked`."""
    cells = {
        position: [tuple(int(v) for v in rc) for rc in np.argwhere(routes[position])]
        for position in np.ndindex(*routes.shape[:2])
    }
    return Marked(cells, "the cells its gradient reaches")


def _winner_cells(windows, shown, winners) -> dict:
    """The winning input cell of each shown window (none where it is padding)."""
    wy, wx = windows
    cells = {}
    for position in np.ndindex(*shown):
        winner = _winner(wy, wx, position, int(winners[position]))
        cells[position] = [] if winner is None else [winner]
    return cells


def _labels(outputs, shown, font, width: int) -> dict:
    """Each copy's title lines: ``(i, j) = value``, or with several ops ``(i, j)`` then every
    op's value, wrapped to ``width``."""
    named = isinstance(outputs, (list, tuple))
    fields = outputs if named else [("", outputs)]
    labels = {}
    for i, j in np.ndindex(*shown):
        values = [(name, _short(field[i, j], field.dtype.kind in "biu")) for name, field in fields]
        if not named:
            labels[i, j] = [f"({i}, {j}) = {values[0][1]}"]
            continue
        labels[i, j] = [f"({i}, {j})", *_pack(font, [f"{n} {v}" for n, v in values], width)]
    return labels


def _pack(font, items: list[str], width: int) -> list[str]:
    """``items`` joined by commas into lines at most ``width`` pixels wide where they fit,
    never breaking an item (an op's name from its value)."""
    lines: list[str] = []
    for item in items:
        joined = f"{lines[-1]}, {item}" if lines else item
        if lines and _text_width(font, joined + ",") <= width:
            lines[-1] = joined
        else:
            if lines:
                lines[-1] += ","
            lines.append(item)
    return lines


def _region(axis: AxisWindow, shown: int) -> tuple[int, int]:
    """First and last cell along ``axis`` a copy shows (negative or past the input:
    padding): the whole input with its padding, or what the first ``shown`` windows read."""
    if shown == axis.out:
        before = 0 if axis.bins is not None else axis.pad_begin
        after = 0 if axis.bins is not None else axis.pad_end + axis.extra_end
        return -before, axis.size + after - 1
    cells = [c for i in range(shown) for c in axis.cells(i)]
    return min(cells), max(cells)


def _heading(windows, shown, region, marked, what: str) -> str:
    wy, wx = windows
    text = (
        f"Each window on its own{what}: output cell (row, column) = value over a copy of the "
        "input, the window's cells framed in magenta, the rest faded"
    )
    if any(lo < 0 or hi >= a.size for (lo, hi), a in zip(region, windows)):
        text += ", padding hatched"
    if any(_ceil_only(a, hi) for (_, hi), a in zip(region, windows)):
        text += ", cells only --ceil adds dotted"
    if marked is not None:
        text += f", {marked.words} framed in black"
    text += "."
    if shown != (wy.out, wx.out):
        (r0, r1), (c0, c1) = (
            (max(lo, 0), min(hi, a.size - 1)) for (lo, hi), a in zip(region, windows)
        )
        text += (
            f" The first {shown[0]}x{shown[1]} of {wy.out}x{wx.out} output cells are drawn, "
            f"over input rows {r0}-{r1} and columns {c0}-{c1}; --viz FILE.gif or FILE.html "
            "steps through the windows one at a time."
        )
    return text


class _Copy:
    """Draws copies of the input region with one window picked out."""

    def __init__(self, values, colours, windows, region, cell: int):
        self.values, self.windows, self.cell = values, windows, cell
        (self.top, bottom), (self.left, right) = region
        rows = np.arange(self.top, bottom + 1)[:, None]
        cols = np.arange(self.left, right + 1)[None, :]
        inside = (rows >= 0) & (rows < values.shape[0]) & (cols >= 0) & (cols < values.shape[1])
        base = np.empty((*inside.shape, 3), np.uint8)
        base[:] = HATCH_BACK
        wy, wx = windows
        base[_ceil_only(wy, rows[:, 0]), :] = BACKGROUND
        base[:, _ceil_only(wx, cols[0])] = BACKGROUND
        r, c = np.nonzero(inside)
        base[r, c] = colours[r + self.top, c + self.left]
        self.base = base
        self.faded = np.rint(255 - FADED * (255 - base.astype(np.float64))).astype(np.uint8)

    def cell_box(self, box, r: int, c: int):
        """The pixel box of input cell (r, c) in a copy drawn at ``box``."""
        x0, y0 = box[0] + (c - self.left) * self.cell, box[1] + (r - self.top) * self.cell
        return x0, y0, x0 + self.cell - 1, y0 + self.cell - 1

    def draw(self, canvas, box, position, marked) -> None:
        """One copy with window ``position`` picked out, the cells ``marked`` framed in black."""
        wy, wx = self.windows
        i, j = position
        rows, cols = wy.cells(i), wx.cells(j)
        read = np.zeros(self.base.shape[:2], bool)
        read[np.ix_([r - self.top for r in rows], [c - self.left for c in cols])] = True
        pixels = np.where(read[..., None], self.base, self.faded)
        size = (pixels.shape[1] * self.cell, pixels.shape[0] * self.cell)
        canvas.paste(Image.fromarray(pixels).resize(size, Image.Resampling.NEAREST), box[:2])
        line, mark = max(2, self.cell // 10), max(2, self.cell // 12)
        inside = self.cell - 2 * (line + mark)  # the room inside a black frame
        for r in rows:
            for c in cols:
                room = inside if (r, c) in marked else self.cell - 4
                colour = pixels[r - self.top, c - self.left]
                self._cell(canvas, self.cell_box(box, r, c), (r, c), colour, room)
        canvas.draw.rectangle((box[0] - 1, box[1] - 1, box[2], box[3]), outline=MUTED, width=1)
        first, last = self.cell_box(box, rows[0], cols[0]), self.cell_box(box, rows[-1], cols[-1])
        frame = (first[0] - 1, first[1] - 1, last[2] + 1, last[3] + 1)
        canvas.draw.rectangle(frame, outline=HIGHLIGHT, width=line)
        inset = line - 1  # just inside the magenta where they meet
        for r, c in marked:
            x0, y0, x1, y1 = self.cell_box(box, r, c)
            box_in = (x0 + inset, y0 + inset, x1 - inset, y1 - inset)
            _frame(canvas, box_in, INK, mark)

    def _cell(self, canvas, cell_box, cell, colour, room: int) -> None:
        """A cell the window reads: hatched when padding, dotted when only ceil mode adds
        it, else its value where it fits in ``room`` pixels (smaller inside a frame)."""
        wy, wx = self.windows
        r, c = cell
        if _ceil_only(wy, r) or _ceil_only(wx, c):
            _dots(canvas, cell_box)
        elif not (0 <= r < wy.size and 0 <= c < wx.size):
            _hatch(canvas, cell_box)
        elif self.cell >= 22:
            text = _short(self.values[r, c], self.values.dtype.kind in "biu")
            size = max(9, min(16, self.cell * 2 // 5))
            while size > 7 and _text_width(_font(size), text) > room:
                size -= 1
            font = _font(size)
            if _text_width(font, text) <= room:
                x0, y0, x1, y1 = cell_box
                fill = _text_colour(tuple(int(v) for v in colour))
                canvas.text(
                    (x0 + x1 + 1) / 2, (y0 + y1 + 1) / 2, text, font, fill, "center", "middle"
                )


def _winner(wy, wx, position, tap) -> tuple[int, int] | None:
    """The input cell of kernel tap ``tap`` of window ``position`` (None: none, or padding)."""
    if tap is None:
        return None
    ti, tj = divmod(tap, wx.kernel)
    r, c = _tap_cell(wy, position[0], ti), _tap_cell(wx, position[1], tj)
    if r is None or c is None or not (0 <= r < wy.size and 0 <= c < wx.size):
        return None
    return r, c


def _ceil_only(axis: AxisWindow, cell):
    """Whether ``cell`` (or each of an array of cells) lies past the end padding: there only
    through ceil mode."""
    past = np.asarray(cell) >= axis.size + axis.pad_end
    return past & (axis.bins is None)  # adaptive bins never reach past the input


def _dots(canvas, box) -> None:
    """A grid of dots over a cell only ceil mode adds (as the input panel draws them)."""
    x0, y0, x1, y1 = box
    step = max(4, (x1 - x0) // 5)
    for y in range(y0 + step // 2, y1, step):
        for x in range(x0 + step // 2, x1, step):
            canvas.draw.rectangle((x, y, x, y), fill=HATCH_LINE)


def _hatch(canvas, box) -> None:
    """Diagonal lines over a padding cell the window reaches."""
    x0, y0, x1, y1 = box
    size = x1 - x0
    for k in range(0, 2 * size, max(4, size // 3)):
        a = (x0 + max(0, k - size), y0 + min(k, size))
        b = (x0 + min(k, size), y0 + max(0, k - size))
        canvas.draw.line((a, b), fill=HATCH_LINE, width=1)


def multiples_of(
    picture: Picture, array, outputs, layout, windows, winners=None, channel=0, marked=None
):
    """:func:`window_multiples` of one channel of a pooling drawn as ``picture`` (whose
    ``values`` scale colours the copies); arrays laid out as ``layout``: ``outputs`` the
    output or ``(name, output)`` pairs, ``winners`` as
    :func:`poolcli.learn.winners.window_winners` gives them (or None); ``marked``: a
    :class:`Marked` instead, for that channel (:func:`shown_channel`)."""
    from poolcli.render.arrays import _canonical, _layout_of, _numpy

    data_in = _canonical(_numpy(array), layout)[0]
    ch = shown_channel(array, layout, channel)
    what = f" (channel {ch})" if data_in.shape[0] > 1 else ""
    won = None if winners is None else _canonical(_numpy(winners), _layout_of(winners))[0, ch]
    if isinstance(outputs, (list, tuple)):
        fields = [(name, _canonical(_numpy(out), layout)[0, ch]) for name, out in outputs]
    else:
        fields = _canonical(_numpy(outputs), layout)[0, ch]
    mapping = picture.mappings["values"]
    width = picture.image.width
    return window_multiples(
        data_in[ch], fields, windows, mapping, won, width=width, what=what, marked=marked
    )


def shown_channel(array, layout, channel: int) -> int:
    """The channel :func:`multiples_of` draws when asked for ``channel``."""
    from poolcli.render.arrays import _canonical, _numpy

    return min(channel, _canonical(_numpy(array), layout).shape[1] - 1)


def shown_cells(windows) -> tuple[int, int]:
    """How many output cells along each axis the copies show (the top-left block)."""
    return tuple(min(axis.out, MULTIPLES_SIDE) for axis in windows)
