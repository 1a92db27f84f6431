"""One description of a picture, two ways to draw it: every picture records what it draws (a
list of :class:`Op`), which :func:`raster` draws again at any scale with Pillow and
:func:`svg` writes as vectors, with every text a ``<text>`` element.

The ops, in pixels of the picture at scale 1 (boxes end inclusive, as Pillow draws them):

* ``("rect", (x0, y0, x1, y1), fill, outline, width)``
* ``("line", ((x, y), ...), fill, width)``
* ``("polygon", ((x, y), ...), fill, outline)``
* ``("text", (x, y), text, size, fill, rotate)``: the left of the text at ``x`` and its
  tallest glyph's top at ``y`` (``rotate`` 90: reading upwards, the box's top-left at x, y)
* ``("image", (x, y), PIL.Image)``: pixels pasted at (x, y), enlarged with the picture
"""

from __future__ import annotations

import base64
import io
from xml.sax.saxutils import escape

from PIL import Image, ImageDraw

Op = tuple


def _rgb(colour) -> str:
    if colour is None:
        return "none"
    r, g, b = colour[:3]
    return f"#{r:02x}{g:02x}{b:02x}"


def shifted(ops: list[Op], dx: int, dy: int) -> list[Op]:
    """``ops`` moved by (dx, dy): to put several pictures side by side."""
    moved = []
    for op in ops:
        kind = op[0]
        if kind == "rect":
            x0, y0, x1, y1 = op[1]
            moved.append((kind, (x0 + dx, y0 + dy, x1 + dx, y1 + dy), *op[2:]))
        elif kind in ("line", "polygon"):
            moved.append((kind, tuple((x + dx, y + dy) for x, y in op[1]), *op[2:]))
        else:
            x, y = op[1]
            moved.append((kind, (x + dx, y + dy), *op[2:]))
    return moved


def raster(ops: list[Op], size: tuple[int, int], scale: int = 1) -> Image.Image:
    """Draw ``ops`` with Pillow on a white picture ``scale`` times as large as ``size``."""
    from poolcli.render.canvas import _font, _line_metrics

    image = Image.new("RGB", (size[0] * scale, size[1] * scale), (255, 255, 255))
    draw = ImageDraw.Draw(image)

    def at(v):
        return round(v * scale)

    for op in ops:
        kind = op[0]
        if kind == "rect":
            x0, y0, x1, y1 = op[1]
            box = (at(x0), at(y0), at(x1 + 1) - 1, at(y1 + 1) - 1)
            draw.rectangle(box, fill=op[2], outline=op[3], width=op[4] * scale)
        elif kind == "line":
            points = [(at(x), at(y)) for x, y in op[1]]
            draw.line(points, fill=op[2], width=op[3] * scale)
        elif kind == "polygon":
            draw.polygon([(at(x), at(y)) for x, y in op[1]], fill=op[2], outline=op[3])
        elif kind == "text":
            (x, y), text, size_, fill, rotate = op[1:]
            font = _font(size_ * scale)
            left = font.getbbox(text)[0]
            top, height = _line_metrics(font)
            if rotate:
                width = font.getbbox(text)[2] - left
                strip = Image.new("RGBA", (width + 2, height + 2), (0, 0, 0, 0))
                ImageDraw.Draw(strip).text((1 - left, 1 - top), text, font=font, fill=fill)
                strip = strip.rotate(90, expand=True)
                image.paste(strip, (at(x), at(y)), strip)
            else:
                draw.text((at(x) - left, at(y) - top), text, font=font, fill=fill)
        elif kind == "image":
            x, y = op[1]
            pixels = op[2]
            if scale != 1:
                pixels = pixels.resize(
                    (pixels.width * scale, pixels.height * scale), Image.Resampling.NEAREST
                )
            image.paste(pixels, (at(x), at(y)))
    return image


def svg(ops: list[Op], size: tuple[int, int], title: str = "") -> str:
    """``ops`` as an SVG document: shapes as shapes, texts as ``<text>``, pixels as PNG."""
    from poolcli.render.canvas import _font

    width, height = size
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="DejaVu Sans, Helvetica, Arial, '
        'sans-serif">',
        f"<title>{escape(title)}</title>" if title else "",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    for op in ops:
        out.append(_svg_op(op, _font))
    out.append("</svg>")
    return "\n".join(line for line in out if line) + "\n"


def _svg_op(op: Op, font_of) -> str:
    kind = op[0]
    if kind == "rect":
        x0, y0, x1, y1 = op[1]
        fill, outline, width = op[2], op[3], op[4]
        if outline is None:
            return (
                f'<rect x="{x0}" y="{y0}" width="{x1 - x0 + 1}" height="{y1 - y0 + 1}" '
                f'fill="{_rgb(fill)}"/>'
            )
        half = width / 2
        return (
            f'<rect x="{x0 + half:g}" y="{y0 + half:g}" width="{x1 - x0 + 1 - width:g}" '
            f'height="{y1 - y0 + 1 - width:g}" fill="{_rgb(fill)}" stroke="{_rgb(outline)}" '
            f'stroke-width="{width}"/>'
        )
    if kind == "line":
        points = " ".join(f"{x + 0.5:g},{y + 0.5:g}" for x, y in op[1])
        return (
            f'<polyline points="{points}" fill="none" stroke="{_rgb(op[2])}" '
            f'stroke-width="{op[3]}" stroke-linejoin="round"/>'
        )
    if kind == "polygon":
        points = " ".join(f"{x:g},{y:g}" for x, y in op[1])
        return f'<polygon points="{points}" fill="{_rgb(op[2])}" stroke="{_rgb(op[3])}"/>'
    if kind == "text":
        (x, y), text, size, fill, rotate = op[1:]
        ascent = font_of(size).getmetrics()[0]
        top = font_of(size).getbbox(text or "A")[1]
        if rotate:
            width = font_of(size).getbbox(text)[2]
            return (
                f'<text transform="translate({x + ascent - top + 1:g},{y + width + 1:g}) '
                f'rotate(-90)" font-size="{size}" fill="{_rgb(fill)}">{escape(text)}</text>'
            )
        left, _, right, _ = font_of(size).getbbox(text or "A")
        # The width Pillow measured, so another font on the viewer keeps the layout.
        return (
            f'<text x="{x:g}" y="{y + ascent - top:g}" font-size="{size}" '
            f'textLength="{right - left}" lengthAdjust="spacingAndGlyphs" '
            f'fill="{_rgb(fill)}" xml:space="preserve">{escape(text)}</text>'
        )
    (x, y), pixels = op[1], op[2]
    buffer = io.BytesIO()
    pixels.save(buffer, format="PNG")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (
        f'<image x="{x}" y="{y}" width="{pixels.width}" height="{pixels.height}" '
        f'style="image-rendering:pixelated" href="data:image/png;base64,{data}"/>'
    )
