"""Output values as textbook matrices: every value of a small output, else the top-left corner."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.text import Text

from poolcli.model.display import format_shape, format_value

if TYPE_CHECKING:
    from poolcli.model.layout import Layout
    from poolcli.model.options import PoolResult


#: Outputs at most this big are shown in full: rows and columns per matrix, channels, matrices.
SMALL_ROWS = 16


SMALL_COLS = 16


SMALL_CHANNELS = 4


SMALL_MATRICES = 16


#: The corner preview of a larger output: at most this many rows and columns.
PREVIEW_ROWS = 6


PREVIEW_COLS = 8


#: Matrices round floats to this many decimals (values that need more are marked rounded).
MATRIX_DECIMALS = 4


def _aligned(texts: list[str]) -> list[str]:
    """Pad formatted numbers to one width, decimal points lined up (``' 3.75'``, ``'13.5 '``)."""
    plain = [t for t in texts if "." in t or t.lstrip("-").isdigit()]
    if len(plain) != len(texts) or any("e" in t for t in texts):
        width = max(map(len, texts))
        return [t.rjust(width) for t in texts]
    heads = [t.split(".")[0] for t in texts]
    tails = [t[len(h) :] for h, t in zip(heads, texts, strict=True)]
    head_w = max(map(len, heads))
    tail_w = max(map(len, tails))
    return [h.rjust(head_w) + t.ljust(tail_w) for h, t in zip(heads, tails, strict=True)]


class Matrix:
    """A 2-D block of values printed like a textbook matrix, fitted to the console width.

    ``total_rows``/``total_cols`` are the sizes of the full matrix when ``values`` is only its
    top-left corner; hidden rows and columns are shown as ``…``. Columns that do not fit the
    width are dropped the same way.
    """

    def __init__(self, values, title: str, total_rows: int, total_cols: int, indent: int = 2):
        self.values = np.asarray(values)
        self.title = title
        self.total_rows = total_rows
        self.total_cols = total_cols
        self.indent = indent

    def _cells(self) -> list[list[str]]:
        dtype = self.values.dtype
        flat = [format_value(v, dtype, MATRIX_DECIMALS) for v in self.values.reshape(-1)]
        flat = _aligned(flat) if flat else flat
        cols = self.values.shape[1]
        return [flat[r * cols : (r + 1) * cols] for r in range(self.values.shape[0])]

    def _width(self, shown: int, cell_w: int, more: bool) -> int:
        return self.indent + shown * cell_w + (shown - 1) * 2 + (3 if more else 0)

    def _fit(self, width: int) -> tuple[list[list[str]], bool]:
        cells = self._cells()
        if not cells or not cells[0]:
            return cells, False
        cell_w = len(cells[0][0])
        shown = len(cells[0])
        more = shown < self.total_cols
        while shown > 1 and self._width(shown, cell_w, more) > width:
            shown -= 1
            more = True
        return [row[:shown] for row in cells], more

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        rows, more_cols = self._fit(width)
        yield Text(self.title, style="bold", overflow="fold")
        pad = " " * self.indent
        for row in rows:
            line = pad + "  ".join(row)
            line = line + "  …" if more_cols else line.rstrip()
            yield Text(line, overflow="crop", no_wrap=True)
        if len(rows) < self.total_rows:
            yield Text(pad + "…", no_wrap=True)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        rows, more = self._fit(options.max_width)
        cell_w = len(rows[0][0]) if rows and rows[0] else 0
        longest = self._width(len(rows[0]) if rows else 0, cell_w, more)
        return Measurement(min(longest, 8), max(longest, len(self.title)))


def _slice_title(letters: str, index: tuple[int, ...], channel_names) -> str:
    """``"item 0, channel R"`` for the matrix at ``index`` of the non-matrix axes ``letters``."""
    parts = []
    for letter, i in zip(letters, index, strict=True):
        if letter == "N":
            parts.append(f"item {i}")
        elif letter == "C":
            named = channel_names and i < len(channel_names)
            parts.append(f"channel {channel_names[i] if named else i}")
        elif letter == "D":
            parts.append(f"depth {i}")
        else:
            parts.append(f"{letter} {i}")
    return ", ".join(parts)


def matrix_slices(array, layout: Layout, channel_names=None):
    """``array`` (laid out as ``layout``) as titled 2-D matrices, in canonical order.

    Yields ``(title, matrix)``; a 1-D spatial array gives one row per matrix.
    """
    order = layout.to_canonical()
    out = np.asarray(array).transpose(order)
    letters = "".join(layout.letters[i] for i in order)
    if len(layout.spatial) == 1:
        out = out[..., np.newaxis, :]
        letters = letters[:-1] + "HW"
    for index in np.ndindex(*out.shape[:-2]):
        yield _slice_title(letters[:-2], index, channel_names), out[index]


def is_small(shape: tuple[int, ...], layout: Layout) -> bool:
    """Whether an array of ``shape`` is printed whole: a few small matrices."""
    spatial = layout.spatial_shape(tuple(shape))
    rows, cols = (1, spatial[0]) if len(spatial) == 1 else spatial[-2:]
    channels = shape[layout.channel_axis] if layout.channel_axis is not None else 1
    matrices = int(np.prod(shape)) // max(rows * cols, 1)
    return (
        rows <= SMALL_ROWS
        and cols <= SMALL_COLS
        and channels <= SMALL_CHANNELS
        and matrices <= SMALL_MATRICES
    )


def _rounded(values: np.ndarray) -> bool:
    """True when some value needs more than MATRIX_DECIMALS decimals."""
    if values.dtype.kind not in "f":
        return False
    return any(
        format_value(v, values.dtype) != format_value(v, values.dtype, MATRIX_DECIMALS)
        for v in values.reshape(-1)
    )


def values_block(result: PoolResult, channel_names=None) -> list:
    """Renderables showing the output values: all of them when small, else a corner preview."""
    if result.output.size == 0:
        return [Text("The output is empty.")]
    blocks: list = []
    shown = []
    if is_small(result.output.shape, result.layout):
        for title, matrix in matrix_slices(result.output, result.layout, channel_names):
            heading = "output" + (f" · {title}" if title else "")
            if blocks:
                blocks.append(Text(""))
            blocks.append(Matrix(matrix, heading, matrix.shape[0], matrix.shape[1]))
            shown.append(matrix)
    else:
        title, matrix = next(matrix_slices(result.output, result.layout, channel_names))
        corner = matrix[:PREVIEW_ROWS, :PREVIEW_COLS]
        heading = "output, top-left corner" + (f" · {title}" if title else "")
        blocks.append(Matrix(corner, heading, matrix.shape[0], matrix.shape[1]))
        shown.append(corner)
        shape = format_shape(result.output.shape)
        blocks.append(
            Text(
                f"The output ({shape}) is too large to show in full; write it with "
                "-o FILE.npy to see every value.",
                style="dim",
            )
        )
    if any(_rounded(m) for m in shown):
        blocks.append(
            Text(
                f"Values are rounded to {MATRIX_DECIMALS} decimals; --json or -o FILE.npy "
                "give them exactly.",
                style="dim",
            )
        )
    return blocks
