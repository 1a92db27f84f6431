"""The compiled kernels' arithmetic in plain torch, for windows without padding.

:mod:`poolcli.engine.compiled` hands these functions to ``torch.compile``; eager torch runs
them as well, and the tests compare both with the loop reference.
"""

from __future__ import annotations

import itertools
import math

import torch

from poolcli.engine import networks
from poolcli.model.reductions import Reduction

#: Max/min windows of this many cells or more, over two axes or more, run separably
#: (:func:`separable_axes`, :class:`_Split`). CPU time of one thread, one buffer reused,
#: load average 3-4 (#15): 7x7 min of 4096²×3 uint8 8.4 ms against 37.5 ms in one loop and
#: 14.4 ms as two boxes, 7x7 max of 8192² float32 71 against 169 and 75 ms; 5x5x5 max of
#: 256³ float32 24 against 126 ms. 5x5 stays one loop: separable it took less CPU (uint8
#: 8.8 against 12.9 ms, float32 64 against 69 ms), but each strip is two parallel calls, and
#: with 2 threads on a busy machine (load average 3.5) one loop won: 21.9 against 56.8 ms
#: and 107 against 307 ms (medians of 15).
SEPARABLE_CELLS = 36
#: Other max/min windows with this many taps or more along an axis (one axis, or fewer than
#: :data:`SEPARABLE_CELLS` cells) run as two boxes (:func:`split_axes`); measured on the 7x7
#: max of 8192² float32 before the separable split: 177 ms against 310 ms in one loop.
SPLIT_FROM = 6


def _view(y, index_axes, starts, axes):
    """The strided view of ``y`` that one tap reads (windows without padding)."""
    index = [slice(None)] * y.dim()
    for axis_index, start, (kernel, stride, dilation) in zip(index_axes, starts, axes):
        out = (y.shape[axis_index] - dilation * (kernel - 1) - 1) // stride + 1
        index[axis_index] = slice(start, start + (out - 1) * stride + 1, stride)
    return y[tuple(index)]


def box(reduction: Reduction, axes, spatial, acc, order, quotient, rounds_to, x):
    """max/min/sum/avg of windows without padding (``x`` last: the compiled kernel binds the
    rest). ``order``: the axes one at a time in this order (the separable path's arithmetic),
    or None for every tap in turn (the taps'). ``quotient``: the dtype averages divide in
    (``taps.quotient_dtype``); ``rounds_to``: the integer dtype they round to, or None."""
    combine = {Reduction.MAX: torch.maximum, Reduction.MIN: torch.minimum}.get(reduction)
    add = combine or torch.add
    groups = [[i] for i in order] if order is not None else [list(range(len(axes)))]
    y = x
    for group in groups:
        index_axes = [spatial[i] for i in group]
        group_axes = [axes[i] for i in group]
        taps = itertools.product(*(range(k) for k, _, _ in group_axes))
        total = None
        for tap in taps:
            starts = [j * d for j, (_, _, d) in zip(tap, group_axes)]
            view = _view(y, index_axes, starts, group_axes)
            total = view.to(acc) if total is None else add(total, view)
        y = total
    if reduction is not Reduction.AVG:
        return y
    return _mean(y, quotient, math.prod([k for k, _, _ in axes]), rounds_to)


def _mean(sums, quotient, count: int, rounds_to):
    """Window sums divided by ``count`` in ``quotient``, rounded half to even to ``rounds_to``
    (when given) in the same loop (exact: :func:`poolcli.engine.taps.rounded_mean`)."""
    mean = sums.to(quotient) / float(count)
    return mean if rounds_to is None else torch.round(mean).to(rounds_to)


_BITS = {torch.float32: torch.int32, torch.float64: torch.int64}


def _ordered(x):
    """Floats without NaN as integers in the same order, because Inductor's float min/max
    test for NaN (four instructions against the integers' one); other dtypes as they are.
    The bits of negative floats count down: flipping all but the sign bit makes them count
    up (and back: the map is its own inverse). -0.0 comes before +0.0, which compare equal,
    so a median is still one of its window's cells, equal to the loop reference's."""
    if x.dtype not in _BITS:
        return x
    bits = x.view(_BITS[x.dtype])
    sign = 8 * x.element_size() - 1
    return bits ^ ((bits >> sign) & ((1 << sign) - 1))


def _unordered(keys, dtype):
    """The floats of :func:`_ordered`'s integers (``keys`` as they are for other dtypes)."""
    if dtype not in _BITS:
        return keys
    sign = 8 * keys.element_size() - 1
    return (keys ^ ((keys >> sign) & ((1 << sign) - 1))).view(dtype)


def _median(axes, spatial, x):
    return _unordered(networks.median_network(_ordered(x), axes, spatial), x.dtype)


def _median_taps(axes, spatial, network, x):
    """The taps path's median-of-n selection network on every tap's view at once."""
    keys = _ordered(x)
    taps = [
        _view(keys, spatial, [j * d for j, (_, _, d) in zip(tap, axes)], axes)
        for tap in itertools.product(*(range(k) for k, _, _ in axes))
    ]
    for a, b, keep_min, keep_max in network:
        low = torch.minimum(taps[a], taps[b]) if keep_min else None
        high = torch.maximum(taps[a], taps[b]) if keep_max else None
        taps[a], taps[b] = low, high
    median = _unordered(taps[(len(taps) - 1) // 2], x.dtype)
    return median.clone() if len(taps) == 1 else median  # never a view of the input


def split_axes(axes):
    """Long max/min windows as two boxes: ``(inner, outer)``. Along an axis of ``k`` taps
    (:data:`SPLIT_FROM` or more) the window is the max of two overlapping runs of ``w =
    ceil(k / 2)`` taps, the first at its start and the second ending at its end (van
    Herk/Gil-Werman's idea with two runs): ``inner`` is the box of runs (stride 1), ``outer``
    takes 2 cells of it, ``k - w`` taps apart, at the window's stride. Axes below
    :data:`SPLIT_FROM` stay whole in ``inner``."""
    inner, outer = [], []
    for kernel, stride, dilation in axes:
        if kernel < SPLIT_FROM:
            inner.append((kernel, 1, dilation))
            outer.append((1, stride, 1))
            continue
        run = (kernel + 1) // 2
        inner.append((run, 1, dilation))
        outer.append((2, stride, (kernel - run) * dilation))
    return tuple(inner), tuple(outer)


def separable_axes(axes):
    """Max/min as OpenCV's separable filters do it: ``(inner, outer)``, ``inner`` the window
    along every axis but the first (one loop, the last axis first), ``outer`` along the first
    axis over ``inner``'s result: a 7x7 window takes 6 + 6 operations per output, not 48
    (two boxes: 15 + 3)."""
    identity = (1, 1, 1)
    return (identity, *axes[1:]), (axes[0],) + (identity,) * (len(axes) - 1)


def max_min_split(axes):
    """The two boxes a max/min window runs as (:class:`_Split`), or None for one loop."""
    longest = max(kernel for kernel, _, _ in axes)
    across = axes[0][0] > 1 and math.prod(kernel for kernel, _, _ in axes[1:]) > 1
    if across and math.prod(kernel for kernel, _, _ in axes) >= SEPARABLE_CELLS:
        return separable_axes(axes)
    return split_axes(axes) if longest >= SPLIT_FROM else None


def _divided(axes, spatial, acc, quotient, count, rounds_to, x):
    """Window sums along ``axes`` divided by the whole window's ``count`` cells (rounded to
    ``rounds_to`` when given)."""
    return _mean(
        box(Reduction.SUM, axes, spatial, acc, None, None, None, x), quotient, count, rounds_to
    )
