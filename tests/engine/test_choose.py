"""The path choice: the capability table, the preferences, and refusals of forced paths."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from poolcli.engine import choose, ops
from poolcli.errors import UsageError
from poolcli.model.layout import Layout
from poolcli.model.reductions import Reduction
from poolcli.model.window import WindowSpec, resolve


def windows_for(shape, **window):
    return resolve(WindowSpec.make(**window), shape)


def test_every_path_has_a_row_and_the_gather_takes_every_reduction():
    assert {row.path for row in choose.CAPABILITIES} == set(choose.PATHS) - {"auto"}
    gather = [row for row in choose.CAPABILITIES if row.path == "gather"]
    assert set().union(*(row.reductions for row in gather)) == set(Reduction)


@pytest.mark.parametrize(
    ("x", "reduction", "window", "path", "reason"),
    [
        (torch.zeros(4, 4), "mode", {"kernel_size": 2}, "taps", "no kernel for mode"),
        (torch.zeros(4, 4, dtype=torch.uint8), "max", {"kernel_size": 2}, "torch", "integer"),
        (torch.zeros(4, 4), "avg", {"kernel_size": 2, "dilation": 2}, "torch", "dilation"),
        (torch.zeros(4, 4), "max", {"kernel_size": 2, "padding": "0:1"}, "torch", "padding"),
        (torch.zeros(4, 4), "max", {"kernel_size": 2}, "global", "global windows"),
        (torch.zeros(4, 4), "median", {"kernel_size": 3, "padding": 1}, "taps", "padding"),
        (torch.zeros(4, 4), "max", {"output_size": 2}, "taps", "sliding windows"),
    ],
)
def test_a_forced_path_that_cannot_take_the_case_is_refused_in_words(
    x, reduction, window, path, reason
):
    windows = windows_for(tuple(x.shape), **window)
    with pytest.raises(UsageError, match=f"the {path} path cannot compute {reduction} here"):
        ops.pool_tensor(x, reduction, windows, Layout("HW"), path=path)
    with pytest.raises(UsageError, match=reason):
        choose.check_path(path, x, Reduction(reduction), windows)


def test_an_unknown_path_is_a_usage_error():
    windows = windows_for((4, 4), kernel_size=2)
    with pytest.raises(UsageError, match="no engine path 'fast'"):
        ops.pool_tensor(torch.zeros(4, 4), "max", windows, Layout("HW"), path="fast")


def test_the_nan_check_is_made_only_when_a_row_needs_it():
    # The input is read for NaN only for the median's selection network.
    x = torch.zeros(6, 6)
    case = choose.Case(x, Reduction.MAX, windows_for((6, 6), kernel_size=3, stride=1))
    assert choose.choose_path(x, Reduction.MAX, case.windows) == "taps"
    assert choose.can("taps", case) and "nan" not in case.__dict__
    case = choose.Case(x, Reduction.MEDIAN, windows_for((6, 6), kernel_size=3))
    assert choose.can("taps", case) and case.__dict__["nan"] is False


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_the_nan_fact_finds_any_nan_and_only_nan(dtype):
    windows = windows_for((5, 7), kernel_size=3)
    x = torch.tensor([[math.inf, -math.inf, 0.0, 1.0, -2.0, 3.0, 4.0]] * 5, dtype=dtype)
    assert choose.Case(x, Reduction.MEDIAN, windows).nan is False
    for cell in [(0, 0), (4, 6), (2, 3)]:
        y = x.clone()
        y[cell] = math.nan
        assert choose.Case(y, Reduction.MEDIAN, windows).nan is True
        assert choose.Case(y[:, ::2], Reduction.MEDIAN, windows).nan is (cell[1] % 2 == 0)
    empty = torch.zeros(0, 7, dtype=dtype)
    assert choose.Case(empty, Reduction.MEDIAN, windows).nan is False


@pytest.mark.parametrize(
    ("reduction", "window", "dtype", "path"),
    [
        ("max", {"kernel_size": 2}, np.float32, "taps"),
        ("max", {"kernel_size": 2}, np.uint8, "separable"),
        ("max", {"kernel_size": 3, "stride": 1}, np.float32, "taps"),
        ("max", {"kernel_size": 3, "stride": 1}, np.uint8, "separable"),
        ("max", {"kernel_size": 9, "stride": 1}, np.float32, "separable"),
        ("max", {"kernel_size": 9, "stride": 1}, np.uint8, "separable"),
        ("sum", {"kernel_size": 9, "stride": 1}, np.int16, "separable"),
        ("avg", {"kernel_size": 3, "stride": 2, "padding": 1}, np.float32, "torch"),
        ("avg", {"kernel_size": 3, "stride": 2, "padding": 1}, np.uint8, "separable"),
        ("avg", {"kernel_size": 2}, np.float32, "taps"),
        ("median", {"kernel_size": 3, "stride": 1}, np.float32, "networks"),
        ("median", {"kernel_size": 5, "stride": 1}, np.float32, "taps"),
        ("median", {"kernel_size": 3, "stride": 1, "padding": 1}, np.float32, "gather"),
        ("mode", {"global_pool": True}, np.uint8, "global"),
        ("avg", {"output_size": 3}, np.float64, "torch"),
        ("lp", {"output_size": 3}, np.float64, "gather"),
        ("stochastic", {"kernel_size": 2}, np.float32, "gather"),
    ],
)
def test_the_measured_preferences(reduction, window, dtype, path):
    x = torch.from_numpy(np.zeros((10, 10), dtype))
    assert choose.choose_path(x, Reduction(reduction), windows_for((10, 10), **window)) == path


def test_under_autograd_order_based_reductions_take_the_gather():
    x = torch.zeros(6, 6, dtype=torch.float64, requires_grad=True)
    windows = windows_for((6, 6), kernel_size=2)
    assert choose.choose_path(x, Reduction.MAX, windows) == "gather"
    assert choose.choose_path(x, Reduction.AVG, windows) == "taps"
    with pytest.raises(UsageError, match="single winning cell"):
        choose.check_path("taps", x, Reduction.MAX, windows)
