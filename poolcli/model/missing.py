"""Data-aware pooling as a description: which options leave cells out, and what they allow.

``--nan omit``, ``--nodata V`` and ``--mask FILE`` leave cells out of every reduction, as
padding is left out; ``--linear-light`` averages sRGB values in linear light. The engine's
side is :mod:`poolcli.engine.missing` and :mod:`poolcli.engine.colour`.

Pure Python: no numpy or torch.

>>> leaves_cells_out(nan="omit", nodata=None, mask=None)
True
>>> LINEAR_LIGHT_REDUCTIONS
('avg', 'gem', 'stochastic')
"""

from __future__ import annotations

import math
import numbers

from poolcli.errors import UsageError
from poolcli.model.reductions import Reduction

#: The reductions that mix values, whose results change when averaged in linear light.
LINEAR_LIGHT_REDUCTIONS = ("avg", "gem", "stochastic")
NAN_RULES = ("propagate", "omit")


def leaves_cells_out(nan, nodata, mask) -> bool:
    """Whether any cell may be left out: ``--nan omit``, ``--nodata`` or ``--mask``."""
    return str(nan) == "omit" or nodata is not None or mask is not None


def check_data_options(reduction: Reduction, options) -> None:
    """Refuse data-aware options that no input could use (a UsageError, exit 2)."""
    nan = str(options.nan)
    if nan not in NAN_RULES:
        raise UsageError(f"--nan {nan} is not a rule: use propagate or omit.", option="--nan")
    nodata = options.nodata
    if nodata is not None and (
        isinstance(nodata, bool) or not isinstance(nodata, numbers.Real) or math.isinf(nodata)
    ):
        raise UsageError(f"--nodata must be a finite number or nan, got {nodata!r}.", "--nodata")
    if options.valid_count is not None and not str(options.valid_count).endswith(".npy"):
        raise UsageError(
            f"--valid-count {options.valid_count}: the counts are written as .npy; give a name "
            "ending in .npy.",
            option="--valid-count",
        )
    check_linear_light(reduction, options.linear_light, options.srgb_max)


def check_linear_light(reduction: Reduction, linear_light: bool, srgb_max) -> None:
    """``--linear-light`` only where it changes something; ``--srgb-max`` only with it."""
    reduction = Reduction(reduction)
    if srgb_max is not None:
        number = isinstance(srgb_max, numbers.Real) and not isinstance(srgb_max, bool)
        if not (number and math.isfinite(srgb_max) and srgb_max > 0):
            raise UsageError(
                f"--srgb-max must be a positive number, got {srgb_max!r}.", option="--srgb-max"
            )
        if not linear_light:
            raise UsageError("--srgb-max goes with --linear-light.", option="--srgb-max")
    if linear_light and str(reduction) not in LINEAR_LIGHT_REDUCTIONS:
        why = (
            "its result is one of the window's values, the same in sRGB and in linear light"
            if reduction.info.order_based
            else "its result is not an average, so it has no sRGB value to encode back to"
        )
        raise UsageError(
            f"--linear-light applies to {', '.join(LINEAR_LIGHT_REDUCTIONS)}, not {reduction}: "
            f"{why}.",
            option="--linear-light",
        )
