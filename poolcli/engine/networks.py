"""Small medians through sorting networks that share work between neighbouring windows.

The median of a 3x3 window: sort each column of three (three compare-exchanges, shared by the
three windows that hold that column), then the median is the median of (the largest of the
three column minima, the median of the three column medians, the smallest of the three
column maxima). That is 18 elementwise min/max per output instead of the 30 of a median-of-9
network, and a third of them run on the column pass. Only ``torch.minimum``/``torch.maximum``
are used, so the result is a cell of the window, bit for bit, for every dtype, and
:mod:`poolcli.engine.compiled` can fuse the whole thing into one loop.

A window of 3 along a single axis is the median of three: four min/max.
"""

from __future__ import annotations

import torch


def _taps(y: torch.Tensor, axis, axis_index: int) -> list[torch.Tensor]:
    """The strided views of ``y`` that the taps along ``axis`` read (windows without padding).

    ``axis`` is ``(kernel, stride, dilation)``; the output size follows from ``y``'s own, so
    the compiled form of these functions serves every input size.
    """
    kernel, stride, dilation = axis
    out = (y.shape[axis_index] - dilation * (kernel - 1) - 1) // stride + 1
    views = []
    for j in range(kernel):
        start = j * dilation
        views.append(y.narrow(axis_index, start, (out - 1) * stride + 1))
        if stride > 1:
            index = [slice(None)] * y.dim()
            index[axis_index] = slice(None, None, stride)
            views[-1] = views[-1][tuple(index)]
    return views


def static(windows) -> tuple[tuple[int, int, int], ...]:
    """What the networks need of resolved windows: ``(kernel, stride, dilation)`` per axis."""
    return tuple((a.kernel, a.stride, a.dilation) for a in windows)


def median3(a, b, c):
    """The median of three, elementwise."""
    return torch.maximum(torch.minimum(a, b), torch.minimum(torch.maximum(a, b), c))


def median_3x3(x, axes, spatial) -> torch.Tensor:
    """Median of 3x3 windows without padding (any stride and dilation) over two axes."""
    a, b, c = _taps(x, axes[0], spatial[0])
    low_ab, high_ab = torch.minimum(a, b), torch.maximum(a, b)
    low = torch.minimum(low_ab, c)
    high_ac = torch.maximum(low_ab, c)
    mid = torch.minimum(high_ab, high_ac)
    high = torch.maximum(high_ab, high_ac)
    lows = _taps(low, axes[1], spatial[1])
    mids = _taps(mid, axes[1], spatial[1])
    highs = _taps(high, axes[1], spatial[1])
    biggest_low = torch.maximum(torch.maximum(lows[0], lows[1]), lows[2])
    smallest_high = torch.minimum(torch.minimum(highs[0], highs[1]), highs[2])
    return median3(biggest_low, median3(*mids), smallest_high)


def median_3(x, axes, spatial) -> torch.Tensor:
    """Median of windows of 3 along one axis, without padding."""
    return median3(*_taps(x, axes[0], spatial[0]))


def median_network(x, axes, spatial) -> torch.Tensor:
    """The median of 3 or 3x3 windows without padding; ``axes`` as :func:`static` gives."""
    if len(axes) == 1:
        return median_3(x, axes, spatial)
    return median_3x3(x, axes, spatial)


def pool_median_network(x, windows, spatial) -> torch.Tensor:
    """The median of 3 or 3x3 windows without padding."""
    return median_network(x, static(windows), spatial)
