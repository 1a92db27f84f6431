"""A plain-loop pooling reference that shares no code with poolcli.

Everything here is written from the contract (CONTRACT.md) and torch's documented rules, with
numpy and Python loops over the windows, in float64 or exact Python integers. The tests trust
it because ``test_reference.py`` checks it against ``torch.nn.functional`` wherever torch can
express the case; it must never import poolcli.

Arrays are ``(N, C, *spatial)`` with one to three spatial axes. Per-axis values are tuples in
axis order; ``pads`` is one ``(begin, end)`` pair per spatial axis.

Window rules (per axis)
-----------------------
* window ``i`` covers input cells ``i * stride - pad_begin + j * dilation``, ``j < kernel``;
* cells in ``[0, size)`` are real; cells in ``[-pad_begin, 0)`` and ``[size, size + pad_end)``
  are padding; cells at or past ``size + pad_end`` exist only because of ceil mode;
* padding never wins max/min/median/mode and counts for avg only with ``count_include_pad``;
  ceil-mode cells never count (torch's divisor rule);
* ``out = floor_or_ceil((size + pb + pe - (d*(k-1)+1)) / s) + 1``; in ceil mode a last window
  that starts at or after ``size + pb`` (padded coordinates) is dropped.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from fractions import Fraction

import numpy as np

REDUCTIONS = ("max", "avg", "min", "sum", "lp", "median", "stochastic", "mode", "gem")


# ----------------------------------------------------------------------------- arithmetic


def out_length(size, kernel, stride, pad_begin=0, pad_end=0, dilation=1, ceil_mode=False):
    """Number of windows along one axis; ``None`` when the kernel does not fit at all."""
    reach = dilation * (kernel - 1) + 1
    room = size + pad_begin + pad_end - reach
    if room < 0:
        return None
    if ceil_mode:
        out = math.ceil(room / stride) + 1
        if (out - 1) * stride >= size + pad_begin:
            out -= 1
    else:
        out = math.floor(room / stride) + 1
    return out


def same_pads(size, kernel, stride=1, dilation=1):
    """TensorFlow SAME_UPPER: output ceil(size/stride), the odd padding cell at the end."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return (total // 2, total - total // 2)


def adaptive_edges(size, out):
    """torch's adaptive bins: [floor(i*size/out), ceil((i+1)*size/out))."""
    return [
        (math.floor(Fraction(i * size, out)), math.ceil(Fraction((i + 1) * size, out)))
        for i in range(out)
    ]


def _axis_windows(size, kernel, stride, pad_begin, pad_end, dilation, ceil_mode):
    """Per output index: (real cell indices, number of cells that count with include-pad)."""
    out = out_length(size, kernel, stride, pad_begin, pad_end, dilation, ceil_mode)
    if out is None:
        raise ValueError("kernel larger than the padded input")
    windows = []
    for i in range(out):
        cells = [i * stride - pad_begin + j * dilation for j in range(kernel)]
        real = [c for c in cells if 0 <= c < size]
        counted = [c for c in cells if -pad_begin <= c < size + pad_end]
        windows.append((real, len(counted)))
    return windows


# ----------------------------------------------------------------------------- reductions


def _is_float(dtype):
    return np.dtype(dtype).kind == "f"


def _exact(values):
    """Python numbers: ints for integer/bool input (exact), floats otherwise."""
    if values.dtype.kind in "iub":
        return [int(v) for v in values.tolist()]
    return [float(v) for v in values.astype(np.float64).tolist()]


def _fsum(numbers):
    """Correctly rounded float sum; inf - inf is NaN as in IEEE arithmetic."""
    numbers = list(numbers)
    try:
        return math.fsum(numbers)
    except (ValueError, OverflowError):
        return float(np.sum(np.asarray(numbers, dtype=np.float64)))


def _has_nan(numbers):
    return any(isinstance(v, float) and math.isnan(v) for v in numbers)


