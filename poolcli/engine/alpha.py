"""RGBA images: a transparent pixel lends no colour to its neighbours, under every reduction.

The last channel is straight alpha; a cell whose alpha is 0 is transparent. The averaging
reductions (``weights_by_alpha``) weight colour by alpha: premultiply, pool, divide by the
pooled alpha weight. The order-based ones (max, min, median, mode) take colour from the
visible cells only, leaving the transparent ones out as they leave out padding. Alpha itself
is pooled like any channel. A window whose cells are all transparent gives colour 0 either
way.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from poolcli.engine.convert import accumulator, fill_value, is_float
from poolcli.engine.gather import pool_gather
from poolcli.errors import UsageError
from poolcli.model.reductions import Reduction


def pool_with_alpha(x, reduction, windows, layout, options, pool: Callable) -> torch.Tensor:
    """Pool ``x`` by the alpha rule. ``pool(t, how=reduction, visible=None)`` pools one tensor
    (``visible``: the cells the order-based reductions may use)."""
    if reduction.info.weights_by_alpha:
        return pool_premultiplied(x, reduction, windows, layout, options, pool)
    colour, alpha = _split(x, layout)
    visible = alpha > 0
    if bool(visible.all()):
        return pool(x)  # nothing is transparent
    shown = visible.expand_as(colour)
    if reduction.info.fill in ("low", "high"):
        # A hidden cell holding the fill value never wins, as padding never does.
        pooled = pool(torch.where(shown, colour, fill_value(reduction.info.fill, colour.dtype)))
    else:
        pooled = pool(colour, visible=shown.contiguous())
    any_visible = pool(visible.to(colour.dtype), how=Reduction.MAX) > 0
    pooled = torch.where(any_visible, pooled, 0)
    return torch.cat([pooled, pool(alpha)], dim=layout.channel_axis)


def winners_with_alpha(x, reduction, layout, options, winners: Callable) -> torch.Tensor:
    """Each window's winning cell under the alpha rule, (N, C, *out): colour channels of the
    order-based reductions are won by visible cells, sampled colour by colour x alpha.
    ``winners(t, visible=None)`` finds the winners of one tensor."""
    colour, alpha = _split(x, layout)
    if reduction.info.weights_by_alpha:
        return torch.cat([winners(_premultiplied(colour, alpha, options)), winners(alpha)], dim=1)
    shown = [(alpha > 0).expand_as(colour), torch.ones_like(alpha, dtype=torch.bool)]
    return winners(x, visible=torch.cat(shown, dim=layout.channel_axis))


def clear_transparent(x, layout) -> torch.Tensor:
    """``x`` with every transparent pixel made transparent black, so that its colour cannot
    count (for the mode of whole pixels)."""
    _, alpha = _split(x, layout)
    return torch.where(alpha > 0, x, 0)


def pool_premultiplied(x, reduction, windows, layout, options, run):
    """Weight colour by alpha (premultiply), pool, and turn the colour back into straight colour.

    avg, lp and the stochastic expectation divide the pooled colour by the pooled alpha weight,
    so a transparent cell lends no colour to its neighbours; sum keeps the alpha-weighted sum;
    stochastic sampling picks cells by colour x alpha. ``run`` pools one tensor.
    """
    colour, alpha = _split(x, layout)
    weight = _weight(alpha, options)
    if reduction is Reduction.STOCHASTIC and not options.expectation:
        return _sample_premultiplied(colour, alpha, weight, windows, layout, options, run)
    pooled_colour = run(colour.to(weight.dtype) * weight)
    pooled_alpha = run(alpha)
    if reduction is not Reduction.SUM:
        pooled_weight = run(weight)
        safe = torch.where(pooled_weight > 0, pooled_weight, 1)
        pooled_colour = torch.where(pooled_weight > 0, pooled_colour / safe, 0)
    out_dtype = torch.promote_types(pooled_colour.dtype, pooled_alpha.dtype)
    return torch.cat(
        [pooled_colour.to(out_dtype), pooled_alpha.to(out_dtype)], dim=layout.channel_axis
    )


def _split(x, layout) -> tuple[torch.Tensor, torch.Tensor]:
    """``x``'s colour channels and its alpha channel (the last one)."""
    channel = layout.channel_axis
    if channel is None or x.shape[channel] < 2:
        raise UsageError(f"an alpha channel needs a C axis holding colour and alpha ({layout}).")
    alpha = x.narrow(channel, x.shape[channel] - 1, 1)
    return x.narrow(channel, 0, x.shape[channel] - 1), alpha


def _weight(alpha, options) -> torch.Tensor:
    """Alpha as a weight from 0 to 1, in the accumulator's dtype."""
    scale = 1.0 if is_float(alpha.dtype) else float(torch.iinfo(alpha.dtype).max)
    return alpha.to(accumulator(alpha.dtype, options.dtype)) / scale


def _premultiplied(colour, alpha, options) -> torch.Tensor:
    weight = _weight(alpha, options)
    return colour.to(weight.dtype) * weight


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
