"""Pictures of a pooling, drawn from the real result: input and output side by side.

* :func:`render_pool` draws one :class:`~poolcli.model.options.PoolResult`: the input and the output
  at the same displayed size (the output enlarged by nearest neighbour, so every output cell is a
  visible block), titled with the op, its parameters and the shapes.
* :func:`render_compare` draws one input and several results of the same windows (one panel
  per op); :func:`render_columns` is the general form behind both (``grad`` draws the input
  next to its gradient with it).
* :func:`line_chart` draws a few named series on one axis.
* :func:`write_viz` renders and writes a picture (atomically); :func:`save_viz` writes any
  picture; :func:`viridis` is the colour map.

What is drawn
-------------
- Colour images (RGB, RGBA, gray with alpha) read from image files in their own colours,
  transparency over a checkerboard.
- Everything single-channel (arrays, each channel of an array, grayscale images, and the
  channels of a small colour image) through viridis, with one colour scale shared by the
  panels; its ends are the minimum and maximum of everything shown (input and output), so
  a label map or a dim 16-bit image shows its structure.
- Several channels: one row per channel (the first few; the picture says how many are left
  out). 3-D volumes: a few depth slices, each output slice next to the input slice at the
  centre of its windows. 1-D signals: a line plot of input and output on the same axis, every
  output value drawn at the centre of its window.
- Small inputs (at most 16x16 cells): every cell shows its value, window boundaries are drawn
  on the input, padding as hatched cells, and for max, min, median, mode and stochastic
  sampling each window's winning cell is outlined in the same colour as its output cell. The
  winners come from :func:`poolcli.engine.ops.window_winners`, the engine's own answer.

Pillow and numpy only; text uses Pillow's bundled scalable font (plain ASCII, which every
font Pillow falls back to can draw).
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from poolcli.errors import UsageError
from poolcli.model.layout import Layout
from poolcli.model.reductions import Reduction
from poolcli.model.window import AxisWindow, format_axes

if TYPE_CHECKING:
    from poolcli.io import ImageInfo
    from poolcli.model.options import PoolResult

# The viridis colour map (Stefan van der Walt, Nathaniel Smith and Eric Firing; CC0), its
# 256 entries rounded to 8 bits: viridis(0) is #440154, viridis(1) is #fde725.
_VIRIDIS_HEX = (
    "44015444025645045745055946075a46085c460a5d460b5e470d60470e61471063471164471365481467481668481769"
    "48186a481a6c481b6d481c6e481d6f481f70482071482173482374482475482576482677482878482979472a7a472c7a"
    "472d7b472e7c472f7d46307e46327e46337f463480453581453781453882443983443a83443b84433d84433e85423f85"
    "4240864241864142874144874045884046883f47883f48893e49893e4a893e4c8a3d4d8a3d4e8a3c4f8a3c508b3b518b"
    "3b528b3a538b3a548c39558c39568c38588c38598c375a8c375b8d365c8d365d8d355e8d355f8d34608d34618d33628d"
    "33638d32648e32658e31668e31678e31688e30698e306a8e2f6b8e2f6c8e2e6d8e2e6e8e2e6f8e2d708e2d718e2c718e"
    "2c728e2c738e2b748e2b758e2a768e2a778e2a788e29798e297a8e297b8e287c8e287d8e277e8e277f8e27808e26818e"
    "26828e26828e25838e25848e25858e24868e24878e23888e23898e238a8d228b8d228c8d228d8d218e8d218f8d21908d"
    "21918c20928c20928c20938c1f948c1f958b1f968b1f978b1f988b1f998a1f9a8a1e9b8a1e9c891e9d891f9e891f9f88"
    "1fa0881fa1881fa1871fa28720a38620a48621a58521a68522a78522a88423a98324aa8325ab8225ac8226ad8127ad81"
    "28ae8029af7f2ab07f2cb17e2db27d2eb37c2fb47c31b57b32b67a34b67935b77937b87838b9773aba763bbb753dbc74"
    "3fbc7340bd7242be7144bf7046c06f48c16e4ac16d4cc26c4ec36b50c46a52c56954c56856c66758c7655ac8645cc863"
    "5ec96260ca6063cb5f65cb5e67cc5c69cd5b6ccd5a6ece5870cf5773d05675d05477d1537ad1517cd2507fd34e81d34d"
    "84d44b86d54989d5488bd6468ed64590d74393d74195d84098d83e9bd93c9dd93ba0da39a2da37a5db36a8db34aadc32"
    "addc30b0dd2fb2dd2db5de2bb8de29bade28bddf26c0df25c2df23c5e021c8e020cae11fcde11dd0e11cd2e21bd5e21a"
    "d8e219dae319dde318dfe318e2e418e5e419e7e419eae51aece51befe51cf1e51df4e61ef6e620f8e621fbe723fde725"
)
VIRIDIS = np.frombuffer(bytes.fromhex("".join(_VIRIDIS_HEX)), dtype=np.uint8).reshape(256, 3)

#: Inputs with at most this many cells along each of two spatial axes are drawn cell by cell.
SMALL = 16
#: Shortest side of a panel drawn cell by cell, in pixels (more when its text needs it).
MIN_PANEL = 256
#: Longest side of other panels: enlarged by a whole factor to at least the first number
#: (the second when the picture has a single row), shrunk to at most MAX_PANEL.
MIN_LARGE_PANEL = (256, 384)
MAX_PANEL = 512
#: Rows (channels or depth slices) drawn at most, unless the caller asks for more.
MAX_ROWS = 4

BACKGROUND = (255, 255, 255)
INK = (20, 20, 20)
MUTED = (110, 110, 110)
FRAME = (90, 90, 90)
NAN_COLOUR = (200, 200, 200)
CHECKER = ((255, 255, 255), (204, 204, 204))
HATCH_BACK = (238, 238, 238)
HATCH_LINE = (160, 160, 160)
SEPARATOR = (30, 30, 30)
BOUNDARY = (0, 0, 0)
FIRST_WINDOW = (230, 25, 50)
#: Outline colours of windows; window (i, j) gets PALETTE[(3 * i + j) % 5], so neighbours differ.
PALETTE = (
    (230, 25, 50),
    (255, 140, 0),
    (0, 205, 255),
    (255, 255, 255),
    (250, 60, 230),
)
#: Line colours of chart series (Tableau 10): the input first, then each output.
SERIES = (
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
)

Box = tuple[int, int, int, int]


# --------------------------------------------------------------------------------------------
# Public data


@dataclass
class Column:
    """One column of panels: an array laid out like the input, and its title.

    ``windows``: the windows that made this array from the first column (``None`` when it
    has the first column's own shape, like a gradient); it places 1-D output values and pairs
    3-D slices. ``winners``: the (N, C, *out) winning taps of
    :func:`poolcli.engine.ops.window_winners`; on small inputs they are outlined on the first column
    and on this one (only the first column that has them). Columns with the same ``scale``
    share one colour scale.
    """

    title: str
    array: Any
    windows: tuple[AxisWindow, ...] | None = None
    winners: Any = None
    scale: str = "values"


@dataclass(frozen=True)
class Scale:
    """A colour scale as drawn: its bar's box, the value range and the labels at its ends."""

    box: Box
    low: float
    high: float
    low_label: str
    high_label: str


@dataclass
class Picture:
    """A rendered picture and where things are in it.

    Boxes are ``(x0, y0, x1, y1)`` pixel boxes, end exclusive. ``panels`` maps ``"r{row}c{col}"``
    to the box of that panel's data (for 1-D, ``"r{row}g{group}"`` to a chart's plot area);
    ``grids`` gives the (rows, columns) of cells of panels drawn cell by cell;
    ``window_colours`` the outline colour of each window whose winner is outlined (window
    index per spatial axis -> RGB); ``texts`` every text drawn, with its box.
    """

    image: Image.Image
    panels: dict[str, Box] = field(default_factory=dict)
    grids: dict[str, tuple[int, int]] = field(default_factory=dict)
    scales: dict[str, Scale] = field(default_factory=dict)
    window_colours: dict[tuple[int, ...], tuple[int, int, int]] = field(default_factory=dict)
    series_colours: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    texts: list[tuple[str, Box]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# Colours


def viridis(values) -> np.ndarray:
    """Map values in [0, 1] to viridis RGB (uint8, shape ``values.shape + (3,)``).

    Values are clipped to [0, 1]; NaN maps to light gray.

    >>> viridis([0.0, 1.0]).tolist()
    [[68, 1, 84], [253, 231, 37]]
    """
    t = np.asarray(values, dtype=np.float64)
    nan = np.isnan(t)
    index = np.rint(np.clip(np.where(nan, 0.0, t), 0.0, 1.0) * 255).astype(np.intp)
    rgb = np.take(VIRIDIS, index, axis=0)  # a copy, also for a single value
    rgb[nan] = NAN_COLOUR
    return rgb


@dataclass(frozen=True)
class _Mapping:
    """How one scale group turns values into viridis colours: ``low`` -> 0, ``high`` -> 1.

    For an image's colour rows ``high`` is the value of full intensity instead.
    """

    low: float
    high: float
    integral: bool

    def __call__(self, values) -> np.ndarray:
        v = np.asarray(values, dtype=np.float64)
        if self.high > self.low:
            t = (v - self.low) / (self.high - self.low)
        else:
            t = np.where(np.isnan(v), np.nan, 0.5)
        return viridis(t)


def _luminance(rgb) -> float:
    return 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]


def _text_colour(rgb) -> tuple[int, int, int]:
    return (0, 0, 0) if _luminance(rgb) > 128 else (255, 255, 255)


# --------------------------------------------------------------------------------------------
# Text


@functools.lru_cache(maxsize=32)
def _font(size: int):
    """Pillow's bundled scalable font at ``size`` pixels (its bitmap font on old Pillow)."""
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError, ImportError):  # Pillow < 10.1 or without FreeType
        return ImageFont.load_default()