def _reduce(values, counted, reduction, count_include_pad, norm_type):
    """Reduce the real cells ``values`` (1-D array, input dtype) of one window."""
    nums = _exact(values)
    if not nums:
        raise ValueError("a window with no real cell")
    nan = _has_nan(nums)
    if reduction in ("max", "min"):
        if nan:
            return math.nan
        return max(nums) if reduction == "max" else min(nums)
    if reduction == "median":
        if nan:
            return math.nan
        return sorted(nums)[(len(nums) - 1) // 2]
    if reduction == "mode":
        counts = Counter(nums)
        best = max(counts.values())
        return min(v for v, c in counts.items() if c == best)
    if reduction == "sum":
        if isinstance(nums[0], int):
            return sum(nums)
        return math.nan if nan else _fsum(nums)
    if reduction == "avg":
        divisor = counted if count_include_pad else len(nums)
        if isinstance(nums[0], int):
            return float(Fraction(sum(nums), divisor))
        return math.nan if nan else _fsum(nums) / divisor
    if reduction == "lp":
        if nan:
            return math.nan
        p = float(norm_type)
        return _fsum(abs(v) ** p for v in nums) ** (1.0 / p)
    if reduction == "gem":
        # Generalized mean (GeM): (mean of x^p)^(1/p), the mean's divisor as avg's.
        if nan:
            return math.nan
        p = float(norm_type)
        divisor = counted if count_include_pad else len(nums)
        return (_fsum(float(v) ** p for v in nums) / divisor) ** (1.0 / p)
    if reduction == "stochastic":
        if nan:
            return math.nan
        if isinstance(nums[0], int):
            total = sum(nums)
            return 0.0 if total == 0 else float(Fraction(sum(v * v for v in nums), total))
        total = _fsum(nums)
        return 0.0 if total == 0 else _fsum(v * v for v in nums) / total
    raise ValueError(f"unknown reduction {reduction!r}")


def result_dtype(reduction, dtype):
    """The dtype the reference returns (not the engine's rule: values only)."""
    dtype = np.dtype(dtype)
    if reduction in ("max", "min", "median", "mode"):
        return dtype if not _is_float(dtype) else np.dtype(np.float64)
    if reduction == "sum" and dtype.kind in "iub":
        return np.dtype(object)  # Python ints: exact even past int64
    return np.dtype(np.float64)


def _pool_with(x, reduction, per_axis, count_include_pad, norm_type, missing=None):
    """Loop over the product of per-axis windows.

    ``missing``: ``(used, empty)``: which cells count (bool, shaped as ``x``) and the value of
    a window left with none; the others are left out as padding is (see :func:`kept_cells`).
    """
    x = np.asarray(x)
    n, c = x.shape[:2]
    out_shape = tuple(len(w) for w in per_axis)
    dtype = result_dtype(reduction, x.dtype)
    if missing is not None and dtype.kind in "iu" and not float(missing[1]).is_integer():
        dtype = np.dtype(np.float64)
    out = np.empty((n, c, *out_shape), dtype=dtype)
    used = np.ones(x.shape, dtype=bool) if missing is None else missing[0]
    for idx in itertools.product(*(range(len(w)) for w in per_axis)):
        reals = [per_axis[a][i][0] for a, i in enumerate(idx)]
        counted = math.prod(per_axis[a][i][1] for a, i in enumerate(idx))
        where = (slice(None), slice(None), *np.ix_(*reals))
        block = (x[where] if reals else x).reshape(n, c, -1)
        keep = (used[where] if reals else used).reshape(n, c, -1)
        for b in range(n):
            for ch in range(c):
                values = block[b, ch][keep[b, ch]]
                if not values.size:
                    out[(b, ch, *idx)] = missing[1]
                    continue
                # Left-out cells are not counted, padding still is with count_include_pad.
                divisor = counted - (keep.shape[-1] - values.size)
                out[(b, ch, *idx)] = _reduce(
                    values, divisor, reduction, count_include_pad, norm_type
                )
    return out


def kept_cells(x, nan="propagate", nodata=None, mask=None):
    """Which cells of ``x`` (N, C, *spatial) count, and what a window without any gives.

    ``nan="omit"`` leaves NaN out, ``nodata`` leaves cells equal to it out, ``mask`` (the
    spatial shape) leaves its zero cells out. An empty window gives ``nodata``, else NaN.
    """
    x = np.asarray(x)
    used = np.ones(x.shape, dtype=bool)
    if nan == "omit" and x.dtype.kind == "f":
        used &= ~np.isnan(x)
    if nodata is not None:
        used &= ~np.isnan(x) if math.isnan(nodata) else x != nodata
    if mask is not None:
        used &= np.broadcast_to(np.asarray(mask) != 0, x.shape)
    empty = nodata if nodata is not None else math.nan
    return used, empty


def window_cells(x, kernel, stride=None, pads=None, dilation=None, ceil_mode=False):
    """The real cells of every window: a dict ``out index -> (N, C, m) array``.

    For checks that cannot be written as one value per window (stochastic samples).
    """
    x = np.asarray(x)
    per_axis = _sliding(x.shape, kernel, stride, pads, dilation, ceil_mode)
    n, c = x.shape[:2]
    cells = {}
    for idx in itertools.product(*(range(len(w)) for w in per_axis)):
        reals = [per_axis[a][i][0] for a, i in enumerate(idx)]
        cells[idx] = x[(slice(None), slice(None), *np.ix_(*reals))].reshape(n, c, -1)
    return cells


def _normalise(shape, kernel, stride, pads, dilation):
    """Per-axis tuples for ``(N, C, *spatial)`` of ``shape``; ``pads`` may be ``"same"``."""
    nd = len(shape) - 2
    if not 1 <= nd <= 3:
        raise ValueError("expected (N, C, *spatial) with 1 to 3 spatial axes")

    def tup(v, default):
        v = default if v is None else v
        v = (v,) * nd if isinstance(v, int) else tuple(v)
        if len(v) == 1:
            v = v * nd
        if len(v) != nd:
            raise ValueError(f"{v} does not have {nd} values")
        return v

    kernel = tup(kernel, None)
    stride = tup(stride, kernel)
    dilation = tup(dilation, 1)
    if isinstance(pads, str):
        if pads == "valid":
            pads = ((0, 0),) * nd
        elif pads == "same":
            pads = tuple(
                same_pads(shape[2 + a], kernel[a], stride[a], dilation[a]) for a in range(nd)
            )
        else:
            raise ValueError(pads)
    elif pads is None:
        pads = ((0, 0),) * nd
    elif isinstance(pads, int):
        pads = ((pads, pads),) * nd
    else:
        pads = tuple((p, p) if isinstance(p, int) else tuple(p) for p in pads)
        if len(pads) == 1:
            pads = pads * nd
    if len(pads) != nd:
        raise ValueError(f"{pads} does not have {nd} pairs")
    return kernel, stride, pads, dilation


def _sliding(shape, kernel, stride, pads, dilation, ceil_mode):
    kernel, stride, pads, dilation = _normalise(shape, kernel, stride, pads, dilation)
    return [
        _axis_windows(shape[2 + a], kernel[a], stride[a], *pads[a], dilation[a], ceil_mode)
        for a in range(len(shape) - 2)
    ]


# ----------------------------------------------------------------------------- public API


def reference_pool(
    x,
    reduction,
    kernel,
    stride=None,
    pads=None,
    dilation=None,
    ceil_mode=False,
    count_include_pad=False,
    norm_type=2.0,
    missing=None,
):
    """Sliding-window pooling of ``x`` shaped ``(N, C, *spatial)``.

    ``kernel``, ``stride`` (default: kernel), ``dilation`` (default 1): an int or one per
    spatial axis. ``pads``: an int, one int per axis, one ``(begin, end)`` per axis, or
    ``"same"``. ``reduction``: one of :data:`REDUCTIONS`; ``"stochastic"`` gives the
    expectation Σx²/Σx. ``missing``: ``kept_cells(x, ...)`` to leave cells out (missing
    data). Returns float64 for floats and for avg/lp/stochastic, the input dtype
    for max/min/median/mode on integers, Python ints (object array) for integer sums.
    """
    x = np.asarray(x)
    per_axis = _sliding(x.shape, kernel, stride, pads, dilation, ceil_mode)
    return _pool_with(x, reduction, per_axis, count_include_pad, norm_type, missing)


def reference_adaptive(x, reduction, output_size, norm_type=2.0, missing=None):
    """Adaptive pooling with torch's bins; no padding, so avg divides by the bin size."""
    x = np.asarray(x)
    nd = x.ndim - 2
    outs = (output_size,) * nd if isinstance(output_size, int) else tuple(output_size)
    if len(outs) == 1:
        outs = outs * nd
    per_axis = []
    for a in range(nd):
        edges = adaptive_edges(x.shape[2 + a], outs[a])
        per_axis.append([(list(range(s, e)), e - s) for s, e in edges])
    return _pool_with(x, reduction, per_axis, False, norm_type, missing)


def reference_global(x, reduction, norm_type=2.0, missing=None):
    """One window over every spatial axis; spatial sizes become 1."""
    x = np.asarray(x)
    per_axis = [[(list(range(size)), size)] for size in x.shape[2:]]
    return _pool_with(x, reduction, per_axis, False, norm_type, missing)


# ----------------------------------------------------------------------------- RGBA images


def reference_pool_rgba(
    x,
    reduction,
    kernel,
    stride=None,
    pads=None,
    dilation=None,
    ceil_mode=False,
    count_include_pad=False,
    norm_type=2.0,
    missing=None,
):
    """Sliding-window pooling of an image whose last channel is straight alpha, by the rule
    that a transparent cell (alpha 0) lends no colour to its window.

    ``missing`` (``kept_cells(x, ...)``): cells that do not count are left out of each
    channel first (a window with none left gives the empty value); the rule below then
    applies to the cells left, a window with cells left but none visible giving colour 0. A
    cell whose alpha is left out leaves its colour out too.

    The averaging reductions (avg, sum, lp, stochastic's expectation) reduce colour x w, with
    w = alpha / (the dtype's largest value; 1 for floats), and divide that by the same
    reduction of w (sum does not divide); the colour is 0 where that is 0. The order-based
    ones (max, min, median, mode) reduce the colour of the window's cells whose alpha is not
    0, and give 0 where there is none. Alpha is reduced as any channel. Returns float64.
    """
    x = np.asarray(x)
    per_axis = _sliding(x.shape, kernel, stride, pads, dilation, ceil_mode)
    n, c = x.shape[:2]
    scale = 1.0 if _is_float(x.dtype) else float(np.iinfo(x.dtype).max)
    out = np.empty((n, c, *(len(w) for w in per_axis)), dtype=np.float64)
    used = np.ones(x.shape, dtype=bool) if missing is None else missing[0]
    for idx in itertools.product(*(range(len(w)) for w in per_axis)):
        reals = [per_axis[a][i][0] for a, i in enumerate(idx)]
        counted = math.prod(per_axis[a][i][1] for a, i in enumerate(idx))
        where = (slice(None), slice(None), *np.ix_(*reals))
        block = x[where].reshape(n, c, -1)
        keep = used[where].reshape(n, c, -1)
        for b in range(n):
            for ch in range(c):
                # A cell whose alpha is left out has no weight: its colour is left out too.
                kept = keep[b, ch] & keep[b, -1]
                if not kept.any():
                    out[(b, ch, *idx)] = missing[1]
                    continue
                # Left-out cells are not counted, padding still is with count_include_pad.
                rule = (counted - (~kept).sum(), reduction, count_include_pad, norm_type)
                if ch == c - 1:
                    out[(b, ch, *idx)] = _reduce(block[b, ch][kept], *rule)
                else:
                    alpha = block[b, -1][kept]
                    out[(b, ch, *idx)] = _colour_of(block[b, ch][kept], alpha, scale, rule)
    return out


def _colour_of(colour, alpha, scale, rule):
    """One colour channel of one window under the alpha rule."""
    reduction = rule[1]
    if reduction == "gem":
        # The alpha-weighted generalized mean: (Σ x^p w / Σ w)^(1/p).
        p = float(rule[3])
        weight = alpha.astype(np.float64) / scale
        average = (rule[0], "avg", *rule[2:])
        total = _reduce(weight, *average)
        pooled = _reduce(colour.astype(np.float64) ** p * weight, *average)
        return (pooled / total) ** (1 / p) if total > 0 else 0.0
    if reduction in ("avg", "sum", "lp", "stochastic"):
        weight = alpha.astype(np.float64) / scale
        pooled = _reduce(colour.astype(np.float64) * weight, *rule)
        if reduction == "sum":
            return pooled
        total = _reduce(weight, *rule)
        return pooled / total if total > 0 else 0.0
    shown = colour[alpha != 0]
    return _reduce(shown, *rule) if shown.size else 0.0


def reference_pixel_mode(x, kernel, stride=None, pads=None, dilation=None, ceil_mode=False):
    """Mode of whole pixels: for every window, the most frequent tuple of channel values among
    its real cells (ties: the smallest tuple, comparing channels in order), for ``x`` shaped
    ``(N, C, *spatial)``. Returns ``x``'s dtype."""
    x = np.asarray(x)
    per_axis = _sliding(x.shape, kernel, stride, pads, dilation, ceil_mode)
    n, c = x.shape[:2]
    out = np.empty((n, c, *(len(w) for w in per_axis)), dtype=x.dtype)
    for idx in itertools.product(*(range(len(w)) for w in per_axis)):
        reals = [per_axis[a][i][0] for a, i in enumerate(idx)]
        block = x[(slice(None), slice(None), *np.ix_(*reals))].reshape(n, c, -1)
        for b in range(n):
            counts = Counter(zip(*(_exact(block[b, ch]) for ch in range(c))))
            best = max(counts.values())
            out[(b, slice(None), *idx)] = min(p for p, k in counts.items() if k == best)
    return out


# ----------------------------------------------------------------------------- indices and variants


def reference_indices(x, reduction, kernel, stride=None, pads=None, dilation=None, ceil_mode=False):
    """Per window of max or min, the flat row-major position of its winner in its plane: the
    first real cell in window order holding the result; a NaN wins, the last one (torch's
    kernels replace the winner at every NaN)."""
    x = np.asarray(x)
    per_axis = _sliding(x.shape, kernel, stride, pads, dilation, ceil_mode)
    n, c = x.shape[:2]
    spatial = x.shape[2:]
    out = np.empty((n, c, *(len(w) for w in per_axis)), dtype=np.int64)
    for idx in itertools.product(*(range(len(w)) for w in per_axis)):
        cells = list(itertools.product(*(per_axis[a][i][0] for a, i in enumerate(idx))))
        for b, ch in itertools.product(range(n), range(c)):
            values = _exact(np.array([x[(b, ch, *cell)] for cell in cells], dtype=x.dtype))
            nan = [k for k, v in enumerate(values) if isinstance(v, float) and math.isnan(v)]
            pick = max if reduction == "max" else min
            best = nan[-1] if nan else values.index(pick(values))
            out[(b, ch, *idx)] = np.ravel_multi_index(cells[best], spatial)
    return out


def reference_unpool(values, indices, spatial):
    """torch MaxUnpool: zeros of ``(N, C, *spatial)``, each value put at its plane index."""
    values, indices = np.asarray(values), np.asarray(indices)
    n, c = values.shape[:2]
    out = np.zeros((n, c, math.prod(spatial)), dtype=values.dtype)
    for b, ch in itertools.product(range(n), range(c)):
        for v, i in zip(values[b, ch].ravel().tolist(), indices[b, ch].ravel().tolist()):
            out[b, ch, i] = v
    return out.reshape(n, c, *spatial)


def reference_blurpool(x, kernel, stride, filter_size, pads=None, dilation=None):
    """antialiased-cnns' MaxPool(stride 1) + BlurPool(stride): the binomial filter
    (rows of Pascal's triangle) with reflect padding (size - 1) // 2 at each end, sampled every
    ``stride`` cells from the first."""
    maxed = reference_pool(x, "max", kernel, 1, pads, dilation).astype(np.float64)
    taps = np.array([math.comb(filter_size - 1, j) for j in range(filter_size)], float)
    taps /= taps.sum()
    nd = maxed.ndim - 2
    stride = (stride,) * nd if isinstance(stride, int) else tuple(stride)
    half = (filter_size - 1) // 2
    for a in range(nd):
        size = maxed.shape[2 + a]
        reflect = [abs(j) if j < size else 2 * (size - 1) - j for j in range(-half, size + half)]
        starts = range(0, size, stride[a])
        moved = np.moveaxis(maxed, 2 + a, -1)
        blurred = np.zeros((*moved.shape[:-1], len(starts)))
        for o, s in enumerate(starts):
            for j in range(filter_size):
                blurred[..., o] += taps[j] * moved[..., reflect[s + j]]
        maxed = np.moveaxis(blurred, -1, 2 + a)
    return maxed


def fractional_starts(size, out, kernel, u):
    """torch's generate_intervals in float32 (numpy scalars): where each window starts."""
    f = np.float32
    if out == 1:
        return [size - kernel]
    alpha = f(size - kernel) / f(out - 1)
    u = f(u)
    first = [int(f(f(i) + u) * alpha) - int(u * alpha) for i in range(out - 1)]
    return [*first, size - kernel]


def reference_fractional(x, reduction, kernel, out, samples):
    """Fractional pooling with one sample per axis (axis order), every plane alike."""
    x = np.asarray(x)
    nd = x.ndim - 2
    kernel = (kernel,) * nd if isinstance(kernel, int) else tuple(kernel)
    out = (out,) * nd if isinstance(out, int) else tuple(out)
    per_axis = []
    for a in range(nd):
        starts = fractional_starts(x.shape[2 + a], out[a], kernel[a], samples[a])
        per_axis.append([(list(range(s, s + kernel[a])), kernel[a]) for s in starts])
    return _pool_with(x, reduction, per_axis, False, 2.0)


def reference_spp(x, reduction, levels):
    """SPP: every adaptive level flattened per channel, concatenated in the given order."""
    x = np.asarray(x)
    n, c = x.shape[:2]
    parts = [reference_adaptive(x, reduction, level).reshape(n, c, -1) for level in levels]
    return np.concatenate(parts, axis=-1)
