"""``--viz FILE.gif``: the window sliding over a small input, one frame per output cell.

Each frame is the still picture (:func:`~poolcli.render.pool_picture.render_pool`) with the
current window's cells outlined on the input (a real cell in the highlight colour, a padding
cell in orange with a dashed look, a cell that exists only through ceil mode crossed out in
grey, the winner thicker), the output cells not yet computed blanked, the current one
outlined, and the arithmetic in a caption under the picture
(:func:`poolcli.render.window_steps.window_steps`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageDraw

from poolcli.render.canvas import _font, _line_metrics, _wrap
from poolcli.render.colours import HIGHLIGHT
from poolcli.render.viz_files import write_bytes
from poolcli.render.window_steps import StepView, WindowStep, step_view, window_steps

#: Frames written at most; a longer run shows the first ones and says so.
MAX_FRAMES = 64

#: Milliseconds each frame stays (the last one longer).
FRAME_MS = 900

PADDING = (255, 140, 0)
CEIL = (120, 120, 120)
PENDING = (245, 245, 245)


@dataclass(frozen=True)
class Geometry:
    """Where the cells of the input and output panels are in the still picture."""

    input_box: tuple[int, int, int, int]
    output_box: tuple[int, int, int, int]
    input_grid: tuple[int, int]
    output_grid: tuple[int, int]

    def input_cell(self, r: int, c: int) -> tuple[int, int, int, int]:
        return _grid_cell(self.input_box, self.input_grid, r, c)

    def output_cell(self, i: int, j: int) -> tuple[int, int, int, int]:
        return _grid_cell(self.output_box, self.output_grid, i, j)


def _grid_cell(box, grid, r: int, c: int) -> tuple[int, int, int, int]:
    """The pixel box of cell ``(r, c)`` of a ``grid`` of rows and columns drawn in ``box``."""
    x0, y0, x1, y1 = box
    rows, cols = grid
    w, h = (x1 - x0) / cols, (y1 - y0) / rows
    return round(x0 + c * w), round(y0 + r * h), round(x0 + (c + 1) * w), round(y0 + (r + 1) * h)


def still(view: StepView, channel: int = 0):
    """The still picture the frames are drawn on, and where its cells are."""
    from poolcli.render.pool_picture import render_pool

    picture = render_pool(
        view.source,
        view.result,
        channels=(channel,),
        mark_windows=False,
        title=view.title,
        region=view.region,
    )
    row = next(key[:-2] for key in picture.grids if key.endswith("c0"))
    # The output is the row's last panel (stochastic sampling draws its chances between).
    last = max(int(key.split("c")[1]) for key in picture.grids if key.startswith(f"{row}c"))
    geometry = Geometry(
        picture.panels[f"{row}c0"],
        picture.panels[f"{row}c{last}"],
        picture.grids[f"{row}c0"],
        picture.grids[f"{row}c{last}"],
    )
    return picture, geometry


def animation_frames(source, result, *, channel: int = 0, scale: int = 1, path=None):
    """(frames, steps): one RGB frame per window (the first MAX_FRAMES), and the steps; of
    the top-left windows of a large input (:func:`step_view`; an error names ``path``)."""
    view = step_view(source, result, channel, path)
    picture, geometry = still(view, channel)
    steps = window_steps(view.array, view.result, channel, view.winners)
    shown = steps[:MAX_FRAMES]
    base = picture.scaled(scale)
    font = _font(max(12, round(base.width / 48 / scale)) * scale)
    frames = []
    for k, step in enumerate(shown):
        frame = base.copy()
        draw = ImageDraw.Draw(frame)
        for later in steps[k + 1 :]:
            _blank(draw, geometry.output_cell(*later.position), scale)
        _mark_window(draw, geometry, step, scale)
        lead = f"window {k + 1} of {len(steps)}"
        if len(steps) > len(shown):
            lead += f" (the first {len(shown)} are drawn)"
        frames.append(_with_caption(frame, f"{lead}; {step.caption}", font, scale))
    return frames, shown


def write_gif(path: str, source, result, *, scale: int = 1, channel: int = 0) -> None:
    """Write the animation of ``result`` to ``path`` atomically (an error for inputs it
    cannot step through)."""
    frames, _ = animation_frames(source, result, channel=channel, scale=scale, path=path)
    durations = [FRAME_MS] * (len(frames) - 1) + [FRAME_MS * 3]
    frames = shared_palette(frames)
    buffer = io.BytesIO()
    frames[0].save(
        buffer,
        format="GIF",
        save_all=True,
        append_images=frames[1:],
        duration=durations,
        loop=0,
        disposal=1,
    )
    write_bytes(path, buffer.getvalue())


def shared_palette(frames: list[Image.Image]) -> list[Image.Image]:
    """The frames in one palette (taken from the last frame, which holds every output value
    and the highlight), so the GIF's frame-to-frame differences are exact."""
    palette = frames[-1].quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    return [f.quantize(palette=palette, dither=Image.Dither.NONE) for f in frames]


