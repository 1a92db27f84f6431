"""Picture files: :func:`check_viz_path` checks a ``--viz`` name, :func:`save_viz` writes any
picture atomically: as pixels (``.png`` and the other image suffixes, ``scale`` times as
large), as vectors (``.svg``), and, for one pooling, as an animation (``.gif``) or a page
(``.html``) that :mod:`poolcli.render.animation` and :mod:`poolcli.render.page` draw.
"""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

from poolcli.errors import UsageError
from poolcli.io.png_codec import MODES, encode_png

#: Suffixes that are not Pillow's pixel formats: vectors, animation, page.
SPECIAL = {".svg": "SVG", ".gif": "GIF", ".html": "HTML", ".htm": "HTML"}


def check_viz_path(path: str, allowed: tuple[str, ...] | None = None) -> str:
    """The format for a picture path (a Pillow format, ``SVG``, ``GIF`` or ``HTML``), or a
    usage error naming ``--viz``. ``allowed``: the formats this command draws (default all)."""
    from poolcli.io import IMAGE_SUFFIXES

    suffix = os.path.splitext(path)[1].lower()
    fmt = SPECIAL.get(suffix) or IMAGE_SUFFIXES.get(suffix)
    if fmt is None:
        raise UsageError(
            f"--viz {path}: give a picture file name ending in .png, .svg, .gif or .html.",
            option="--viz",
        )
    if allowed is not None and fmt in ("GIF", "HTML") and fmt not in allowed:
        raise UsageError(
            f"--viz {path}: this command draws a still picture; give a .png or .svg name "
            "(.gif and .html show the windows of the reduction commands).",
            option="--viz",
        )
    return fmt


def parse_channels(text: str | None) -> tuple[int, ...] | None:
    """``0,2,5`` or ``0-7`` (or both, comma-separated) as channel numbers; a usage error
    naming ``--channels`` otherwise."""
    if text is None:
        return None
    chosen: list[int] = []
    try:
        for part in text.split(","):
            first, _, last = part.strip().partition("-")
            low, high = int(first), int(last or first)
            if low < 0 or high < low:
                raise ValueError
            chosen += [c for c in range(low, high + 1) if c not in chosen]
    except ValueError:
        raise UsageError(
            f"--channels {text}: give channel numbers from 0, like 0,2,5 or 0-7.",
            option="--channels",
        ) from None
    return tuple(chosen)


def save_viz(path: str, picture, scale: int = 1) -> None:
    """Write ``picture`` (a :class:`~poolcli.render.canvas.Picture`, or a plain image) to
    ``path`` in the format its suffix names, atomically; ``scale``: pixels per picture
    pixel for pixel formats."""
    from poolcli.io import atomic_write

    fmt = check_viz_path(path)
    if isinstance(picture, Image.Image):
        from poolcli.render.canvas import Picture

        picture = Picture(picture)
    if fmt == "SVG":
        data = picture.svg(os.path.basename(path)).encode("utf-8")
        with atomic_write(path) as f:
            f.write(data)
        return
    if fmt == "HTML":
        raise UsageError(f"--viz {path}: only the reduction commands draw a page.", option="--viz")
    image = picture.scaled(scale)
    # Fast compression: a picture is written once and looked at; size matters little.
    extra = {"compress_level": 1} if fmt == "PNG" else {}  # when Pillow writes the PNG
    with atomic_write(path) as f:
        if fmt == "PNG" and image.mode in MODES.values() and not image.info:
            f.write(encode_png(np.asarray(image)))  # libspng: faster, same pixels
        else:
            image.save(f, format=fmt, **extra)


def write_bytes(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    from poolcli.io import atomic_write

    with atomic_write(path) as f:
        f.write(data)
