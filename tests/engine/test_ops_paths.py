"""Layouts, chunking and the fast paths: every way through the engine gives the same values."""

from __future__ import annotations

import math

import numpy as np
import pytest
import reference as ref
import torch
from conftest import devices_under_test
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle import (
    ALL,
    TAP_REDUCTIONS,
    assert_close,
    engine,
    expected,
    paths_for,
    reference_input,
    rng,
)

from poolcli.engine import choose, median, ops
from poolcli.engine.core import pool, run
from poolcli.errors import PoolError
from poolcli.model.layout import Layout
from poolcli.model.options import PoolOptions
from poolcli.model.reductions import Reduction
from poolcli.model.window import WindowSpec, resolve

# ============================================================================ layouts

LAYOUTS = ["HWC", "NHWC", "CHW", "NCW", "NWC", "NDHWC", "W", "HW", "DHW", "CW", "NW", "NCDHW"]


def to_layout(canonical, letters):
    """(N, C, *spatial) -> ``letters``; a missing N or C keeps only its first entry."""
    names = "NC" + "DHW"[-(canonical.ndim - 2) :]
    x = canonical
    if "C" not in letters:
        x, names = x[:, 0], names.replace("C", "")
    if "N" not in letters:
        x, names = x[0], names.replace("N", "")
    return x.transpose([names.index(c) for c in letters])


@pytest.mark.parametrize("letters", LAYOUTS)
@pytest.mark.parametrize("reduction", ALL)
def test_layouts_give_the_canonical_values(letters, reduction):
    nd = sum(c in "DHW" for c in letters)
    shape = {1: (2, 3, 9), 2: (2, 3, 6, 7), 3: (2, 3, 4, 5, 6)}[nd]
    canonical = reference_input(reduction, shape, 16)
    window = {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}
    options = PoolOptions(expectation=True)
    want = engine(canonical, reduction, options=options, **window)
    x = to_layout(canonical, letters)
    for path in paths_for(canonical, reduction, window):
        got = engine(x, reduction, path=path, layout=letters, options=options, **window)
        # float sums may add in another order in another layout: equal to rounding
        assert_close(got, to_layout(want, letters), msg=path)
    if letters in ("HW", "HWC", "NCHW", "CHW", "W", "DHW"):
        got = pool(x, reduction, layout=letters, expectation=True, **window)
        assert_close(got, to_layout(want, letters))


def test_default_layouts_in_pool():
    x = rng(17).standard_normal((6, 8, 3))  # HWC by the default rule
    got = pool(x, "max", kernel_size=2)
    assert got.shape == (3, 4, 3)
    want = pool(np.ascontiguousarray(x.transpose(2, 0, 1)), "max", kernel_size=2)  # CHW
    np.testing.assert_array_equal(got, want.transpose(1, 2, 0))
    assert pool(rng(1).random((2, 3, 8, 8)), "avg", kernel_size=2).shape == (2, 3, 4, 4)
    assert pool(rng(1).random((1, 2, 4, 8, 8)), "avg", kernel_size=2).shape == (1, 2, 2, 4, 4)
    assert pool(rng(1).random(9), "avg", kernel_size=2).shape == (4,)


def test_run_reports_layout_and_windows():
    result = run(rng(1).random((6, 8, 3)), "max", WindowSpec.make(kernel_size=2))
    assert (str(result.layout), result.layout_guessed) == ("HWC", True)
    assert result.output.shape == (3, 4, 3)
    assert [a.out for a in result.windows] == [3, 4]
    assert result.input_shape == (6, 8, 3) and result.input_dtype == "float64"
    result = run(rng(1).random((3, 6, 8)), "max", WindowSpec.make(kernel_size=2), layout="CHW")
    assert result.layout_guessed is False and result.output.shape == (3, 3, 4)


# ============================================================================ chunking


