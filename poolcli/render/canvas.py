"""Drawing primitives of the pictures: fonts, wrapped text, short number labels, the canvas
that records every text it draws, and the :class:`Picture` every renderer returns.

Text uses Pillow's bundled scalable font (plain ASCII, which every font Pillow falls back to
can draw).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from poolcli.render.colours import BACKGROUND, CHECKER, INK, MUTED

Box = tuple[int, int, int, int]


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
    #: What was drawn, as :mod:`poolcli.render.drawing` ops (empty: only the pixels exist).
    ops: list = field(default_factory=list)
    #: Row and column numbers: the first row (column) of each grid panel, as drawn.
    data: dict = field(default_factory=dict)
    #: The colour mapping of each scale (its name -> how values become colours).
    mappings: dict = field(default_factory=dict)

    def scaled(self, scale: int = 1) -> Image.Image:
        """The picture drawn ``scale`` times as large (sharp text and lines, not enlarged)."""
        if scale == 1 or not self.ops:
            return self.image
        from poolcli.render.drawing import raster

        return raster(self.ops, self.image.size, scale)

    def svg(self, title: str = "") -> str:
        """The picture as SVG: shapes and texts as vectors."""
        from poolcli.render.drawing import svg

        ops = self.ops or [("image", (0, 0), self.image)]
        return svg(ops, self.image.size, title)


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


def _size_of(font) -> int:
    return int(getattr(font, "size", 10))


class _Recorder:
    """Pillow's ImageDraw for the calls the pictures make, each also kept as an op."""

    def __init__(self, image: Image.Image, ops: list):
        self._draw = ImageDraw.Draw(image)
        self._ops = ops

    def rectangle(self, xy, fill=None, outline=None, width=1):
        self._draw.rectangle(xy, fill=fill, outline=outline, width=width)
        x0, y0, x1, y1 = (round(v) for v in xy)
        self._ops.append(("rect", (x0, y0, x1, y1), _tuple(fill), _tuple(outline), width))

    def line(self, xy, fill=None, width=1, joint=None):
        self._draw.line(xy, fill=fill, width=width, joint=joint)
        flat = [float(v) for point in xy for v in (point if isinstance(point, tuple) else (point,))]
        points = tuple(zip(flat[0::2], flat[1::2]))
        self._ops.append(("line", points, _tuple(fill), width))

    def polygon(self, xy, fill=None, outline=None):
        self._draw.polygon(xy, fill=fill, outline=outline)
        self._ops.append(("polygon", tuple(xy), _tuple(fill), _tuple(outline)))


def _tuple(colour):
    return tuple(colour) if colour is not None else None


class _Canvas:
    """An RGB image being drawn, recording every text and its box, and every op."""

    def __init__(self, width: int, height: int):
        self.image = Image.new("RGB", (width, height), BACKGROUND)
        self.ops: list = []
        self.draw = _Recorder(self.image, self.ops)
        self.texts: list[tuple[str, Box]] = []

    def paste(self, pixels: Image.Image, xy) -> None:
        """Paste an RGB image at ``xy``."""
        xy = (round(xy[0]), round(xy[1]))
        self.image.paste(pixels, xy)
        self.ops.append(("image", xy, pixels))

    def text(self, x, y, text, font, fill=INK, align="left", valign="top") -> Box:
        """Draw ``text`` with its box's left/centre/right edge at ``x`` and top/middle at ``y``."""
        left, _, right, _ = font.getbbox(text)
        top, height = _line_metrics(font)
        width = right - left
        x0 = {"left": x, "center": x - width / 2, "right": x - width}[align]
        y0 = y if valign == "top" else y - height / 2
        x0, y0 = round(x0), round(y0)
        self.draw._draw.text((x0 - left, y0 - top), text, font=font, fill=fill)
        self.ops.append(("text", (x0, y0), text, _size_of(font), _tuple(fill), 0))
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


def _edges(start: int, length: int, count: int) -> list[int]:
    """Pixel edges of ``count`` equal cells over ``length`` pixels from ``start``."""
    return [start + round(k * length / count) for k in range(count + 1)]


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
    canvas.ops.append(("text", (round(x), y0), text, _size_of(font), MUTED, 90))
    canvas.texts.append((text, (round(x), y0, round(x) + strip.width, y0 + strip.height)))