@functools.lru_cache(maxsize=32)
def _line_metrics(font) -> tuple[int, int]:
    """(offset of the tallest glyph's top, line height) of ``font``."""
    left, top, right, bottom = font.getbbox("Agjy|")
    return top, bottom - top + 1


def _text_width(font, text: str) -> int:
    if not text:
        return 0
    left, _, right, _ = font.getbbox(text)
    return right - left


def _wrap(font, text: str, width: int) -> list[str]:
    """Split ``text`` into lines no wider than ``width``, between words where possible."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        words = [piece for word in paragraph.split(" ") for piece in _cut(font, word, width)]
        line = ""
        for word in words:
            trial = f"{line} {word}" if line else word
            if line and _text_width(font, trial) > width:
                lines.append(line)
                line = word
            else:
                line = trial
        lines.append(line)
    return lines


def _cut(font, word: str, width: int) -> list[str]:
    """``word`` in pieces no wider than ``width`` (a long file name, say)."""
    pieces = []
    while _text_width(font, word) > width and len(word) > 1:
        end = len(word) - 1
        while end > 1 and _text_width(font, word[:end]) > width:
            end -= 1
        pieces.append(word[:end])
        word = word[end:]
    return [*pieces, word]


def _short(value, integer: bool) -> str:
    """A cell's value in a few characters: integers whole, floats to 3 significant digits."""
    if integer:
        return str(int(value))
    v = float(value)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v.is_integer() and abs(v) < 1e6:
        return str(int(v))
    a = abs(v)
    if 1e-3 <= a < 1e3:
        text = f"{v:.3g}"
    elif 1e3 <= a < 1e6:
        text = f"{v:.0f}"
    else:
        text = f"{v:.2g}"
    return _tidy_exponent(text)


