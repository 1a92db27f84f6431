"""Mode by whole pixels: the C axis holds the channels of one pixel (a colour image).

Each channel taking its own mode can give a colour that is in no cell of the window (red, red,
green, blue gave black). Here every distinct pixel gets a label, numbered in lexicographic
order (channels compared in order; NaN sorts last and equals NaN, as in the per-channel
mode); the labels are pooled by the ordinary mode, whose ties go to the smallest label, and
each label turns back into its pixel.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from poolcli.engine.convert import is_float


def pixel_labels(x: torch.Tensor, layout) -> tuple[torch.Tensor, torch.Tensor]:
    """``x`` as a map of pixel labels (int64, shaped as ``x`` with one channel) and the pixel
    of every label, ``(labels, C)``."""
    channel = layout.channel_axis
    pixels = x.movedim(channel, -1)
    flat = pixels.reshape(-1, pixels.shape[-1])
    order = torch.arange(flat.shape[0], device=x.device)
    for column in reversed(range(flat.shape[1])):  # stable sorts, last channel first
        order = order[flat[order, column].sort(stable=True).indices]
    ordered = flat[order]
    differs = ordered[1:] != ordered[:-1]
    if is_float(x.dtype):
        differs &= ~(ordered[1:].isnan() & ordered[:-1].isnan())
    starts = torch.cat([torch.ones(1, dtype=torch.bool, device=x.device), differs.any(-1)])
    labels = torch.empty_like(order)
    labels[order] = starts.cumsum(0) - 1
    return labels.reshape(pixels.shape[:-1]).unsqueeze(channel), ordered[starts]


def pool_pixel_mode(x: torch.Tensor, layout, pool: Callable) -> torch.Tensor:
    """The most frequent whole pixel of every window (ties: the smallest, channels compared
    in order). ``pool`` pools one tensor by the mode."""
    labels, palette = pixel_labels(x, layout)
    pooled = pool(labels).squeeze(layout.channel_axis)
    return palette[pooled].movedim(-1, layout.channel_axis)


def pixel_winners(x: torch.Tensor, layout, winners: Callable) -> torch.Tensor:
    """The cell each window's pixel mode comes from, the same for every channel:
    ``(N, C, *out)``. ``winners`` finds the winners of one tensor."""
    labels, _ = pixel_labels(x, layout)
    taps = winners(labels)
    return taps.expand(-1, x.shape[layout.channel_axis], *taps.shape[2:])
