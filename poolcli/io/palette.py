"""Palette images read as their indices, and indices written back with their palette.

Pooling the colours of a label map mixes labels (each channel takes its own mode); pooling
its palette indices with ``mode`` keeps them whole. ``read_input(path, palette="index")``
reads a palette image's indices and its :class:`~poolcli.io.loaded.Palette`; given such an
input, :func:`~poolcli.io.write_output` writes an index array back as a palette image
(PNG, GIF, BMP, TIFF), or as the colours the indices stand for (JPEG, WebP).
"""

from __future__ import annotations

import numpy as np

from poolcli.io.formats import FORMAT_NAMES
from poolcli.io.loaded import Palette

#: Formats that hold palette images.
PALETTE_FORMATS = ("PNG", "GIF", "BMP", "TIFF")


def palette_of(im) -> Palette:
    """The palette of an open Pillow image in mode ``P``."""
    colours = bytes(im.getpalette("RGB") or b"")
    return Palette(colours, im.info.get("transparency"))


def as_indices(array: np.ndarray, palette: Palette, notes: list[str]) -> np.ndarray | None:
    """``array`` as uint8 indices into ``palette``; ``None`` (with a note) when its values
    are not such indices (an average of labels, say)."""
    values = np.asarray(array)
    whole = values.dtype.kind in "iub" or (
        values.dtype.kind == "f" and bool(np.all(np.isfinite(values) & (values == np.rint(values))))
    )
    if whole and values.size and values.min() >= 0 and values.max() < palette.size:
        return values.astype(np.uint8)
    notes.append(
        "its values are not indices of the input's palette; they were written as gray levels."
    )
    return None


def colours(indices: np.ndarray, palette: Palette) -> np.ndarray:
    """The RGB (or RGBA, for a palette with transparency) pixels that ``indices`` stand for."""
    table = np.frombuffer(palette.colours, np.uint8).reshape(-1, 3)
    alpha = _alpha(palette)
    if alpha is not None:
        table = np.concatenate([table, alpha[:, None]], axis=1)
    return table[indices]


def _alpha(palette: Palette) -> np.ndarray | None:
    """The alpha of each palette entry, ``None`` when all are opaque."""
    known = palette.transparency
    if known is None:
        return None
    alpha = np.full(palette.size, 255, np.uint8)
    if isinstance(known, int):
        if 0 <= known < palette.size:
            alpha[known] = 0
    else:
        given = np.frombuffer(bytes(known), np.uint8)[: palette.size]
        alpha[: len(given)] = given
    return alpha


def palette_image(indices: np.ndarray, palette: Palette, fmt: str, notes: list[str]):
    """(Pillow image, save options) of ``indices`` with ``palette``, for ``fmt``."""
    from PIL import Image

    image = Image.fromarray(np.ascontiguousarray(indices), "P")
    image.putpalette(palette.colours, "RGB")
    # Indices are labels: GIF's palette optimisation would renumber them.
    options: dict = {"optimize": False} if fmt == "GIF" else {}
    transparency = _transparency_for(fmt, palette, notes)
    if transparency is not None:
        options["transparency"] = transparency
    return image, options


def _transparency_for(fmt: str, palette: Palette, notes: list[str]) -> int | bytes | None:
    """What ``fmt`` can keep of the palette's transparency (PNG: all; GIF: one index)."""
    alpha = _alpha(palette)
    if alpha is None or fmt == "PNG":
        return palette.transparency if alpha is not None else None
    clear = np.flatnonzero(alpha == 0)
    if fmt == "GIF" and len(clear) == 1 and np.all((alpha == 0) | (alpha == 255)):
        return int(clear[0])
    what = "partial transparency" if fmt == "GIF" else "transparency"
    notes.append(f"{FORMAT_NAMES[fmt]} cannot hold the palette's {what}; it was left out.")
    return None
