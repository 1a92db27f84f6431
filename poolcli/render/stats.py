"""Statistics of arrays: min, max, mean and NaN count, read in bounded memory, and how the
report writes a mean."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from poolcli.model.display import format_value

_CHUNK = 1 << 20


@dataclass(frozen=True)
class Stats:
    """Summary of an array. ``min``/``max`` are in the array's dtype (exact for integers),
    ``mean`` is float64; all three ignore NaN and are NaN when every value is NaN."""

    dtype: str
    count: int
    nan: int
    min: Any
    max: Any
    mean: float


def array_stats(array) -> Stats:
    """Min, max, mean and NaN count of ``array``, reading it in chunks (memory stays bounded).

    >>> s = array_stats(np.array([[1, 3], [5, np.nan]]))
    >>> (s.min, s.max, s.mean, s.nan)
    (np.float64(1.0), np.float64(5.0), np.float64(3.0), 1)
    """
    if not isinstance(array, np.ndarray):  # a torch tensor
        array = array.detach().cpu().numpy()
    dtype_name = str(array.dtype)
    if array.dtype.kind == "b":
        array = array.view(np.uint8)
    elif array.dtype.kind == "f" and array.dtype.itemsize == 2 and array.dtype != np.float16:
        array = array.astype(np.float32)  # bfloat16 (ml_dtypes): numpy cannot reduce it
    if array.size == 0:
        return Stats(dtype_name, 0, 0, None, None, None)
    with np.errstate(all="ignore"):  # inf - inf in a sum is NaN, which is the right mean
        return _reduce_chunks(array, dtype_name)


def _reduce_chunks(array: np.ndarray, dtype_name: str) -> Stats:
    floating = array.dtype.kind == "f"
    lo = hi = None
    total = np.float64(0)
    count = nans = 0
    chunks = np.nditer(
        array,
        flags=["external_loop", "buffered", "zerosize_ok"],
        op_flags=[["readonly"]],
        buffersize=_CHUNK,
        order="K",
    )
    for chunk in chunks:
        if floating:
            missing = np.isnan(chunk)
            n_missing = int(np.count_nonzero(missing))
            if n_missing:
                nans += n_missing
                chunk = chunk[~missing]
            if chunk.size == 0:
                continue
        cmin, cmax = chunk.min(), chunk.max()
        lo = cmin if lo is None or cmin < lo else lo
        hi = cmax if hi is None or cmax > hi else hi
        total += chunk.sum(dtype=np.float64)
        count += chunk.size
    if lo is None:  # every value is NaN
        nan = array.dtype.type("nan")
        return Stats(dtype_name, array.size, nans, nan, nan, np.float64("nan"))
    if array.dtype.kind in "iu":
        lo, hi = array.dtype.type(lo), array.dtype.type(hi)
    return Stats(dtype_name, array.size, nans, lo, hi, total / count)


def format_mean(value: float) -> str:
    """A mean (float64) for the report: exact when short (8.5, 3.3125), else 7 digits.

    >>> format_mean(8.5), format_mean(1 / 3), format_mean(121.63916015625)
    ('8.5', '0.3333333', '121.6392')
    """
    text = format_value(float(value))
    digits = len(text.split("e")[0].replace("-", "").replace(".", "").lstrip("0"))
    return text if digits <= 7 else format_value(float(f"{value:.7g}"))