def _label(value: float) -> str:
    """A scale end: exact for whole numbers, else 4 significant digits."""
    v = float(value)
    if v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return _tidy_exponent(f"{v:.4g}")


def _tidy_exponent(text: str) -> str:
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    return f"{mantissa}e{int(exponent)}"


def _shape_text(shape) -> str:
    return "x".join(str(s) for s in shape)


class _Canvas:
    """An RGB image being drawn, recording every text and its box."""

    def __init__(self, width: int, height: int):
        self.image = Image.new("RGB", (width, height), BACKGROUND)
        self.draw = ImageDraw.Draw(self.image)
        self.texts: list[tuple[str, Box]] = []

    def text(self, x, y, text, font, fill=INK, align="left", valign="top") -> Box:
        """Draw ``text`` with its box's left/centre/right edge at ``x`` and top/middle at ``y``."""
        left, _, right, _ = font.getbbox(text)
        top, height = _line_metrics(font)
        width = right - left
        x0 = {"left": x, "center": x - width / 2, "right": x - width}[align]
        y0 = y if valign == "top" else y - height / 2
        x0, y0 = round(x0), round(y0)
        self.draw.text((x0 - left, y0 - top), text, font=font, fill=fill)
        box = (x0, y0, x0 + width, y0 + height)
        self.texts.append((text, box))
        return box

    def lines(self, x, y, lines, font, fill=INK, align="left") -> int:
        """Draw lines of text downwards from ``y``; returns the y below them."""
        _, height = _line_metrics(font)
        step = height + max(2, height // 5)
        for line in lines:
            if line:
                self.text(x, y, line, font, fill, align)
            y += step
        return y


def _lines_height(font, count: int) -> int:
    _, height = _line_metrics(font)
    return count * (height + max(2, height // 5))


# --------------------------------------------------------------------------------------------
# Arrays


def _numpy(array) -> np.ndarray:
    """A numpy array from a numpy array or a torch tensor (without importing torch)."""
    if type(array).__module__.split(".")[0] == "torch":
        t = array.detach().cpu()
        if str(t.dtype) == "torch.bfloat16":
            t = t.float()
        return t.numpy()
    return np.asarray(array)


def _canonical(array: np.ndarray, layout: Layout) -> np.ndarray:
    """A (N, C, *spatial) view of ``array`` laid out as ``layout``."""
    if array.ndim != len(layout.letters):
        raise ValueError(f"array of shape {array.shape} does not match layout {layout}")
    return layout.canonical(array)


def _finite_range(fields: Sequence[np.ndarray]) -> tuple[float, float] | None:
    """Smallest and largest finite value over ``fields`` (None when there is none)."""
    lows, highs = [], []
    for f in fields:
        if f.size == 0:
            continue
        if f.dtype.kind == "b":
            f = f.astype(np.uint8)
        if f.dtype.kind == "f":
            finite = np.isfinite(f)
            if not finite.all():
                f = f[finite]
                if f.size == 0:
                    continue
        lows.append(f.min())
        highs.append(f.max())
    if not lows:
        return None
    return float(min(lows)), float(max(highs))


def _integral(fields: Sequence[np.ndarray]) -> bool:
    return all(f.dtype.kind in "biu" for f in fields)


def _reduce_for_display(values: np.ndarray, box_w: int, box_h: int) -> np.ndarray:
    """Block-average ``values`` (h, w[, c]) when it has at least twice the box's pixels."""
    h, w = values.shape[:2]
    step = min(h // max(box_h, 1), w // max(box_w, 1))
    if step < 2:
        return values
    h2, w2 = h // step * step, w // step * step
    v = values[:h2, :w2]
    shape = (h2 // step, step, w2 // step, step, *values.shape[2:])
    return v.reshape(shape).mean(axis=(1, 3), dtype=np.float64)


def _resize(image: Image.Image, width: int, height: int) -> Image.Image:
    """Nearest neighbour when enlarging (blocks stay blocks), box filter when shrinking."""
    if image.size == (width, height):
        return image
    shrinking = image.width > width or image.height > height
    method = Image.Resampling.BOX if shrinking else Image.Resampling.NEAREST
    return image.resize((width, height), method)


def _checkerboard(width: int, height: int, square: int = 8) -> Image.Image:
    y, x = np.mgrid[0:height, 0:width]
    dark = ((y // square + x // square) % 2).astype(bool)
    rgb = np.where(dark[..., None], CHECKER[1], CHECKER[0]).astype(np.uint8)
    return Image.fromarray(rgb)


def _colour_pixels(values: np.ndarray, top: float) -> np.ndarray:
    """(h, w, C) image values -> uint8 RGBA, with ``top`` the value of full intensity."""
    v = np.asarray(values, dtype=np.float64)
    v = np.clip(np.rint(np.nan_to_num(v, nan=0.0) * (255.0 / top)), 0, 255).astype(np.uint8)
    channels = v.shape[-1]
    if channels == 2:  # gray + alpha
        return np.stack([v[..., 0], v[..., 0], v[..., 0], v[..., 1]], axis=-1)
    if channels == 3:
        return np.concatenate([v, np.full(v.shape[:2] + (1,), 255, np.uint8)], axis=-1)
    return v


# --------------------------------------------------------------------------------------------
# Windows


def _disjoint(axis: AxisWindow) -> bool:
    """True when the windows along ``axis`` do not share cells."""
    if axis.bins is not None:
        return all(a[1] <= b[0] for a, b in zip(axis.bins, axis.bins[1:]))
    return axis.out == 1 or axis.stride >= axis.effective_kernel


def _span(axis: AxisWindow, i: int) -> tuple[int, int]:
    """First and last cell (padding included) of window ``i``."""
    cells = axis.cells(i)
    return min(cells), max(cells)


def _centres(axis: AxisWindow) -> np.ndarray:
    """The centre of every window along ``axis`` (padding included), in input cells."""
    if axis.bins is not None:
        return np.array([(start + end - 1) / 2 for start, end in axis.bins], dtype=np.float64)
    starts = np.arange(axis.out, dtype=np.float64) * axis.stride - axis.pad_begin
    return starts + (axis.effective_kernel - 1) / 2


def _tap_cell(axis: AxisWindow, i: int, tap: int) -> int | None:
    cells = axis.cells(i)
    return cells[tap] if tap < len(cells) else None


def _spread(count: int, wanted: int) -> list[int]:
    """Up to ``wanted`` indices spread evenly over ``range(count)``, ends included."""
    if count <= wanted:
        return list(range(count))
    return sorted({round(k * (count - 1) / (wanted - 1)) for k in range(wanted)})


def window_colour(index: tuple[int, ...]) -> tuple[int, int, int]:
    """The outline colour of window ``index``; neighbouring windows never share one."""
    *rest, last = index
    first = rest[-1] if rest else 0
    return PALETTE[(3 * first + last) % len(PALETTE)]


# --------------------------------------------------------------------------------------------
# Describing a result


def window_text(result: PoolResult) -> str:
    """The windowing of ``result`` in words, e.g. ``kernel 2x2, stride 2x2, padding 1``."""
    spec, windows = result.spec, result.windows
    if spec.mode == "global":
        return "global window"
    if spec.mode == "adaptive":
        return f"adaptive, output size {format_axes(tuple(a.out for a in windows))}"
    parts = [
        f"kernel {format_axes(tuple(a.kernel for a in windows))}",
        f"stride {format_axes(tuple(a.stride for a in windows))}",
    ]
    pads = tuple(
        a.pad_begin if a.pad_begin == a.pad_end else (a.pad_begin, a.pad_end) for a in windows
    )
    if spec.padding == "same":
        parts.append(f"padding same ({format_axes(pads)})")
    elif any(a.pad_begin or a.pad_end for a in windows):
        parts.append(f"padding {format_axes(pads)}")
    if any(a.dilation != 1 for a in windows):
        parts.append(f"dilation {format_axes(tuple(a.dilation for a in windows))}")
    if spec.ceil_mode:
        parts.append("ceil mode")
    if spec.count_include_pad and result.reduction is Reduction.AVG:
        parts.append("count-include-pad")
    return ", ".join(parts)


def op_text(result: PoolResult) -> str:
    """``max pooling``, ``lp pooling (p=3)``, ``stochastic pooling (sampled, seed 1)``..."""
    text = f"{result.reduction} pooling"
    options = result.options
    if result.reduction is Reduction.LP:
        text += f" (p={options.norm_type:g})"
    elif result.reduction is Reduction.STOCHASTIC:
        if options.expectation:
            text += " (expectation)"
        elif options.seed is not None:
            text += f" (sampled, seed {options.seed})"
        else:
            text += " (sampled)"
    return text


def describe(result: PoolResult, name: str | None = None) -> str:
    """A picture's title: the op, its windows, and the shapes in and out (two lines)."""
    head = f"{op_text(result)}, {window_text(result)}"
    if name:
        head = f"{name}: {head}"
    output = _numpy(result.output)
    shapes = (
        f"input {_shape_text(result.input_shape)} ({result.layout}, {result.input_dtype})"
        f" -> output {_shape_text(output.shape)} ({output.dtype})"
    )
    return f"{head}\n{shapes}"


# --------------------------------------------------------------------------------------------
# Entry points


def render_pool(
    source,
    result: PoolResult,
    *,
    title: str | None = None,
    max_rows: int = MAX_ROWS,
) -> Picture:
    """Draw the input of ``result`` next to its output.

    Parameters
    ----------
    source : poolcli.io.LoadedInput or numpy.ndarray
        The input that was pooled (a loaded image is drawn in its own colours).
    result : poolcli.model.options.PoolResult
        What :func:`poolcli.engine.core.run` returned for it.
    title : str, optional
        Default: :func:`describe` of the result, with the file name.
    max_rows : int
        Channels (or depth slices) drawn at most.

    Returns
    -------
    Picture
    """
    array, name, image = _source(source)
    output = _numpy(result.output)
    spatial_in = result.layout.spatial_shape(tuple(array.shape))
    spatial_out = result.layout.spatial_shape(tuple(output.shape))
    notes: list[str] = []
    winners = None
    if len(spatial_in) == 2 and max(spatial_in) <= SMALL:
        winners = _winners(array, result, notes)
    if len(spatial_in) == 2 and max(spatial_in) <= SMALL:
        notes += _padding_notes(result)
    if result.premultiplied:
        notes.append("Colour was weighted by alpha (premultiplied) while pooling.")
    columns = [
        Column(f"input {_shape_text(spatial_in)}", array),
        Column(
            f"{result.reduction} output {_shape_text(spatial_out)}",
            output,
            windows=result.windows,
            winners=winners,
        ),
    ]
    return render_columns(
        columns,
        result.layout,
        title=describe(result, name) if title is None else title,
        image=image,
        max_rows=max_rows,
        notes=notes,
    )


def render_compare(
    source,
    results: Sequence[PoolResult],
    *,
    title: str | None = None,
    max_rows: int = MAX_ROWS,
) -> Picture:
    """Draw one input and the outputs of several ops over the same windows, one panel each.

    All panels share one colour scale, so equal colours mean equal values across ops.
    """
    if not results:
        raise ValueError("render_compare needs at least one result")
    array, name, image = _source(source)
    first = results[0]
    spatial_in = first.layout.spatial_shape(tuple(array.shape))
    columns = [Column(f"input {_shape_text(spatial_in)}", array)]
    for result in results:
        output = _numpy(result.output)
        label = op_text(result).replace(" pooling", "")
        shape = _shape_text(result.layout.spatial_shape(tuple(output.shape)))
        columns.append(Column(f"{label} {shape}", output, windows=result.windows))
    if title is None:
        ops = ", ".join(str(r.reduction) for r in results)
        title = f"{name + ': ' if name else ''}{ops}, {window_text(first)}"
    return render_columns(columns, first.layout, title=title, image=image, max_rows=max_rows)


def write_viz(path: str, source, result: PoolResult) -> None:
    """Render ``result`` (see :func:`render_pool`) and write the picture to ``path`` atomically.

    Raises
    ------
    PoolError
        When ``path`` is not a picture file name or cannot be written.
    """
    save_viz(path, render_pool(source, result).image)


def check_viz_path(path: str) -> str:
    """The Pillow format for a picture path, or a usage error naming ``--viz``."""
    from poolcli.io import IMAGE_SUFFIXES

    suffix = os.path.splitext(path)[1].lower()
    if suffix not in IMAGE_SUFFIXES:
        raise UsageError(
            f"--viz {path}: give a picture file name ending in .png (or another image suffix).",
            option="--viz",
        )
    return IMAGE_SUFFIXES[suffix]


def save_viz(path: str, image: Image.Image) -> None:
    """Write ``image`` to ``path`` in the format its suffix names, atomically."""
    from poolcli.io import atomic_write

    fmt = check_viz_path(path)
    with atomic_write(path) as f:
        image.save(f, format=fmt)


def _padding_notes(result: PoolResult) -> list[str]:
    """What the hatched padding cells mean for this reduction."""
    windows = result.windows
    notes = []
    if any(a.pad_begin or a.pad_end for a in windows):
        if result.reduction is Reduction.AVG and result.spec.count_include_pad:
            notes.append("Padding counts as 0 in each mean (--count-include-pad).")
        elif result.reduction is Reduction.AVG:
            notes.append("Padding is left out of each mean.")
        elif result.reduction in (Reduction.SUM, Reduction.LP):
            notes.append("Padding adds nothing.")
        else:
            notes.append("Padding is never chosen.")
    if any(a.extra_end for a in windows):
        notes.append("Cells past the end padding exist only through --ceil; they never count.")
    return notes


def _source(source) -> tuple[np.ndarray, str | None, ImageInfo | None]:
    """(array, display name, image info) of a LoadedInput or a plain array."""
    if hasattr(source, "array") and hasattr(source, "kind"):
        image = source.image if source.kind == "image" else None
        return source.array, os.path.basename(source.path) or source.path, image
    return _numpy(source), None, None


def _winners(array, result: PoolResult, notes: list[str]) -> np.ndarray | None:
    """Each window's winning tap from the engine, or None when the op has no single winner."""
    reduction = result.reduction
    if not reduction.info.winner:
        return None
    if reduction is Reduction.STOCHASTIC:
        if result.options.expectation:
            return None
        if result.options.seed is None:
            notes.append("The sampled cells are not outlined: give --seed N to see them.")
            return None
    from poolcli.engine import ops

    winners = ops.window_winners(array, reduction, result.windows, result.layout, result.options)
    return _numpy(winners)


# --------------------------------------------------------------------------------------------
# The general renderer


@dataclass
class _Row:
    label: str
    channel: int | None  # None: the colour row of an image (all channels)
    depth: list[int | None]  # per column: depth slice (3-D)


@dataclass
class _Sizes:
    box_w: int
    box_h: int
    cell: int | None  # pixels per input cell, for inputs drawn cell by cell
    ring: tuple[int, int, int, int] = (0, 0, 0, 0)  # padding cells left, top, right, bottom


def render_columns(
    columns: Sequence[Column],
    layout: Layout | str,
    *,
    title: str = "",
    image: ImageInfo | None = None,
    max_rows: int = MAX_ROWS,
    notes: Sequence[str] = (),
    windows: Sequence[AxisWindow] | None = None,
) -> Picture:
    """Draw columns of panels: the first column is the input, the others share its layout.

    Parameters
    ----------
    columns : sequence of Column
        The first is the input; its spatial size sets every panel's displayed size.
    layout : Layout or str
        The layout of every column's array.
    title : str
        Drawn on top, wrapped to the picture's width (``\\n`` starts a new line).
    image : poolcli.io.ImageInfo, optional
        Set when the input was read from an image file: drawn in its own colours.
    max_rows : int
        Channels (or depth slices) drawn at most.
    notes : sequence of str
        Sentences printed under the panels.
    windows : sequence of AxisWindow, optional
        Windows drawn on a 2-D input panel (boundaries, padding). Default: the windows of
        the first column that has them.

    Returns
    -------
    Picture
    """
    if not columns:
        raise ValueError("render_columns needs at least one column")
    if windows is None:
        windows = next((c.windows for c in columns if c.windows is not None), None)
    layout = layout if isinstance(layout, Layout) else Layout.parse(str(layout))
    datas = [_canonical(_numpy(c.array), layout) for c in columns]
    notes = list(notes)
    n, channels = datas[0].shape[:2]
    if n > 1:
        notes.append(f"Item 1 of {n} (axis N) is shown.")
    if len(layout.spatial) == 1:
        return _render_signals(columns, datas, title, max_rows, notes)
    colour = image is not None and "C" in layout.letters and channels in (2, 3, 4)
    rows = _plan_rows(columns, datas, layout, colour, max_rows, notes)
    fields = [[_field(d, row, k) for k, d in enumerate(datas)] for row in rows]
    mappings = _mappings(columns, rows, fields, image)
    sizes = _sizes(rows, fields, windows)
    return _draw_grid(columns, datas, rows, fields, mappings, sizes, title, windows, notes)


def _plan_rows(columns, datas, layout, colour, max_rows, notes) -> list[_Row]:
    channels = datas[0].shape[1]
    ncols = len(columns)
    spatial = datas[0].shape[2:]
    rows: list[_Row] = []
    if len(spatial) == 3:
        if channels > 1:
            notes.append(f"Channel 0 of {channels} is shown.")
        windows = next((c.windows for c in columns if c.windows is not None), None)
        if windows is not None:
            depth_axis = windows[0]
            for j in _spread(depth_axis.out, max_rows):
                real = [c for c in depth_axis.cells(j) if 0 <= c < depth_axis.size]
                d_in = real[len(real) // 2]
                depth = [j if c.windows is not None else d_in for c in columns]
                reach = f"D={real[0]}" if len(real) == 1 else f"D={real[0]}-{real[-1]}"
                label = f"output slice D={j} pools input {reach}; input slice D={d_in} shown"
                rows.append(_Row(label, 0, depth))
        else:
            for d in _spread(spatial[0], max_rows):
                rows.append(_Row(f"depth slice D={d}", 0, [d] * ncols))
        shown = rows
        if len(shown) < (windows[0].out if windows is not None else spatial[0]):
            total = windows[0].out if windows is not None else spatial[0]
            notes.append(f"{len(shown)} of {total} depth slices are shown.")
        return rows
    small = max(spatial) <= SMALL
    if colour:
        rows.append(_Row("", None, [None] * ncols))
        if not small:
            return rows
    names = {
        2: ("gray", "alpha"),
        3: ("red", "green", "blue"),
        4: ("red", "green", "blue", "alpha"),
    }
    shown = min(channels, max_rows)
    for ch in range(shown):
        if colour:
            label = f"{names[channels][ch]} channel"
        elif channels > 1:
            label = f"channel {ch}"
        else:
            label = ""
        rows.append(_Row(label, ch, [None] * ncols))
    if channels > shown:
        notes.append(
            f"Channels {shown}-{channels - 1} are not shown ({channels - shown} more; "
            f"channels count from 0)."
        )
    return rows


def _field(data: np.ndarray, row: _Row, k: int) -> np.ndarray:
    item = data[0]
    if row.channel is None:
        return np.moveaxis(item, 0, -1)
    field_ = item[row.channel]
    if row.depth[k] is not None:
        field_ = field_[min(row.depth[k], field_.shape[0] - 1)]
    return field_


def _mappings(columns, rows, fields, image) -> dict[str, _Mapping]:
    """One colour mapping per scale group, over the scalar panels shown in it."""
    groups: dict[str, list[np.ndarray]] = {}
    for row, row_fields in zip(rows, fields):
        for column, f in zip(columns, row_fields):
            if row.channel is not None:
                groups.setdefault(column.scale, []).append(f)
    colour_fields = [f for row, rf in zip(rows, fields) if row.channel is None for f in rf]
    mappings = {}
    for name, group in groups.items():
        low, high = _finite_range(group) or (0.0, 1.0)
        mappings[name] = _Mapping(low, high, _integral(group))
    if colour_fields:
        mappings["colour"] = _colour_mapping(colour_fields, image)
    return mappings


def _colour_mapping(fields, image) -> _Mapping:
    """Full intensity of an image's colour rows: its bit depth, or 1.0 for floats in [0, 1]."""
    if image is not None and not image.floating:
        top = float(2**image.bits - 1)
    else:
        span = _finite_range(fields) or (0.0, 1.0)
        top = 1.0 if span[1] <= 1.0 else span[1]
    return _Mapping(0.0, top, False)


def _sizes(rows, fields, windows) -> _Sizes:
    h, w = fields[0][0].shape[:2]
    scalar = [(r, rf) for r, rf in zip(rows, fields) if r.channel is not None]
    if max(h, w) > SMALL:
        longest = max(h, w)
        least = MIN_LARGE_PANEL[1] if len(rows) == 1 else MIN_LARGE_PANEL[0]
        if longest < least:
            scale = float(-(-least // longest))
        elif longest <= MAX_PANEL:
            scale = 1.0
        else:
            scale = MAX_PANEL / longest
        box_w = max(round(w * scale), 48)
        box_h = max(round(h * scale), 48)
        return _Sizes(box_w, box_h, None)
    cell0 = -(-MIN_PANEL // max(h, w))
    font = _font(VALUE_FONT[0])
    _, text_h = _line_metrics(font)
    reserve = 2 * (_outline_width(cell0) + 4)
    need = text_h + reserve
    for _, row_fields in scalar:
        for f in row_fields:
            fh, fw = f.shape[:2]
            integer = f.dtype.kind in "biu"
            labels = {_short(v, integer) for v in np.asarray(f).ravel().tolist()}
            widest = max(_text_width(font, t) for t in labels) if labels else 0
            # A panel's cells are (w / fw) input cells wide.
            need = max(need, math.ceil((widest + reserve) * fw / w), math.ceil(need * fh / h))
    cell = max(cell0, need)
    ring = (0, 0, 0, 0)
    if windows is not None and len(windows) == 2:
        wy, wx = windows
        ring = (wx.pad_begin, wy.pad_begin, wx.pad_end + wx.extra_end, wy.pad_end + wy.extra_end)
    return _Sizes(w * cell, h * cell, cell, ring)


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


def _outline_width(cell: int) -> int:
    return max(2, round(cell / 22))


def _edges(start: int, length: int, count: int) -> list[int]:
    """Pixel edges of ``count`` equal cells over ``length`` pixels from ``start``."""
    return [start + round(k * length / count) for k in range(count + 1)]


def _draw_grid(columns, datas, rows, fields, mappings, sizes, title, windows, notes) -> Picture:
    ncols = len(columns)
    box_w, box_h, cell = sizes.box_w, sizes.box_h, sizes.cell
    base = max(12, min(20, round(max(box_w, box_h) / 24)))
    font, title_font = _font(base), _font(base + 4)
    _, line_h = _line_metrics(font)
    margin, gap = base + 4, max(24, base * 2)
    ring = tuple(r * cell for r in sizes.ring) if cell else (0, 0, 0, 0)
    spatial2 = len(datas[0].shape) == 4
    legend = _legend(columns, windows, sizes, spatial2, rows, fields[0][0].shape)

    # Column widths: the panel (and the padding ring of the input), or the widest title word.
    col_w = []
    for k, column in enumerate(columns):
        width = box_w + (ring[0] + ring[2] if k == 0 else 0)
        widest_word = max(_text_width(font, word) for word in column.title.split(" "))
        col_w.append(max(width, widest_word))
    group_end = {}
    for k, column in enumerate(columns):
        group_end[column.scale] = k
    bars = {name: _bar_labels(mapping) for name, mapping in mappings.items() if name != "colour"}
    bar_w = max(14, base)
    bar_block = {
        name: gap // 2 + bar_w + 6 + max(_text_width(font, t) for _, t in labels.values())
        for name, labels in bars.items()
    }
    xs, x = [], margin
    bar_x = {}
    for k, column in enumerate(columns):
        xs.append(x)
        x += col_w[k]
        if group_end.get(column.scale) == k and column.scale in bars:
            bar_x[column.scale] = x + gap // 2
            x += bar_block[column.scale]
        x += gap
    widest_label = max((_text_width(font, row.label) for row in rows), default=0)
    width = max(x - gap + margin, widest_label + 2 * margin)
    text_width = width - 2 * margin
    title_lines = _wrap(title_font, title, text_width) if title else []
    header_lines = [_wrap(font, c.title, col_w[k]) for k, c in enumerate(columns)]
    note_lines = _wrap(font, "\n".join(legend + notes), text_width) if legend or notes else []

    # Heights.
    y = margin
    title_y = y
    y += _lines_height(title_font, len(title_lines)) + (gap // 2 if title_lines else 0)
    header_y = y
    y += _lines_height(font, max(len(h) for h in header_lines)) + 4
    row_boxes = []
    for row in rows:
        label_y = y
        if row.label:
            y += _lines_height(font, 1)
        top = y + ring[1]
        row_boxes.append((label_y, top))
        y = top + box_h + ring[3] + gap
    y -= gap
    y += gap // 2
    notes_y = y
    y += _lines_height(font, len(note_lines))
    height = y + margin - (4 if note_lines else 0)

    canvas = _Canvas(width, height)
    picture = Picture(canvas.image, notes=list(notes))
    canvas.lines(margin, title_y, title_lines, title_font)
    for k in range(ncols):
        centre = xs[k] + col_w[k] / 2
        canvas.lines(centre, header_y, header_lines[k], font, align="center")
    winner_column = next((k for k, c in enumerate(columns) if c.winners is not None), None)
    for r, (row, (label_y, top)) in enumerate(zip(rows, row_boxes)):
        if row.label:
            canvas.text(margin, label_y, row.label, font, fill=MUTED)
        for k, column in enumerate(columns):
            x0 = xs[k] + (col_w[k] - box_w - (ring[0] + ring[2] if k == 0 else 0)) // 2
            x0 += ring[0] if k == 0 else 0
            box = (x0, top, x0 + box_w, top + box_h)
            picture.panels[f"r{r}c{k}"] = box
            f = fields[r][k]
            if row.channel is None:
                _draw_colour(canvas, box, f, mappings["colour"])
            elif cell is not None:
                mapping = mappings[column.scale]
                picture.grids[f"r{r}c{k}"] = f.shape[:2]
                if k == 0 and spatial2 and windows is not None and any(sizes.ring):
                    _draw_ring(canvas, box, cell, sizes.ring)
                _draw_cells(canvas, box, f, mapping)
            else:
                _draw_field(canvas, box, f, mappings[column.scale])
            canvas.draw.rectangle((box[0] - 1, box[1] - 1, box[2], box[3]), outline=FRAME, width=1)
        if spatial2 and windows is not None:
            if cell is not None:
                _draw_windows(canvas, picture.panels[f"r{r}c0"], cell, windows)
            else:
                _draw_first_window(canvas, picture.panels[f"r{r}c0"], fields[r][0], windows)
        if cell is not None and row.channel is not None and spatial2 and winner_column:
            _draw_winners(canvas, picture, r, row, fields[r], columns, winner_column, cell)
        if cell is not None and row.channel is not None:
            reserve = 2 * (_outline_width(cell) + 4)
            for k in range(ncols):
                _draw_values(canvas, picture.panels[f"r{r}c{k}"], fields[r][k], reserve)

    # Colour scales: the same scale next to every row of values, so each row reads alone.
    scalar_rows = [r for r, row in enumerate(rows) if row.channel is not None]
    for n, r in enumerate(scalar_rows):
        _, top, _, bottom = picture.panels[f"r{r}c0"]
        for name, x_bar in bar_x.items():
            box = (x_bar, top, x_bar + bar_w, bottom)
            scale = _draw_scale(canvas, box, mappings[name], bars[name], font)
            picture.scales[name if n == 0 else f"{name}@r{r}"] = scale
    canvas.lines(margin, notes_y, note_lines, font, fill=MUTED)
    picture.texts = canvas.texts
    return picture


def _legend(columns, windows, sizes, spatial2, rows, shape) -> list[str]:
    """The sentences that explain the marks drawn on the panels."""
    lines: list[str] = []
    if not spatial2 or windows is None or len(windows) != 2:
        return lines
    if sizes.cell is None:
        if _first_window_rect((0, 0, sizes.box_w, sizes.box_h), shape, windows) is not None:
            lines.append("Red box: the first window.")
        return lines
    if all(_disjoint(a) for a in windows):
        lines.append("Black lines: window boundaries.")
    else:
        lines.append("Windows overlap: only the first window is framed.")
    if any(a.dilation > 1 for a in windows):
        lines.append("Triangles: the cells a dilated window reads.")
    if any(sizes.ring):
        lines.append("Hatched: padding cells.")
    if any(c.winners is not None for c in columns) and any(r.channel is not None for r in rows):
        lines.append(
            "Coloured frames: each window's winning input cell and its output cell share a colour."
        )
    return lines


def _bar_labels(mapping: _Mapping) -> dict[str, tuple[float, str]]:
    """The labels of a colour scale: its ends (the data's minimum and maximum) and a middle."""
    low, high = mapping.low, mapping.high
    if high <= low:
        return {"mid": (low, f"all {_label(low)}")}
    mid = (low + high) / 2
    if mapping.integral:
        mid = math.floor(mid)
    return {"high": (high, _label(high)), "mid": (mid, _label(mid)), "low": (low, _label(low))}


def _draw_scale(canvas, box, mapping: _Mapping, labels, font) -> Scale:
    """A vertical colour bar: the top row is colour(1), the bottom row colour(0)."""
    x0, y0, x1, y1 = box
    height = y1 - y0
    if mapping.high > mapping.low and height > 1:
        column = viridis(1.0 - np.arange(height) / (height - 1))
    else:
        column = viridis(np.full(height, 0.5))
    strip = np.repeat(column[:, None, :], x1 - x0, axis=1)
    canvas.image.paste(Image.fromarray(strip), (x0, y0))
    canvas.draw.rectangle((x0 - 1, y0 - 1, x1, y1), outline=FRAME, width=1)
    tx = x1 + 6
    _, line_h = _line_metrics(font)
    if "high" in labels:
        canvas.text(tx, y0, labels["high"][1], font)
        canvas.text(tx, y1 - line_h, labels["low"][1], font)
        value, text = labels["mid"]
        y = y1 - 1 - (value - mapping.low) / (mapping.high - mapping.low) * (height - 1)
        if y0 + 1.5 * line_h < y < y1 - 1.5 * line_h:
            canvas.text(tx, y, text, font, valign="middle")
            canvas.draw.line((x1, round(y), x1 + 3, round(y)), fill=FRAME)
    else:
        canvas.text(tx, (y0 + y1) / 2, labels["mid"][1], font, valign="middle")
    ends = labels.get("low", labels["mid"])[1], labels.get("high", labels["mid"])[1]
    return Scale(box, mapping.low, mapping.high, ends[0], ends[1])


def _draw_colour(canvas, box, values, mapping: _Mapping) -> None:
    """An image's colours (transparency over a checkerboard), scaled to the box."""
    x0, y0, x1, y1 = box
    values = _reduce_for_display(values, x1 - x0, y1 - y0)
    rgba = Image.fromarray(_colour_pixels(values, mapping.high))
    rgba = _resize(rgba, x1 - x0, y1 - y0)
    under = _checkerboard(x1 - x0, y1 - y0).convert("RGBA")
    canvas.image.paste(Image.alpha_composite(under, rgba).convert("RGB"), (x0, y0))


def _draw_field(canvas, box, values, mapping: _Mapping) -> None:
    """A scalar field through its colour map, scaled to the box."""
    x0, y0, x1, y1 = box
    values = _reduce_for_display(values, x1 - x0, y1 - y0)
    rgb = Image.fromarray(mapping(values))
    canvas.image.paste(_resize(rgb, x1 - x0, y1 - y0), (x0, y0))


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


def _draw_ring(canvas, box, cell, ring_cells) -> None:
    """Hatched padding cells around the input panel."""
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
    canvas.image.paste(hatch, (x0, y0))
    canvas.draw.rectangle((x0, y0, x1 - 1, y1 - 1), outline=(200, 200, 200), width=1)


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
    """Frame each window's winning input cell and its output cell in the window's colour."""
    column = columns[k]
    wy, wx = column.windows
    winners = _canonical(_numpy(column.winners), _layout_of(column.winners))[0, row.channel]
    values_in, values_out = row_fields[0], row_fields[k]
    in_box, out_box = picture.panels[f"r{r}c0"], picture.panels[f"r{r}c{k}"]
    lw = _outline_width(cell)
    stacked: dict[tuple[int, int], int] = {}
    oxs = _edges(out_box[0], out_box[2] - out_box[0], wx.out)
    oys = _edges(out_box[1], out_box[3] - out_box[1], wy.out)
    for i in range(wy.out):
        for j in range(wx.out):
            ti, tj = divmod(int(winners[i, j]), wx.kernel)
            cy, cx = _tap_cell(wy, i, ti), _tap_cell(wx, j, tj)
            if cy is None or cx is None or not (0 <= cy < wy.size and 0 <= cx < wx.size):
                continue
            a, b = values_in[cy, cx], values_out[i, j]
            if not (a == b or (a != a and b != b)):
                continue
            colour = window_colour((i, j))
            picture.window_colours[(i, j)] = colour
            level = stacked.get((cy, cx), 0)
            stacked[(cy, cx)] = level + 1
            inset = 2 + level * (lw + 1)
            if inset + lw < cell // 2:
                x0, y0 = in_box[0] + cx * cell, in_box[1] + cy * cell
                canvas.draw.rectangle(
                    (x0 + inset, y0 + inset, x0 + cell - 1 - inset, y0 + cell - 1 - inset),
                    outline=colour,
                    width=lw,
                )
            canvas.draw.rectangle(
                (oxs[j] + 2, oys[i] + 2, oxs[j + 1] - 3, oys[i + 1] - 3), outline=colour, width=lw
            )


def _layout_of(winners) -> Layout:
    """Winners come as (N, C, *out)."""
    ndim = _numpy(winners).ndim
    return Layout("NC" + "DHW"[3 - (ndim - 2) :])


# --------------------------------------------------------------------------------------------
# 1-D signals and charts


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


def _vertical_text(canvas, x, y_mid, text, font) -> None:
    width = _text_width(font, text)
    _, height = _line_metrics(font)
    top, _ = _line_metrics(font)
    left = font.getbbox(text)[0]
    strip = Image.new("RGB", (width + 2, height + 2), BACKGROUND)
    ImageDraw.Draw(strip).text((1 - left, 1 - top), text, font=font, fill=MUTED)
    strip = strip.rotate(90, expand=True)
    y0 = round(y_mid - strip.height / 2)
    canvas.image.paste(strip, (round(x), y0))
    canvas.texts.append((text, (round(x), y0, round(x) + strip.width, y0 + strip.height)))


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
