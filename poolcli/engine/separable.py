"""The separable path: rectangular sliding windows reduced one spatial axis at a time.

max, min and sum over a box are separable: the box's result is the result along one axis of
the results along the others. So a ``k1 x k2`` window costs ``k1 + k2`` passes over memory
instead of the ``k1 * k2`` of the taps path. Each pass is the taps path's own method on one
axis (strided views of its input, clipped at the borders, so padding needs no padded copy).

Exactness: max and min are exact in any order. Integer sums add in an integer accumulator
wide enough for the whole window (:func:`poolcli.engine.convert.int_accumulator`), and 8-bit
averages divide those exact sums once at the end, so they give the taps path's bits. Float
sums add in another order than the taps path's, equal to rounding.

Long max/min windows along an axis (:data:`DOUBLING_FROM` taps or more) take
``ceil(log2 k) + 1`` passes instead of ``k``: the maximum of ``2w`` consecutive taps is the
maximum of two overlapping runs of ``w``, and any ``k`` is covered by two runs of the largest
power of two not above it (a sparse-table form of van Herk/Gil-Werman's idea).
"""

from __future__ import annotations

import math

import torch

from poolcli.engine import memory
from poolcli.engine.convert import fill_value, int_accumulator, is_float
from poolcli.engine.taps import _accumulation, _divide, _tap_slices
from poolcli.model.reductions import Reduction
from poolcli.model.window import AxisWindow

#: Reductions this path computes.
SEPARABLE = frozenset({Reduction.MAX, Reduction.MIN, Reduction.SUM, Reduction.AVG})
#: Max/min windows with at least this many taps along an axis use the doubling passes.
DOUBLING_FROM = 8


def pool_separable(x, reduction, windows, spatial, count_include_pad, options) -> torch.Tensor:
    """max, min, sum and avg of sliding windows, one spatial axis at a time."""
    # The whole window's accumulator (exact for integers) serves every pass.
    acc, _, _ = _accumulation(x, reduction, windows, options)
    if reduction is Reduction.AVG and not is_float(x.dtype):
        # Integer sums (int16 for 8-bit windows up to 128 cells): half the memory traffic
        # of float32 sums, and the division converts them on the way (taps._divide).
        acc = int_accumulator(x, math.prod(a.kernel for a in windows))
    order = pass_order(windows)
    y = x
    for i in order:
        y = _axis_pass(y, reduction, windows[i], spatial[i], acc)
    if y is x:
        y = memory.empty(x.shape, x.dtype, x.device).copy_(x)  # never a view of the input
    if reduction is Reduction.AVG:
        return _divide(y, x, windows, spatial, count_include_pad, options)
    return y


def pass_order(windows) -> list[int]:
    """The axes in the order they are reduced: largest stride first (the data shrinks most
    early), then in axis order. It depends on the windows only, not on the input's size, so
    the compiled kernels (:mod:`poolcli.engine.compiled`) add in the same order."""
    return sorted(range(len(windows)), key=lambda i: -windows[i].stride)


def _axis_pass(y, reduction, axis: AxisWindow, axis_index: int, acc) -> torch.Tensor:
    """``y`` reduced along one axis; sums add in ``acc``."""
    if axis.is_identity:
        return y
    if reduction in (Reduction.MAX, Reduction.MIN):
        if axis.kernel >= DOUBLING_FROM:
            return _doubling_pass(y, reduction, axis, axis_index)
        combine = torch.maximum if reduction is Reduction.MAX else torch.minimum
        init = fill_value(reduction.info.fill, y.dtype)
        return _tap_pass(y, axis, axis_index, y.dtype, init, combine)
    return _tap_pass(y, axis, axis_index, acc, 0, None)


def _tap_pass(y, axis: AxisWindow, axis_index: int, acc, init, combine) -> torch.Tensor:
    """The taps path's method along one axis: one strided view of ``y`` per kernel tap."""
    shape = list(y.shape)
    shape[axis_index] = axis.out
    out = None
    for src, dst, covers_all in _tap_slices(y.dim(), [axis], [axis_index]):
        view = y[src]
        if out is None and covers_all:
            out = memory.empty(shape, acc, y.device).copy_(view)
            continue
        if out is None:
            out = memory.empty(shape, acc, y.device).fill_(init)
        target = out[dst]
        if combine is not None:
            combine(target, view, out=target)
        else:
            target.add_(view)
    if out is None:  # no tap reaches a real cell: every window is padding
        out = memory.empty(shape, acc, y.device).fill_(init)
    return out


def _doubling_pass(y, reduction, axis: AxisWindow, axis_index: int) -> torch.Tensor:
    """Max/min of long windows along one axis in ``ceil(log2 k) + 1`` passes."""
    combine = torch.maximum if reduction is Reduction.MAX else torch.minimum
    fill = fill_value(reduction.info.fill, y.dtype)
    d, k = axis.dilation, axis.kernel
    reach = (axis.out - 1) * axis.stride + axis.effective_kernel
    shape = list(y.shape)
    shape[axis_index] = reach
    padded = memory.empty(shape, y.dtype, y.device).fill_(fill)
    lo = axis.pad_begin
    hi = min(reach, lo + axis.size)
    padded.narrow(axis_index, lo, hi - lo).copy_(y.narrow(axis_index, 0, hi - lo))
    run, width = padded, 1
    while 2 * width <= k:
        length = run.shape[axis_index] - width * d
        run = combine(run.narrow(axis_index, 0, length), run.narrow(axis_index, width * d, length))
        width *= 2
    # A window of k taps: the run of ``width`` at its start and the one ending at its end.
    span = (axis.out - 1) * axis.stride + 1
    first = run.narrow(axis_index, 0, span)
    last = run.narrow(axis_index, (k - width) * d, span)
    if axis.stride > 1:
        index = [slice(None)] * y.dim()
        index[axis_index] = slice(None, None, axis.stride)
        first, last = first[tuple(index)], last[tuple(index)]
    return combine(first, last)
