"""Medians of 8-bit windows by counting (poolcli.engine.counting): the same cells as the loop
reference and OpenCV's medianBlur, eager and compiled, for windows of any size."""

from __future__ import annotations

import dataclasses
import warnings

import cv2
import numpy as np
import pytest
import reference as ref
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle import engine

from poolcli.engine import choose, compiled, counting
from poolcli.errors import UsageError
from poolcli.model.layout import Layout
from poolcli.model.options import PoolOptions
from poolcli.model.reductions import Reduction
from poolcli.model.window import WindowSpec, resolve

CANONICAL = {1: "NCW", 2: "NCHW", 3: "NCDHW"}


def _random(dtype, shape, seed, values=256):
    """8-bit values, often few of them (ties), as ``dtype``."""
    info = np.iinfo(dtype)
    low = int(info.min) + np.random.default_rng(seed).integers(0, 256 - values + 1)
    cells = np.random.default_rng(seed + 1).integers(low, low + values, shape)
    return cells.astype(dtype)


@st.composite
def cases(draw):
    nd = draw(st.integers(1, 3))
    kernel = tuple(draw(st.integers(1, 5)) for _ in range(nd))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    sizes = tuple((k - 1) * d + 1 + draw(st.integers(0, 6)) for k, d in zip(kernel, dilation))
    dtype = draw(st.sampled_from([np.uint8, np.int8]))
    values = draw(st.sampled_from([2, 3, 256]))
    return (2, 2, *sizes), kernel, stride, dilation, dtype, values


@settings(max_examples=80, deadline=None)
@given(cases(), st.integers(0, 2**16))
def test_counted_medians_equal_the_loop_reference(case, seed):
    shape, kernel, stride, dilation, dtype, values = case
    x = _random(dtype, shape, seed, values)
    window = {"kernel_size": kernel, "stride": stride, "dilation": dilation}
    got = engine(x, "median", path="counting", **window)
    want = ref.reference_pool(x, "median", kernel, stride, dilation=dilation)
    assert got.dtype == x.dtype
    np.testing.assert_array_equal(got, want)


@settings(max_examples=20, deadline=None)
@given(cases(), st.integers(0, 2**16), st.integers(1, 200))
def test_counting_in_small_chunks_changes_nothing(case, seed, limit):
    shape, kernel, stride, dilation, dtype, values = case
    x = torch.from_numpy(_random(dtype, shape, seed, values))
    layout = Layout(CANONICAL[len(kernel)])
    spec = WindowSpec.make(kernel_size=kernel, stride=stride, dilation=dilation)
    windows = resolve(spec, layout.spatial_shape(tuple(x.shape)), layout.spatial)
    whole = counting.pool_median_counts(x, windows, layout.spatial_axes, PoolOptions())
    chunked = counting.pool_median_counts(
        x, windows, layout.spatial_axes, dataclasses.replace(PoolOptions(), memory_limit=limit)
    )
    assert torch.equal(whole, chunked)


@pytest.mark.parametrize("k", [9, 15, 21])
def test_large_8_bit_medians_equal_opencv(k):
    """OpenCV's medianBlur counts too, from 7×7 on (its sliding histograms)."""
    image = _random(np.uint8, (48, 56, 3), seed=k)
    got = engine(image, "median", layout="HWC", kernel_size=k, stride=1)
    h = k // 2
    np.testing.assert_array_equal(got, cv2.medianBlur(image, k)[h:-h, h:-h])


def test_8_bit_medians_of_81_cells_or_more_count():
    def path(dtype, kernel):
        x = torch.zeros((40, 40), dtype=dtype)
        windows = resolve(WindowSpec.make(kernel_size=kernel, stride=1), (40, 40), (0, 1))
        return choose.choose_path(x, Reduction.MEDIAN, windows)

    assert path(torch.uint8, 9) == path(torch.int8, (3, 27)) == "counting"
    assert path(torch.uint8, 7) == "taps"  # the selection network, below 81 cells
    assert path(torch.int16, 9) == "taps"
    assert path(torch.float32, 13) == "gather"  # over 121 cells, only 8 bits count


@pytest.mark.parametrize(
    ("dtype", "window", "reason"),
    [
        (np.float32, {"kernel_size": 3}, "it counts 8-bit integers only"),
        (np.uint16, {"kernel_size": 3}, "it counts 8-bit integers only"),
        (np.uint8, {"kernel_size": 3, "padding": 1}, "a window reaches the padding"),
    ],
)
def test_the_counting_path_refuses_what_it_cannot_count(dtype, window, reason):
    x = np.zeros((1, 1, 6, 6), dtype)
    with pytest.raises(UsageError, match=reason):
        engine(x, "median", path="counting", **window)


@pytest.mark.slow
@pytest.mark.parametrize("dtype", [np.uint8, np.int8])
def test_the_compiled_counts_equal_the_eager_counts(dtype):
    if not compiled.available():
        pytest.skip(f"no compiled kernels here: {compiled._state['broken']}")
    axes, spatial = ((3, 1, 1), (9, 2, 1)), (0, 1)  # 27 cells: past the compiled networks
    kernel = compiled._compiled("counts", (axes, spatial))
    layout = Layout("HWC")
    spec = WindowSpec.make(kernel_size=(3, 9), stride=(1, 2))
    for shape in ((19, 33, 3), (12, 40, 3)):  # two sizes, one kernel
        x = torch.from_numpy(_random(dtype, shape, seed=shape[0], values=17))
        windows = resolve(spec, layout.spatial_shape(shape), layout.spatial)
        eager = counting.pool_median_counts(x, windows, spatial, PoolOptions())
        out = torch.empty_like(eager)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # torch's own internals
            kernel(x, out)
        assert torch.equal(out, eager)
        median = torch.zeros(eager.shape, dtype=torch.uint8)
        for bit in counting.BITS:  # the kernel's step, eagerly
            step = torch.tensor(bit, dtype=torch.uint8)
            median = counting.count_step(axes, spatial, counting.keys(x), median, step)
        assert torch.equal(counting.values(median, x.dtype), eager)
