"""RGBA images: a transparent pixel lends no colour to its neighbours.

The last channel is straight alpha. The averaging reductions weight colour by it
(premultiply, pool, divide by the pooled alpha weight).
"""

from __future__ import annotations

import torch

from poolcli.engine.convert import accumulator, is_float
from poolcli.engine.gather import pool_gather
from poolcli.model.reductions import Reduction


def pool_premultiplied(x, reduction, windows, layout, options, run):
    """Weight colour by alpha (premultiply), pool, and turn the colour back into straight colour.

    avg, lp and the stochastic expectation divide the pooled colour by the pooled alpha weight,
    so a transparent cell lends no colour to its neighbours; sum keeps the alpha-weighted sum;
    stochastic sampling picks cells by colour x alpha. ``run`` pools one tensor.
    """
    channel = layout.channel_axis
    alpha = x.narrow(channel, x.shape[channel] - 1, 1)
    colour = x.narrow(channel, 0, x.shape[channel] - 1)
    acc = accumulator(x.dtype, options.dtype)
    scale = 1.0 if is_float(x.dtype) else float(torch.iinfo(x.dtype).max)
    weight = alpha.to(acc) / scale
    if reduction is Reduction.STOCHASTIC and not options.expectation:
        return _sample_premultiplied(colour, alpha, weight, windows, layout, options, run)
    pooled_colour = run(colour.to(acc) * weight)
    pooled_alpha = run(alpha)
    if reduction is not Reduction.SUM:
        pooled_weight = run(weight)
        safe = torch.where(pooled_weight > 0, pooled_weight, 1)
        pooled_colour = torch.where(pooled_weight > 0, pooled_colour / safe, 0)
    out_dtype = torch.promote_types(pooled_colour.dtype, pooled_alpha.dtype)
    return torch.cat([pooled_colour.to(out_dtype), pooled_alpha.to(out_dtype)], dim=channel)


def _sample_premultiplied(colour, alpha, weight, windows, layout, options, run):
    """Stochastic sampling of RGBA: each colour channel picks a cell with probability
    colour x alpha / sum(colour x alpha) (a transparent cell is never picked) and takes that
    cell's straight colour; alpha samples itself. All-transparent or black windows give 0."""
    weighted = colour.to(weight.dtype) * weight
    taps = pool_gather(
        layout.canonical(weighted), Reduction.STOCHASTIC, windows, False, options, winners=True
    )

    def take(t):
        picked = pool_gather(
            layout.canonical(t), Reduction.STOCHASTIC, windows, False, options, pick=taps
        )
        return layout.uncanonical(picked)

    picked_colour = take(colour.to(weight.dtype))
    picked_colour = torch.where(take(weighted) > 0, picked_colour, 0)
    pooled_alpha = run(alpha)
    out_dtype = torch.promote_types(picked_colour.dtype, pooled_alpha.dtype)
    return torch.cat(
        [picked_colour.to(out_dtype), pooled_alpha.to(out_dtype)], dim=layout.channel_axis
    )
