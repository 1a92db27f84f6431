"""The gather path: windows are gathered into a trailing axis and reduced, one chunk of output
rows at a time so extra memory stays under ``memory_limit``."""

from __future__ import annotations

import math

import torch

from poolcli.engine.convert import fill_value
from poolcli.engine.window_reduce import (
    Gathered,
    gather_accumulator,
    reduce_windows,
    uniform_noise,
    winning_taps,
)
from poolcli.model.window import AxisWindow


def _axis_index(axis: AxisWindow, first: int, last: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Gather table for output cells ``[first, last)`` of ``axis``.

    Returns ``(index, real)``, both (rows, kernel): input cell per tap, with taps outside the
    input pointing one past the end (where the caller puts the fill value), and whether the
    tap is a real cell.
    """
    rows = torch.arange(first, last).unsqueeze(1)
    taps = torch.arange(axis.kernel).unsqueeze(0)
    if axis.bins is not None:
        starts = torch.tensor([axis.bins[i][0] for i in range(first, last)]).unsqueeze(1)
        ends = torch.tensor([axis.bins[i][1] for i in range(first, last)]).unsqueeze(1)
        index = starts + taps
        real = index < ends
    else:
        index = rows * axis.stride - axis.pad_begin + taps * axis.dilation
        real = (index >= 0) & (index < axis.size)
    return torch.where(real, index, axis.size), real


def pool_gather(
    x, reduction, windows, count_include_pad, options, winners=False, pick=None, visible=None
) -> torch.Tensor:
    """Gather every window into a trailing axis and reduce it, chunk by chunk.

    With ``winners``, return each window's winning tap instead of its value (see
    :func:`window_winners`); with ``pick`` (N, C, *out) tap indices, return those taps' values.
    ``visible`` (bool, shaped as ``x``): the cells the order-based reductions may use; the
    others are left out as padding is.
    """
    n, c = x.shape[:2]
    out_spatial = [a.out for a in windows]
    if winners:
        out_dtype = torch.int64
    elif pick is not None:
        out_dtype = x.dtype
    else:
        out_dtype = gather_accumulator(x.dtype, reduction, options)
    y = torch.empty((n, c, *out_spatial), dtype=out_dtype, device=x.device)
    fill = gather_fill(reduction, x.dtype)
    uniform = uniform_noise(reduction, (n, c, *out_spatial), options)
    for (start, stop), rows in _chunks(x, windows, options):
        values, reals = _gather_windows(_items(x, start, stop), windows, *rows, fill)
        part = (slice(start, stop), slice(*rows))  # of per-window tensors, (n * c, *out)
        noise = None
        if uniform is not None:
            noise = uniform.reshape(n * c, *out_spatial)[part].to(x.device)
        seen = None
        if visible is not None:
            seen, _ = _gather_windows(_items(visible, start, stop), windows, *rows, False)
        chunk = Gathered(values, reals, windows, rows, count_include_pad, noise, seen)
        if pick is not None:
            taps = pick.reshape(n * c, *out_spatial)[part].to(x.device)
            result = values.gather(-1, taps.unsqueeze(-1)).squeeze(-1)
        elif winners:
            result = winning_taps(chunk, reduction, options)
        else:
            result = reduce_windows(chunk, reduction, options)
        for i, item in enumerate(range(start, stop)):
            y[item // c, item % c, slice(*rows)] = result[i]
    return y


def gather_fill(reduction, dtype):
    """What padding cells hold in gathered windows: the reduction's fill, and where its kernel
    leaves padding out itself (``none``), a value that sorts last for the order-based
    reductions, so that the median need not mask padding, and 0 for the sums."""
    fill = reduction.info.fill
    if fill == "none" and reduction.info.order_based:
        fill = "high"
    return fill_value(fill, dtype)


def _items(x, start, stop):
    """Items ``[start, stop)`` of the (n, c) items of ``x``, as (items, *spatial)."""
    n, c = x.shape[:2]
    if x.is_contiguous():
        return x.reshape(n * c, *x.shape[2:])[start:stop]
    return torch.stack([x[i // c, i % c] for i in range(start, stop)])


def _chunks(x, windows, options):
    """``((first item, last item), (first row, last row))`` of every chunk: over (n, c) items
    and over output rows of the first spatial axis, each within ``options.memory_limit``."""
    items = x.shape[0] * x.shape[1]
    cells = math.prod(a.kernel for a in windows)
    per_window_bytes = cells * (3 * x.element_size() + 8 + 2) + 64
    windows_per_chunk = max(1, options.memory_limit // per_window_bytes)
    rest = math.prod(a.out for a in windows[1:])
    rows_per_chunk = max(1, windows_per_chunk // max(rest, 1))
    items_per_chunk = max(1, min(items, windows_per_chunk // max(rest * windows[0].out, 1)))
    if items_per_chunk > 1:
        rows_per_chunk = windows[0].out
    for start in range(0, items, items_per_chunk):
        for r0 in range(0, windows[0].out, rows_per_chunk):
            yield (
                (start, min(items, start + items_per_chunk)),
                (
                    r0,
                    min(windows[0].out, r0 + rows_per_chunk),
                ),
            )


def _gather_windows(block, windows, r0, r1, fill):
    """Windows of output rows ``[r0, r1)``: values (items, rows, *out_rest, cells) and real mask."""
    tables = [_axis_index(windows[0], r0, r1)] + [_axis_index(a, 0, a.out) for a in windows[1:]]
    # Only the input rows these windows touch, plus one fill cell at the end of every axis.
    first_table = tables[0][0][tables[0][1]]
    lo = int(first_table.min()) if first_table.numel() else 0
    hi = int(first_table.max()) + 1 if first_table.numel() else 1
    slab = block[:, lo:hi]
    padded = _pad_end(slab, fill)
    values = padded
    reals = []
    for dim, (index, real) in enumerate(tables):
        if dim == 0:
            # Row indices relative to the slab; the fill cell sits one past its end.
            index = torch.where(real, index - lo, hi - lo)
        rows, kernel = index.shape
        axis = 1 + 2 * dim  # earlier axes are already split into (rows, kernel) pairs
        values = values.index_select(axis, index.reshape(-1).to(values.device))
        values = values.unflatten(axis, (rows, kernel))
        reals.append(real)
    # (items, o1, k1, o2, k2, ...) -> (items, o1, o2, ..., k1 * k2 * ...)
    nd = len(windows)
    order = [0] + [1 + 2 * i for i in range(nd)] + [2 + 2 * i for i in range(nd)]
    out_rows = [index.shape[0] for index, _ in tables]
    values = values.permute(order).reshape(values.shape[0], *out_rows, -1)
    return values, reals


def _pad_end(slab, fill):
    """Append one ``fill`` cell at the end of every spatial axis (integer-safe F.pad)."""
    shape = [slab.shape[0]] + [s + 1 for s in slab.shape[1:]]
    padded = torch.full(shape, fill, dtype=slab.dtype, device=slab.device)
    padded[(slice(None), *(slice(0, s) for s in slab.shape[1:]))] = slab
    return padded
