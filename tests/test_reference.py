"""Check the loop reference (tests/reference.py) against torch wherever torch can say it.

Once these pass the reference is trusted for the cases torch cannot express (min, sum, median,
mode, padded or dilated Lp, asymmetric padding, the stochastic expectation).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import reference as ref
import torch
import torch.nn.functional as F

RNG = np.random.default_rng(20240601)

SHAPES = {1: (1, 2, 7), 2: (1, 2, 5, 6), 3: (1, 1, 4, 5, 4)}
MAX_POOL = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
AVG_POOL = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}
LP_POOL = {1: F.lp_pool1d, 2: F.lp_pool2d, 3: F.lp_pool3d}
CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


def randn(shape):
    return RNG.standard_normal(shape)


def tt(x):
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64))


def window_cases(nd, *, dilation=True):
    """(kernel, stride, padding, dilation, ceil) combos torch accepts on SHAPES[nd]."""
    spatial = SHAPES[nd][2:]
    smallest = min(spatial)
    for k, s, d, ceil in itertools.product(
        range(1, smallest + 1), (1, 2, 3), (1, 2) if dilation else (1,), (False, True)
    ):
        for p in range(0, k // 2 + 1):
            if d * (k - 1) + 1 > smallest + 2 * p:
                continue
            yield k, s, p, d, ceil


# ------------------------------------------------------------------------- arithmetic


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_out_length_matches_torch_shapes(nd):
    x = tt(randn(SHAPES[nd]))
    for k, s, p, d, ceil in window_cases(nd):
        got = MAX_POOL[nd](x, k, s, p, d, ceil_mode=ceil).shape[2:]
        want = tuple(ref.out_length(n, k, s, p, p, d, ceil) for n in SHAPES[nd][2:])
        assert got == want, (k, s, p, d, ceil)


def test_out_length_over_many_sizes():
    for size, k, s, p, d, ceil in itertools.product(
        range(1, 12), range(1, 5), range(1, 5), range(3), (1, 2, 3), (False, True)
    ):
        if p > k // 2 or d * (k - 1) + 1 > size + 2 * p:
            continue
        x = torch.zeros(1, 1, size)
        got = F.max_pool1d(x, k, s, p, d, ceil_mode=ceil).shape[-1]
        assert ref.out_length(size, k, s, p, p, d, ceil) == got, (size, k, s, p, d, ceil)


def test_out_length_kernel_too_big():
    assert ref.out_length(3, 4, 1) is None
    assert ref.out_length(3, 4, 1, 1, 0) == 1
    assert ref.out_length(3, 2, 1, dilation=3) is None


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "dilation", "want"),
    [
        # TensorFlow's documented SAME examples: out = ceil(in / stride).
        (5, 2, 2, 1, (0, 1)),
        (4, 3, 1, 1, (1, 1)),
        (4, 2, 1, 1, (0, 1)),
        (13, 6, 5, 1, (1, 2)),  # tf.nn docs: 13 inputs, filter 6, stride 5 -> pad 1 left, 2 right
        (7, 3, 2, 1, (1, 1)),
        (6, 3, 2, 1, (0, 1)),
        (5, 3, 1, 2, (2, 2)),
        (4, 1, 3, 1, (0, 0)),
        (3, 5, 3, 1, (1, 1)),
    ],
)
def test_same_pads(size, kernel, stride, dilation, want):
    assert ref.same_pads(size, kernel, stride, dilation) == want
    begin, end = want
    assert ref.out_length(size, kernel, stride, begin, end, dilation) == math.ceil(size / stride)


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning")
@pytest.mark.parametrize("nd", [1, 2])
def test_same_sum_matches_torch_conv_same(nd):
    # torch's conv padding="same" (stride 1) puts the odd cell at the end, as SAME_UPPER.
    x = randn(SHAPES[nd])
    for k, d in itertools.product(range(1, 5), (1, 2)):
        weight = torch.ones((2, 1) + (k,) * nd, dtype=torch.float64)
        want = CONV[nd](tt(x), weight, padding="same", dilation=d, groups=2).numpy()
        got = ref.reference_pool(x, "sum", k, 1, "same", d)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("size", range(1, 10))
@pytest.mark.parametrize("out", range(1, 12))
def test_adaptive_edges_match_torch(size, out):
    # A one-hot probe per cell shows which bins torch's adaptive max pool lets it reach.
    probes = torch.eye(size, dtype=torch.float64).reshape(size, 1, size)
    hit = F.adaptive_max_pool1d(probes, out)[:, 0, :] > 0  # (cell, bin)
    for i, (start, end) in enumerate(ref.adaptive_edges(size, out)):
        cells = [c for c in range(size) if hit[c, i]]
        assert cells == list(range(start, end)), (size, out, i)


# ------------------------------------------------------------------------- against torch


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_max_matches_torch(nd):
    x = randn(SHAPES[nd])
    for k, s, p, d, ceil in window_cases(nd):
        want = MAX_POOL[nd](tt(x), k, s, p, d, ceil_mode=ceil).numpy()
        got = ref.reference_pool(x, "max", k, s, p, d, ceil)
        np.testing.assert_array_equal(got, want, err_msg=str((k, s, p, d, ceil)))


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_min_is_minus_max_of_minus(nd):
    x = randn(SHAPES[nd])
    for k, s, p, d, ceil in window_cases(nd):
        want = -MAX_POOL[nd](tt(-x), k, s, p, d, ceil_mode=ceil).numpy()
        got = ref.reference_pool(x, "min", k, s, p, d, ceil)
        np.testing.assert_array_equal(got, want, err_msg=str((k, s, p, d, ceil)))


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("include", [False, True])
def test_avg_matches_torch(nd, include):
    x = randn(SHAPES[nd])
    for k, s, p, _, ceil in window_cases(nd, dilation=False):
        want = AVG_POOL[nd](tt(x), k, s, p, ceil_mode=ceil, count_include_pad=include).numpy()
        got = ref.reference_pool(x, "avg", k, s, p, 1, ceil, include)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13, err_msg=str((k, s, p, ceil)))


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("p_norm", [1.0, 2.0, 3.0])
def test_lp_matches_torch_on_nonnegative_input(nd, p_norm):
    # torch's lp_pool takes no padding and rescales an average, so: no padding, no ceil, x >= 0.
    x = np.abs(randn(SHAPES[nd]))
    for k, s, _, _, _ in window_cases(nd, dilation=False):
        want = LP_POOL[nd](tt(x), p_norm, k, s).numpy()
        got = ref.reference_pool(x, "lp", k, s, norm_type=p_norm)
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12, err_msg=str((k, s)))


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("output", [1, 2, 3, 5, 8])
def test_adaptive_matches_torch(nd, output):
    x = randn(SHAPES[nd])
    adaptive_max = getattr(F, f"adaptive_max_pool{nd}d")
    adaptive_avg = getattr(F, f"adaptive_avg_pool{nd}d")
    np.testing.assert_array_equal(
        ref.reference_adaptive(x, "max", output), adaptive_max(tt(x), output).numpy()
    )
    np.testing.assert_allclose(
        ref.reference_adaptive(x, "avg", output), adaptive_avg(tt(x), output).numpy(), rtol=1e-12
    )


def test_adaptive_per_axis_sizes():
    x = randn((2, 1, 7, 5))
    np.testing.assert_array_equal(
        ref.reference_adaptive(x, "max", (3, 4)), F.adaptive_max_pool2d(tt(x), (3, 4)).numpy()
    )


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_global_matches_torch(nd):
    x = randn(SHAPES[nd])
    axes = tuple(range(2, 2 + nd))
    xt = tt(x)
    expected = {
        "max": xt.amax(axes, keepdim=True),
        "min": xt.amin(axes, keepdim=True),
        "avg": xt.mean(axes, keepdim=True),
        "sum": xt.sum(axes, keepdim=True),
        "lp": xt.abs().pow(3).sum(axes, keepdim=True).pow(1 / 3),
        "median": xt.flatten(2).median(-1).values.reshape(xt.amax(axes, keepdim=True).shape),
    }
    for reduction, want in expected.items():
        got = ref.reference_global(x, reduction, norm_type=3)
        assert got.shape == tuple(want.shape)
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-12, err_msg=reduction)


# --------------------------------------------- against torch building blocks (conv, unfold)


def _conv_sum(values, nd, k, s, pads, d, channels):
    """Σ over each window via a ones-kernel convolution on explicitly zero-padded input."""
    flat = [v for pair in reversed(pads) for v in pair]  # F.pad wants the last axis first
    padded = F.pad(tt(values), flat)
    weight = torch.ones((channels, 1) + (k,) * nd, dtype=torch.float64)
    return CONV[nd](padded, weight, stride=s, dilation=d, groups=channels).numpy()


def _asym_cases(nd):
    spatial = SHAPES[nd][2:]
    for k, s, d in itertools.product(range(1, 4), (1, 2), (1, 2)):
        for b, e in ((0, 1), (2, 0), (1, 3), (3, 3)):
            pads = ((b, e),) * nd
            reach = d * (k - 1) + 1
            if reach > min(spatial) + b + e:
                continue
            # every window must hold a real cell, as the contract demands
            ok = True
            for n in spatial:
                out = ref.out_length(n, k, s, b, e, d)
                for i in range(out):
                    cells = [i * s - b + j * d for j in range(k)]
                    ok &= any(0 <= c < n for c in cells)
            if ok:
                yield k, s, pads, d


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_sum_lp_expectation_avg_match_convolutions(nd):
    # Padding beyond half the kernel, asymmetric and dilated: torch's pools refuse these,
    # convolutions of zero-padded arrays do not.
    x = randn(SHAPES[nd])
    channels = SHAPES[nd][1]
    pos = np.abs(x) + 0.1
    ones = np.ones_like(x)
    for k, s, pads, d in _asym_cases(nd):
        case = str((k, s, pads, d))
        window = (k, s, pads, d, channels)

        def conv(values, window=window):
            return _conv_sum(values, nd, *window[:1], window[1], window[2], window[3], window[4])

        np.testing.assert_allclose(
            ref.reference_pool(x, "sum", k, s, pads, d), conv(x), atol=1e-12, err_msg=case
        )
        np.testing.assert_allclose(
            ref.reference_pool(x, "lp", k, s, pads, d, norm_type=3),
            conv(np.abs(x) ** 3) ** (1 / 3),
            rtol=1e-12,
            err_msg=case,
        )
        np.testing.assert_allclose(
            ref.reference_pool(pos, "stochastic", k, s, pads, d),
            conv(pos**2) / conv(pos),
            rtol=1e-12,
            err_msg=case,
        )
        np.testing.assert_allclose(
            ref.reference_pool(x, "avg", k, s, pads, d, count_include_pad=False),
            conv(x) / conv(ones),
            rtol=1e-12,
            atol=1e-13,
            err_msg=case,
        )
        np.testing.assert_allclose(
            ref.reference_pool(x, "avg", k, s, pads, d, count_include_pad=True),
            conv(x) / k**nd,
            rtol=1e-12,
            atol=1e-13,
            err_msg=case,
        )
        padded_max = _padded_unfold(x, k, s, pads, d, -np.inf).max(-1)
        np.testing.assert_array_equal(
            ref.reference_pool(x, "max", k, s, pads, d), padded_max, err_msg=case
        )


def _padded_unfold(x, k, s, pads, d, fill):
    """(N, C, *out, k**nd) windows of ``x`` padded with ``fill``, via torch's unfold."""
    flat = [v for pair in reversed(pads) for v in pair]
    t = F.pad(tt(x), flat, value=fill)
    nd = x.ndim - 2
    for axis in range(2, 2 + nd):
        t = t.unfold(axis, d * (k - 1) + 1, s)
    t = t[(...,) + (slice(None, None, d),) * nd]
    return t.flatten(-nd).numpy()


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_median_matches_torch_median_of_unfolded_windows(nd):
    x = randn(SHAPES[nd])
    for k, s, _, d, _ in window_cases(nd):
        if d * (k - 1) + 1 > min(SHAPES[nd][2:]):
            continue
        windows = torch.from_numpy(_padded_unfold(x, k, s, ((0, 0),) * nd, d, 0.0))
        want = windows.median(-1).values.numpy()  # torch.median: the lower median
        got = ref.reference_pool(x, "median", k, s, 0, d)
        np.testing.assert_array_equal(got, want, err_msg=str((k, s, d)))


