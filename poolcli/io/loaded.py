"""What reading one input gives: :class:`LoadedInput`, and :class:`ImageInfo` for images."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class Palette:
    """The colours of a palette image read as indices (``read_input(palette="index")``).

    ``colours`` holds RGB triplets, index ``i`` at bytes ``3i`` to ``3i + 2``;
    ``transparency`` is the image's as Pillow gives it: one transparent index (int), an alpha
    byte per index (bytes), or ``None``.
    """

    colours: bytes
    transparency: int | bytes | None = None

    @property
    def size(self) -> int:
        """How many colours the palette holds."""
        return len(self.colours) // 3


@dataclass(frozen=True)
class ImageInfo:
    """What an image file held, besides its pixels.

    ``mode`` is Pillow's mode as stored in the file (``"P"``, ``"1"``, ``"I;16"``...; 16-bit
    colour PNGs, which Pillow cannot hold, are ``"LA;16"``, ``"RGB;16"`` or ``"RGBA;16"``).
    ``bits`` is the depth of each value of the array read: 8, 16, or 32 (``floating`` tells a
    32-bit float TIFF from a 32-bit integer one). ``channels`` counts the array's channels
    after conversion (palette images become RGB or RGBA), ``has_alpha`` says the last one is
    straight alpha. ``palette`` is set when a palette image was read as its indices (one
    channel): :func:`~poolcli.io.write_output` writes indices back with it.
    """

    mode: str
    format: str
    bits: int
    has_alpha: bool
    icc_profile: bytes | None
    channels: int
    floating: bool = False
    palette: Palette | None = None


@dataclass
class LoadedInput:
    """One input, read.

    ``array`` is a numpy array in native byte order, in memory of its own (never a memory
    map of the file, which another program could cut short). ``path`` is the name to show
    (``"<stdin>"`` for ``-``); ``file`` the absolute path of the file read, ``None`` for a
    stream. ``layout`` is ``"HW"`` or ``"HWC"`` for images and ``None`` for arrays (the
    default-layout rule decides). ``warnings`` are plain sentences about things read but not
    kept (extra frames, a converted colour space...).
    """

    array: np.ndarray
    path: str
    kind: str
    layout: str | None
    image: ImageInfo | None = None
    file: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def has_alpha(self) -> bool:
        """True for an image whose last channel is alpha."""
        return self.image is not None and self.image.has_alpha
