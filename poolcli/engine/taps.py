"""The taps path: sliding windows built one kernel tap at a time from strided views.

The output is built from strided views of the input, clipped at the borders, so padding
needs no padded copy and the input keeps its own layout (an HWC image is pooled in place).
"""

from __future__ import annotations

import itertools
import math

import torch

from poolcli.engine.convert import (
    _accumulator,
    _fill_high,
    _fill_low,
    _int_accumulator,
    _is_float,
    _torch_out_dtype,
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


def _axis_counts(axis: AxisWindow, count_include_pad: bool) -> list[int]:
    """Cells each window of ``axis`` averages over: real cells, plus declared padding if asked."""
    if axis.bins is not None:
        return [end - start for start, end in axis.bins]
    if axis.pad_begin == 0 and (axis.out - 1) * axis.stride + axis.effective_kernel <= axis.size:
        return [axis.kernel] * axis.out  # every window lies inside the input
    low, high = (-axis.pad_begin, axis.size + axis.pad_end) if count_include_pad else (0, axis.size)
    return [sum(low <= c < high for c in axis.cells(i)) for i in range(axis.out)]


def _count_tensor(windows, spatial, ndim, count_include_pad, device, dtype) -> torch.Tensor | float:
    """Per-window cell counts, broadcastable to the output (a plain number when uniform)."""
    counts = [_axis_counts(a, count_include_pad) for a in windows]
    if all(len(set(c)) == 1 for c in counts):
        return float(math.prod(c[0] for c in counts))
    total = None
    for axis_index, c in zip(spatial, counts):
        shape = [1] * ndim
        shape[axis_index] = len(c)
        t = torch.tensor(c, dtype=dtype, device=device).reshape(shape)
        total = t if total is None else total * t
    return total


def _pool_taps(x, reduction, windows, spatial, count_include_pad, options) -> torch.Tensor:
    out_shape = list(x.shape)
    for axis_index, axis in zip(spatial, windows):
        out_shape[axis_index] = axis.out
    taps = math.prod(a.kernel for a in windows)
    if reduction in (Reduction.MAX, Reduction.MIN):
        acc_dtype = x.dtype
        init = _fill_low(x.dtype) if reduction is Reduction.MAX else _fill_high(x.dtype)
        combine = torch.maximum if reduction is Reduction.MAX else torch.minimum
    elif reduction in (Reduction.SUM, Reduction.AVG) and not _is_float(x.dtype):
        acc_dtype, init, combine = _int_accumulator(x, taps), 0, None
        if (
            reduction is Reduction.AVG
            and torch.iinfo(x.dtype).bits <= 8
            and taps <= 2**16
            and _torch_out_dtype(x.dtype, reduction, options.dtype) is torch.float32
        ):
            # Sums of at most 2**16 8-bit values are exact in float32 (< 2**24), so summing
            # there gives the integer sums' bits, without a conversion pass at the end.
            acc_dtype = torch.float32
    else:
        acc_dtype = _accumulator(x.dtype, options.dtype)
        if reduction is Reduction.SUM and x.dtype is torch.float64:
            acc_dtype = torch.float64
        init, combine = 0, None

    out = None
    for tap in itertools.product(*(range(a.kernel) for a in windows)):
        src = [slice(None)] * x.dim()
        dst = [slice(None)] * x.dim()
        covers_all = True
        for axis_index, axis, j in zip(spatial, windows, tap):
            lo, hi, start = _tap_ranges(axis, j)
            src[axis_index] = slice(
                start, start + max(hi - lo - 1, 0) * axis.stride + 1, axis.stride
            )
            dst[axis_index] = slice(lo, hi)
            covers_all &= lo == 0 and hi == axis.out
            if hi <= lo:
                break
        else:
            view = x[tuple(src)]
            if reduction is Reduction.LP:
                view = view.to(acc_dtype).abs().pow(options.norm_type)
            if out is None and covers_all:
                # The first tap that reaches every output cell starts the result: one pass saved.
                out = view.to(acc_dtype, copy=True)
                continue
            if out is None:
                out = torch.full(out_shape, init, dtype=acc_dtype, device=x.device)
            target = out[tuple(dst)]
            if x.requires_grad:
                # Out-of-place, so autograd (poolcli grad) can follow every tap.
                out = out.clone()
                out[tuple(dst)] = combine(target, view) if combine else target + view
            elif combine is not None:
                combine(target, view, out=target)
            else:
                target.add_(view)

    if reduction is Reduction.AVG:
        count = _count_tensor(windows, spatial, x.dim(), count_include_pad, x.device, torch.float64)
        if not _is_float(acc_dtype):
            # Exact integer sums. float32 division of exact operands is correctly rounded, so
            # use it when the sums fit in float32's 24-bit significand.
            small = acc_dtype in (torch.int16,) or (
                acc_dtype is torch.int32 and torch.iinfo(x.dtype).bits <= 8
            )
            quotient_dtype = _torch_out_dtype(x.dtype, reduction, options.dtype)
            wide = torch.float32 if small and quotient_dtype is torch.float32 else torch.float64
            return out.to(wide) / (count if isinstance(count, float) else count.to(wide))
        return out / count if isinstance(count, float) else out / count.to(acc_dtype)
    if reduction is Reduction.LP:
        return out.pow(1.0 / options.norm_type)
    return out
