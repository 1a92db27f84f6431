"""The pooling engine: every reduction over every windowing, exactly, with torch doing the sums.

Entry point: :func:`pool_array` (numpy array or torch tensor in any layout) and
:func:`pool_tensor` (a torch tensor, same result type). Windows come resolved from
:func:`poolcli.model.window.resolve`, so the size arithmetic lives in one place.

Paths, chosen per call and proven equal to each other in the tests:

``taps``
    Sliding windows with few taps (max, min, sum, avg, lp; median of windows without padding,
    through a selection network of elementwise min/max). The output
    is built one kernel tap at a time from strided views of the input, clipped at the borders,
    so padding needs no padded copy and the input keeps its own layout (an HWC image is pooled
    in place). Non-overlapping 2x2 max on a large float image runs about five times faster than
    ``F.max_pool2d`` this way, and uint8 images gain more.
``torch``
    torch's own kernels (max and avg on float tensors, within torch's padding limits) where
    they beat the taps: strided averages over more than 4 taps, max with more than
    ``TAP_LIMIT`` taps, and adaptive max/avg.
``global``
    One window over all spatial axes: a plain reduction over those axes.
``gather``
    Everything else (median, mode, stochastic sampling, adaptive bins for the other
    reductions, very large kernels): windows are gathered into a trailing axis and reduced,
    one chunk of output rows at a time so extra memory stays under ``memory_limit``.

Integer inputs stay exact: sums accumulate in int64 (overflow is refused, never wrapped),
uint16/uint32 are widened, uint64 is mapped order-preservingly onto int64 for the
order-based reductions, and bool is pooled as uint8.
"""

from __future__ import annotations

import functools
import itertools
import math
import warnings
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from poolcli.errors import PoolError, UsageError
from poolcli.model.layout import Layout
from poolcli.model.reductions import Reduction
from poolcli.model.window import AxisWindow

#: Sliding windows with at most this many taps take the ``taps`` path (measured: taps beat
#: gather and torch's max up to 8x8; benchmarks/README.md).
TAP_LIMIT = 64
#: Medians of windows without padding and at most this many taps use a selection network.
MEDIAN_TAP_LIMIT = 27

FLOAT_DTYPES = {
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
    "float64": torch.float64,
}
_UINT64_FLIP = np.uint64(1 << 63)
_PATHS = ("auto", "taps", "torch", "global", "gather")


# --------------------------------------------------------------------------------------
# Devices and dtypes


def resolve_device(name: str) -> torch.device:
    """``auto`` -> a GPU when torch sees one, else the CPU; an absent device is a usage error."""
    name = (name or "auto").lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UsageError(
            f"--device {name} is not a device: use cpu, cuda, mps or auto.", option="--device"
        ) from None
    present = {
        "cpu": True,
        "cuda": torch.cuda.is_available()
        and (device.index is None or device.index < torch.cuda.device_count()),
        "mps": getattr(torch.backends, "mps", None) is not None
        and torch.backends.mps.is_available(),
    }.get(device.type, False)
    if not present:
        raise UsageError(
            f"--device {name} is not available on this machine (torch sees no such device). "
            "Use --device cpu or --device auto.",
            option="--device",
        )
    return device


def output_dtype(input_dtype: torch.dtype | np.dtype, reduction: Reduction, dtype: str | None):
    """The output's numpy dtype for ``reduction`` of an input of ``input_dtype``."""
    in_np = _numpy_dtype(input_dtype)
    if reduction.info.order_based:
        return in_np
    if reduction is Reduction.SUM:
        return in_np if in_np.kind == "f" or in_np == _BF16 else np.dtype(np.int64)
    if in_np.kind == "f" or in_np == _BF16:
        return in_np
    return _numpy_dtype(FLOAT_DTYPES[dtype or "float32"])


_BF16 = object()  # numpy has no bfloat16; tensors of it are handled as torch dtypes


def _numpy_dtype(dtype):
    if isinstance(dtype, torch.dtype):
        if dtype is torch.bfloat16:
            return _BF16
        return torch.empty((), dtype=dtype).numpy().dtype
    return np.dtype(dtype)


def _is_float(t: torch.dtype) -> bool:
    return t.is_floating_point


def _accumulator(dtype: torch.dtype, compute: str | None) -> torch.dtype:
    """Float type used for sums of squares, powers and means."""
    if compute is not None:
        chosen = FLOAT_DTYPES[compute]
        # Half precision accumulates in float32 whatever is asked for.
        return torch.float32 if chosen in (torch.float16, torch.bfloat16) else chosen
    return torch.float64 if dtype is torch.float64 else torch.float32


