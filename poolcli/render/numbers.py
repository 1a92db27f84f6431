"""How single values are written in the report and in JSON.

Text comes from :func:`poolcli.model.display.format_value`: integers without decimals, floats
with the fewest digits that identify the value in its own dtype. In JSON, NaN and infinities
are written as the strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"`` (JSON numbers cannot
hold them); every other value is a JSON number that reads back to the exact value in the
output's dtype.
"""

from __future__ import annotations

import numpy as np

from poolcli.model.display import format_value


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