@pytest.mark.parametrize("reduction", ["median", "mode", "stochastic", "lp", "avg", "max"])
@pytest.mark.parametrize("limit", [1, 3000, 20000])
def test_small_memory_limit_gives_the_same_result(reduction, limit):
    x = reference_input(reduction, (2, 3, 13, 11), 21)
    for spec in (
        WindowSpec.make(kernel_size=3, stride=1, padding=1),
        WindowSpec.make(kernel_size="4x2", stride="2x1", padding="1:2x0", dilation="1x2"),
        WindowSpec.make(output_size="5x4"),
        WindowSpec.make(global_pool=True),
    ):
        full = run(x, reduction, spec, "NCHW", PoolOptions(seed=4)).output
        tight = run(x, reduction, spec, "NCHW", PoolOptions(seed=4, memory_limit=limit)).output
        if reduction in ("lp", "avg"):  # float sums: chunks may add in another order
            assert_close(tight, full, msg=str(spec))
        else:  # picks, including the stochastic samples: identical
            np.testing.assert_array_equal(full, tight, err_msg=str(spec))


@pytest.mark.parametrize("reduction", ["median", "mode"])
def test_chunked_results_match_the_reference(reduction):
    x = reference_input(reduction, (1, 2, 9, 8), 22)
    window = {"kernel_size": 3, "stride": 1, "padding": "same"}
    got = engine(x, reduction, options=PoolOptions(memory_limit=1), **window)
    assert_close(got, expected(x, reduction, **window))


# ============================================================================ fast paths


@pytest.mark.parametrize("reduction", TAP_REDUCTIONS)
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_non_overlapping_fast_path_equals_general_path(reduction, nd):
    # stride == kernel, no padding: the strided-view path; sizes divisible and not.
    shape = {1: (2, 3, 12), 2: (1, 2, 8, 9), 3: (1, 2, 4, 6, 5)}[nd]
    for dtype in (np.float32, np.float64, np.uint8, np.int32):
        x = (rng(23).random(shape) * 200).astype(dtype)
        for k in (1, 2, 3):
            want = engine(x, reduction, path="gather", kernel_size=k)
            for path in paths_for(x, reduction, {"kernel_size": k}):
                got = engine(x, reduction, path=path, kernel_size=k)
                assert got.dtype == want.dtype
                assert_close(got, want, np.float32 if dtype != np.float64 else np.float64)
            assert_close(want, expected(x, reduction, kernel_size=k), np.float32)


def test_large_kernels_beyond_the_tap_limit():
    x = rng(24).standard_normal((1, 2, 12, 12))
    for reduction in ("max", "min", "sum", "avg", "lp"):
        window = {"kernel_size": 6, "stride": 1, "padding": ((5, 0), (0, 5))}
        want = expected(x, reduction, **window)
        for path in paths_for(x, reduction, window):
            assert_close(engine(x, reduction, path=path, **window), want, msg=path)


def test_norm_type_must_be_positive():
    with pytest.raises(PoolError):
        pool(np.ones((4, 4)), "lp", kernel_size=2, norm_type=0)
    with pytest.raises(PoolError):
        pool(np.ones((4, 4)), "lp", kernel_size=2, norm_type=-1)


def test_unknown_device_is_a_usage_error():
    from poolcli.errors import UsageError

    with pytest.raises(UsageError):
        pool(np.ones((4, 4)), "max", kernel_size=2, device="tpu")


def test_complex_input_refused():
    with pytest.raises(PoolError):
        pool(np.ones((4, 4), dtype=np.complex64), "max", kernel_size=2)


def test_kernel_of_one_is_the_identity():
    x = rng(25).standard_normal((5, 6))
    for reduction in ALL:
        if reduction == "stochastic":
            continue
        got = pool(x, reduction, kernel_size=1)
        want = np.abs(x) if reduction == "lp" else x
        np.testing.assert_allclose(got, want, rtol=1e-12)
    assert math.isclose(float(pool(np.array([4.0]), "lp", kernel_size=1)[0]), 4.0)


