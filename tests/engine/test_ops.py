"""The engine against torch.nn.functional (where torch has the op) and the loop reference.

Every engine path (``taps``, ``torch``, ``global``, ``gather``; see poolcli/engine/choose.py)
is forced in turn wherever it applies and compared with the same oracle, so the fast paths
are proven equal to the general one.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch.nn.functional as F
from oracle import (
    ALL,
    AVG_POOL,
    LP_POOL,
    MAX_POOL,
    SHAPES,
    assert_close,
    engine,
    expected,
    paths_for,
    reference_cases,
    reference_input,
    rng,
    tt,
)

from poolcli.engine.core import pool
from poolcli.model.options import PoolOptions

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