def _fill_low(dtype: torch.dtype):
    return -math.inf if _is_float(dtype) else torch.iinfo(dtype).min


def _fill_high(dtype: torch.dtype):
    return math.inf if _is_float(dtype) else torch.iinfo(dtype).max


# --------------------------------------------------------------------------------------
# numpy <-> torch


def _to_tensor(
    array, reduction: Reduction, compute: str | None = None
) -> tuple[torch.Tensor, Callable]:
    """A torch view (or exact widened copy) of ``array`` and the function that maps results back.

    torch cannot pool uint16/32/64 or bool, nor read big-endian or read-only arrays.
    """
    if isinstance(array, torch.Tensor):
        if array.dtype is torch.bool:
            return array.to(torch.uint8), _back_to(torch.bool, reduction)
        if array.dtype in (torch.uint16, torch.uint32, torch.uint64):
            device = array.device
            x, back = _to_tensor(array.cpu().numpy(), reduction)

            def back_to_tensor(t, back=back):
                out = back(t)
                if isinstance(out, np.ndarray):
                    out = torch.from_numpy(np.ascontiguousarray(out)).to(device)
                return out

            return x.to(device), back_to_tensor
        return array, lambda t: t
    array = np.asarray(array)
    if array.dtype.kind == "c":
        raise PoolError("holds complex numbers, which have no order or mean to pool by.")
    if array.dtype.kind not in "biuf":
        raise PoolError(f"holds values of type {array.dtype}, which cannot be pooled.")
    if not array.dtype.isnative:
        array = array.astype(array.dtype.newbyteorder("="))
    if any(stride < 0 for stride in array.strides):
        array = array.copy()  # torch cannot view negative strides
    kind, size = array.dtype.kind, array.dtype.itemsize
    if kind == "b":
        array = array.view(np.uint8)
        back = _back_to(np.bool_, reduction)
    elif kind == "u" and size == 8:
        if reduction.info.order_based:
            # Flipping the top bit maps uint64 order onto int64 order exactly.
            array = (array ^ _UINT64_FLIP).view(np.int64)
            back = _uint64_back
        elif reduction is Reduction.SUM:
            if array.size and int(array.max()) >= 2**63:
                raise PoolError(
                    "holds uint64 values of 2^63 or more; their sums do not fit in int64."
                )
            array = array.astype(np.int64)
            back = _identity
        else:
            # Exact to 2^53; the result still follows the integer rule (--dtype).
            array = array.astype(np.float64)
            result_dtype = FLOAT_DTYPES[compute or "float32"]

            def back(t):
                return t.to(result_dtype)
    elif kind == "u" and size in (2, 4):
        array = array.astype(np.int32 if size == 2 else np.int64)
        back = _back_to(np.dtype(f"u{size}"), reduction)
    else:
        back = _identity
    with warnings.catch_warnings():
        # Read-only inputs (memory-mapped files) are only ever read here.
        warnings.simplefilter("ignore", UserWarning)
        return torch.from_numpy(array), back


def _identity(t):
    return t


def _back_to(dtype, reduction: Reduction):
    if not reduction.info.order_based:
        return _identity

    def back(t):
        if isinstance(dtype, torch.dtype):
            return t.to(dtype)
        return t.cpu().numpy().astype(dtype)

    return back


def _uint64_back(t):
    return (t.cpu().numpy().view(np.uint64)) ^ _UINT64_FLIP


# --------------------------------------------------------------------------------------
# Entry points


def pool_array(
    array,
    reduction: Reduction,
    windows: Sequence[AxisWindow],
    layout: Layout,
    *,
    count_include_pad: bool = False,
    options=None,
    premultiplied_alpha: bool = False,
    path: str = "auto",
) -> tuple:
    """Pool ``array`` (numpy or torch, laid out as ``layout``); returns ``(numpy result, device)``.

    ``premultiplied_alpha``: the last channel is straight alpha; colour is weighted by it
    before pooling and divided by the pooled alpha afterwards.
    """
    from poolcli.model.options import PoolOptions

    options = options or PoolOptions()
    device = resolve_device(options.device)
    x, back = _to_tensor(array, reduction, options.dtype)
    x = x.to(device)
    if premultiplied_alpha:
        result = _pool_premultiplied(
            x, reduction, windows, layout, count_include_pad, options, path
        )
    else:
        result = pool_tensor(x, reduction, windows, layout, count_include_pad, options, path)
    result = back(result)
    if isinstance(result, torch.Tensor):
        if result.dtype is torch.bfloat16 and not isinstance(array, torch.Tensor):
            result = result.float()
        result = result.cpu().numpy() if not isinstance(array, torch.Tensor) else result
    if isinstance(result, np.ndarray):
        result = np.ascontiguousarray(result)
    return result, str(device)


