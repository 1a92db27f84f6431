"""The pooling engine: every reduction over every windowing, exactly, with torch doing the sums.

Entry point: :func:`pool_array` (numpy array or torch tensor in any layout) and
:func:`pool_tensor` (a torch tensor, same result type). Windows come resolved from
:func:`poolcli.model.window.resolve`, so the size arithmetic lives in one place.

Paths, chosen per call by :mod:`poolcli.engine.choose` and proven equal to each other in the
tests (their speeds are in benchmarks/README.md):

``taps``
    Sliding windows with few taps (max, min, sum, avg, lp; median of windows without padding,
    through a selection network of elementwise min/max). The output is built one kernel tap at
    a time from strided views of the input, clipped at the borders, so padding needs no padded
    copy and the input keeps its own layout (an HWC image is pooled in place).
``torch``
    torch's own kernels (max and avg on float tensors, within torch's padding limits) where
    they beat the taps: strided averages over more than 4 taps, max with more than
    ``TAP_LIMIT`` taps, and adaptive max/avg.
``global``
    One window over all spatial axes: a plain reduction over those axes.
``gather``
    Everything else (median, mode, stochastic sampling, adaptive bins for the other
    reductions, very large kernels): windows are gathered into a trailing axis and reduced,
    one chunk of output rows at a time so extra memory stays under ``memory_limit``.

The dtype rules and numpy <-> torch conversion live in :mod:`poolcli.engine.convert`, the
alpha rule for RGBA images in :mod:`poolcli.engine.alpha`, the mode of whole pixels in
:mod:`poolcli.engine.pixels`, and each path in its own module.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import torch

from poolcli.engine import missing
from poolcli.engine.alpha import clear_transparent, pool_with_alpha, winners_with_alpha
from poolcli.engine.checks import check_options, check_values
from poolcli.engine.choose import Case, can, check_path, choose_path
from poolcli.engine.compiled import pool_compiled
from poolcli.engine.convert import (
    output_dtype,
    rounded,
    rounds,
    to_tensor,
)
from poolcli.engine.counting import pool_median_counts
from poolcli.engine.devices import torch_device
from poolcli.engine.gather import pool_gather
from poolcli.engine.global_pool import pool_global
from poolcli.engine.median import pool_median_taps
from poolcli.engine.networks import pool_median_network
from poolcli.engine.pixels import pixel_winners, pool_pixel_mode
from poolcli.engine.separable import pool_separable
from poolcli.engine.taps import pool_taps
from poolcli.engine.torch_kernels import pool_torch
from poolcli.model.layout import Layout
from poolcli.model.options import PoolOptions
from poolcli.model.reductions import Reduction
from poolcli.model.window import AxisWindow

# --------------------------------------------------------------------------------------
# Entry points


#: The ``path`` of a block of a larger array: chosen as "auto" is, never as global pooling.
BLOCK = "auto-block"


def pool_array(
    array,
    reduction: Reduction,
    windows: Sequence[AxisWindow],
    layout: Layout,
    *,
    count_include_pad: bool = False,
    options=None,
    alpha: bool = False,
    pixels: bool = False,
    path: str = "auto",
) -> tuple:
    """Pool ``array`` (numpy or torch, laid out as ``layout``); returns ``(numpy result, device)``.

    ``alpha`` and ``pixels``: as for :func:`pool_tensor`.
    """
    options = options or PoolOptions()
    check_options(options)
    device = torch_device(options.device)
    missing.check_array(array, reduction, options)
    x, back = to_tensor(array, reduction, options.dtype)
    x = x.to(device)
    result = pool_tensor(
        x, reduction, windows, layout, count_include_pad, options, path, alpha=alpha, pixels=pixels
    )
    result = back(result)
    if isinstance(result, torch.Tensor):
        if result.dtype is torch.bfloat16 and not isinstance(array, torch.Tensor):
            result = result.float()
        result = result.cpu().numpy() if not isinstance(array, torch.Tensor) else result
    if isinstance(result, np.ndarray):
        result = np.ascontiguousarray(result)
    return result, str(device)


def pool_tensor(
    x: torch.Tensor,
    reduction: Reduction,
    windows: Sequence[AxisWindow],
    layout: Layout,
    count_include_pad: bool = False,
    options=None,
    path: str = "auto",
    *,
    alpha: bool = False,
    pixels: bool = False,
) -> torch.Tensor:
    """Pool a tensor laid out as ``layout``, keeping the layout; dtypes follow the README rules.

    ``path`` forces one engine path (``taps``, ``torch``, ``global``, ``gather``) for tests
    and benchmarks, and a path that cannot compute the case is a :class:`UsageError`;
    ``auto`` picks the fastest exact one (:mod:`poolcli.engine.choose`).

    ``alpha``: the last channel is an image's straight alpha, and a transparent cell lends no
    colour (:mod:`poolcli.engine.alpha`): the averaging reductions weight colour by alpha, the
    order-based ones take colour from visible cells only.

    ``pixels``: the C axis holds the channels of one pixel (an image), and mode picks the most
    frequent whole pixel (:mod:`poolcli.engine.pixels`); with ``alpha``, every transparent
    pixel counts as transparent black.
    """
    options = options or PoolOptions()
    check_options(options)
    reduction = Reduction(reduction)
    windows = _bounded(windows)

    def pool(t: torch.Tensor, how: Reduction = reduction, visible=None) -> torch.Tensor:
        return _pool(t, how, windows, layout, count_include_pad, options, path, visible)

    def plain(t: torch.Tensor, how: Reduction = reduction) -> torch.Tensor:
        if not alpha:
            return pool(t, how)

        def pool_how(u: torch.Tensor, how: Reduction = how, visible=None) -> torch.Tensor:
            return pool(u, how, visible)

        return pool_with_alpha(t, how, windows, layout, options, pool_how)

    pixel_mode = pixels and reduction.info.labels and layout.channel_axis is not None
    if rounds(options.dtype) and (alpha or missing.active(reduction, options)):
        # Weighted or data-aware means: in float64, rounded once at the end.
        check_values(x, reduction, windows, options)
        wide = dataclasses.replace(options, dtype="float64")
        y = pool_tensor(x, reduction, windows, layout, count_include_pad, wide, path, alpha=alpha)
        return rounded(y, x.dtype)
    if missing.active(reduction, options):
        args = (windows, layout, count_include_pad, options, path)
        return _pool_data_aware(x, reduction, *args, plain, alpha=alpha, pixel_mode=pixel_mode)
    if pixel_mode:
        return pool_pixel_mode(clear_transparent(x, layout) if alpha else x, layout, pool)
    return plain(x)


def _pool_data_aware(
    x, reduction, windows, layout, count_include_pad, options, path, plain, *, alpha, pixel_mode
) -> torch.Tensor:
    """Missing data, gem and linear light (:mod:`poolcli.engine.missing`)."""
    chosen = path not in ("auto", BLOCK)
    if chosen:
        check_path(path, x, reduction, windows)

    def pool_any(t: torch.Tensor, how: Reduction = reduction, visible=None) -> torch.Tensor:
        # A forced path computes the parts it can; the counts and sums go where they can.
        case = Case(t, how, windows, visible is not None)
        forced = path if not chosen or can(path, case) else "auto"
        return _pool(t, how, windows, layout, count_include_pad, options, forced, visible)

    if pixel_mode:
        return missing.pool_pixel_mode(x, layout, options, pool_any)
    args = (windows, layout, count_include_pad, options, pool_any, plain)
    return missing.pool_aware(x, reduction, *args, alpha=alpha)


def valid_counts(array, windows, layout: Layout, options=None) -> np.ndarray:
    """How many input cells each output cell of ``array`` pooled over ``windows`` uses (the
    cells left out by ``--nan omit``, ``--nodata`` and ``--mask`` do not count, nor padding)."""
    options = options or PoolOptions()
    x, _ = to_tensor(array, Reduction.SUM)
    x = x.to(torch_device(options.device))
    windows = _bounded(windows)

    def pool(t, how):
        return _pool(t, how, windows, layout, False, options, "auto")

    return missing.count_valid(x, layout, options, pool).cpu().numpy()


def _pool(
    x, reduction, windows, layout, count_include_pad, options, path, visible=None
) -> torch.Tensor:
    """One engine path's result, in the output dtype. ``visible``: see :func:`pool_gather`."""
    check_values(x, reduction, windows, options)
    spatial = layout.spatial_axes
    out_dtype = output_dtype(x.dtype, reduction, options.dtype)
    masked = visible is not None
    if path in ("auto", BLOCK):
        chosen = choose_path(x, reduction, windows, masked, whole=path == "auto")
    else:
        check_path(path, x, reduction, windows, masked)
        chosen = path
    y = pool_compiled(x, reduction, windows, spatial, chosen, options, out_dtype)
    if y is not None:
        pass  # the chosen path's own arithmetic, fused
    elif chosen == "separable":
        y = pool_separable(x, reduction, windows, spatial, count_include_pad, options)
    elif chosen == "networks":
        y = pool_median_network(x, windows, spatial)
    elif chosen == "counting":
        y = pool_median_counts(x, windows, spatial, options)
    elif chosen == "taps" and reduction is Reduction.MEDIAN:
        y = pool_median_taps(x, windows, spatial, options)
    elif chosen == "taps":
        y = pool_taps(x, reduction, windows, spatial, count_include_pad, options)
    else:
        # The other paths work on (N, C, *spatial).
        canonical = layout.canonical(x)
        if chosen == "torch":
            y = pool_torch(canonical, reduction, windows, count_include_pad)
        elif chosen == "global":
            y = pool_global(canonical, reduction, options)
        else:
            visible = layout.canonical(visible) if masked else None
            y = pool_gather(
                canonical, reduction, windows, count_include_pad, options, visible=visible
            )
        y = layout.uncanonical(y)
    return rounded(y, out_dtype) if rounds(options.dtype) else y.to(out_dtype)