def _box(box, scale: int, inset: int = 0):
    x0, y0, x1, y1 = (v * scale for v in box)
    return x0 + inset, y0 + inset, x1 - 1 - inset, y1 - 1 - inset


def _blank(draw, box, scale: int) -> None:
    """An output cell not computed yet: pale, with a question mark."""
    x0, y0, x1, y1 = _box(box, scale, 1)
    draw.rectangle((x0, y0, x1, y1), fill=PENDING)
    font = _font(max(10, (y1 - y0) // 4))
    draw.text(((x0 + x1) / 2, (y0 + y1) / 2), "?", font=font, fill=CEIL, anchor="mm")


def _mark_window(draw, geometry: Geometry, step: WindowStep, scale: int) -> None:
    """The window's cells on the input, the winner thicker, and the output cell."""
    width = 3 * scale
    for r, c, kind in step.cells:
        box = _box(geometry.input_cell(r, c), scale, 2 * scale)
        if kind == "in":
            thick = width * 2 if step.winner == (r, c) else width
            draw.rectangle(box, outline=HIGHLIGHT, width=thick)
        elif kind == "pad":
            _dashed(draw, box, PADDING, width)
        else:
            draw.rectangle(box, outline=CEIL, width=width)
            draw.line((box[0], box[1], box[2], box[3]), fill=CEIL, width=width)
            draw.line((box[0], box[3], box[2], box[1]), fill=CEIL, width=width)
    out = _box(geometry.output_cell(*step.position), scale, scale)
    draw.rectangle(out, outline=HIGHLIGHT, width=width * 2)


def _dashed(draw, box, colour, width: int) -> None:
    """A dashed outline: padding, which the window reaches but which holds no value."""
    x0, y0, x1, y1 = box
    dash = 3 * width
    for x in range(x0, x1, 2 * dash):
        draw.line((x, y0, min(x + dash, x1), y0), fill=colour, width=width)
        draw.line((x, y1, min(x + dash, x1), y1), fill=colour, width=width)
    for y in range(y0, y1, 2 * dash):
        draw.line((x0, y, x0, min(y + dash, y1)), fill=colour, width=width)
        draw.line((x1, y, x1, min(y + dash, y1)), fill=colour, width=width)


def _with_caption(frame: Image.Image, caption: str, font, scale: int) -> Image.Image:
    """``frame`` with ``caption`` written in a band under it."""
    margin = 16 * scale
    lines = _wrap(font, caption, frame.width - 2 * margin)
    _, height = _line_metrics(font)
    band = len(lines) * (height + 4 * scale) + margin
    out = Image.new("RGB", (frame.width, frame.height + band), (255, 255, 255))
    out.paste(frame, (0, 0))
    draw = ImageDraw.Draw(out)
    y = frame.height
    for line in lines:
        draw.text((margin, y), line, font=font, fill=(20, 20, 20))
        y += height + 4 * scale
    return out