def pool_tensor(
    x: torch.Tensor,
    reduction: Reduction,
    windows: Sequence[AxisWindow],
    layout: Layout,
    count_include_pad: bool = False,
    options=None,
    path: str = "auto",
) -> torch.Tensor:
    """Pool a tensor laid out as ``layout``, keeping the layout; dtypes follow the README rules.

    ``path`` forces one engine path (``taps``, ``torch``, ``global``, ``gather``) for tests;
    ``auto`` picks the fastest exact one.
    """
    from poolcli.model.options import PoolOptions

    options = options or PoolOptions()
    if path not in _PATHS:
        raise ValueError(f"unknown path {path!r}")
    reduction = Reduction(reduction)
    _check_values(x, reduction, options)
    spatial = layout.spatial_axes
    out_dtype = _torch_out_dtype(x.dtype, reduction, options.dtype)
    chosen = path if path != "auto" else _choose_path(x, reduction, windows, count_include_pad)
    if x.requires_grad and reduction.info.order_based:
        chosen = "gather"  # the one path whose gradient goes to a single winner per window
    _check_path(chosen, x, reduction, windows, count_include_pad)
    if chosen == "taps" and reduction is Reduction.MEDIAN:
        y = _pool_median_taps(x, windows, spatial, options)
    elif chosen == "taps":
        y = _pool_taps(x, reduction, windows, spatial, count_include_pad, options)
    else:
        # The other paths work on (N, C, *spatial).
        canonical = layout.canonical(x)
        if chosen == "torch":
            y = _pool_torch(canonical, reduction, windows, count_include_pad)
        elif chosen == "global":
            y = _pool_global(canonical, reduction, options)
        else:
            y = _pool_gather(canonical, reduction, windows, count_include_pad, options)
        y = layout.uncanonical(y)
    return y.to(out_dtype)


def window_winners(x, reduction, windows, layout: Layout, options=None) -> torch.Tensor:
    """For max, min, median, mode and stochastic sampling: which cell each window's result is.

    Returns an int64 tensor shaped ``(N, C, *out)`` holding, per window, the index of the
    winning cell in window order: row-major over the kernel taps (``AxisWindow.cells`` order;
    for adaptive pooling each axis has ``kernel`` = the longest bin's taps). Ties go to the first
    real cell holding the result.
    Same gather machinery and random numbers as the pooling itself, so it always agrees.
    """
    from poolcli.model.options import PoolOptions

    options = options or PoolOptions()
    x, _ = _to_tensor(x, Reduction(reduction))
    canonical = layout.canonical(x)
    return _pool_gather(canonical, Reduction(reduction), windows, False, options, winners=True)


def _check_path(path, x, reduction, windows, count_include_pad) -> None:
    """A forced path must be able to compute the reduction (tests force every path)."""
    adaptive = windows[0].bins is not None
    possible = {
        "taps": not adaptive
        and reduction in (Reduction.MAX, Reduction.MIN, Reduction.SUM, Reduction.AVG, Reduction.LP)
        or reduction is Reduction.MEDIAN
        and _median_taps_can(x, windows),
        "torch": _torch_can(x, reduction, windows, count_include_pad),
        "global": not adaptive
        and all(a.out == 1 and a.kernel == a.size and a.dilation == 1 for a in windows)
        and all(a.pad_begin == 0 for a in windows),
        "gather": True,
    }
    if not possible[path]:
        raise ValueError(f"the {path} path cannot compute {reduction} with these windows")


def _torch_out_dtype(dtype: torch.dtype, reduction: Reduction, compute: str | None) -> torch.dtype:
    if reduction.info.order_based:
        return dtype
    if reduction is Reduction.SUM:
        return dtype if _is_float(dtype) else torch.int64
    if _is_float(dtype):
        return dtype
    return FLOAT_DTYPES[compute or "float32"]


def _check_values(x: torch.Tensor, reduction: Reduction, options) -> None:
    if reduction is Reduction.STOCHASTIC and x.numel():
        lowest = x.min()
        if bool(torch.isnan(lowest)) if _is_float(x.dtype) else False:
            raise PoolError("holds NaN values; stochastic pooling needs non-negative numbers.")
        if lowest < 0:
            raise PoolError(
                f"holds negative values (down to {lowest.item():g}); stochastic pooling samples "
                "cells in proportion to their values, so every value must be 0 or more."
            )
    if reduction is Reduction.LP and not options.norm_type > 0:
        raise UsageError(
            f"--norm-type must be positive, got {options.norm_type:g}.", option="--norm-type"
        )