def window_winners(
    x, reduction, windows, layout: Layout, options=None, *, alpha=False, pixels=False
) -> torch.Tensor:
    """For max, min, median, mode and stochastic sampling: which cell each window's result is.

    Returns an int64 tensor shaped ``(N, C, *out)`` holding, per window, the index of the
    winning cell in window order: row-major over the kernel taps (``AxisWindow.cells`` order;
    for adaptive pooling each axis has ``kernel`` = the longest bin's taps). Ties go to the first
    real cell holding the result. ``alpha`` and ``pixels``: as for :func:`pool_tensor`
    (colour is won by visible cells; a pixel mode by one cell for every channel).
    Same gather machinery and random numbers as the pooling itself, so it always agrees.
    """
    options = options or PoolOptions()
    check_options(options)
    reduction = Reduction(reduction)
    x, _ = to_tensor(x, reduction)
    windows = _bounded(windows)

    def winners(t: torch.Tensor, visible=None) -> torch.Tensor:
        if visible is not None:
            visible = layout.canonical(visible)
        canonical = layout.canonical(t)
        return pool_gather(
            canonical, reduction, windows, False, options, winners=True, visible=visible
        )

    valid = missing.valid_cells(x, layout, options)
    if valid is not None:
        return winners(x, visible=valid.contiguous())  # left-out cells never win
    if pixels and reduction.info.labels and layout.channel_axis is not None:
        return pixel_winners(clear_transparent(x, layout) if alpha else x, layout, winners)
    if alpha:
        return winners_with_alpha(x, reduction, layout, options, winners)
    return winners(x)


def _bounded(windows: Sequence[AxisWindow]) -> tuple[AxisWindow, ...]:
    """``windows`` with the strides and dilations that cannot matter brought within reach of
    the input: an axis of one window never uses its stride, a kernel of one tap never its
    dilation, and huge values there would overflow the kernels' index arithmetic."""
    bounded = []
    for a in windows:
        reach = a.padded_size + 1
        if (a.out == 1 and a.stride > reach) or (a.kernel == 1 and a.dilation > reach):
            stride = min(a.stride, reach) if a.out == 1 else a.stride
            dilation = min(a.dilation, reach) if a.kernel == 1 else a.dilation
            a = dataclasses.replace(a, stride=stride, dilation=dilation)
        bounded.append(a)
    return tuple(bounded)