# ------------------------------------------------------------------------- golden by hand


def test_hand_examples():
    x = np.array([[[3, 1, 2, 4, 4, 1]]], dtype=np.int64)
    assert ref.reference_pool(x, "median", 4).tolist() == [[[2]]]  # sorted 1 2 3 4: lower is 2
    assert ref.reference_pool(x, "mode", 6).tolist() == [[[1]]]  # 1 and 4 tie: the smaller
    assert ref.reference_pool(x, "sum", 3).tolist() == [[[6, 9]]]
    assert ref.reference_pool(x, "min", 2, 1).tolist() == [[[1, 1, 2, 4, 1]]]
    # padding 1 each side, kernel 2, stride 2: windows [pad,3] [1,2] [4,4] [1,pad]
    assert ref.reference_pool(x, "avg", 2, 2, 1).tolist() == [[[3.0, 1.5, 4.0, 1.0]]]
    assert ref.reference_pool(x, "avg", 2, 2, 1, count_include_pad=True).tolist() == [
        [[1.5, 1.5, 4.0, 0.5]]
    ]
    # stochastic expectation: (9 + 1 + 4) / 6
    assert ref.reference_pool(x, "stochastic", 3).tolist()[0][0][0] == pytest.approx(14 / 6)
    zeros = np.zeros((1, 1, 4))
    assert ref.reference_pool(zeros, "stochastic", 2).tolist() == [[[0.0, 0.0]]]


