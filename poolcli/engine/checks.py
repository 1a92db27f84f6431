"""What a caller can get wrong, refused in words before any kernel runs.

Everything here raises :class:`~poolcli.errors.PoolError` (a :class:`UsageError` for a wrong
option), so that the public API never lets a torch or Python error through.
"""

from __future__ import annotations

import numbers

import torch

from poolcli.engine.convert import FLOAT_DTYPES, check_rounding, rounds
from poolcli.errors import PoolError, UsageError
from poolcli.model.applies import check_rounded_dtype
from poolcli.model.options import check_norm_type
from poolcli.model.reductions import Reduction

#: The seeds torch's generators take.
SEED_RANGE = range(-(2**63), 2**64)


def _number(value, kind: type) -> bool:
    """``value`` is a ``kind`` (numbers.Real or numbers.Integral) and not a bool."""
    if type(value) is int or (type(value) is float and kind is numbers.Real):
        return True  # the usual case, without the slower abstract check
    return not isinstance(value, bool) and isinstance(value, kind)


def check_options(options) -> None:
    """Refuse option values no reduction can use, whatever the input."""
    check_norm_type(options.norm_type)
    seed = options.seed
    if seed is not None and (not _number(seed, numbers.Integral) or seed not in SEED_RANGE):
        raise UsageError(
            f"--seed must be a whole number from -2^63 to 2^64 - 1, got {seed!r}.", option="--seed"
        )
    dtype = options.dtype
    if dtype is not None and (not isinstance(dtype, str) or dtype not in FLOAT_DTYPES):
        if not rounds(dtype):
            raise UsageError(
                f"--dtype {options.dtype!r} is not a compute type: use {', '.join(FLOAT_DTYPES)}, "
                "or for avg the input's own integer type.",
                option="--dtype",
            )
    limit = options.memory_limit
    if not _number(limit, numbers.Integral) or limit < 1:
        raise UsageError(f"the memory limit must be a positive number of bytes, got {limit!r}.")


def check_values(x: torch.Tensor, reduction: Reduction, windows, options) -> None:
    """Refuse inputs and options this reduction cannot pool."""
    if rounds(options.dtype):
        check_rounded_dtype(reduction, options.dtype)
        if x.dtype.is_floating_point:
            check_rounding(str(x.dtype).removeprefix("torch."), reduction, options.dtype)
    for axis in windows:
        if axis.size == 0:
            raise PoolError(f"has no cells along axis {axis.name}: there is nothing to pool.")
    if reduction is Reduction.STOCHASTIC and x.numel():
        lowest = x.min()
        if bool(torch.isnan(lowest)) if x.dtype.is_floating_point else False:
            raise PoolError("holds NaN values; stochastic pooling needs non-negative numbers.")
        if lowest < 0:
            raise PoolError(
                f"holds negative values (down to {lowest.item():g}); stochastic pooling samples "
                "cells in proportion to their values, so every value must be 0 or more."
            )
