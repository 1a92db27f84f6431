"""How single values and shapes are written, in the report and in JSON.

Integers print without decimals. Floats print with the fewest digits that identify the value
in its own dtype (``3.75``, ``13.5``, ``0.1`` for float32 0.1), in scientific notation when very
large or small. In JSON, NaN and infinities are written as the strings ``"NaN"``,
``"Infinity"`` and ``"-Infinity"`` (JSON numbers cannot hold them); every other value is a JSON
number that reads back to the exact value in the output's dtype.
"""

from __future__ import annotations

import math

import numpy as np


def _scalar(value, dtype: np.dtype):
    """A numpy scalar of a dtype numpy can format (bfloat16 and friends go through float32)."""
    if dtype.kind == "f" and dtype not in (np.float16, np.float32, np.float64, np.longdouble):
        return np.float32(value)
    return dtype.type(value) if not isinstance(value, np.generic) else value


def format_value(value, dtype=None, decimals: int | None = None) -> str:
    """One value as the report prints it: the shortest text that is exact in its dtype.

    ``decimals`` caps the digits after the point (the value is then rounded).

    >>> format_value(np.float32(3.75)), format_value(np.float32(0.1)), format_value(np.int64(7))
    ('3.75', '0.1', '7')
    >>> format_value(np.float64(float("nan"))), format_value(np.float32(1e-7))
    ('nan', '1e-07')
    >>> format_value(np.float32(59.189186), decimals=4), format_value(np.float32(3.3125), None, 4)
    ('59.1892', '3.3125')
    """
    dtype = np.dtype(dtype if dtype is not None else getattr(value, "dtype", type(value)))
    if dtype.kind == "b":
        return "1" if value else "0"
    if dtype.kind in "iu":
        return str(int(value))
    value = _scalar(value, dtype)
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    magnitude = abs(float(value))
    if magnitude >= 1e16 or 0 < magnitude < 1e-4:
        precision = None if decimals is None else max(decimals - 1, 0)
        return np.format_float_scientific(value, precision=precision, unique=True, trim="-")
    return np.format_float_positional(value, precision=decimals, unique=True, trim="-")


def format_mean(value: float) -> str:
    """A mean (float64) for the report: exact when short (8.5, 3.3125), else 7 digits.

    >>> format_mean(8.5), format_mean(1 / 3), format_mean(121.63916015625)
    ('8.5', '0.3333333', '121.6392')
    """
    text = format_value(np.float64(value))
    digits = len(text.split("e")[0].replace("-", "").replace(".", "").lstrip("0"))
    return text if digits <= 7 else format_value(np.float64(float(f"{value:.7g}")))


def json_value(value, dtype=None):
    """One value for the JSON document: int, bool, float or one of "NaN", "Infinity", "-Infinity".

    >>> json_value(np.float32(0.1)), json_value(np.uint8(255)), json_value(np.float64("-inf"))
    (0.1, 255, '-Infinity')
    """
    dtype = np.dtype(dtype if dtype is not None else getattr(value, "dtype", type(value)))
    if dtype.kind == "b":
        return bool(value)
    if dtype.kind in "iu":
        return int(value)
    text = format_value(value, dtype)
    if text == "nan":
        return "NaN"
    if text in ("inf", "-inf"):
        return "Infinity" if text == "inf" else "-Infinity"
    # The shortest decimal for the dtype, as a float: reads back to the same value in that dtype.
    return float(text)


def json_values(array) -> list:
    """The values of a (small) array as nested lists, in the array's own layout."""
    array = np.asarray(array)
    if array.ndim == 0:
        return json_value(array[()], array.dtype)
    return [json_values(part) for part in array]


def _shape(shape) -> str:
    return "×".join(map(str, shape)) if len(shape) else "scalar"
