"""The engine against torch.nn.functional (where torch has the op) and the loop reference.

Every engine path (``taps``, ``torch``, ``global``, ``gather``; see poolcli/engine/choose.py)
is forced in turn wherever it applies and compared with the same oracle, so the fast paths
are proven equal to the general one.
"""

from __future__ import annotations

import itertools
import math
import random

import numpy as np
import pytest
import reference as ref
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from poolcli.engine import choose, median, ops
from poolcli.engine.core import pool, run
from poolcli.errors import PoolError
from poolcli.model.layout import Layout
from poolcli.model.options import PoolOptions
from poolcli.model.reductions import Reduction
from poolcli.model.window import WindowSpec, resolve

CANONICAL = {1: "NCW", 2: "NCHW", 3: "NCDHW"}
SHAPES = {1: (2, 3, 7), 2: (1, 2, 5, 6), 3: (1, 2, 4, 4, 5)}
MAX_POOL = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
AVG_POOL = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}
LP_POOL = {1: F.lp_pool1d, 2: F.lp_pool2d, 3: F.lp_pool3d}
TAP_REDUCTIONS = ("max", "min", "sum", "avg", "lp")
ALL = ("max", "avg", "min", "sum", "lp", "median", "stochastic", "mode")


def rng(seed=0):
    return np.random.default_rng(seed)


def engine(x, reduction, *, path="auto", layout=None, options=None, **window):
    """Pool ``x`` through ops.pool_array, forcing ``path``; returns the numpy result."""
    spec = WindowSpec.make(**window)
    x_shape = tuple(x.shape)
    layout = Layout.parse(layout or CANONICAL[len(x_shape) - 2])
    windows = resolve(spec, layout.spatial_shape(x_shape), layout.spatial)
    out, device = ops.pool_array(
        x,
        Reduction(reduction),
        windows,
        layout,
        count_include_pad=spec.count_include_pad,
        options=options or PoolOptions(),
        path=path,
    )
    assert device == "cpu"
    return out


def expected(x, reduction, *, norm_type=2.0, **window):
    """The loop reference for the same call (canonical layout)."""
    x = np.asarray(x)
    if window.get("global_pool"):
        return ref.reference_global(x, reduction, norm_type)
    if window.get("output_size") is not None:
        return ref.reference_adaptive(x, reduction, window["output_size"], norm_type)
    return ref.reference_pool(
        x,
        reduction,
        window["kernel_size"],
        window.get("stride"),
        window.get("padding"),
        window.get("dilation"),
        window.get("ceil_mode", False),
        window.get("count_include_pad", False),
        norm_type,
    )


