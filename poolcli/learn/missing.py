"""Which input cells a pooling call used: the numpy side of ``--nan omit``, ``--nodata`` and
``--mask``, for the explanation and the pictures (the engine decides the same with torch in
:mod:`poolcli.engine.missing`; the tests hold the two together)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from poolcli.model.missing import leaves_cells_out

if TYPE_CHECKING:
    import numpy as np

    from poolcli.model.options import PoolResult


def used_cells(array, result: PoolResult) -> np.ndarray | None:
    """Bool array shaped as ``array``: the cells ``result`` used (None: every cell)."""
    import numpy as np

    options = result.options
    if not leaves_cells_out(options.nan, options.nodata, options.mask):
        return None
    array = np.asarray(array)
    used = np.ones(array.shape, dtype=bool)
    nodata = options.nodata
    nan_nodata = nodata is not None and math.isnan(nodata)
    if (str(options.nan) == "omit" or nan_nodata) and array.dtype.kind == "f":
        used &= ~np.isnan(array)
    if nodata is not None and not nan_nodata:
        used &= array != nodata
    if options.mask is not None and not isinstance(options.mask, str):
        shape = [1] * array.ndim
        for axis in result.layout.spatial_axes:
            shape[axis] = array.shape[axis]
        used &= (np.asarray(options.mask) != 0).reshape(shape)
    return used


def left_out_note(result: PoolResult) -> str:
    """What the left-out cells are, in words, for the explanation."""
    options = result.options
    rules = []
    if str(options.nan) == "omit":
        rules.append("NaN cells (--nan omit)")
    if options.nodata is not None:
        rules.append(f"cells equal to {options.nodata:g} (--nodata)")
    if options.mask is not None:
        rules.append("cells the mask hides (--mask)")
    empty = f"{options.nodata:g}" if options.nodata is not None else "NaN"
    return (
        f"Left out, as padding is: {', '.join(rules)}, shown in parentheses; a window with no "
        f"cell left gives {empty}."
    )
