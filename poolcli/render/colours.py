"""Colours of the pictures: viridis, the fixed colours of marks and lines, the window palette."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

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


#: The window being shown, on the animation, the page and the small multiples.
HIGHLIGHT = (255, 0, 160)


#: Outline colours of windows: 20 colours told apart easily (Sasha Trubetskoy's list), in
#: an order where neighbours differ; every frame also gets a contrasting rim (:data:`RIM`) and
#: a number, so a frame reads on any cell and windows past the 20th stay told apart.
PALETTE = (
    (230, 25, 75),
    (60, 180, 75),
    (255, 225, 25),
    (0, 130, 200),
    (245, 130, 48),
    (145, 30, 180),
    (70, 240, 240),
    (240, 50, 230),
    (210, 245, 60),
    (250, 190, 212),
    (0, 128, 128),
    (220, 190, 255),
    (170, 110, 40),
    (255, 250, 200),
    (128, 0, 0),
    (170, 255, 195),
    (128, 128, 0),
    (255, 215, 180),
    (0, 0, 128),
    (128, 128, 128),
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


#: Ends and middle of the diverging map of signed values (blue, white, red; Moreland's).
DIVERGING = ((59, 76, 192), (247, 247, 247), (180, 4, 38))


def ramp(t, cmap: str = "viridis") -> np.ndarray:
    """Map values in [0, 1] through ``cmap`` (``viridis``, ``grey`` or ``diverging``, where 0.5
    is white) to uint8 RGB, through a 511-entry table; NaN maps to light grey."""
    if cmap == "viridis":
        return viridis(t)
    t = np.asarray(t, dtype=np.float64)
    nan = np.isnan(t)
    index = np.rint(np.clip(np.where(nan, 0.5, t), 0.0, 1.0) * 510).astype(np.intp)
    rgb = np.take(_table(cmap), index, axis=0)
    rgb[nan] = NAN_COLOUR
    return rgb


@functools.lru_cache(maxsize=4)
def _table(cmap: str) -> np.ndarray:
    """511 colours of ``cmap``, from 0 to 1 (an odd count: 0.5 is exactly the middle)."""
    t = np.linspace(0.0, 1.0, 511)[:, None]
    if cmap == "grey":
        return (np.rint(t * 255) * np.ones(3)).astype(np.uint8)
    low, mid, high = (np.asarray(c, dtype=np.float64) for c in DIVERGING)
    lower = low + (mid - low) * (t * 2)
    upper = mid + (high - mid) * (t * 2 - 1)
    return np.rint(np.where(t < 0.5, lower, upper)).astype(np.uint8)


@dataclass(frozen=True)
class _Mapping:
    """How one scale group turns values into colours: ``low`` -> 0, ``high`` -> 1 of ``cmap``.

    ``categories``: for the ``categorical`` map, the values in order, each drawn in its
    own :data:`SERIES` colour. For an image's colour rows ``high`` is the value of full
    intensity instead.
    """

    low: float
    high: float
    integral: bool
    cmap: str = "viridis"
    categories: tuple = ()

    def __call__(self, values) -> np.ndarray:
        v = np.asarray(values, dtype=np.float64)
        if self.cmap == "categorical":
            return categorical(v, self.categories)
        if self.high > self.low:
            t = (v - self.low) / (self.high - self.low)
        else:
            t = np.where(np.isnan(v), np.nan, 0.5)
        return ramp(t, self.cmap)

    def ramp(self, t) -> np.ndarray:
        """Colours of positions ``t`` in [0, 1] along the scale."""
        return ramp(t, self.cmap)


def categorical(values, categories) -> np.ndarray:
    """Each value in the :data:`SERIES` colour of its place in ``categories``."""
    v = np.asarray(values, dtype=np.float64)
    table = np.asarray([SERIES[k % len(SERIES)] for k in range(len(categories))], np.uint8)
    index = np.searchsorted(np.asarray(categories, dtype=np.float64), np.nan_to_num(v))
    rgb = table[np.clip(index, 0, len(categories) - 1)]
    rgb[np.isnan(v)] = NAN_COLOUR
    return rgb


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round values (1, 2 or 5 times a power of ten apart) inside [low, high], about ``count``."""
    import math

    if not high > low or not math.isfinite(high - low):
        return []
    raw = (high - low) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(low / step)
    ticks = [k * step for k in range(first, math.floor(high / step) + 1)]
    return [round(t, 12) for t in ticks]


def _luminance(rgb) -> float:
    return 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]


def _text_colour(rgb) -> tuple[int, int, int]:
    return (0, 0, 0) if _luminance(rgb) > 128 else (255, 255, 255)


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


def window_colour(index: tuple[int, ...], shape: tuple[int, ...] | None = None):
    """The outline colour of window ``index`` of a grid of ``shape`` windows: the first 20
    windows in reading order all differ (without ``shape``, neighbours differ)."""
    if shape is None:
        *rest, last = index
        first = rest[-1] if rest else 0
        return PALETTE[(7 * first + last) % len(PALETTE)]
    return PALETTE[window_number(index, shape) % len(PALETTE)]


def window_number(index: tuple[int, ...], shape: tuple[int, ...]) -> int:
    """The window's place in reading order, from 0."""
    number = 0
    for i, n in zip(index, shape):
        number = number * n + i
    return number


def rim_colour(rgb) -> tuple[int, int, int]:
    """The rim drawn around a coloured frame: black around light colours, white around dark."""
    return (0, 0, 0) if _luminance(rgb) > 110 else (255, 255, 255)
