"""Data-aware pooling: missing cells left out as padding is, generalized means, linear light.

Which cells count (:func:`valid_cells`): all of them, less NaN cells under ``--nan omit``,
cells equal to ``--nodata``, and cells a ``--mask`` hides. The left-out cells go through the
machinery that already leaves padding out, on every engine path:

* max and min: a left-out cell holds the fill value padding holds, which never wins;
* median and mode: the gather path's ``visible`` cells, as transparent pixels;
* sum, lp and stochastic: a left-out cell holds 0, which adds nothing and is never sampled;
* avg and gem: the sum of the cells that count divided by how many they are (plus the padding
  with ``--count-include-pad``, which keeps its meaning).

A window left with no cell gives ``--nodata`` (or NaN without it). ``gem`` is the mean of
``x^p`` taken to the power ``1/p``; ``--linear-light`` decodes sRGB before the reduction and
encodes after it (:mod:`poolcli.engine.colour`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from poolcli.engine import colour
from poolcli.engine.convert import accumulator, fill_value, output_dtype
from poolcli.engine.missing_alpha import reduce_rgba
from poolcli.engine.taps import axis_counts
from poolcli.errors import PoolError
from poolcli.model.display import format_shape
from poolcli.model.missing import leaves_cells_out
from poolcli.model.reductions import Reduction


def active(reduction: Reduction, options) -> bool:
    """Whether this call needs more than the plain engine."""
    return (
        reduction is Reduction.GEM
        or options.linear_light
        or leaves_cells_out(options.nan, options.nodata, options.mask)
    )


def check_array(array, reduction: Reduction, options) -> None:
    """Refuse ``--nodata`` where the engine does not see the values themselves: uint64 arrays
    are pooled by max, min, median and mode as int64 with the top bit flipped (convert.py)."""
    dtype = getattr(array, "dtype", None)
    uint64 = dtype in (np.uint64, torch.uint64) if dtype is not None else False
    if uint64 and options.nodata is not None and reduction.info.order_based:
        raise PoolError(
            f"holds uint64 values, which {reduction} cannot compare with --nodata; convert the "
            "array to int64 or float64, or use --mask."
        )


def valid_cells(x: torch.Tensor, layout, options) -> torch.Tensor | None:
    """The cells that count (bool, shaped as ``x``), or None when every cell does."""
    valid = None
    nodata = options.nodata
    nan_nodata = nodata is not None and math.isnan(nodata)
    if (str(options.nan) == "omit" or nan_nodata) and x.dtype.is_floating_point:
        valid = ~x.isnan()
    if nodata is not None and not nan_nodata:
        kept = x != nodata
        valid = kept if valid is None else valid & kept
    if options.mask is not None:
        shown = mask_tensor(options.mask, x, layout)
        valid = shown if valid is None else valid & shown
    return valid


def mask_tensor(mask, x: torch.Tensor, layout) -> torch.Tensor:
    """``mask`` (the input's spatial shape, nonzero = use) as bool, broadcast to ``x``."""
    m = mask if isinstance(mask, torch.Tensor) else torch.from_numpy(np.asarray(mask))
    spatial = tuple(layout.spatial_shape(tuple(x.shape)))
    if tuple(m.shape) != spatial:
        raise PoolError(
            f"has the spatial shape {format_shape(spatial)}, but the mask is "
            f"{format_shape(tuple(m.shape))}; a mask needs the input's spatial shape."
        )
    shape = [1] * x.dim()
    for axis, size in zip(layout.spatial_axes, spatial):
        shape[axis] = size
    return (m != 0).reshape(shape).to(x.device).expand(x.shape)


def pool_aware(
    x: torch.Tensor,
    reduction: Reduction,
    windows,
    layout,
    count_include_pad: bool,
    options,
    pool: Callable,
    plain: Callable,
    alpha: bool = False,
) -> torch.Tensor:
    """Pool ``x`` leaving out the cells that do not count, in linear light if asked.

    ``pool(t, how, visible=None)`` pools one tensor on an engine path; ``plain(t, how)`` pools
    it under the alpha rule (used when no cell is left out).
    """
    out_dtype = output_dtype(x.dtype, reduction, options.dtype)
    valid = valid_cells(x, layout, options)
    t, how = x, reduction
    if options.linear_light:
        t = colour.decode(x, layout, options, alpha)
    if reduction is Reduction.GEM:
        check_gem_values(x, valid)
        p = options.norm_type
        t = colour.on_colour(t.to(accumulator(t.dtype, options.dtype)), layout, alpha, _power(p))
        how = Reduction.AVG
    empty = None

    def reduce(u, by, kept):
        return reduce_missing(u, by, kept, windows, layout, count_include_pad, options, pool)

    sampling = how is Reduction.STOCHASTIC and not options.expectation
    if valid is None:
        y = plain(t, how)
    elif alpha and not sampling:
        gem = reduction is Reduction.GEM
        y, empty = reduce_rgba(t, x, how, valid, layout, options, gem, reduce, pool)
    else:
        y, empty = reduce(t, how, valid)
    if reduction is Reduction.GEM:
        y = colour.on_colour(y, layout, alpha, _power(1.0 / options.norm_type))
        if alpha and valid is None:
            y = _gem_of_alpha(y, t, layout, options, pool)
    if options.linear_light:
        y = colour.encode(y, layout, options, alpha)
    if alpha and reduction.info.weights_by_alpha:
        out_dtype = torch.promote_types(out_dtype, y.dtype)  # alpha-weighted sums are not whole
    y = y.to(out_dtype)
    if empty is not None and bool(empty.any()):
        y = fill_empty(y, empty, options)
    return y


def pool_pixel_mode(x: torch.Tensor, layout, options, pool: Callable) -> torch.Tensor:
    """The mode of whole pixels (colour images, label maps), leaving out a pixel whose
    channels are all left out (with ``--nodata 0``, black but not green); a window left with
    no pixel gives ``--nodata`` in every channel (NaN without it)."""
    from poolcli.engine.pixels import pixel_labels

    valid = valid_cells(x, layout, options)
    shown = valid.any(dim=layout.channel_axis, keepdim=True)
    labels, palette = pixel_labels(x, layout)
    pooled = pool(labels, Reduction.MODE, visible=shown.contiguous())
    y = palette[pooled.squeeze(layout.channel_axis)].movedim(-1, layout.channel_axis)
    empty = pool(shown.to(torch.uint8), Reduction.SUM) == 0
    return fill_empty(y, empty.expand_as(y), options) if bool(empty.any()) else y


def _gem_of_alpha(y, t, layout, options, pool):
    """``y`` with its alpha channel (the mean of alpha, which weighted the colour) replaced by
    the generalized mean of alpha: alpha is pooled like any channel."""
    axis, p = layout.channel_axis, options.norm_type
    last = t.shape[axis] - 1
    alpha = pool(t.narrow(axis, last, 1).pow(p), Reduction.AVG).pow(1.0 / p)
    return torch.cat([y.narrow(axis, 0, last), alpha.to(y.dtype)], dim=axis)


def _power(p: float) -> Callable:
    return lambda t: t.pow(p)


def reduce_missing(t, how, valid, windows, layout, count_include_pad, options, pool):
    """``how`` over the windows of ``t`` using only ``valid`` cells; returns the result and
    where a window had no cell to use."""
    counts = pool(valid.to(torch.uint8), Reduction.SUM)
    empty = counts == 0
    info = how.info
    if info.order_based and info.fill in ("low", "high"):
        # A left-out cell holds the fill value padding holds, so it never wins.
        y = pool(torch.where(valid, t, fill_value(info.fill, t.dtype)), how)
    elif info.order_based:
        y = pool(t, how, visible=valid.contiguous())
    elif how is Reduction.AVG:
        kept = torch.where(valid, t, 0)
        if kept.dtype.is_floating_point:
            kept = kept.to(accumulator(kept.dtype, options.dtype))
        total = pool(kept, Reduction.SUM).to(torch.float64)
        cells = counts.to(torch.float64)
        if count_include_pad:
            cells = cells + padding_cells(windows, layout, t.dim(), t.device)
        y = total / cells.clamp(min=1)
    else:
        y = pool(torch.where(valid, t, 0), how)
    return y, empty


def padding_cells(windows, layout, ndim: int, device) -> torch.Tensor | float:
    """How many declared padding cells each window holds (what ``--count-include-pad`` adds)."""
    total = None
    for axis_index, axis in zip(layout.spatial_axes, windows):
        cells = [axis_counts(axis, True), axis_counts(axis, False)]
        shape = [1] * ndim
        shape[axis_index] = axis.out
        pair = [torch.tensor(c, dtype=torch.float64, device=device).reshape(shape) for c in cells]
        total = pair if total is None else [total[0] * pair[0], total[1] * pair[1]]
    return total[0] - total[1]


def fill_empty(y: torch.Tensor, empty: torch.Tensor, options) -> torch.Tensor:
    """Windows with no cell to use take ``--nodata`` (NaN without it)."""
    nodata = options.nodata
    value = nodata if nodata is not None and not math.isnan(nodata) else math.nan
    if not y.dtype.is_floating_point:
        info = torch.iinfo(y.dtype)
        if math.isnan(value):
            raise PoolError(
                "has windows where no cell is left to use (the mask hides them all) and "
                f"{_dtype_name(y.dtype)} results cannot be NaN; give --nodata V to fill them."
            )
        if value != int(value) or not info.min <= value <= info.max:
            raise PoolError(
                f"has windows where no cell is left to use, which take --nodata {value:g}; "
                f"{_dtype_name(y.dtype)} results cannot hold it."
            )
    return torch.where(empty, torch.tensor(value, dtype=y.dtype, device=y.device), y)


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def check_gem_values(x: torch.Tensor, valid: torch.Tensor | None) -> None:
    """gem needs every cell that counts to be 0 or more (x^p of a negative x has no real
    p-th root for most p)."""
    if not x.numel():
        return
    used = x if valid is None else torch.where(valid, x, 0)
    negative = used < 0
    if bool(negative.any()):
        lowest = float(used[negative].min())
        raise PoolError(
            f"holds negative values (down to {lowest:g}); gem raises values to the power p, so "
            "every value must be 0 or more (apply a ReLU first, as GeM layers do)."
        )


def count_valid(x: torch.Tensor, layout, options, pool: Callable) -> torch.Tensor:
    """How many cells that count each window holds (int64, the output's shape)."""
    valid = valid_cells(x, layout, options)
    ones = torch.ones_like(x, dtype=torch.uint8) if valid is None else valid.to(torch.uint8)
    return pool(ones, Reduction.SUM)
