"""Medians of 8-bit windows by counting: the window's cumulative histogram, read by bisection.

The lower median ``m`` of a window of ``n`` cells is the largest value ``t`` with at most
``(n - 1) // 2`` of the window's cells below it. With 8-bit values that takes eight
questions, one per bit from the top: is ``m >= prefix | bit``? Each answer is one count of
the window's cells under a threshold (one entry of the window's cumulative histogram), so a
median costs ``8 n`` comparisons and additions whatever the values, against a selection
network's ``O(n log² n)`` compare-exchanges and a sort per window. Eagerly the networks win
up to 7×7 and counting from 9×9 on (:data:`poolcli.engine.choose.COUNTING_FROM`), with no
upper limit; compiled, counting takes over from the compiled networks at 26 cells
(:class:`poolcli.engine.compiled._Counts`). Only comparisons and sums: the result is one of
the window's cells, bit for bit.

Huang's and Perreault's sliding histograms (OpenCV's ``medianBlur`` from 7×7 on) update one
histogram from window to window: sequential along a row, they have no form in torch's
operations. Counting is the histogram median that torch can run in parallel.
"""

from __future__ import annotations

import itertools
import math

import torch

from poolcli.engine.fused import _view
from poolcli.engine.median import rows_within, tap_views

#: The dtypes counted: uint8 as it is, int8 with its sign bit flipped (which maps -128..127
#: onto 0..255 in the same order, and back).
COUNTED = frozenset({torch.uint8, torch.int8})
BITS = (128, 64, 32, 16, 8, 4, 2, 1)
#: The eager counts' working buffers, one chunk of output rows at a time: each count passes
#: over them once per tap, so they should stay in the cache (9×9 of 4096²×3 uint8, quiet, 2
#: threads: 2.9 s at 8 MiB, 2.7 s at 16 MiB, 3.2 s at 32 MiB, 5.1 s at 64 MiB).
CHUNK_BYTES = 16 << 20


def keys(x: torch.Tensor) -> torch.Tensor:
    """The counted values of 8-bit ``x``: uint8 in the same order."""
    return x.view(torch.uint8) ^ 128 if x.dtype is torch.int8 else x


def values(keys: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """The 8-bit values of :func:`keys`."""
    return (keys ^ 128).view(torch.int8) if dtype is torch.int8 else keys


def count_dtype(cells: int) -> torch.dtype:
    """The narrowest dtype that counts to ``cells``: uint8 vectorizes four times as wide as
    int32 (the compiled 9×9 count of 1024²×3 uint8: 63 against 92 ms)."""
    if cells <= 255:
        return torch.uint8
    return torch.int16 if cells < 1 << 15 else torch.int32


def count_step(axes, spatial, keys: torch.Tensor, median: torch.Tensor, bit: torch.Tensor):
    """One bisection step for every window of ``keys`` (uint8, no padding): ``median | bit``
    where at most half the window's cells lie below it, else ``median``. The compiled
    kernel's form (the window's parameters first: it binds them): each count is a sum over
    the taps' views that Inductor unrolls into one loop, and the eight steps share it."""
    views = [
        _view(keys, spatial, [j * d for j, (_, _, d) in zip(tap, axes)], axes)
        for tap in itertools.product(*(range(k) for k, _, _ in axes))
    ]
    counts = count_dtype(len(views))
    guess = median | bit
    below = sum((view < guess).to(counts) for view in views)
    return torch.where(below <= (len(views) - 1) // 2, guess, median)


def pool_median_counts(x, windows, spatial, options) -> torch.Tensor:
    """The lower median of 8-bit windows without padding, each count one pass per tap over
    the taps' views (eager torch: no window is ever copied), in chunks of output rows that
    keep the working buffers within ``options.memory_limit``."""
    cells = math.prod(a.kernel for a in windows)
    half = (cells - 1) // 2
    counts = count_dtype(cells)
    # median, guess, below, one comparison and torch.where's result, per output
    per_output = 4 + counts.itemsize
    limit = min(options.memory_limit, CHUNK_BYTES)
    rows = rows_within(x, windows, spatial, per_output, limit)
    counted = keys(x)
    parts = []
    for r0 in range(0, windows[0].out, rows):
        views = tap_views(counted, windows, spatial, r0, min(windows[0].out, r0 + rows))
        shape = views[0].shape
        median = torch.zeros(shape, dtype=torch.uint8, device=x.device)
        below = torch.empty(shape, dtype=counts, device=x.device)
        hit = torch.empty(shape, dtype=torch.bool, device=x.device)
        for bit in BITS:
            guess = median | bit
            below.zero_()
            for view in views:
                torch.lt(view, guess, out=hit)
                below += hit
            median = torch.where(below <= half, guess, median)
        parts.append(values(median, x.dtype))
    return torch.cat(parts, dim=spatial[0]) if len(parts) > 1 else parts[0]
