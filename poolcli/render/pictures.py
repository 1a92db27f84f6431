"""Pictures of poolings, drawn from the real results: one import for the commands.

* :func:`render_pool` draws one result (input next to output), :func:`render_compare` one input
  and several results over the same windows (:mod:`poolcli.render.pool_picture`);
  :func:`render_columns` is the general form behind both (:mod:`poolcli.render.columns`);
* :func:`line_chart` draws a few named series on one axis (:mod:`poolcli.render.chart`);
* :func:`write_viz` draws a result with the winners :mod:`poolcli.learn.winners` finds and
  writes it (atomically); :func:`save_viz` writes any picture (:mod:`poolcli.render.viz_files`);
  :func:`viridis` is the colour map (:mod:`poolcli.render.colours`).

The drawing modules take everything they draw as data and import nothing from the engine;
:func:`write_viz` is the one place here that asks :mod:`poolcli.learn` for the winners.

Pillow and numpy only.
"""

from PIL import Image

from poolcli.errors import UsageError
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
from poolcli.render.pool_picture import (
    describe,
    frames_winners,
    op_text,
    picture_source,
    render_compare,
    render_pool,
    window_text,
)
from poolcli.render.viz_files import check_viz_path, save_viz

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
    "frames_winners",
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


def write_viz(path: str, source, result, *, scale: int = 1, channels=None) -> None:
    """Draw ``result`` and write the picture to ``path`` atomically: with
    :func:`render_pool` for pixels (``.png``; ``scale`` times as large) and vectors
    (``.svg``); as an animation (``.gif``, :mod:`poolcli.render.animation`) or a page
    (``.html``, :mod:`poolcli.render.page`).

    Where the picture shows cells, each window's winner is framed: the winners come from
    :func:`poolcli.learn.winners.window_winners`, the engine's own answer (the drawing itself
    never computes). ``source`` is the input ``result`` was pooled from (a LoadedInput or an
    array). ``channels``: the channels drawn (default: the first few).

    Raises
    ------
    PoolError
        When ``path`` is not a picture file name or cannot be written.
    """
    fmt = check_viz_path(path)
    from poolcli.learn.views import plain_view
    from poolcli.model.axes import AxesLayout

    if result.spec.mode == "spp":
        save_viz(path, _spp_picture(fmt, path, source, result, channels), scale)
        return
    if isinstance(result.layout, AxesLayout):
        source, result = plain_view(picture_source(source)[0], result)
    channel = channels[0] if channels else 0
    if fmt == "GIF":
        from poolcli.render.animation import write_gif

        write_gif(path, source, result, scale=scale, channel=channel)
        return
    if fmt == "HTML":
        from poolcli.render.page import write_page

        write_page(path, source, result, channel=channel)
        return
    winners = None
    if frames_winners(result):
        from poolcli.learn.winners import window_winners

        winners = window_winners(picture_source(source)[0], result)
    picture = render_pool(source, result, winners=winners, channels=channels)
    save_viz(path, picture, scale)


def _spp_picture(fmt: str, path: str, source, result, channels) -> Picture:
    """``--spp``: each level's picture (the adaptive pooling it holds), one under another."""
    if fmt in ("GIF", "HTML"):
        raise UsageError(
            f"--viz {path}: --spp joins several poolings; a .gif or .html follows one. Draw "
            "the levels as .png or .svg, or one level with --output-size N.",
            option="--viz",
        )
    from poolcli.learn.pyramid_levels import spp_levels
    from poolcli.learn.winners import window_winners
    from poolcli.render.drawing import shifted

    array = picture_source(source)[0]
    pictures = []
    for n, level in spp_levels(array, result):
        winners = window_winners(array, level) if frames_winners(level) else None
        title = f"SPP level {n} of {', '.join(map(str, result.spec.spp))}"
        pictures.append(render_pool(source, level, winners=winners, channels=channels, title=title))
    width = max(p.image.width for p in pictures)
    image = Image.new("RGB", (width, sum(p.image.height for p in pictures)), "white")
    ops, top = [], 0
    for picture in pictures:
        image.paste(picture.image.convert("RGB"), (0, top))
        ops += shifted(picture.ops, 0, top)
        top += picture.image.height
    return Picture(image, ops=ops if all(p.ops for p in pictures) else [])
