"""sRGB values to linear light and back, for averaging photos in linear light.

The IEC 61966-2-1 transfer functions: ``decode`` maps sRGB values from 0 to ``top`` onto
linear light from 0 to 1, ``encode`` maps linear light back. An image's alpha channel is
linear already and is left alone. Averaging in sRGB darkens: a stripe of black and white
averages to sRGB 128, which shows as 22% of white's light instead of 50% (sRGB 188).
"""

from __future__ import annotations

import torch

from poolcli.engine.convert import accumulator
from poolcli.errors import PoolError


def srgb_to_linear(v: torch.Tensor) -> torch.Tensor:
    """sRGB values in [0, 1] -> linear light in [0, 1]."""
    return torch.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055).pow(2.4))


def linear_to_srgb(v: torch.Tensor) -> torch.Tensor:
    """Linear light in [0, 1] -> sRGB values in [0, 1]."""
    v = v.clamp(min=0)
    return torch.where(v <= 0.0031308, v * 12.92, 1.055 * v.pow(1 / 2.4) - 0.055)


def srgb_top(x: torch.Tensor, options) -> float:
    """The value of sRGB white: ``--srgb-max`` (filled in from an image's bit depth)."""
    if options.srgb_max is None:
        raise PoolError(
            "is not known to hold sRGB values: --linear-light needs --srgb-max MAX for an "
            "array (255 for 8-bit values, 65535 for 16-bit, 1 for 0..1)."
        )
    return float(options.srgb_max)


def on_colour(t: torch.Tensor, layout, alpha: bool, change) -> torch.Tensor:
    """``change`` applied to the colour channels of ``t``; an alpha channel (the last, when
    ``alpha``) is kept as it is."""
    if not alpha or layout.channel_axis is None:
        return change(t)
    axis = layout.channel_axis
    count = t.shape[axis]
    colour = change(t.narrow(axis, 0, count - 1))
    rest = t.narrow(axis, count - 1, 1).to(colour.dtype)
    return torch.cat([colour, rest], dim=axis)


def decode(x: torch.Tensor, layout, options, alpha: bool) -> torch.Tensor:
    """``x`` (sRGB from 0 to ``--srgb-max``) as linear light from 0 to 1, in the accumulator."""
    top = srgb_top(x, options)
    t = x.to(accumulator(x.dtype, options.dtype))
    return on_colour(t, layout, alpha, lambda c: srgb_to_linear((c / top).clamp(0, 1)))


def encode(y: torch.Tensor, layout, options, alpha: bool) -> torch.Tensor:
    """Linear light from 0 to 1 back to sRGB values from 0 to ``--srgb-max``."""
    top = float(options.srgb_max)
    return on_colour(y, layout, alpha, lambda c: linear_to_srgb(c.clamp(max=1)) * top)
