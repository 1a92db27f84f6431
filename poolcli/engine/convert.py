"""numpy <-> torch, and the dtype rules: output dtypes, accumulators and fill values.

Integer inputs stay exact: sums accumulate in int64 (overflow is refused, never wrapped),
uint16/uint32 are widened, uint64 is mapped order-preservingly onto int64 for the
order-based reductions, and bool is pooled as uint8. An integer ``--dtype``
(:data:`~poolcli.model.flag.ROUNDED_DTYPES`) that names the input's own type makes avg
round its exact mean once, half to even, back to that type (:func:`rounded`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np
import torch

from poolcli.errors import PoolError, UsageError
from poolcli.model.applies import check_rounded_dtype
from poolcli.model.flag import ROUNDED_DTYPES
from poolcli.model.reductions import OutputDType, Reduction

FLOAT_DTYPES = {
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
    "float64": torch.float64,
}
_UINT64_FLIP = np.uint64(1 << 63)
POOLABLE_TENSOR_DTYPES = frozenset(
    {torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64}
    | {torch.uint16, torch.uint32, torch.uint64}
    | set(FLOAT_DTYPES.values())
)


def output_dtype(dtype: torch.dtype, reduction: Reduction, compute: str | None) -> torch.dtype:
    """The dtype ``reduction`` gives for an input of ``dtype`` (the README's dtype rules).

    ``compute`` is ``--dtype``: what integer inputs to the averaging reductions come out in
    (an integer one: the input's own, widened as :func:`to_tensor` widens it).
    """
    rule = reduction.info.output_dtype
    if rule is OutputDType.INPUT or dtype.is_floating_point:
        return dtype
    if rule is OutputDType.WIDE_INT:
        return torch.int64
    if rounds(compute):
        return dtype
    return FLOAT_DTYPES[compute or "float32"]


def rounds(compute: str | None) -> bool:
    """Whether ``--dtype`` asks for averages rounded to the input's own integer type."""
    return compute in ROUNDED_DTYPES


def check_rounding(dtype_name: str, reduction: Reduction, compute: str | None) -> None:
    """Refuse an integer ``--dtype`` other than the input's own type, or on a reduction that
    does not average (``dtype_name``: the input's dtype as numpy names it)."""
    if not rounds(compute):
        return
    check_rounded_dtype(reduction, compute)
    if dtype_name != compute:
        raise UsageError(
            f"--dtype {compute} rounds averages of {compute} inputs back to {compute}, and "
            f"this input holds {dtype_name} values: leave it out or give a float type.",
            option="--dtype",
        )


def rounded(y: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """``y`` in the integer ``dtype``: float means rounded half to even (as the image writer
    rounds), refused where a value (a ``--nodata`` fill) does not fit."""
    if not y.dtype.is_floating_point:
        return y.to(dtype)
    y = torch.round(y)
    info, name = torch.iinfo(dtype), str(dtype).removeprefix("torch.")
    if y.numel() and bool(torch.isnan(y).any()):
        raise PoolError(
            f"has windows with no cell to average; {name} results cannot be NaN, so give "
            "--nodata V to fill them."
        )
    if y.numel() and (bool((y < info.min).any()) or bool((y > info.max).any())):
        raise PoolError(f"has results that {name} cannot hold (a --nodata fill out of range).")
    return y.to(dtype)


def is_float(t: torch.dtype) -> bool:
    return t.is_floating_point


def accumulator(dtype: torch.dtype, compute: str | None) -> torch.dtype:
    """Float type used for sums of squares, powers and means."""
    if rounds(compute):
        return torch.float64  # means of integers rounded once: exact quotients of exact sums
    if compute is not None:
        chosen = FLOAT_DTYPES[compute]
        # Half precision accumulates in float32 whatever is asked for.
        return torch.float32 if chosen in (torch.float16, torch.bfloat16) else chosen
    return torch.float64 if dtype is torch.float64 else torch.float32


def fill_value(fill: str, dtype: torch.dtype):
    """The value of a reduction's ``fill`` (``ReductionInfo.fill``) in ``dtype``: ``low``
    cannot win a maximum, ``high`` cannot win a minimum, ``none`` (0) is masked out."""
    if fill == "low":
        return -math.inf if is_float(dtype) else torch.iinfo(dtype).min
    if fill == "high":
        return math.inf if is_float(dtype) else torch.iinfo(dtype).max
    return 0


def to_tensor(
    array, reduction: Reduction, compute: str | None = None
) -> tuple[torch.Tensor, Callable]:
    """A torch view (or exact widened copy) of ``array`` and the function that maps results back.

    torch cannot pool uint16/32/64 or bool, nor read big-endian or read-only arrays.
    """
    if isinstance(array, torch.Tensor):
        return _tensor_to_tensor(array, reduction, compute)
    array = np.asarray(array)
    check_rounding(array.dtype.name, reduction, compute)
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
        back = _back_to(np.bool_, reduction, compute)
    elif kind == "u" and size == 8:
        array, back = _uint64_to_int64(array, reduction, compute)
    elif kind == "u" and size in (2, 4):
        array = array.astype(np.int32 if size == 2 else np.int64)
        back = _back_to(np.dtype(f"u{size}"), reduction, compute)
    else:
        back = _identity
    with warnings.catch_warnings():
        # Read-only inputs (memory-mapped files) are only ever read here.
        warnings.simplefilter("ignore", UserWarning)
        return torch.from_numpy(array), back


def _tensor_to_tensor(
    array: torch.Tensor, reduction: Reduction, compute: str | None
) -> tuple[torch.Tensor, Callable]:
    """Tensors of dtypes torch cannot pool go through numpy and come back as tensors."""
    if array.dtype.is_complex:
        raise PoolError("holds complex numbers, which have no order or mean to pool by.")
    if array.dtype not in POOLABLE_TENSOR_DTYPES:
        raise PoolError(f"holds values of type {array.dtype}, which cannot be pooled.")
    check_rounding(str(array.dtype).removeprefix("torch."), reduction, compute)
    if array.dtype is torch.bool:
        return array.to(torch.uint8), _back_to(torch.bool, reduction, compute)
    if array.dtype in (torch.uint16, torch.uint32, torch.uint64):
        device = array.device
        x, back = to_tensor(array.cpu().numpy(), reduction, compute)

        def back_to_tensor(t, back=back):
            out = back(t)
            if isinstance(out, np.ndarray):
                out = torch.from_numpy(np.ascontiguousarray(out)).to(device)
            return out

        return x.to(device), back_to_tensor
    return array, lambda t: t


def _uint64_to_int64(array: np.ndarray, reduction: Reduction, compute: str | None):
    """uint64 as a dtype torch pools, exactly: flipped for comparisons, widened for sums."""
    if reduction.info.order_based:
        # Flipping the top bit maps uint64 order onto int64 order exactly.
        return (array ^ _UINT64_FLIP).view(np.int64), _uint64_back
    result_dtype = output_dtype(torch.uint64, reduction, compute)
    if result_dtype is torch.int64:
        if array.size and int(array.max()) >= 2**63:
            raise PoolError("holds uint64 values of 2^63 or more; their sums do not fit in int64.")
        return array.astype(np.int64), _identity
    # Exact to 2^53; the result still follows the integer rule (--dtype).

    def back(t):
        return t.to(result_dtype)

    return array.astype(np.float64), back


def _identity(t):
    return t


def _back_to(dtype, reduction: Reduction, compute: str | None = None):
    """Results in the input's dtype (rounded averages too) go back to it; the others keep the
    dtype they have."""
    if reduction.info.output_dtype is not OutputDType.INPUT and not rounds(compute):
        return _identity

    def back(t):
        if isinstance(dtype, torch.dtype):
            return t.to(dtype)
        return t.cpu().numpy().astype(dtype)

    return back


def _uint64_back(t):
    return (t.cpu().numpy().view(np.uint64)) ^ _UINT64_FLIP


def int_accumulator(x: torch.Tensor, cells: int) -> torch.dtype:
    """The narrowest integer type that holds sums of ``cells`` values of ``x`` exactly."""
    info = torch.iinfo(x.dtype)
    bound = max(abs(info.min), info.max) * cells
    for candidate in (torch.int16, torch.int32):
        if bound <= torch.iinfo(candidate).max:
            return candidate
    guard_int_sum(x, cells)
    return torch.int64


def guard_int_sum(x: torch.Tensor, cells: int) -> None:
    """Refuse integer sums that could leave int64 (poolcli never wraps)."""
    if x.dtype in (torch.int64,) and x.numel():
        biggest = max(abs(int(x.max())), abs(int(x.min())))
        if biggest * cells >= 2**63:
            raise PoolError(
                f"sums of up to {cells} cells of these int64 values could exceed the int64 range; "
                "convert the array to float64 to sum it."
            )