def test_a_dilated_window_as_long_as_the_input_is_not_global():
    # kernel 2, dilation 2, padding 0:1 on 2 cells: the one window holds cells 0 and 2, and
    # cell 2 is padding, so only cell 0 counts (cell 1 lies between the taps).
    x = np.array([-1.0, 5.0])
    window = {"kernel_size": 2, "dilation": 2, "padding": "0:1"}
    for reduction, want in {"max": -1.0, "min": -1.0, "sum": -1.0, "avg": -1.0}.items():
        assert pool(x, reduction, **window).tolist() == [want], reduction
    assert pool(np.array([1, 0], dtype=np.int16), "mode", **window).tolist() == [1]
    assert pool(x, "median", **window).tolist() == [-1.0]


@pytest.mark.parametrize("dtype", [torch.uint16, torch.uint32, torch.uint64])
def test_wide_unsigned_tensors_stay_tensors(dtype):
    # torch cannot pool these dtypes itself; poolcli still returns a tensor for a tensor.
    big = {torch.uint16: 2**16 - 1, torch.uint32: 2**32 - 1, torch.uint64: 2**64 - 1}[dtype]
    x = torch.tensor([1, 2, big - 1, big], dtype=dtype)
    for reduction, want in {"max": [2, big], "min": [1, big - 1], "median": [1, big - 1]}.items():
        got = pool(x, reduction, kernel_size=2)
        assert isinstance(got, torch.Tensor) and got.dtype is dtype, reduction
        assert got.tolist() == want, reduction
    if dtype is not torch.uint64:
        got = pool(x, "sum", kernel_size=2)
        assert isinstance(got, torch.Tensor) and got.dtype is torch.int64
        assert got.tolist() == [3, 2 * big - 1]


DEVICES = devices_under_test()


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("reduction", ALL)
def test_every_device_gives_the_cpu_values(device, reduction):
    # On a machine with a GPU this compares it with the CPU, stochastic samples included:
    # the contract makes --seed reproducible on every device.
    x = reference_input(reduction, (1, 2, 9, 8), 26)
    spec = WindowSpec.make(kernel_size=3, stride=2, padding=1, ceil_mode=True)
    cpu = run(x, reduction, spec, "NCHW", PoolOptions(seed=5, device="cpu")).output
    result = run(x, reduction, spec, "NCHW", PoolOptions(seed=5, device=device))
    assert result.device.startswith(device)
    assert_close(result.output, cpu, msg=device)
    tensor = torch.from_numpy(x).to(device)
    got = pool(tensor, reduction, kernel_size=3, stride=2, padding=1, ceil_mode=True, seed=5,
               layout="NCHW", device=device)  # fmt: skip
    assert isinstance(got, torch.Tensor) and got.device.type == device
    assert_close(got.cpu().numpy(), cpu, msg=device)


def test_mode_ties_go_to_the_smallest_and_padding_never_counts():
    assert pool(np.array([3.0, -1.0, 3.0, -1.0]), "mode", kernel_size=4).tolist() == [-1.0]
    assert pool(np.array([2, 9, 9, 2, 7], dtype=np.uint8), "mode", kernel_size=5).tolist() == [2]
    # int8 padding is filled with 127 inside the engine; a real 127 must not gain from it.
    x = np.array([127, 5, 5], dtype=np.int8)
    got = pool(x, "mode", kernel_size=3, stride=1, padding=2)
    assert got.dtype == np.int8
    assert got.tolist() == [127, 5, 5, 5, 5]  # [p p 127] [p 127 5] [127 5 5] [5 5 p] [5 p p]
    got = pool(-x - 1, "mode", kernel_size=3, stride=1, padding=2)  # -128 is the other fill
    assert got.tolist() == [-128, -128, -6, -6, -6]


# --------------------------------------------------------------------------------------------
# Median through the selection network (windows without padding)


