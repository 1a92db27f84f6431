"""Arrays and windows as the pictures need them: numpy views in canonical order, value ranges,
block averages for display, and where each window lies.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from poolcli.model.layout import Layout
from poolcli.model.window import AxisWindow


def _numpy(array) -> np.ndarray:
    """A numpy array from a numpy array or a torch tensor (without importing torch)."""
    if type(array).__module__.split(".")[0] == "torch":
        t = array.detach().cpu()
        if str(t.dtype) == "torch.bfloat16":
            t = t.float()
        return t.numpy()
    return np.asarray(array)


def _canonical(array: np.ndarray, layout: Layout) -> np.ndarray:
    """A (N, C, *spatial) view of ``array`` laid out as ``layout``."""
    if array.ndim != len(layout.letters):
        raise ValueError(f"array of shape {array.shape} does not match layout {layout}")
    return layout.canonical(array)


def _finite_range(fields: Sequence[np.ndarray]) -> tuple[float, float] | None:
    """Smallest and largest finite value over ``fields`` (None when there is none)."""
    lows, highs = [], []
    for f in fields:
        if f.size == 0:
            continue
        if f.dtype.kind == "b":
            f = f.astype(np.uint8)
        if f.dtype.kind == "f":
            finite = np.isfinite(f)
            if not finite.all():
                f = f[finite]
                if f.size == 0:
                    continue
        lows.append(f.min())
        highs.append(f.max())
    if not lows:
        return None
    return float(min(lows)), float(max(highs))


def _integral(fields: Sequence[np.ndarray]) -> bool:
    return all(f.dtype.kind in "biu" for f in fields)


def _reduce_for_display(values: np.ndarray, box_w: int, box_h: int) -> np.ndarray:
    """Block-average ``values`` (h, w[, c]) when it has at least twice the box's pixels."""
    h, w = values.shape[:2]
    step = min(h // max(box_h, 1), w // max(box_w, 1))
    if step < 2:
        return values
    h2, w2 = h // step * step, w // step * step
    # A sum of strided views: one pass per offset, in float32 (float64 kept), much faster
    # than a mean over a reshaped array on a large photo.
    dtype = np.float64 if values.dtype == np.float64 else np.float32
    total = np.zeros((h2 // step, w2 // step, *values.shape[2:]), dtype=dtype)
    for dy in range(step):
        for dx in range(step):
            total += values[dy:h2:step, dx:w2:step]
    total /= step * step
    return total


def _disjoint(axis: AxisWindow) -> bool:
    """True when the windows along ``axis`` do not share cells."""
    if axis.bins is not None:
        return all(a[1] <= b[0] for a, b in zip(axis.bins, axis.bins[1:]))
    return axis.out == 1 or axis.stride >= axis.effective_kernel


def _span(axis: AxisWindow, i: int) -> tuple[int, int]:
    """First and last cell (padding included) of window ``i``."""
    cells = axis.cells(i)
    return min(cells), max(cells)


def _centres(axis: AxisWindow) -> np.ndarray:
    """The centre of every window along ``axis`` (padding included), in input cells."""
    if axis.bins is not None:
        return np.array([(start + end - 1) / 2 for start, end in axis.bins], dtype=np.float64)
    starts = np.arange(axis.out, dtype=np.float64) * axis.stride - axis.pad_begin
    return starts + (axis.effective_kernel - 1) / 2


def _tap_cell(axis: AxisWindow, i: int, tap: int) -> int | None:
    cells = axis.cells(i)
    return cells[tap] if tap < len(cells) else None


def _spread(count: int, wanted: int) -> list[int]:
    """Up to ``wanted`` indices spread evenly over ``range(count)``, ends included."""
    if count <= wanted:
        return list(range(count))
    return sorted({round(k * (count - 1) / (wanted - 1)) for k in range(wanted)})


def _layout_of(winners) -> Layout:
    """Winners come as (N, C, *out)."""
    ndim = _numpy(winners).ndim
    return Layout("NC" + "DHW"[3 - (ndim - 2) :])