def _choose_path(x, reduction, windows, count_include_pad) -> str:
    adaptive = windows[0].bins is not None
    if not adaptive and all(
        a.out == 1 and a.kernel == a.size and a.dilation == 1 and a.pad_begin == 0 for a in windows
    ):
        return "global"
    tap_based = reduction in (
        Reduction.MAX,
        Reduction.MIN,
        Reduction.SUM,
        Reduction.AVG,
        Reduction.LP,
    )
    if reduction is Reduction.STOCHASTIC:
        tap_based = False  # sampling needs whole windows; expectation is routed below
    taps = math.prod(a.kernel for a in windows)
    if not adaptive and tap_based and taps <= TAP_LIMIT:
        strided_avg = reduction is Reduction.AVG and taps > 4 and all(a.stride > 1 for a in windows)
        if strided_avg and _torch_can(x, reduction, windows, count_include_pad):
            return "torch"  # measured 1.7-5.6x faster than the taps for strided averages
        return "taps"
    if reduction is Reduction.MEDIAN and _median_taps_can(x, windows):
        return "taps"
    if _torch_can(x, reduction, windows, count_include_pad):
        return "torch"
    return "gather"


def _median_taps_can(x, windows) -> bool:
    """The median network needs windows free of padding, few taps, and no NaN to propagate."""
    inside = all(
        a.bins is None
        and a.pad_begin == 0
        and (a.out - 1) * a.stride + a.effective_kernel <= a.size
        for a in windows
    )
    if not inside or math.prod(a.kernel for a in windows) > MEDIAN_TAP_LIMIT or x.requires_grad:
        return False
    return not (_is_float(x.dtype) and bool(x.isnan().any()))