def paths_for(x, reduction, window):
    """Every engine path that computes this case exactly (the tests force each one)."""
    paths = ["auto", "gather"]
    sliding = window.get("kernel_size") is not None
    if sliding and reduction in TAP_REDUCTIONS:
        paths.append("taps")
    if window.get("global_pool"):
        paths.append("global")
    floating = np.asarray(x).dtype.kind == "f" and np.asarray(x).dtype != np.float16
    if floating and reduction in ("max", "avg"):
        if window.get("output_size") is not None:
            paths.append("torch")
        elif sliding:
            spec = WindowSpec.make(**window)
            layout = Layout.parse(CANONICAL[np.asarray(x).ndim - 2])
            axes = resolve(spec, layout.spatial_shape(np.asarray(x).shape), layout.spatial)
            symmetric = all(a.pad_begin == a.pad_end <= a.kernel // 2 for a in axes)
            no_dilation = all(a.dilation == 1 for a in axes)
            if symmetric and (reduction == "max" or no_dilation):
                paths.append("torch")
    return paths


def assert_close(got, want, dtype=np.float64, msg=""):
    got = np.asarray(got)
    want = np.asarray(want)
    assert got.shape == want.shape, (got.shape, want.shape, msg)
    if got.dtype.kind in "iub" and want.dtype.kind in "iubO":
        np.testing.assert_array_equal(got, want.astype(got.dtype), err_msg=msg)
        return
    tol = {np.float64: 1e-12, np.float32: 2e-6, np.float16: 2e-3}[dtype]
    np.testing.assert_allclose(
        got.astype(np.float64),
        want.astype(np.float64),
        rtol=tol,
        atol=tol,
        equal_nan=True,
        err_msg=msg,
    )


def tt(x):
    return torch.from_numpy(np.ascontiguousarray(x))


# ============================================================================ against torch


def torch_cases(nd, *, dilation=True):
    spatial = SHAPES[nd][2:]
    smallest = min(spatial)
    for k, s, d, ceil in itertools.product(
        range(1, smallest + 1), (None, 1, 2), (1, 2) if dilation else (1,), (False, True)
    ):
        for p in range(0, k // 2 + 1):
            if d * (k - 1) + 1 > smallest + 2 * p:
                continue
            yield {"kernel_size": k, "stride": s, "padding": p, "dilation": d, "ceil_mode": ceil}


def torch_args(window):
    k = window["kernel_size"]
    return k, window["stride"] or k, window["padding"]


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_max_matches_torch(nd, dtype):
    x = rng(nd).standard_normal(SHAPES[nd]).astype(dtype)
    for window in torch_cases(nd):
        k, s, p = torch_args(window)
        want = MAX_POOL[nd](tt(x), k, s, p, window["dilation"], ceil_mode=window["ceil_mode"])
        for path in paths_for(x, "max", window):
            got = engine(x, "max", path=path, **window)
            assert got.dtype == dtype
            np.testing.assert_array_equal(got, want.numpy(), err_msg=f"{window} {path}")


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("include", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_avg_matches_torch(nd, include, dtype):
    x = rng(nd).standard_normal(SHAPES[nd]).astype(dtype)
    for window in torch_cases(nd, dilation=False):
        window["count_include_pad"] = include
        k, s, p = torch_args(window)
        want = AVG_POOL[nd](
            tt(x), k, s, p, ceil_mode=window["ceil_mode"], count_include_pad=include
        ).numpy()
        for path in paths_for(x, "avg", window):
            got = engine(x, "avg", path=path, **window)
            assert got.dtype == dtype
            assert_close(got, want, dtype, f"{window} {path}")


def test_avg_every_rectangular_kernel_matches_torch():
    # As PyTorch's TestAvgPool: every kernel (i, j) that fits the input.
    x = rng(7).standard_normal((2, 3, 5, 6))
    for i, j in itertools.product(range(1, 6), range(1, 7)):
        for stride, (ceil, pad) in itertools.product((None, (1, 2)), ((False, 0), (True, 1))):
            padding = (min(pad, i // 2), min(pad, j // 2))
            for include in (False, True):
                want = F.avg_pool2d(
                    tt(x), (i, j), stride or (i, j), padding, ceil, count_include_pad=include
                )
                got = engine(
                    x,
                    "avg",
                    kernel_size=(i, j),
                    stride=stride,
                    padding=padding,
                    ceil_mode=ceil,
                    count_include_pad=include,
                )
                assert_close(got, want.numpy(), msg=str((i, j, stride, ceil, padding, include)))
            want = F.max_pool2d(tt(x), (i, j), stride or (i, j), padding, ceil_mode=ceil)
            got = engine(
                x, "max", kernel_size=(i, j), stride=stride, padding=padding, ceil_mode=ceil
            )
            np.testing.assert_array_equal(got, want.numpy())


def test_count_include_pad_defaults_to_false():
    x = rng(3).standard_normal((5, 6))
    want = F.avg_pool2d(tt(x)[None], 3, 1, 1, count_include_pad=False)[0].numpy()
    assert_close(pool(x, "avg", kernel_size=3, stride=1, padding=1), want)
    torch_default = F.avg_pool2d(tt(x)[None], 3, 1, 1)[0].numpy()
    assert not np.allclose(pool(x, "avg", kernel_size=3, stride=1, padding=1), torch_default)


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("p_norm", [1.0, 2.0, 3.5])
def test_lp_matches_torch_on_nonnegative_input(nd, p_norm):
    # torch's lp_pool has no padding, and with ceil mode it scales partial windows as if full.
    x = np.abs(rng(nd).standard_normal(SHAPES[nd]))
    for window in torch_cases(nd, dilation=False):
        if window["padding"] or window["ceil_mode"]:
            continue
        k, s, _ = torch_args(window)
        want = LP_POOL[nd](tt(x), p_norm, k, s).numpy()
        for path in paths_for(x, "lp", window):
            got = engine(x, "lp", path=path, options=PoolOptions(norm_type=p_norm), **window)
            assert_close(got, want, msg=f"{window} {path}")


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("size", [1, 2, 3, 4, 7])
def test_adaptive_matches_torch(nd, size):
    x = rng(nd).standard_normal(SHAPES[nd])
    max_fn = getattr(F, f"adaptive_max_pool{nd}d")
    avg_fn = getattr(F, f"adaptive_avg_pool{nd}d")
    for path in paths_for(x, "max", {"output_size": size}):
        got = engine(x, "max", path=path, output_size=size)
        np.testing.assert_array_equal(got, max_fn(tt(x), size).numpy(), err_msg=path)
        got = engine(x, "avg", path=path, output_size=size)
        assert_close(got, avg_fn(tt(x), size).numpy(), msg=path)


def test_adaptive_per_axis_output_size():
    x = rng(1).standard_normal((2, 3, 9, 7)).astype(np.float32)
    got = pool(x, "max", output_size="4x3", layout="NCHW")
    np.testing.assert_array_equal(got, F.adaptive_max_pool2d(tt(x), (4, 3)).numpy())


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_global_matches_torch(nd):
    x = rng(nd).standard_normal(SHAPES[nd])
    axes = tuple(range(2, 2 + nd))
    for path in ("auto", "global", "gather"):
        got = engine(x, "max", path=path, global_pool=True)
        np.testing.assert_array_equal(got, tt(x).amax(axes, keepdim=True).numpy())
        got = engine(x, "avg", path=path, global_pool=True)
        assert_close(got, tt(x).mean(axes, keepdim=True).numpy())


# ============================================================================ against the reference


def reference_cases(nd, count=40):
    """A fixed sample of windows torch cannot express: same, asymmetric and large padding."""
    cases = []
    pads = [0, 1, "same", "valid", ((0, 1),), ((2, 0),), ((1, 3),), ((3, 3),), ((0, 2), (1, 0))]
    for k, s, d, p, ceil in itertools.product(range(1, 5), (1, 2, 3), (1, 2), pads, (False, True)):
        if ceil and isinstance(p, str):
            continue
        if isinstance(p, tuple) and len(p) > nd:
            continue
        window = {"kernel_size": k, "stride": s, "dilation": d, "padding": p, "ceil_mode": ceil}
        try:
            resolve(WindowSpec.make(**window), SHAPES[nd][2:])
        except PoolError:
            continue
        cases.append(window)
    return random.Random(nd).sample(cases, count)


def reference_input(reduction, shape, seed):
    g = rng(seed)
    if reduction == "mode":
        return g.integers(0, 3, shape).astype(np.int64)  # many ties
    if reduction == "stochastic":
        return g.random(shape)
    return g.standard_normal(shape)


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("reduction", ["min", "max", "sum", "median", "mode", "lp", "avg"])
def test_reductions_match_reference(nd, reduction):
    x = reference_input(reduction, SHAPES[nd], nd)
    for window in reference_cases(nd):
        for include in (False, True) if reduction == "avg" else (False,):
            window = {**window, "count_include_pad": include}
            want = expected(x, reduction, **window)
            for path in paths_for(x, reduction, window):
                got = engine(x, reduction, path=path, **window)
                assert_close(got, want, msg=f"{window} {path}")


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_lp_with_negative_input_and_padding_matches_reference(nd):
    x = rng(11).standard_normal(SHAPES[nd])
    for window, p_norm in zip(reference_cases(nd, 30), itertools.cycle([1.0, 2.0, 3.0, 0.5])):
        want = expected(x, "lp", norm_type=p_norm, **window)
        for path in paths_for(x, "lp", window):
            got = engine(x, "lp", path=path, options=PoolOptions(norm_type=p_norm), **window)
            assert_close(got, want, msg=f"{window} {p_norm} {path}")


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_stochastic_expectation_matches_reference(nd):
    x = rng(12).random(SHAPES[nd])
    x[..., 0] = 0.0  # some windows hold zeros
    options = PoolOptions(expectation=True)
    for window in reference_cases(nd, 30):
        want = expected(x, "stochastic", **window)
        for path in paths_for(x, "stochastic", window):
            got = engine(x, "stochastic", path=path, options=options, **window)
            assert_close(got, want, msg=f"{window} {path}")


@pytest.mark.parametrize("reduction", ALL)
@pytest.mark.parametrize("nd", [1, 2, 3])
def test_adaptive_and_global_match_reference(reduction, nd):
    x = reference_input(reduction, SHAPES[nd], 5)
    options = PoolOptions(expectation=True)
    for window in ({"global_pool": True}, {"output_size": 3}, {"output_size": 2}):
        want = expected(x, reduction, **window)
        for path in paths_for(x, reduction, window):
            got = engine(x, reduction, path=path, options=options, **window)
            assert_close(got, want, msg=f"{window} {path}")


def test_same_and_asymmetric_padding_with_count_include_pad():
    x = np.arange(1.0, 13.0).reshape(1, 1, 3, 4)
    # "same" with kernel 2 pads one cell at the end of each axis (SAME_UPPER).
    got = engine(x, "avg", kernel_size=2, stride=1, padding="same")
    want = [[3.5, 4.5, 5.5, 6.0], [7.5, 8.5, 9.5, 10.0], [9.5, 10.5, 11.5, 12.0]]
    np.testing.assert_allclose(got[0, 0], want)
    got = engine(x, "avg", kernel_size=2, stride=1, padding="same", count_include_pad=True)
    want = [[3.5, 4.5, 5.5, 3.0], [7.5, 8.5, 9.5, 5.0], [4.75, 5.25, 5.75, 3.0]]
    np.testing.assert_allclose(got[0, 0], want)
    # asymmetric 0:1 x 1:0, stride 2: rows [0, 1] and [2, pad]; columns [pad, 0] and [1, 2]
    got = engine(x, "sum", kernel_size=2, padding=((0, 1), (1, 0)), stride=2)
    np.testing.assert_array_equal(got[0, 0], [[6.0, 18.0], [9.0, 21.0]])
    got = engine(x, "avg", kernel_size=2, padding=((0, 1), (1, 0)), stride=2)
    np.testing.assert_array_equal(got[0, 0], [[3.0, 4.5], [9.0, 10.5]])
    got = engine(
        x, "avg", kernel_size=2, padding=((0, 1), (1, 0)), stride=2, count_include_pad=True
    )
    np.testing.assert_array_equal(got[0, 0], [[1.5, 4.5], [2.25, 5.25]])


def test_padding_beyond_half_the_kernel():
    x = np.array([[[5.0, -1.0, 2.0]]])
    # kernel 3, padding 2, stride 1: windows [p p 5] [p 5 -1] [5 -1 2] [-1 2 p] [2 p p]
    for reduction, want in {
        "max": [5, 5, 5, 2, 2],
        "min": [5, -1, -1, -1, 2],
        "sum": [5, 4, 6, 1, 2],
        "avg": [5, 2, 2, 0.5, 2],
        "median": [5, -1, 2, -1, 2],
    }.items():
        got = engine(x, reduction, kernel_size=3, stride=1, padding=2)
        np.testing.assert_allclose(got[0, 0], want, err_msg=reduction)
    got = engine(x, "avg", kernel_size=3, stride=1, padding=2, count_include_pad=True)
    np.testing.assert_allclose(got[0, 0], [5 / 3, 4 / 3, 2.0, 1 / 3, 2 / 3])


def test_ceil_cells_never_count():
    x = np.array([[[1.0, 2.0, 3.0, 4.0, 10.0]]])
    for include in (False, True):
        got = engine(x, "avg", kernel_size=2, ceil_mode=True, count_include_pad=include)
        np.testing.assert_allclose(got[0, 0], [1.5, 3.5, 10.0])
    got = engine(x, "median", kernel_size=2, ceil_mode=True)
    np.testing.assert_array_equal(got[0, 0], [1.0, 3.0, 10.0])
    got = engine(-x, "max", kernel_size=2, ceil_mode=True)
    np.testing.assert_array_equal(got[0, 0], [-1.0, -3.0, -10.0])


def test_padding_never_wins():
    x = -np.arange(1.0, 10.0).reshape(1, 1, 3, 3)  # all negative: a 0 from padding would win max
    for path in ("auto", "taps", "gather", "torch"):
        got = engine(x, "max", path=path, kernel_size=3, stride=1, padding=1)
        np.testing.assert_array_equal(got, MAX_POOL[2](tt(x), 3, 1, 1).numpy())
    for path in ("auto", "taps", "gather"):
        got = engine(-x, "min", path=path, kernel_size=3, stride=1, padding=1)
        np.testing.assert_array_equal(got, -MAX_POOL[2](tt(x), 3, 1, 1).numpy())
    got = engine(x, "median", kernel_size=3, stride=1, padding=1)
    assert got[0, 0, 0, 0] == -4.0  # real cells sorted -5 -4 -2 -1: the lower median is -4
    labels = np.zeros((1, 1, 3, 3), dtype=np.uint8) + 7
    assert (engine(labels, "mode", kernel_size=3, stride=1, padding=1) == 7).all()


# ============================================================================ dtypes

INT_DTYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64]


def extreme_ints(dtype, shape, seed):
    info = np.iinfo(dtype)
    g = rng(seed)
    x = g.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)
    flat = x.reshape(-1)
    flat[:4] = [info.min, info.max, info.max - 1, info.min + 1]
    return x


@pytest.mark.parametrize("dtype", INT_DTYPES + [np.bool_])
@pytest.mark.parametrize("reduction", ["max", "min", "median", "mode"])
def test_order_reductions_keep_integer_dtype_exactly(dtype, reduction):
    shape = (1, 2, 5, 6)
    if dtype is np.bool_:
        x = rng(1).random(shape) > 0.5
    else:
        x = extreme_ints(dtype, shape, 2)
        if reduction == "mode":
            info = np.iinfo(dtype)
            x = rng(3).choice(np.array([info.min, info.max, 0, 1], dtype=dtype), shape)
    for window in (
        {"kernel_size": 2},
        {"kernel_size": 3, "stride": 1, "padding": 1},
        {"kernel_size": 2, "stride": 1, "padding": ((0, 1), (2, 0)), "dilation": 2},
        {"global_pool": True},
        {"output_size": 4},
    ):
        want = expected(x, reduction, **window)
        for path in paths_for(x, reduction, window):
            got = engine(x, reduction, path=path, **window)
            assert got.dtype == np.dtype(dtype), (window, path)
            np.testing.assert_array_equal(got, want.astype(dtype), err_msg=f"{window} {path}")


@pytest.mark.parametrize("dtype", INT_DTYPES + [np.bool_])
def test_integer_sums_are_exact_int64(dtype):
    shape = (1, 2, 5, 6)
    if dtype is np.bool_:
        x = rng(1).random(shape) > 0.5
    else:
        x = extreme_ints(dtype, shape, 4)
        if dtype in (np.int64, np.uint64):
            x = (x // 2**20).astype(dtype)  # keep 9-cell sums inside int64
    for window in (
        {"kernel_size": 2},
        {"kernel_size": 3, "stride": 1, "padding": 1},
        {"kernel_size": 2, "stride": 1, "padding": "same", "dilation": 2},
        {"global_pool": True},
        {"output_size": 4},
    ):
        want = expected(x, "sum", **window)
        for path in paths_for(x, "sum", window):
            got = engine(x, "sum", path=path, **window)
            assert got.dtype == np.int64, (window, path)
            assert got.tolist() == want.tolist(), (window, path)


@pytest.mark.parametrize("dtype", INT_DTYPES + [np.bool_])
@pytest.mark.parametrize("reduction", ["avg", "lp", "stochastic"])
def test_integer_inputs_give_float32_by_default_and_float64_on_request(dtype, reduction):
    shape = (1, 2, 4, 6)
    if dtype is np.bool_:
        x = rng(1).random(shape) > 0.5
    else:
        info = np.iinfo(dtype)
        low = 0 if reduction == "stochastic" else max(info.min, -1000)
        x = rng(5).integers(low, min(info.max, 1000), shape).astype(dtype)
    window = {"kernel_size": 3, "stride": 1, "padding": 1, "count_include_pad": True}
    want = expected(x, reduction, **window)
    for compute, out_dtype in (
        (None, np.float32),
        ("float32", np.float32),
        ("float64", np.float64),
    ):
        options = PoolOptions(dtype=compute, expectation=True)
        for path in paths_for(x, reduction, window):
            got = engine(x, reduction, path=path, options=options, **window)
            assert got.dtype == out_dtype, (compute, path)
            assert_close(got, want, out_dtype, f"{compute} {path}")


@pytest.mark.parametrize("dtype", [np.uint8, np.int8])
def test_8bit_avg_is_the_exact_sum_divided_once_in_float32(dtype):
    # Sums of 8-bit values are exact in float32, so whatever a path accumulates in, the result
    # must be the correctly rounded quotient of the exact sum, bit for bit.
    info = np.iinfo(dtype)
    x = rng(3).integers(info.min, info.max, (2, 3, 9, 11), endpoint=True).astype(dtype)
    windows = [
        {"kernel_size": 2},
        {"kernel_size": 3, "stride": 1, "padding": 1},
        {"kernel_size": (2, 3), "stride": (1, 2), "ceil_mode": True},
        {"kernel_size": 7, "stride": 1, "padding": 3},
    ]
    for window in windows:
        sums = engine(x, "sum", **window).astype(np.float32)
        counts = engine(np.ones_like(x), "sum", **window).astype(np.float32)
        for path in paths_for(x, "avg", window):
            got = engine(x, "avg", path=path, **window)
            np.testing.assert_array_equal(got, sums / counts, err_msg=f"{window} {path}")


def test_dtype_float16_for_integer_input():
    x = rng(1).integers(0, 50, (6, 6)).astype(np.int16)
    got = pool(x, "avg", kernel_size=2, dtype="float16")
    assert got.dtype == np.float16
    assert_close(got, expected(x[None, None], "avg", kernel_size=2)[0, 0], np.float16)


def test_uint8_mean_never_wraps():
    # scikit-image's test_func_kwargs_same_dtype: with a uint8 accumulator block_reduce gives
    # [[41, 16], [32, 31]] because the block sums (678, 835, 641, 381) wrap around 256.
    image = np.array(
        [[97, 123, 173, 227], [217, 241, 221, 214], [211, 11, 170, 53], [214, 205, 101, 57]],
        dtype=np.uint8,
    )
    got = pool(image, "avg", kernel_size=2)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, [[169.5, 208.75], [160.25, 95.25]])
    got = pool(image, "sum", kernel_size=2)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, [[678, 835], [641, 381]])
    full = np.full((16, 16), 255, dtype=np.uint8)
    assert pool(full, "sum", global_pool=True).tolist() == [[255 * 256]]
    assert pool(full, "avg", global_pool=True).tolist() == [[255.0]]


def test_integers_beyond_2_to_24_stay_exact():
    base = 2**40
    x = np.array([[base + 1, base + 2], [base + 3, base + 6]], dtype=np.int64)
    assert pool(x, "max", kernel_size=2).tolist() == [[base + 6]]
    assert pool(x, "min", kernel_size=2).tolist() == [[base + 1]]
    assert pool(x, "median", kernel_size=2).tolist() == [[base + 2]]
    assert pool(x, "sum", kernel_size=2).tolist() == [[4 * base + 12]]
    got = pool(x, "avg", kernel_size=2, dtype="float64")
    assert got.dtype == np.float64 and got.tolist() == [[base + 3.0]]
    big = np.array([2**62 + 1, 2**62 + 3], dtype=np.int64)
    assert pool(big, "max", kernel_size=2).tolist() == [2**62 + 3]
    u64 = np.array([2**64 - 1, 2**64 - 2, 2**63, 1], dtype=np.uint64)
    assert pool(u64, "max", kernel_size=2).tolist() == [2**64 - 1, 2**63]
    assert pool(u64, "min", kernel_size=2).tolist() == [2**64 - 2, 1]
    assert pool(u64, "median", kernel_size=2).tolist() == [2**64 - 2, 1]
    assert pool(u64, "mode", kernel_size=4).tolist() == [1]
    assert pool(u64, "max", kernel_size=2).dtype == np.uint64
    u32 = np.array([2**32 - 1, 2**32 - 2], dtype=np.uint32)
    assert pool(u32, "sum", kernel_size=2).tolist() == [2**33 - 3]
    assert pool(u32, "median", kernel_size=2).tolist() == [2**32 - 2]


def test_sums_that_cannot_fit_int64_are_refused_not_wrapped():
    x = np.array([2**62, 2**62, 2**62], dtype=np.int64)
    with pytest.raises(PoolError):
        pool(x, "sum", kernel_size=3)
    u64 = np.array([2**63, 1], dtype=np.uint64)
    with pytest.raises(PoolError):
        pool(u64, "sum", kernel_size=2)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("reduction", ALL)
def test_float_inputs_keep_their_dtype(dtype, reduction):
    x = rng(8).random((1, 2, 5, 6)).astype(dtype)
    window = {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}
    options = PoolOptions(expectation=True, dtype="float64")
    want = expected(x, reduction, **window)
    for path in paths_for(x, reduction, window):
        got = engine(x, reduction, path=path, options=options, **window)
        assert got.dtype == dtype, path
        assert_close(got, want, dtype, path)


@pytest.mark.parametrize("reduction", ALL)
def test_bfloat16_tensors(reduction):
    g = torch.Generator().manual_seed(0)
    x = torch.rand((1, 2, 6, 6), generator=g).to(torch.bfloat16)
    got = pool(x, reduction, kernel_size=2, stride=1, padding=1, layout="NCHW", expectation=True)
    assert isinstance(got, torch.Tensor) and got.dtype is torch.bfloat16
    want = expected(x.double().numpy(), reduction, kernel_size=2, stride=1, padding=1)
    np.testing.assert_allclose(got.double().numpy(), want, rtol=1e-2, atol=1e-2)


def test_half_precision_accumulates_in_float32():
    # 4096 ones summed in float16 one at a time would stall at 2048.
    x = np.ones((64, 64), dtype=np.float16)
    assert pool(x, "avg", global_pool=True).tolist() == [[1.0]]
    assert pool(x, "avg", kernel_size=64).tolist() == [[1.0]]
    t = torch.ones((64, 64), dtype=torch.bfloat16)
    assert pool(t, "avg", kernel_size=64).tolist() == [[1.0]]
    assert pool(t, "avg", global_pool=True).tolist() == [[1.0]]


@pytest.mark.parametrize("dtype", [">f4", ">f8", ">i2", ">i8", ">u2", ">u4", "<f4"])
@pytest.mark.parametrize("reduction", ["max", "avg", "sum", "median"])
def test_big_endian_and_read_only_arrays(dtype, reduction):
    native = rng(9).integers(0, 100, (5, 6)).astype(np.dtype(dtype).newbyteorder("="))
    for x in (native.astype(dtype), native.astype(dtype)[:, ::-1]):
        x.setflags(write=False)
        got = pool(x, reduction, kernel_size=2, stride=1, padding=1)
        plain = np.ascontiguousarray(x).astype(x.dtype.newbyteorder("="))
        want = pool(plain, reduction, kernel_size=2, stride=1, padding=1)
        np.testing.assert_array_equal(got, want)
        assert got.dtype == want.dtype and got.dtype.isnative


def test_memory_mapped_read_only_input(tmp_path):
    x = rng(10).random((7, 8)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    mapped = np.load(tmp_path / "x.npy", mmap_mode="r")
    np.testing.assert_array_equal(
        pool(mapped, "median", kernel_size=3, stride=1), pool(x, "median", kernel_size=3, stride=1)
    )
    np.testing.assert_array_equal(pool(mapped, "max", kernel_size=2), pool(x, "max", kernel_size=2))


def test_non_contiguous_inputs():
    base = rng(13).standard_normal((2, 3, 8, 10))
    for x in (base[:, :, ::2, 1::3], base.transpose(0, 1, 3, 2), base[..., ::-1]):
        for reduction in ("max", "avg", "median", "sum"):
            got = engine(x, reduction, kernel_size=2, stride=1, padding=1)
            want = engine(np.ascontiguousarray(x), reduction, kernel_size=2, stride=1, padding=1)
            np.testing.assert_array_equal(got, want)


def test_tensor_in_tensor_out():
    x = torch.arange(16.0).reshape(4, 4)
    got = pool(x, "max", kernel_size=2)
    assert isinstance(got, torch.Tensor)
    assert got.tolist() == [[5.0, 7.0], [13.0, 15.0]]
    ints = torch.arange(16, dtype=torch.int32).reshape(1, 1, 4, 4)
    got = pool(ints, "sum", kernel_size=2)
    assert isinstance(got, torch.Tensor) and got.dtype is torch.int64
    assert got.shape == (1, 1, 2, 2)


def test_bool_tensors():
    x = torch.tensor([[True, False, False, False], [False, False, True, True]])
    assert pool(x, "max", kernel_size=2).tolist() == [[True, True]]
    assert pool(x, "min", kernel_size=2).tolist() == [[False, False]]
    assert pool(x, "sum", kernel_size=2).tolist() == [[1, 2]]
    assert pool(x, "mode", kernel_size=2).tolist() == [[False, False]]  # 2:2 tie -> smaller


# ============================================================================ NaN


def test_nan_propagates_in_max_as_torch():
    x = rng(14).standard_normal((1, 2, 6, 6))
    x[0, 0, 1, 2] = np.nan
    x[0, 1, 5, 5] = np.nan
    for k, s, p in ((2, 2, 0), (3, 1, 1), (3, 2, 1)):
        want = MAX_POOL[2](tt(x), k, s, p).numpy()
        window = {"kernel_size": k, "stride": s, "padding": p}
        for path in paths_for(x, "max", window):
            np.testing.assert_array_equal(engine(x, "max", path=path, **window), want)


@pytest.mark.parametrize("reduction", ["min", "avg", "sum", "lp", "median"])
def test_nan_propagates(reduction):
    # The contract: NaN propagates for min, avg, sum, lp and median too. (mode has no NaN rule
    # in the contract and is not tested with NaN; stochastic refuses NaN, tested below.)
    x = rng(15).standard_normal((1, 2, 6, 6))
    x[0, 0, 1, 2] = np.nan
    for window in (
        {"kernel_size": 2},
        {"kernel_size": 3, "stride": 1, "padding": 1},
        {"global_pool": True},
        {"output_size": 4},
    ):
        want = expected(x, reduction, **window)
        assert np.isnan(want).any() and not np.isnan(want).all()
        for path in paths_for(x, reduction, window):
            got = engine(x, reduction, path=path, **window)
            np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=f"{window} {path}")
            assert_close(got, want, msg=f"{window} {path}")


def test_stochastic_refuses_nan():
    x = np.array([[1.0, np.nan], [2.0, 3.0]])
    with pytest.raises(PoolError):
        pool(x, "stochastic", kernel_size=2, seed=0)


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


# ============================================================================ stochastic


def test_stochastic_seed_reproducible():
    x = rng(18).random((3, 16, 16))
    a = pool(x, "stochastic", kernel_size=2, seed=7, layout="CHW")
    b = pool(x, "stochastic", kernel_size=2, seed=7, layout="CHW")
    c = pool(x, "stochastic", kernel_size=2, seed=8, layout="CHW")
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()
    assert a.dtype == np.float64


def test_stochastic_samples_are_window_values_never_padding():
    x = rng(19).random((1, 2, 7, 8)) + 0.5  # every value positive and distinct
    for window in (
        {"kernel_size": 3, "stride": 1, "padding": 1},
        {"kernel_size": 2, "stride": 2, "padding": ((1, 0), (0, 1)), "ceil_mode": True},
        {"kernel_size": 3, "stride": 2, "padding": "same", "dilation": 2},
    ):
        cells = ref.window_cells(
            x,
            window["kernel_size"],
            window.get("stride"),
            window.get("padding"),
            window.get("dilation"),
            window.get("ceil_mode", False),
        )
        for seed in range(5):
            got = engine(x, "stochastic", options=PoolOptions(seed=seed), **window)
            for idx, values in cells.items():
                for n, c in itertools.product(range(1), range(2)):
                    assert got[(n, c, *idx)] in set(values[n, c].tolist()), (window, idx)


def test_stochastic_all_zero_window_gives_zero():
    x = np.zeros((4, 4))
    x[2:, 2:] = [[1.0, 2.0], [3.0, 0.0]]
    for seed in range(10):
        got = pool(x, "stochastic", kernel_size=2, seed=seed)
        assert got[0, 0] == 0 and got[0, 1] == 0 and got[1, 0] == 0
        assert got[1, 1] in (1.0, 2.0, 3.0)  # a zero cell is never drawn
    got = pool(x, "stochastic", kernel_size=2, expectation=True)
    np.testing.assert_allclose(got, [[0, 0], [0, 14 / 6]])


def test_stochastic_refuses_negative_input():
    x = np.array([[1.0, -2.0], [3.0, 4.0]])
    with pytest.raises(PoolError) as info:
        pool(x, "stochastic", kernel_size=2, seed=0)
    assert "negative" in str(info.value)
    with pytest.raises(PoolError):
        pool(x, "stochastic", kernel_size=2, expectation=True)
    with pytest.raises(PoolError):
        pool(x.astype(np.int16), "stochastic", kernel_size=2, seed=0)


def test_stochastic_integer_input():
    x = np.array([[0, 5, 0, 0], [0, 0, 0, 9]], dtype=np.uint8)
    got = pool(x, "stochastic", kernel_size=2, seed=3)
    assert got.dtype == np.float32
    assert got.tolist() == [[5.0, 9.0]]


def chi_square(counts, probabilities):
    total = sum(counts)
    return sum(
        (c - total * p) ** 2 / (total * p)
        for c, p in zip(counts, probabilities, strict=True)
        if p > 0
    )


def test_stochastic_frequencies_follow_x_over_sum():
    # 6000 independent windows holding [1, 2, 3, 4] (with fixed seeds, so deterministic).
    # With 3 degrees of freedom, chi-square > 30 has probability ~1e-6 for a correct sampler.
    values = np.array([1.0, 2.0, 3.0, 4.0])
    x = np.tile(values, 6000)
    for seed in (0, 1):
        got = pool(x, "stochastic", kernel_size=4, seed=seed)
        counts = [int((got == v).sum()) for v in values]
        assert sum(counts) == 6000
        assert chi_square(counts, values / values.sum()) < 30, counts


def test_stochastic_frequencies_over_seeds_with_padding():
    # One padded 2-D window per call; padding must get no share, zeros none either.
    x = np.array([[0.0, 1.0], [3.0, 6.0]])
    counts = {0.0: 0, 1.0: 0, 3.0: 0, 6.0: 0}
    for seed in range(400):
        got = pool(x, "stochastic", kernel_size=3, padding="0:1x0:1", seed=seed)
        assert got.shape == (1, 1)
        counts[float(got[0, 0])] += 1
    assert counts[0.0] == 0
    assert chi_square([counts[1.0], counts[3.0], counts[6.0]], [0.1, 0.3, 0.6]) < 30, counts


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


DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


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


@pytest.mark.parametrize("cells", range(1, 28))
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
    assert choose.choose_path(tensor, Reduction.MEDIAN, windows) in ("taps", "global")
    small = PoolOptions(memory_limit=64)  # many chunks of output rows
    network = ops.pool_tensor(tensor, "median", windows, layout, options=small, path="taps")
    sorting = ops.pool_tensor(tensor, "median", windows, layout, path="gather")
    assert torch.equal(network, sorting)


def test_median_with_nan_or_padding_takes_the_sorting_path():
    x = torch.arange(16.0).reshape(4, 4)
    windows = resolve(WindowSpec.make(kernel_size=3, stride=1), (4, 4))
    assert choose.choose_path(x, Reduction.MEDIAN, windows) == "taps"
    x[1, 1] = float("nan")
    assert choose.choose_path(x, Reduction.MEDIAN, windows) == "gather"
    assert torch.isnan(ops.pool_tensor(x, "median", windows, Layout("HW"))).all()
    padded = resolve(WindowSpec.make(kernel_size=3, stride=1, padding=1), (4, 4))
    assert choose.choose_path(torch.zeros(4, 4), Reduction.MEDIAN, padded) == "gather"


def test_rgba_sampling_never_takes_colour_from_transparent_cells():
    # Left half opaque red, right half transparent blue: straight sampling picks blue now and
    # then, alpha-weighted sampling never does, and keeps the picked cell's own colour.
    x = np.zeros((4, 4, 4), np.uint8)
    x[:, :2] = (255, 0, 0, 255)
    x[:, 2:] = (0, 0, 255, 0)
    spec = WindowSpec.make(kernel_size=4)
    weighted = {
        tuple(run(x, "stochastic", spec, "HWC", PoolOptions(seed=s), alpha=True).output.ravel())
        for s in range(40)
    }
    straight = {
        tuple(run(x, "stochastic", spec, "HWC", PoolOptions(seed=s)).output.ravel())
        for s in range(40)
    }
    assert weighted == {(255.0, 0.0, 0.0, 255.0)}
    assert any(values[2] == 255.0 for values in straight)


def test_rgba_sampling_of_an_all_transparent_window_gives_no_colour():
    x = np.full((2, 2, 4), 200, np.uint8)
    x[..., 3] = 0
    result = run(
        x, "stochastic", WindowSpec.make(kernel_size=2), "HWC", PoolOptions(seed=1), alpha=True
    )
    assert result.output.ravel().tolist() == [0.0, 0.0, 0.0, 0.0]
