"""The dtype rule and fill values come from the reductions table."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from poolcli.engine import ops
from poolcli.engine.convert import fill_value
from poolcli.engine.core import pool
from poolcli.model.layout import Layout
from poolcli.model.reductions import OutputDType, Reduction
from poolcli.model.window import WindowSpec, resolve

TENSOR_DTYPES = [torch.uint8, torch.int32, torch.int64, torch.bfloat16, torch.float32]


@pytest.mark.parametrize("reduction", list(Reduction))
@pytest.mark.parametrize("dtype", TENSOR_DTYPES)
@pytest.mark.parametrize("compute", [None, "float64"])
def test_every_result_has_the_dtype_the_table_gives(reduction, dtype, compute):
    want = ops.output_dtype(dtype, reduction, compute)
    rule = reduction.info.output_dtype
    if dtype.is_floating_point or rule is OutputDType.INPUT:
        assert want is dtype
    else:
        assert want is {OutputDType.WIDE_INT: torch.int64}.get(
            rule, torch.float64 if compute else torch.float32
        )
    x = torch.arange(16).reshape(4, 4).to(dtype)
    # Only where they apply: pool refuses a compute dtype for max and a seed for avg.
    extra = {"seed": 0} if reduction is Reduction.STOCHASTIC else {}
    if reduction.info.computes_in_dtype:
        extra["dtype"] = compute
    got = pool(x, reduction.value, kernel_size=2, padding=1, **extra)
    assert got.dtype is want


def test_wide_unsigned_tensors_follow_the_compute_dtype():
    x = torch.tensor([1, 2, 3, 4], dtype=torch.uint64)
    got = pool(x, "avg", kernel_size=2, dtype="float64")
    assert got.dtype is torch.float64 and got.tolist() == [1.5, 3.5]


def test_fill_values_come_from_the_table():
    assert fill_value(Reduction.MAX.info.fill, torch.int8) == -128
    assert fill_value(Reduction.MIN.info.fill, torch.uint8) == 255
    assert fill_value(Reduction.MAX.info.fill, torch.float32) == -math.inf
    assert fill_value(Reduction.MEDIAN.info.fill, torch.int16) == 0  # masked out by the kernel


def test_a_median_window_holding_nan_is_won_by_its_nan_cell():
    # The pooled value is NaN, so the winner is the cell that holds it.
    x = torch.tensor([[1.0, 2.0, 3.0, np.nan]])
    windows = resolve(WindowSpec.make(kernel_size=(1, 4)), (1, 4))
    assert ops.window_winners(x, "median", windows, Layout("HW")).ravel().tolist() == [3]
    assert math.isnan(pool(x, "median", kernel_size=(1, 4)).item())
