"""RGBA images with cells left out: the alpha rule (poolcli.engine.alpha) on the cells that
count.

The averaging reductions weight colour by alpha over the colour cells that count, as
:func:`poolcli.engine.alpha.pool_premultiplied` does over all cells; the order-based ones
take colour from the cells that count and are visible. Alpha is pooled like any channel,
leaving out its own missing cells. A window with cells that count but none visible gives
colour 0 (the alpha rule); one with no cell that counts gives ``--nodata`` (or NaN). A
cell whose alpha is left out has no weight, so its colour is left out too.
"""

from __future__ import annotations

import torch

from poolcli.engine.convert import accumulator
from poolcli.model.reductions import Reduction


def reduce_rgba(t, x, how, valid, layout, options, gem: bool, reduce, pool):
    """``how`` over the windows of ``t`` (RGBA, alpha last; ``x`` the input as given, whose
    alpha weights colour) using only ``valid`` cells. ``reduce(t, how, valid)`` is
    :func:`poolcli.engine.missing.reduce_missing` for one tensor, ``pool(t, how)`` pools one.
    Returns the result and where a window had no cell to use. With ``gem``, ``t``'s colour
    holds x^p and the alpha returned is alpha's own generalized mean."""
    axis = layout.channel_axis
    last = t.shape[axis] - 1
    colour, alpha = t.narrow(axis, 0, last), t.narrow(axis, last, 1)
    valid_alpha = valid.narrow(axis, last, 1)
    # A cell whose alpha is left out has no weight: its colour is left out too.
    valid_colour = valid.narrow(axis, 0, last) & valid_alpha
    raw_alpha = x.narrow(axis, last, 1)
    if gem:
        p = options.norm_type
        alpha_mean, alpha_empty = reduce(alpha.pow(p), Reduction.AVG, valid_alpha)
        pooled_alpha = alpha_mean.pow(1.0 / p)
    else:
        pooled_alpha, alpha_empty = reduce(alpha, how, valid_alpha)
    if how.info.weights_by_alpha:
        scale = 1.0 if raw_alpha.dtype.is_floating_point else torch.iinfo(raw_alpha.dtype).max
        weight = raw_alpha.to(accumulator(raw_alpha.dtype, options.dtype)) / scale
        weighted, colour_empty = reduce(colour.to(weight.dtype) * weight, how, valid_colour)
        pooled = weighted
        if how is not Reduction.SUM:
            total, _ = reduce(weight.expand_as(colour), how, valid_colour)
            pooled = torch.where(total > 0, weighted / torch.where(total > 0, total, 1), 0)
    else:
        shown = valid_colour & (raw_alpha > 0)
        pooled, hidden = reduce(colour, how, shown)
        pooled = torch.where(hidden, 0, pooled)
        colour_empty = pool(valid_colour.to(torch.uint8), Reduction.SUM) == 0
    dtype = torch.promote_types(pooled.dtype, pooled_alpha.dtype)
    y = torch.cat([pooled.to(dtype), pooled_alpha.to(dtype)], dim=axis)
    return y, torch.cat([colour_empty, alpha_empty], dim=axis)
