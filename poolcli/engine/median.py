"""Medians of windows without padding through a selection network of elementwise min/max."""

from __future__ import annotations

import functools
import itertools
import math

import torch


@functools.cache
def median_network(cells: int) -> tuple[tuple[int, int, bool, bool], ...]:
    """Compare-exchange steps that leave the lower median of ``cells`` values at its place.

    Batcher's odd-even merge sort for the next power of two (missing inputs act as +inf, so
    their comparators drop out), pruned backwards to the steps the median depends on. Each
    step is ``(a, b, keep_min, keep_max)``: which of its two outputs a later step reads.
    """
    size = 1 << max(cells - 1, 0).bit_length()
    pairs = []
    p = 1
    while p < size:
        k = p
        while k >= 1:
            for j in range(k % p, size - k, 2 * k):
                for i in range(min(k, size - j - k)):
                    if (i + j) // (2 * p) == (i + j + k) // (2 * p) and i + j + k < cells:
                        pairs.append((i + j, i + j + k))
            k //= 2
        p *= 2
    needed = {(cells - 1) // 2}
    steps = []
    for a, b in reversed(pairs):
        if a in needed or b in needed:
            steps.append((a, b, a in needed, b in needed))
            needed |= {a, b}
    return tuple(reversed(steps))


def tap_views(x, windows, spatial, r0: int, r1: int) -> list[torch.Tensor]:
    """The views of ``x`` that the taps of windows without padding read, for output rows
    ``r0:r1`` along the first spatial axis (all of the others), one per tap in window order."""
    views = []
    for tap in itertools.product(*(range(a.kernel) for a in windows)):
        index = [slice(None)] * x.dim()
        for axis_index, axis, j in zip(spatial, windows, tap):
            lo, hi = (r0, r1) if axis_index == spatial[0] else (0, axis.out)
            start = lo * axis.stride + j * axis.dilation
            index[axis_index] = slice(start, start + (hi - lo - 1) * axis.stride + 1, axis.stride)
        views.append(x[tuple(index)])
    return views


def rows_within(x, windows, spatial, bytes_per_output: int, limit: int) -> int:
    """How many output rows (along the first spatial axis) keep ``bytes_per_output`` per
    output within ``limit`` bytes (at least one)."""
    rest = math.prod(a.out for a in windows[1:]) * math.prod(
        x.shape[i] for i in range(x.dim()) if i not in spatial
    )
    return max(1, limit // max(rest * bytes_per_output, 1))


def pool_median_taps(x, windows, spatial, options) -> torch.Tensor:
    """Median of windows that hold no padding, from the tap views through a selection network
    of elementwise minimum/maximum: no window is ever gathered or sorted."""
    network = median_network(math.prod(a.kernel for a in windows))
    first = spatial[0]
    # At most every tap materialised at once, for one chunk of output rows.
    per_output = x.element_size() * math.prod(a.kernel for a in windows)
    rows = rows_within(x, windows, spatial, per_output, options.memory_limit)
    parts = []
    for r0 in range(0, windows[0].out, rows):
        taps = tap_views(x, windows, spatial, r0, min(windows[0].out, r0 + rows))
        for a, b, keep_min, keep_max in network:
            low = torch.minimum(taps[a], taps[b]) if keep_min else None
            high = torch.maximum(taps[a], taps[b]) if keep_max else None
            taps[a], taps[b] = low, high
        median = taps[(len(taps) - 1) // 2]
        parts.append(median if network else median.clone())  # never a view of the input
    return torch.cat(parts, dim=first) if len(parts) > 1 else parts[0]