@pytest.mark.parametrize("cells", [*range(1, 28), 48, 49, 64, 80, 81, 100, 121])
def test_median_network_selects_the_lower_median(cells):
    network = median.median_network(cells)
    generator = np.random.default_rng(cells)
    for trial in range(30):
        values = generator.integers(0, 4, cells) if trial % 2 else generator.random(cells)
        slots = list(values)
        for a, b, keep_min, keep_max in network:
            low, high = min(slots[a], slots[b]), max(slots[a], slots[b])
            slots[a], slots[b] = (low if keep_min else None), (high if keep_max else None)
        assert slots[(cells - 1) // 2] == np.sort(values)[(cells - 1) // 2]


@settings(max_examples=60, deadline=None)
@given(
    shape=st.lists(st.integers(3, 9), min_size=1, max_size=3),
    kernel=st.integers(1, 3),
    stride=st.integers(1, 3),
    dilation=st.integers(1, 2),
    dtype=st.sampled_from([np.uint8, np.int32, np.float32, np.float64]),
    seed=st.integers(0, 1000),
)
def test_median_network_equals_the_sorting_path(shape, kernel, stride, dilation, dtype, seed):
    x = np.random.default_rng(seed).integers(0, 6, shape).astype(dtype)
    layout = Layout.parse("DHW"[-len(shape) :])
    spec = WindowSpec.make(kernel_size=kernel, stride=stride, dilation=dilation)
    if any(dilation * (kernel - 1) + 1 > n for n in shape):
        return
    windows = resolve(spec, tuple(shape), layout.spatial)
    tensor = torch.from_numpy(x)
    assert choose.choose_path(tensor, Reduction.MEDIAN, windows) in ("networks", "taps", "global")
    small = PoolOptions(memory_limit=64)  # many chunks of output rows
    network = ops.pool_tensor(tensor, "median", windows, layout, options=small, path="taps")
    sorting = ops.pool_tensor(tensor, "median", windows, layout, path="gather")
    assert torch.equal(network, sorting)
    if kernel == 3 and len(shape) <= 2:  # the shared 3 / 3x3 networks
        shared = ops.pool_tensor(tensor, "median", windows, layout, path="networks")
        assert torch.equal(shared, sorting)


@pytest.mark.parametrize("kernel", [(5, 5), (7, 7), (9, 9), (11, 11), (7, 3), (5, 5, 4)])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_large_median_networks_equal_the_loop_reference(kernel, dtype):
    shape = tuple(k + 3 for k in kernel)
    x = np.random.default_rng(len(kernel) * 100 + kernel[0]).integers(0, 9, shape).astype(dtype)
    layout = Layout.parse("DHW"[-len(shape) :])
    windows = resolve(WindowSpec.make(kernel_size=kernel, stride=1), shape, layout.spatial)
    tensor = torch.from_numpy(x)
    counts = dtype == np.uint8 and math.prod(kernel) >= choose.COUNTING_FROM
    assert choose.choose_path(tensor, Reduction.MEDIAN, windows) == (
        "counting" if counts else "taps"
    )
    small = PoolOptions(memory_limit=256)
    want = ref.reference_pool(x[None, None], "median", kernel, stride=1)[0, 0].astype(dtype)
    for path in ("taps", "auto"):
        got = ops.pool_tensor(tensor, "median", windows, layout, options=small, path=path)
        np.testing.assert_array_equal(got.numpy(), want)


def test_median_with_nan_or_padding_takes_the_sorting_path():
    x = torch.arange(16.0).reshape(4, 4)
    windows = resolve(WindowSpec.make(kernel_size=3, stride=1), (4, 4))
    assert choose.choose_path(x, Reduction.MEDIAN, windows) == "networks"
    x[1, 1] = float("nan")
    assert choose.choose_path(x, Reduction.MEDIAN, windows) == "gather"
    assert torch.isnan(ops.pool_tensor(x, "median", windows, Layout("HW"))).all()
    padded = resolve(WindowSpec.make(kernel_size=3, stride=1, padding=1), (4, 4))
    assert choose.choose_path(torch.zeros(4, 4), Reduction.MEDIAN, padded) == "gather"
