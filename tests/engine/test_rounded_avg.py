"""Averages in the input's own integer type (``--dtype uint8`` for a uint8 input...): the
exact window mean rounded once, half to even, on every path, against the loop reference and
OpenCV's ``blur``."""

from __future__ import annotations

import cv2
import numpy as np
import oracle
import pytest
import reference as ref
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import poolcli
from poolcli.engine import ops
from poolcli.engine.core import run
from poolcli.engine.taps import rounded_mean
from poolcli.errors import PoolError, UsageError
from poolcli.model.layout import Layout
from poolcli.model.options import PoolOptions
from poolcli.model.window import WindowSpec, resolve

INTEGERS = ["uint8", "int8", "uint16", "int16", "uint32", "int32"]


def engine(x, window, *, path="auto", layout="NCHW", **options):
    return oracle.engine(
        x, "avg", path=path, layout=layout, options=PoolOptions(**options), **window
    )


def rounded_reference(x, window):
    """np.rint of the exact mean (the reference divides Python ints as Fractions)."""
    return np.rint(oracle.expected(x, "avg", **window)).astype(x.dtype)


def integers(dtype, shape, seed):
    """Random values over the whole range of ``dtype``, and a corner of 0s and 1s (ties)."""
    info = np.iinfo(dtype)
    x = np.random.default_rng(seed).integers(info.min, int(info.max) + 1, shape, dtype=dtype)
    x[..., : shape[-2] // 2, : shape[-1] // 2] %= 2
    return x


WINDOWS = [
    {"kernel_size": 2, "stride": 1},
    {"kernel_size": 3, "stride": 1, "padding": 1},
    {"kernel_size": (2, 4), "stride": (1, 2), "padding": (1, 2), "count_include_pad": True},
    {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
    {"kernel_size": (5, 3), "stride": 1, "dilation": (1, 2)},
]


@pytest.mark.parametrize("dtype", INTEGERS)
@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("path", ["auto", "taps", "separable", "gather"])
def test_every_path_rounds_the_exact_mean(dtype, window, path):
    x = integers(dtype, (2, 3, 9, 11), seed=len(str(window)))
    got = engine(x, window, path=path, dtype=dtype)
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(got, rounded_reference(x, window))


@pytest.mark.parametrize("dtype", ["uint8", "int16", "int32"])
def test_adaptive_and_global_averages_round_too(dtype):
    x = integers(dtype, (1, 2, 7, 10), seed=5)
    want = np.rint(ref.reference_adaptive(x, "avg", (3, 4))).astype(dtype)
    got = poolcli.pool(x, "avg", output_size=(3, 4), layout="NCHW", dtype=dtype)
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(got, want)
    want = np.rint(ref.reference_global(x, "avg")).astype(dtype)
    np.testing.assert_array_equal(
        poolcli.pool(x, "avg", global_pool=True, layout="NCHW", dtype=dtype), want
    )


def test_halves_round_to_even():
    x = np.array([[0, 1, 2, 3, 4, 5, 255, 254]], dtype=np.uint8)
    got = poolcli.pool(x, "avg", kernel_size=(1, 2), stride=1, layout="HW", dtype="uint8")
    assert got.tolist() == [[0, 2, 2, 4, 4, 130, 254]]


def test_rounded_mean_by_integer_arithmetic_and_by_float32_agree():
    # Every sum of a 3x3 uint8 window, then the other integers' route for the same sums.
    sums = torch.arange(0, 9 * 255 + 1, dtype=torch.int32)
    by_float = rounded_mean(sums, 9.0, torch.uint8).to(torch.int64)
    by_integers = rounded_mean(sums.to(torch.int64), 9.0, torch.int64)
    exact = torch.from_numpy(np.rint(sums.numpy() / 9)).to(torch.int64)
    assert torch.equal(by_float, exact) and torch.equal(by_integers, exact)
    negative = torch.tensor([-5, -3, -1, 1, 3, 5], dtype=torch.int32)
    assert rounded_mean(negative, 2.0, torch.int32).tolist() == [-2, -2, 0, 0, 2, 2]


@settings(max_examples=60, deadline=None)
@given(
    dtype=st.sampled_from(["uint8", "int8", "int16", "uint16"]),
    height=st.integers(1, 9),
    width=st.integers(1, 9),
    kernel=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    stride=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    padding=st.tuples(st.integers(0, 2), st.integers(0, 2)),
    count_include_pad=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_rounded_averages_match_the_reference(
    dtype, height, width, kernel, stride, padding, count_include_pad, seed
):
    padding = tuple(min(p, k // 2) for p, k in zip(padding, kernel))
    if any(s + 2 * p < k for s, p, k in zip((height, width), padding, kernel)):
        return  # the window does not fit
    window = {
        "kernel_size": kernel,
        "stride": stride,
        "padding": padding,
        "count_include_pad": count_include_pad,
    }
    x = integers(dtype, (1, 2, height, width), seed)
    np.testing.assert_array_equal(engine(x, window, dtype=dtype), rounded_reference(x, window))


@pytest.mark.parametrize("k", [3, 5, 7])
@pytest.mark.parametrize("rgb", [False, True])
def test_uint8_averages_equal_opencv_blur(k, rgb):
    shape = (31, 40, 3) if rgb else (31, 40)
    x = np.random.default_rng(k).integers(0, 256, shape, dtype=np.uint8)
    got = poolcli.pool(
        x, "avg", kernel_size=k, stride=1, layout="HWC" if rgb else "HW", dtype="uint8"
    )
    h = k // 2
    want = cv2.blur(x, (k, k))[h:-h, h:-h]
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


def test_tensors_and_widened_types_come_back_in_their_own_type():
    x = integers("uint16", (6, 7), seed=1)
    got = poolcli.pool(x, "avg", kernel_size=2, layout="HW", dtype="uint16")
    assert got.dtype == np.uint16
    t = poolcli.pool(
        torch.from_numpy(x.astype(np.int16)), "avg", kernel_size=2, layout="HW", dtype="int16"
    )
    assert isinstance(t, torch.Tensor) and t.dtype == torch.int16
    t = poolcli.pool(torch.from_numpy(x), "avg", kernel_size=2, layout="HW", dtype="uint16")
    assert isinstance(t, torch.Tensor) and t.dtype == torch.uint16
    assert np.array_equal(t.numpy(), got)


def test_data_aware_and_alpha_weighted_means_round_once():
    x = integers("uint8", (5, 6), seed=2)
    x[2, 3] = 7
    window = {"kernel_size": 3, "stride": 1, "padding": 1, "layout": "HW"}
    got = poolcli.pool(x, "avg", **window, nodata=7, dtype="uint8")
    want = poolcli.pool(x, "avg", **window, nodata=7, dtype="float64")
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, np.rint(want).astype(np.uint8))
    rgba = integers("uint8", (5, 6, 4), seed=3)
    rgba[1:3, 1:3, 3] = 0  # transparent cells lend no colour
    spec = WindowSpec.make(kernel_size=3, stride=1, padding=1)

    def alpha_weighted(dtype):
        return run(rgba, "avg", spec, "HWC", PoolOptions(dtype=dtype), alpha=True).output

    got, want = alpha_weighted("uint8"), alpha_weighted("float64")
    assert got.dtype == np.uint8 and not np.array_equal(got, rgba[1:-1, 1:-1])
    np.testing.assert_array_equal(got, np.rint(want).astype(np.uint8))


@pytest.mark.parametrize(
    ("array", "reduction", "dtype", "words"),
    [
        (np.zeros((4, 4), np.float32), "avg", "uint8", "this input holds float32 values"),
        (np.zeros((4, 4), np.uint8), "avg", "int16", "this input holds uint8 values"),
        (np.zeros((4, 4), np.int64), "avg", "int32", "this input holds int64 values"),
        (np.zeros((4, 4), np.uint8), "sum", "uint8", "uint8 applies only to avg"),
        (torch.zeros(4, 4), "avg", "uint8", "this input holds float32 values"),
    ],
)
def test_other_combinations_are_refused(array, reduction, dtype, words):
    with pytest.raises(UsageError, match=words):
        poolcli.pool(array, reduction, kernel_size=2, layout="HW", dtype=dtype)


def test_a_float_tensor_pooled_directly_is_refused():
    layout = Layout.parse("HW")
    windows = resolve(WindowSpec.make(kernel_size=2), (4, 4), layout.spatial)
    with pytest.raises(UsageError, match="float32 values"):
        ops.pool_tensor(
            torch.zeros(4, 4), "avg", windows, layout, options=PoolOptions(dtype="uint8")
        )


def test_windows_left_empty_need_a_fill_that_fits():
    x = np.arange(16, dtype=np.uint8).reshape(4, 4)
    mask = np.ones((4, 4), bool)
    mask[:2, :2] = False  # the first 2x2 window has no cell left
    window = {"kernel_size": 2, "layout": "HW", "mask": mask, "dtype": "uint8"}
    with pytest.raises(PoolError, match="uint8 results cannot be NaN"):
        poolcli.pool(x, "avg", **window)
    assert poolcli.pool(x, "avg", **window, nodata=99).tolist() == [[99, 4], [10, 12]]
    with pytest.raises(PoolError, match="cannot hold"):
        poolcli.pool(x, "avg", **window, nodata=-1)
