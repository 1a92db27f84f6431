"""What a large input's picture adds under the whole view: a zoomed crop from the middle,
drawn cell by cell with its values and windows next to the output cells it makes, and a
difference map (the output spread back over its windows, minus the input), so a pooled
photo that looks like its input still shows what changed.

:func:`zoom_pictures` gives both pictures (either may be missing); :func:`stack` puts
pictures together, ops and all, so the result is still drawn as PNG or SVG alike.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from PIL import Image

from poolcli.model.window import AxisWindow
from poolcli.render.arrays import _canonical, _numpy
from poolcli.render.canvas import Picture
from poolcli.render.colours import BACKGROUND
from poolcli.render.drawing import shifted

#: Output cells along each axis of the zoom (fewer when the windows are large).
ZOOM_OUT = 4

#: Input cells along each axis of the zoom at most.
ZOOM_IN = 16


def crop_axis(axis: AxisWindow) -> tuple[int, int, AxisWindow] | None:
    """(first output index, first input cell, the crop's windows) of the middle windows of
    ``axis``, or None when no window in the middle fits inside the input and the zoom."""
    for n in range(min(ZOOM_OUT, axis.out), 0, -1):
        first = (axis.out - n) // 2
        cells = [c for i in range(first, first + n) for c in axis.cells(i)]
        start, end = min(cells), max(cells) + 1
        if start < 0 or end > axis.size or end - start > ZOOM_IN:
            continue
        if axis.bins is not None:
            bins = tuple((s - start, e - start) for s, e in axis.bins[first : first + n])
            window = AxisWindow(axis.name, end - start, n, axis.kernel, bins=bins)
        else:
            window = AxisWindow(axis.name, end - start, n, axis.kernel, axis.stride, axis.dilation)
        return first, start, window
    return None


def zoom_pictures(array, result, channel: int, op: str, image=None) -> list[Picture]:
    """The zoomed crop and the difference map of a large 2-D input (those that apply);
    ``image``: the input's :class:`~poolcli.io.ImageInfo`, so a grey image is zoomed in grey."""
    from poolcli.render.columns import Column, render_columns
    from poolcli.render.pool_picture import output_scale, region_text

    layout = result.layout
    data_in = _canonical(_numpy(array), layout)[0, channel]
    data_out = _canonical(_numpy(result.output), layout)[0, channel]
    pictures = []
    crops = [crop_axis(axis) for axis in result.windows]
    if len(crops) == 2 and all(c is not None for c in crops):
        (oy, iy, wy), (ox, ix, wx) = crops
        crop_in = data_in[iy : iy + wy.size, ix : ix + wx.size]
        crop_out = data_out[oy : oy + wy.out, ox : ox + wx.out]
        where = region_text((iy, iy + wy.size - 1), (ix, ix + wx.size - 1))
        columns = [
            Column(f"input {where}", crop_in),
            Column(
                f"{op} output {region_text((oy, oy + wy.out - 1), (ox, ox + wx.out - 1))}",
                crop_out,
                windows=(wy, wx),
                scale=output_scale(result),
            ),
        ]
        title = f"Zoom on the middle (channel {channel}): every cell with its value"
        zoom = render_columns(columns, "HW", title=title, image=image)
        pictures.append(_with_multiples(zoom, array, result, crops, channel))
    difference = difference_map(data_in, data_out, result.windows)
    if difference is not None:
        column = Column("output - input", difference, scale="difference", cmap="diverging")
        title = (
            f"Difference (channel {channel}): each output value over its window, minus the input"
        )
        pictures.append(render_columns([column], "HW", title=title))
    return pictures


def _with_multiples(zoom: Picture, array, result, crops, channel: int) -> Picture:
    """The zoom with each of its windows on its own under it, where they overlap, the
    winners framed (found for the zoom's windows only: cheap on a large input)."""
    from poolcli.learn.winners import crop_winners
    from poolcli.render.multiples import overlapping, window_multiples

    (oy, iy, wy), (ox, ix, wx) = crops
    if not overlapping((wy, wx)) or "values" not in zoom.mappings:
        return zoom
    data_in = _canonical(_numpy(array), result.layout)[0, channel]
    data_out = _canonical(_numpy(result.output), result.layout)[0, channel]
    crop_in = data_in[iy : iy + wy.size, ix : ix + wx.size]
    crop_out = data_out[oy : oy + wy.out, ox : ox + wx.out]
    taps = crop_winners(array, result, crops)
    below = window_multiples(
        crop_in,
        crop_out,
        (wy, wx),
        zoom.mappings["values"],
        None if taps is None else taps[0, channel],
        width=zoom.image.width,
        what=" (in the zoom)",
    )
    return stack([zoom], [below], name="windows")


def difference_map(data_in, data_out, windows) -> np.ndarray | None:
    """Each output value minus the mean of its window's input cells, where the windows tile
    the input (kernel = stride, no padding, no dilation); None otherwise. Shaped like the
    output: cheap on a large photo, and what a display that averages blocks shows anyway."""
    if len(windows) != 2:
        return None
    for axis in windows:
        if axis.bins is not None or axis.dilation != 1 or axis.pad_begin or axis.pad_end:
            return None
        if axis.kernel != axis.stride:
            return None
    sy, sx = windows[0].stride, windows[1].stride
    out_h, out_w = windows[0].out, windows[1].out
    total = np.zeros((out_h, out_w), np.float64)
    for dy in range(sy):
        for dx in range(sx):
            total += data_in[dy : out_h * sy : sy, dx : out_w * sx : sx]
    return np.asarray(data_out, np.float64) - total / (sy * sx)


def stack(
    pictures: list[Picture], below: list[Picture], gap: int = 16, scales=False, name="zoom"
) -> Picture:
    """``pictures[0]`` on top and ``below`` side by side under it, as one picture; with
    ``scales``, the colour scales of ``below`` join those of the top (bands of one figure).
    The panels of ``below`` keep their names after ``{name}{k}:``."""
    top = pictures[0]
    width = max(top.image.width, sum(p.image.width for p in below) + gap * (len(below) - 1))
    height = top.image.height + gap + max((p.image.height for p in below), default=0)
    image = Image.new("RGB", (width, height), BACKGROUND)
    image.paste(top.image, (0, 0))
    ops = list(top.ops)
    texts = list(top.texts)
    x = 0
    for k, picture in enumerate(below):
        y = top.image.height + gap
        image.paste(picture.image, (x, y))
        ops += shifted(picture.ops, x, y)
        texts += [(t, (b[0] + x, b[1] + y, b[2] + x, b[3] + y)) for t, b in picture.texts]
        for key, box in picture.panels.items():
            top.panels[f"{name}{k}:{key}"] = (box[0] + x, box[1] + y, box[2] + x, box[3] + y)
        for key, scale in picture.scales.items():
            if scales and key not in top.scales:  # the top picture's scales come first
                x0, y0, x1, y1 = scale.box
                top.scales[key] = replace(scale, box=(x0 + x, y0 + y, x1 + x, y1 + y))
        x += picture.image.width + gap
    return Picture(
        image,
        panels=top.panels,
        grids=top.grids,
        scales=top.scales,
        window_colours=top.window_colours,
        series_colours=top.series_colours,
        texts=texts,
        notes=top.notes,
        ops=ops,
        mappings=top.mappings,
    )
