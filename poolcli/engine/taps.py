"""The taps path: sliding windows built one kernel tap at a time from strided views.

The output is built from strided views of the input, clipped at the borders, so padding
needs no padded copy and the input keeps its own layout (an HWC image is pooled in place).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import torch

from poolcli.engine import memory
from poolcli.engine.convert import (
    accumulator,
    fill_value,
    int_accumulator,
    is_float,
    output_dtype,
    rounds,
)
from poolcli.model.reductions import Reduction
from poolcli.model.window import AxisWindow


def _tap_ranges(axis: AxisWindow, tap: int) -> tuple[int, int, int]:
    """For kernel tap ``tap``: the output range ``[lo, hi)`` it reaches real cells for, and the
    input index of output ``lo``."""
    offset = tap * axis.dilation - axis.pad_begin
    lo = max(0, -(offset // axis.stride))  # ceil(-offset / stride)
    hi = min(axis.out, (axis.size - 1 - offset) // axis.stride + 1)
    return lo, max(lo, hi), lo * axis.stride + offset


def axis_counts(axis: AxisWindow, count_include_pad: bool) -> list[int]:
    """Cells each window of ``axis`` averages over: real cells, plus declared padding if asked."""
    if axis.bins is not None:
        return [end - start for start, end in axis.bins]
    if axis.pad_begin == 0 and (axis.out - 1) * axis.stride + axis.effective_kernel <= axis.size:
        return [axis.kernel] * axis.out  # every window lies inside the input
    low, high = (-axis.pad_begin, axis.size + axis.pad_end) if count_include_pad else (0, axis.size)
    return [sum(low <= c < high for c in axis.cells(i)) for i in range(axis.out)]


def _count_tensor(windows, spatial, ndim, count_include_pad, device, dtype) -> torch.Tensor | float:
    """Per-window cell counts, broadcastable to the output (a plain number when uniform)."""
    counts = [axis_counts(a, count_include_pad) for a in windows]
    if all(len(set(c)) == 1 for c in counts):
        return float(math.prod(c[0] for c in counts))
    total = None
    for axis_index, c in zip(spatial, counts):
        shape = [1] * ndim
        shape[axis_index] = len(c)
        t = torch.tensor(c, dtype=dtype, device=device).reshape(shape)
        total = t if total is None else total * t
    return total


def pool_taps(x, reduction, windows, spatial, count_include_pad, options) -> torch.Tensor:
    """max, min, sum, avg and lp of sliding windows, one kernel tap at a time."""
    acc_dtype, init, combine = _accumulation(x, reduction, windows, options)
    out_shape = list(x.shape)
    for axis_index, axis in zip(spatial, windows):
        out_shape[axis_index] = axis.out
    out = None
    for src, dst, covers_all in _tap_slices(x.dim(), windows, spatial):
        view = x[src]
        if reduction is Reduction.LP:
            view = view.to(acc_dtype).abs().pow(options.norm_type)
        if out is None and covers_all:
            # The first tap that reaches every output cell starts the result: one pass saved.
            out = memory.empty(out_shape, acc_dtype, x.device).copy_(view)
            continue
        if out is None:
            out = memory.empty(out_shape, acc_dtype, x.device).fill_(init)
        target = out[dst]
        if x.requires_grad:
            # Out-of-place, so autograd (poolcli grad) can follow every tap.
            out = out.clone()
            out[dst] = combine(target, view) if combine else target + view
        elif combine is not None:
            combine(target, view, out=target)
        else:
            target.add_(view)
    if reduction is Reduction.AVG:
        return _divide(out, x, windows, spatial, count_include_pad, options)
    if reduction is Reduction.LP:
        return out.pow(1.0 / options.norm_type)
    return out


def _accumulation(x, reduction, windows, options) -> tuple[torch.dtype, float, Callable | None]:
    """The dtype the taps add up in, the value untouched outputs start from, and how two taps
    combine (``None``: they add)."""
    taps = math.prod(a.kernel for a in windows)
    if reduction in (Reduction.MAX, Reduction.MIN):
        combine = torch.maximum if reduction is Reduction.MAX else torch.minimum
        return x.dtype, fill_value(reduction.info.fill, x.dtype), combine
    if reduction in (Reduction.SUM, Reduction.AVG) and not is_float(x.dtype):
        if (
            reduction is Reduction.AVG
            and torch.iinfo(x.dtype).bits <= 8
            and taps <= 2**16
            and output_dtype(x.dtype, reduction, options.dtype) is torch.float32
        ):
            # Sums of at most 2**16 8-bit values are exact in float32 (< 2**24), so summing
            # there gives the integer sums' bits, without a conversion pass at the end.
            return torch.float32, 0, None
        return int_accumulator(x, taps), 0, None
    acc_dtype = accumulator(x.dtype, options.dtype)
    if reduction is Reduction.SUM and x.dtype is torch.float64:
        acc_dtype = torch.float64
    return acc_dtype, 0, None


def _tap_slices(ndim, windows, spatial):
    """Per kernel tap that reaches a real cell: the input view it reads, the output cells it
    reaches, and whether those are all of them."""
    for tap in itertools.product(*(range(a.kernel) for a in windows)):
        src = [slice(None)] * ndim
        dst = [slice(None)] * ndim
        covers_all = True
        for axis_index, axis, j in zip(spatial, windows, tap):
            lo, hi, start = _tap_ranges(axis, j)
            if hi <= lo:
                break
            src[axis_index] = slice(start, start + (hi - lo - 1) * axis.stride + 1, axis.stride)
            dst[axis_index] = slice(lo, hi)
            covers_all &= lo == 0 and hi == axis.out
        else:
            yield tuple(src), tuple(dst), covers_all


def _divide(sums, x, windows, spatial, count_include_pad, options) -> torch.Tensor:
    """Window sums divided by the cells each window averages over."""
    count = _count_tensor(windows, spatial, x.dim(), count_include_pad, x.device, torch.float64)
    if rounds(options.dtype):
        return rounded_mean(sums, count, x.dtype)
    wide = quotient_dtype(sums.dtype, x.dtype, options)
    # A 0-dim divisor of the quotient's dtype: integer sums convert inside the division (one
    # pass), to exactly the value ``sums.to(wide)`` gives, whatever torch's default dtype.
    divisor = torch.tensor(count, dtype=wide) if isinstance(count, float) else count.to(wide)
    if sums.requires_grad:
        return sums.to(wide) / divisor  # out of place, so autograd can follow it
    if sums.dtype is wide:
        return sums.div_(divisor)  # the sums are this path's own buffer
    quotient = memory.empty(sums.shape, wide, sums.device)
    return torch.div(sums, divisor.to(sums.device), out=quotient)


def quotient_dtype(sums: torch.dtype, x: torch.dtype, options) -> torch.dtype:
    """The dtype window sums of ``sums`` (from an input of ``x``) are divided in."""
    if is_float(sums):
        return sums
    # Exact integer sums. float32 division of exact operands is correctly rounded, so use
    # it when the sums fit in float32's 24-bit significand.
    small = sums is torch.int16 or (sums is torch.int32 and torch.iinfo(x).bits <= 8)
    wanted = output_dtype(x, Reduction.AVG, options.dtype)
    return torch.float32 if small and wanted is torch.float32 else torch.float64


#: 8-bit window sums over at most this many cells round exactly through float32 (below).
ROUND_IN_FLOAT32 = 1 << 16


def rounded_mean(sums: torch.Tensor, count, dtype: torch.dtype) -> torch.Tensor:
    """Exact integer window ``sums`` divided by ``count`` (a number or a tensor) and rounded
    once, half to even, into the integer ``dtype``.

    For 8-bit inputs the sums are exact in float32 and its division is correctly rounded; a
    mean that is not a tie lies at least 1/(2 count) from one, more than half a float32 step
    below 256 when count <= 2**16, so rounding the float32 quotient rounds the exact mean.
    Other integers round in integer arithmetic: a floor division and its remainder.
    """
    cells = count if isinstance(count, float) else float(count.max()) if count.numel() else 1.0
    if torch.iinfo(dtype).bits <= 8 and cells <= ROUND_IN_FLOAT32:
        divisor = count if isinstance(count, float) else count.to(torch.float32)
        quotient = memory.empty(sums.shape, torch.float32, sums.device)
        torch.div(sums, divisor, out=quotient)
        return quotient.round_().to(dtype)
    n = torch.tensor(int(count), device=sums.device) if isinstance(count, float) else count
    n = n.to(torch.int64)
    wide = sums.to(torch.int64)
    floor = torch.div(wide, n, rounding_mode="floor")
    twice_rest = (wide - floor * n) * 2
    up = (twice_rest > n) | ((twice_rest == n) & (floor % 2 == 1))
    return (floor + up).to(dtype)