def test_ceil_cells_never_count():
    # size 5, kernel 2, stride 2, ceil: the last window holds cell 4 and one ceil-only cell.
    x = np.array([[[1.0, 2.0, 3.0, 4.0, 10.0]]])
    for include in (False, True):
        got = ref.reference_pool(x, "avg", 2, 2, 0, 1, True, include)
        assert got.tolist() == [[[1.5, 3.5, 10.0]]]
    # padding 1 and ceil: the last window is [4 real... ] check against torch's divisor
    want = F.avg_pool1d(tt(x), 2, 2, 1, ceil_mode=True, count_include_pad=True).numpy()
    np.testing.assert_array_equal(ref.reference_pool(x, "avg", 2, 2, 1, 1, True, True), want)


def test_integer_sums_are_exact():
    big = np.array([[[2**62, 2**62, 2**62]]], dtype=np.int64)
    assert ref.reference_pool(big, "sum", 3).tolist() == [[[3 * 2**62]]]
    u8 = np.array([[[200, 139]]], dtype=np.uint8)
    assert ref.reference_pool(u8, "avg", 2).tolist() == [[[169.5]]]
    near = np.array([[[2**40 + 1, 2**40 + 2]]], dtype=np.int64)
    assert ref.reference_pool(near, "max", 2).tolist() == [[[2**40 + 2]]]


def test_nan_propagates():
    x = np.array([[[1.0, math.nan, 3.0, 4.0]]])
    for reduction in ("max", "min", "avg", "sum", "lp", "median", "stochastic"):
        got = ref.reference_pool(x, reduction, 2)
        assert math.isnan(got[0, 0, 0]) and got[0, 0, 1] > 0, reduction


def test_window_cells_lists_real_cells_only():
    x = np.arange(5.0).reshape(1, 1, 5)
    cells = ref.window_cells(x, 3, 2, 1)
    assert {k: v.ravel().tolist() for k, v in cells.items()} == {
        (0,): [0.0, 1.0],
        (1,): [1.0, 2.0, 3.0],
        (2,): [3.0, 4.0],
    }