def _torch_can(x, reduction, windows, count_include_pad) -> bool:
    """Whether torch's own kernels compute exactly this case."""
    if not _is_float(x.dtype) or x.dtype is torch.float16 and x.device.type == "cpu":
        return False
    if len(windows) > 3 or x.dim() - len(windows) > 2:
        return False
    if windows[0].bins is not None:
        return reduction in (Reduction.MAX, Reduction.AVG)
    symmetric = all(a.pad_begin == a.pad_end and a.pad_begin <= a.kernel // 2 for a in windows)
    if reduction is Reduction.MAX:
        return symmetric
    if reduction is Reduction.AVG:
        # torch's avg has no dilation, and its ceil-mode divisor matches poolcli's.
        return symmetric and all(a.dilation == 1 for a in windows)
    return False


# --------------------------------------------------------------------------------------
# taps path


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


@functools.cache
def _median_network(cells: int) -> tuple[tuple[int, int, bool, bool], ...]:
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


def _pool_median_taps(x, windows, spatial, options) -> torch.Tensor:
    """Median of windows that hold no padding, from the tap views through a selection network
    of elementwise minimum/maximum: no window is ever gathered or sorted."""
    network = _median_network(math.prod(a.kernel for a in windows))
    first = spatial[0]
    rest = math.prod(a.out for a in windows[1:]) * math.prod(
        x.shape[i] for i in range(x.dim()) if i not in spatial
    )
    # At most every tap materialised at once, for one chunk of output rows.
    per_row = rest * x.element_size() * math.prod(a.kernel for a in windows)
    rows = max(1, options.memory_limit // max(per_row, 1))
    parts = []
    for r0 in range(0, windows[0].out, rows):
        r1 = min(windows[0].out, r0 + rows)
        taps = []
        for tap in itertools.product(*(range(a.kernel) for a in windows)):
            index = [slice(None)] * x.dim()
            for axis_index, axis, j in zip(spatial, windows, tap):
                lo, hi = (r0, r1) if axis_index == first else (0, axis.out)
                start = lo * axis.stride + j * axis.dilation
                index[axis_index] = slice(
                    start, start + (hi - lo - 1) * axis.stride + 1, axis.stride
                )
            taps.append(x[tuple(index)])
        for a, b, keep_min, keep_max in network:
            low = torch.minimum(taps[a], taps[b]) if keep_min else None
            high = torch.maximum(taps[a], taps[b]) if keep_max else None
            taps[a], taps[b] = low, high
        median = taps[(len(taps) - 1) // 2]
        parts.append(median if network else median.clone())  # never a view of the input
    return torch.cat(parts, dim=first) if len(parts) > 1 else parts[0]


def _int_accumulator(x: torch.Tensor, cells: int) -> torch.dtype:
    """The narrowest integer type that holds sums of ``cells`` values of ``x`` exactly."""
    info = torch.iinfo(x.dtype)
    bound = max(abs(info.min), info.max) * cells
    for candidate in (torch.int16, torch.int32):
        if bound <= torch.iinfo(candidate).max:
            return candidate
    _guard_int_sum(x, cells)
    return torch.int64


def _guard_int_sum(x: torch.Tensor, cells: int) -> None:
    """Refuse integer sums that could leave int64 (poolcli never wraps)."""
    if x.dtype in (torch.int64,) and x.numel():
        biggest = max(abs(int(x.max())), abs(int(x.min())))
        if biggest * cells >= 2**63:
            raise PoolError(
                f"sums of up to {cells} cells of these int64 values could exceed the int64 range; "
                "convert the array to float64 to sum it."
            )


# --------------------------------------------------------------------------------------
# torch path


def _pool_torch(x, reduction, windows, count_include_pad) -> torch.Tensor:
    dims = len(windows)
    batch_shape = x.shape[:2]
    x = x.reshape(-1, *x.shape[2:]) if dims < 3 else x.reshape(-1, 1, *x.shape[2:])
    # torch's 1-D/2-D kernels take (C, *spatial); 3-D takes (N, C, D, H, W).
    if windows[0].bins is not None:
        size = tuple(a.out for a in windows)
        fn = {
            Reduction.MAX: (F.adaptive_max_pool1d, F.adaptive_max_pool2d, F.adaptive_max_pool3d),
            Reduction.AVG: (F.adaptive_avg_pool1d, F.adaptive_avg_pool2d, F.adaptive_avg_pool3d),
        }[reduction][dims - 1]
        y = fn(x, size)
    else:
        kernel = tuple(a.kernel for a in windows)
        stride = tuple(a.stride for a in windows)
        pad = tuple(a.pad_begin for a in windows)
        ceil = windows[0].ceil_mode
        if reduction is Reduction.MAX:
            fn = (F.max_pool1d, F.max_pool2d, F.max_pool3d)[dims - 1]
            y = fn(x, kernel, stride, pad, tuple(a.dilation for a in windows), ceil_mode=ceil)
        else:
            fn = (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d)[dims - 1]
            y = fn(x, kernel, stride, pad, ceil_mode=ceil, count_include_pad=count_include_pad)
    return y.reshape(*batch_shape, *y.shape[-dims:])


# --------------------------------------------------------------------------------------
# global path


def _pool_global(x, reduction, options) -> torch.Tensor:
    """One window over all spatial axes of ``x`` (N, C, *spatial), without copying the input."""
    n, c = x.shape[:2]
    dims = tuple(range(2, x.dim()))
    cells = math.prod(x.shape[2:])
    if reduction is Reduction.MAX:
        y = x.amax(dims)
    elif reduction is Reduction.MIN:
        y = x.amin(dims)
    elif reduction in (Reduction.SUM, Reduction.AVG) and not _is_float(x.dtype):
        _guard_int_sum(x, cells)
        y = x.sum(dims, dtype=torch.int64)
        if reduction is Reduction.AVG:
            y = y.to(torch.float64) / cells
    elif reduction in (Reduction.SUM, Reduction.AVG):
        y = x.sum(dims, dtype=_accumulator(x.dtype, options.dtype))
        if reduction is Reduction.AVG:
            y = y / cells
    else:
        # One channel at a time keeps the temporaries to a channel's size.
        y = torch.stack(
            [
                torch.stack(
                    [
                        _global_item(x[i, j].reshape(-1), reduction, options, i * c + j, n * c)
                        for j in range(c)
                    ]
                )
                for i in range(n)
            ]
        )
    return y.reshape(n, c, *([1] * len(dims)))


def _global_item(flat: torch.Tensor, reduction, options, item: int, items: int) -> torch.Tensor:
    """Reduce one channel's cells (1-D) for the reductions that need more than a plain sum."""
    if reduction is Reduction.LP:
        acc = _accumulator(flat.dtype, options.dtype)
        total = sum(
            block.to(acc).abs().pow(options.norm_type).sum()
            for block in flat.split(_block_cells(options))
        )
        return total.pow(1.0 / options.norm_type)
    if reduction is Reduction.MEDIAN:
        return flat.median()  # torch's median is the lower median and propagates NaN
    if reduction is Reduction.MODE:
        return _global_mode(flat)
    acc = _accumulator(flat.dtype, options.dtype)
    total = flat.sum(dtype=acc)
    if options.expectation:
        squares = sum(block.to(acc).square().sum() for block in flat.split(_block_cells(options)))
        return torch.where(total > 0, squares / torch.where(total > 0, total, 1), 0)
    noise = _uniform_noise(reduction, (items,), options)[item].to(flat.device)
    return _global_sample(flat, acc, noise, options)


def _block_cells(options) -> int:
    return max(1, options.memory_limit // 32)


def _global_mode(flat: torch.Tensor) -> torch.Tensor:
    if not _is_float(flat.dtype) and flat.element_size() <= 2:
        # Small integer types: count every value directly.
        low = int(flat.min())
        counts = torch.bincount((flat.to(torch.int32) - low).to(torch.int64))
        return (counts.argmax() + low).to(flat.dtype)
    values, counts = torch.unique(flat, return_counts=True)  # sorted, so ties pick the smallest
    if _is_float(flat.dtype) and bool(values.isnan().any()):
        nan = values.isnan()
        values = torch.cat([values[~nan], values[nan][:1]])
        counts = torch.cat([counts[~nan], counts[nan].sum().reshape(1)])
    return values[counts.argmax()]


def _global_sample(flat, acc, noise, options) -> torch.Tensor:
    """Sample one cell of ``flat`` with probability value / total, scanning in blocks.

    The running sums are the gather path's ``cumsum`` carried across blocks, so both paths
    pick the same cell.
    """
    blocks = flat.split(_block_cells(options))
    total = torch.zeros((), dtype=acc, device=flat.device)
    for block in blocks:
        total = block.to(acc).cumsum(0)[-1] + total
    if not total > 0:
        return torch.zeros((), dtype=acc, device=flat.device)
    threshold = noise.to(acc) * total
    seen = torch.zeros((), dtype=acc, device=flat.device)
    for block in blocks:
        cumulative = block.to(acc).cumsum(0) + seen
        if cumulative[-1] > threshold:
            index = torch.searchsorted(cumulative, threshold.reshape(1), right=True)
            return block[index.clamp(max=block.numel() - 1)].to(acc).reshape(())
        seen = cumulative[-1]
    positive = flat[flat > 0]
    return positive[-1].to(acc)


# --------------------------------------------------------------------------------------
# gather path


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


def _pool_gather(
    x, reduction, windows, count_include_pad, options, winners=False, pick=None
) -> torch.Tensor:
    """Gather every window into a trailing axis and reduce it, chunk by chunk.

    With ``winners``, return each window's winning tap instead of its value (see
    :func:`window_winners`); with ``pick`` (N, C, *out) tap indices, return those taps' values.
    """
    n, c = x.shape[:2]
    out_spatial = [a.out for a in windows]
    out_dtype = (
        torch.int64
        if winners
        else x.dtype
        if pick is not None
        else _gather_dtype(x.dtype, reduction, options)
    )
    y = torch.empty((n, c, *out_spatial), dtype=out_dtype, device=x.device)
    cells = math.prod(a.kernel for a in windows)
    per_window_bytes = cells * (3 * x.element_size() + 8 + 2) + 64
    windows_per_chunk = max(1, options.memory_limit // per_window_bytes)
    rest = math.prod(out_spatial[1:])
    fill = _gather_fill(x.dtype, reduction)
    uniform = _uniform_noise(reduction, (n, c, *out_spatial), options)

    # Chunk over (n, c) items and over output rows of the first spatial axis.
    rows_per_chunk = max(1, windows_per_chunk // max(rest, 1))
    items_per_chunk = max(1, min(n * c, windows_per_chunk // max(rest * windows[0].out, 1)))
    if items_per_chunk > 1:
        rows_per_chunk = windows[0].out
    flat_in = x.reshape(n * c, *x.shape[2:]) if x.is_contiguous() else None
    for start in range(0, n * c, items_per_chunk):
        stop = min(n * c, start + items_per_chunk)
        if flat_in is not None:
            block = flat_in[start:stop]
        else:
            block = torch.stack([x[i // c, i % c] for i in range(start, stop)])
        for r0 in range(0, windows[0].out, rows_per_chunk):
            r1 = min(windows[0].out, r0 + rows_per_chunk)
            values, real = _gather_windows(block, windows, r0, r1, fill)
            noise = None
            if uniform is not None:
                noise = uniform.reshape(n * c, *out_spatial)[start:stop, r0:r1].to(x.device)
            if pick is not None:
                taps = pick.reshape(n * c, *out_spatial)[start:stop, r0:r1].to(x.device)
                result = values.gather(-1, taps.unsqueeze(-1)).squeeze(-1)
            elif winners:
                result = _winning_taps(values, real, reduction, noise)
            else:
                result = _reduce_windows(
                    values, real, reduction, count_include_pad, windows, r0, r1, options, noise
                )
            for i, item in enumerate(range(start, stop)):
                y[item // c, item % c, r0:r1] = result[i]
    return y


def _gather_dtype(dtype, reduction, options) -> torch.dtype:
    if reduction.info.order_based:
        return dtype
    if reduction in (Reduction.SUM,) and not _is_float(dtype):
        return torch.int64
    if reduction is Reduction.AVG and not _is_float(dtype):
        return torch.float64
    return _accumulator(dtype, options.dtype)


def _gather_fill(dtype, reduction):
    if reduction is Reduction.MAX:
        return _fill_low(dtype)
    if reduction in (Reduction.MIN, Reduction.MEDIAN, Reduction.MODE):
        return _fill_high(dtype)
    return 0


def _uniform_noise(reduction, shape, options) -> torch.Tensor | None:
    """Uniform numbers for stochastic sampling, drawn on the CPU so every device agrees."""
    if reduction is not Reduction.STOCHASTIC or options.expectation:
        return None
    generator = torch.Generator()
    if options.seed is None:
        generator.seed()
    else:
        generator.manual_seed(options.seed)
    return torch.rand(shape, generator=generator, dtype=torch.float64)


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


def _real_mask(reals, device) -> torch.Tensor:
    """Outer product of per-axis real-tap tables: (o1, o2, ..., k1*k2*...)."""
    nd = len(reals)
    mask = None
    for i, real in enumerate(reals):
        shape = [1] * (2 * nd)
        shape[i], shape[nd + i] = real.shape
        r = real.reshape(shape)
        mask = r if mask is None else mask & r
    out_shape = [r.shape[0] for r in reals]
    return mask.reshape(*out_shape, -1).to(device)


def _reduce_windows(values, reals, reduction, count_include_pad, windows, r0, r1, options, noise):
    """Reduce (items, *out, cells) windows whose padding cells hold the reduction's fill."""
    device = values.device
    if reduction in (Reduction.MAX, Reduction.MIN):
        if values.requires_grad:
            # Route the gradient to one cell per window, the first maximum, as torch's max_pool.
            pick = values.argmax(-1) if reduction is Reduction.MAX else values.argmin(-1)
            return values.gather(-1, pick.unsqueeze(-1)).squeeze(-1)
        return values.amax(-1) if reduction is Reduction.MAX else values.amin(-1)
    real = _real_mask(reals, device)
    real_count = real.sum(-1)
    if reduction is Reduction.MEDIAN:
        ordered = values.sort(dim=-1, stable=True).values
        pick = ((real_count - 1) // 2).expand(*values.shape[:-1]).unsqueeze(-1)
        result = ordered.gather(-1, pick).squeeze(-1)
        if _is_float(values.dtype):
            result = torch.where(values.isnan().any(-1), math.nan, result)
        return result
    if reduction is Reduction.MODE:
        mode = _mode(values, real)
        if values.requires_grad:
            # The gradient goes to the first cell holding the mode, as window_winners says.
            hit = (values == mode.unsqueeze(-1)) & real
            return values.gather(-1, hit.to(torch.uint8).argmax(-1, keepdim=True)).squeeze(-1)
        return mode
    acc = _gather_dtype(values.dtype, reduction, options)
    if reduction in (Reduction.SUM, Reduction.AVG):
        if not _is_float(values.dtype):
            total = values.sum(-1, dtype=torch.int64)
        else:
            total = values.sum(-1, dtype=acc)
        if reduction is Reduction.SUM:
            return total
        counts = [_axis_counts(a, count_include_pad) for a in windows]
        counts[0] = counts[0][r0:r1]
        count = torch.ones((), dtype=torch.float64)
        for i, c in enumerate(counts):
            shape = [1] * len(counts)
            shape[i] = len(c)
            count = count * torch.tensor(c, dtype=torch.float64).reshape(shape)
        return (total.to(torch.float64) / count.to(device)).to(acc)
    v = values.to(acc)
    if reduction is Reduction.LP:
        return v.abs().pow(options.norm_type).sum(-1).pow(1.0 / options.norm_type)
    # Stochastic.
    total = v.sum(-1)
    if options.expectation:
        squares = (v * v).sum(-1)
        return torch.where(total > 0, squares / torch.where(total > 0, total, 1), 0)
    picked = v.gather(-1, _sample(v, noise)).squeeze(-1)
    return torch.where(total > 0, picked, 0)


def _sample(values: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Tap sampled per window with probability value / window sum (first tap when all zero)."""
    cumulative = values.cumsum(-1)
    threshold = (noise.to(values.dtype) * cumulative[..., -1]).unsqueeze(-1)
    chosen = torch.searchsorted(cumulative.contiguous(), threshold.contiguous(), right=True)
    return chosen.clamp(max=values.shape[-1] - 1)


def _winning_taps(values, reals, reduction, noise) -> torch.Tensor:
    """Index (in window order) of the cell each window's result comes from: the first real cell
    holding the result value (a padded fill value may tie with it, but never wins)."""
    real = _real_mask(reals, values.device).expand_as(values)
    if reduction is Reduction.STOCHASTIC and noise is not None:
        sampled = _sample(values.to(torch.float64), noise).squeeze(-1)
        # An all-zero window gives 0 without sampling: its first real cell holds that 0.
        first_real = real.to(torch.uint8).argmax(-1)
        return torch.where(values.to(torch.float64).sum(-1) > 0, sampled, first_real)
    if reduction is Reduction.MAX:
        result = values.amax(-1)
    elif reduction is Reduction.MIN:
        result = values.amin(-1)
    elif reduction is Reduction.MEDIAN:
        ordered = values.sort(-1).values
        pick = ((real.sum(-1) - 1) // 2).unsqueeze(-1)
        result = ordered.gather(-1, pick).squeeze(-1)
    elif reduction is Reduction.MODE:
        result = _mode(values, real)
    else:
        raise ValueError(f"{reduction} has no single winning cell per window")
    result = result.unsqueeze(-1)
    hit = values == result
    if _is_float(values.dtype):
        hit |= values.isnan() & result.isnan()
    return (hit & real).to(torch.uint8).argmax(-1)


def _mode(values, real) -> torch.Tensor:
    """Most frequent real value per window; ties go to the smallest value."""
    ordered, order = values.sort(-1)
    valid = real.expand_as(values).gather(-1, order).to(torch.int64)
    same = ordered[..., 1:] == ordered[..., :-1]
    if _is_float(values.dtype):
        same |= ordered[..., 1:].isnan() & ordered[..., :-1].isnan()
    starts = torch.ones_like(ordered, dtype=torch.bool)
    starts[..., 1:] = ~same
    seen = valid.cumsum(-1)
    before = seen - valid
    base = torch.where(starts, before, 0).cummax(-1).values
    run = seen - base
    # argmax returns the first maximum: the end of the earliest (smallest) most frequent run.
    best = run.argmax(-1, keepdim=True)
    return ordered.gather(-1, best).squeeze(-1)


# --------------------------------------------------------------------------------------
# RGBA


def _pool_premultiplied(x, reduction, windows, layout, count_include_pad, options, path):
    """Weight colour by alpha (premultiply), pool, and turn the colour back into straight colour.

    avg, lp and the stochastic expectation divide the pooled colour by the pooled alpha weight,
    so a transparent cell lends no colour to its neighbours; sum keeps the alpha-weighted sum;
    stochastic sampling picks cells by colour x alpha.
    """

    def run(t):
        return pool_tensor(t, reduction, windows, layout, count_include_pad, options, path)

    channel = layout.channel_axis
    alpha = x.narrow(channel, x.shape[channel] - 1, 1)
    colour = x.narrow(channel, 0, x.shape[channel] - 1)
    acc = _accumulator(x.dtype, options.dtype)
    scale = 1.0 if _is_float(x.dtype) else float(torch.iinfo(x.dtype).max)
    weight = alpha.to(acc) / scale
    if reduction is Reduction.STOCHASTIC and not options.expectation:
        return _sample_premultiplied(colour, alpha, weight, windows, layout, options, run)
    pooled_colour = run(colour.to(acc) * weight)
    pooled_alpha = run(alpha)
    if reduction is not Reduction.SUM:
        pooled_weight = run(weight)
        safe = torch.where(pooled_weight > 0, pooled_weight, 1)
        pooled_colour = torch.where(pooled_weight > 0, pooled_colour / safe, 0)
    out_dtype = torch.promote_types(pooled_colour.dtype, pooled_alpha.dtype)
    return torch.cat([pooled_colour.to(out_dtype), pooled_alpha.to(out_dtype)], dim=channel)


def _sample_premultiplied(colour, alpha, weight, windows, layout, options, run):
    """Stochastic sampling of RGBA: each colour channel picks a cell with probability
    colour x alpha / sum(colour x alpha) (a transparent cell is never picked) and takes that
    cell's straight colour; alpha samples itself. All-transparent or black windows give 0."""
    weighted = colour.to(weight.dtype) * weight
    taps = window_winners(weighted, Reduction.STOCHASTIC, windows, layout, options)

    def take(t):
        picked = _pool_gather(
            layout.canonical(t), Reduction.STOCHASTIC, windows, False, options, pick=taps
        )
        return layout.uncanonical(picked)

    picked_colour = take(colour.to(weight.dtype))
    picked_colour = torch.where(take(weighted) > 0, picked_colour, 0)
    pooled_alpha = run(alpha)
    out_dtype = torch.promote_types(picked_colour.dtype, pooled_alpha.dtype)
    return torch.cat(
        [picked_colour.to(out_dtype), pooled_alpha.to(out_dtype)], dim=layout.channel_axis
    )
