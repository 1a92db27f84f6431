"""Property tests over random shapes and windows (1 to 3 spatial axes)."""

from __future__ import annotations

import math

import numpy as np
import reference as ref
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from poolcli.engine import ops
from poolcli.errors import UsageError
from poolcli.model.layout import Layout
from poolcli.model.options import PoolOptions
from poolcli.model.reductions import Reduction
from poolcli.model.window import WindowSpec, resolve

CANONICAL = {1: "NCW", 2: "NCHW", 3: "NCDHW"}
MAX_SIZE = {1: 12, 2: 7, 3: 5}
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much]
)


@st.composite
def cases(draw, *, padding=True, ceil=True, dilation=True):
    """(x, window kwargs, resolved axes): a float64 array (N, C, *spatial) and a window."""
    nd = draw(st.integers(1, 3))
    spatial = tuple(draw(st.integers(1, MAX_SIZE[nd])) for _ in range(nd))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2)), *spatial)
    kernel = tuple(draw(st.integers(1, 4)) for _ in range(nd))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    dil = tuple(draw(st.integers(1, 2 if dilation else 1)) for _ in range(nd))
    pads = ((0, 0),) * nd
    if padding:
        pads = draw(
            st.one_of(
                st.just("same"),
                st.tuples(*[st.tuples(st.integers(0, 3), st.integers(0, 3)) for _ in range(nd)]),
            )
        )
    ceil_mode = ceil and pads != "same" and draw(st.booleans())
    window = {
        "kernel_size": kernel,
        "stride": stride,
        "padding": pads,
        "dilation": dil,
        "ceil_mode": ceil_mode,
    }
    try:
        axes = resolve(WindowSpec.make(**window), spatial)
    except UsageError:
        assume(False)
    seed = draw(st.integers(0, 2**32 - 1))
    x = np.random.default_rng(seed).standard_normal(shape)
    if draw(st.booleans()):
        x = np.round(x * 2)  # repeated values: ties for median and mode
    return x, window, axes


def engine(x, reduction, window, *, path="auto", count_include_pad=False, **options):
    nd = x.ndim - 2
    layout = Layout.parse(CANONICAL[nd])
    spec = WindowSpec.make(**window, count_include_pad=count_include_pad)
    axes = resolve(spec, x.shape[2:], layout.spatial)
    out, _ = ops.pool_array(
        x,
        Reduction(reduction),
        axes,
        layout,
        count_include_pad=count_include_pad,
        options=PoolOptions(**options),
        path=path,
    )
    return out


def reference(x, reduction, window, count_include_pad=False, norm_type=2.0):
    return ref.reference_pool(
        x,
        reduction,
        window["kernel_size"],
        window["stride"],
        window["padding"],
        window["dilation"],
        window["ceil_mode"],
        count_include_pad,
        norm_type,
    )


@SETTINGS
@given(cases())
def test_output_shape_is_the_size_arithmetic(case):
    x, window, axes = case
    out = engine(x, "max", window)
    assert out.shape == x.shape[:2] + tuple(a.out for a in axes)
    pads = window["padding"]
    for i, (a, size) in enumerate(zip(axes, x.shape[2:], strict=True)):
        begin, end = a.pad_begin, a.pad_end
        if pads != "same":
            assert (begin, end) == pads[i]
        assert a.out == ref.out_length(
            size, a.kernel, a.stride, begin, end, a.dilation, window["ceil_mode"]
        )
        if pads == "same":
            assert (begin, end) == ref.same_pads(size, a.kernel, a.stride, a.dilation)
            assert a.out == math.ceil(size / a.stride)


@SETTINGS
@given(cases())
def test_min_le_avg_le_max(case):
    x, window, _ = case
    low, mid, high = (engine(x, r, window) for r in ("min", "avg", "max"))
    tol = 1e-12
    assert (low <= mid + tol).all() and (mid <= high + tol).all()
    median = engine(x, "median", window)
    assert (low <= median).all() and (median <= high).all()


@SETTINGS
@given(cases(padding=False, ceil=False))
def test_sum_is_avg_times_count_without_padding(case):
    x, window, axes = case
    total = engine(x, "sum", window)
    mean = engine(x, "avg", window)
    count = math.prod(a.kernel for a in axes)
    np.testing.assert_allclose(total, mean * count, rtol=1e-12, atol=1e-12)
    included = engine(x, "avg", window, count_include_pad=True)
    np.testing.assert_allclose(included, mean, rtol=1e-12, atol=1e-12)


@SETTINGS
@given(cases())
def test_lp_with_p_1_is_the_sum_of_absolute_values(case):
    x, window, _ = case
    lp = engine(x, "lp", window, norm_type=1.0)
    np.testing.assert_allclose(lp, engine(np.abs(x), "sum", window), rtol=1e-12, atol=1e-12)


@SETTINGS
@given(cases())
def test_mode_gives_values_of_its_window(case):
    x, window, axes = case
    labels = np.round(np.abs(x)).astype(np.int16)
    out = engine(labels, "mode", window)
    cells = ref.window_cells(
        labels,
        window["kernel_size"],
        window["stride"],
        window["padding"],
        window["dilation"],
        window["ceil_mode"],
    )
    for idx, values in cells.items():
        for n in range(x.shape[0]):
            for c in range(x.shape[1]):
                assert out[(n, c, *idx)] in values[n, c]
    assert set(np.unique(out)) <= set(np.unique(labels))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(
    cases(),
    st.sampled_from(["max", "avg", "min", "sum", "lp", "median", "mode", "stochastic"]),
    st.booleans(),
)
def test_engine_equals_reference(case, reduction, include):
    x, window, _ = case
    if reduction == "stochastic":
        x = np.abs(x)
    if reduction == "mode":
        x = np.round(x)
    want = reference(x, reduction, window, include, 3.0)
    got = engine(x, reduction, window, count_include_pad=include, norm_type=3.0, expectation=True)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@SETTINGS
@given(cases(), st.sampled_from(["max", "min", "sum", "avg", "lp"]), st.booleans())
def test_every_path_equals_the_general_path(case, reduction, include):
    x, window, axes = case
    general = engine(x, reduction, window, path="gather", count_include_pad=include)
    taps = engine(x, reduction, window, path="taps", count_include_pad=include)
    np.testing.assert_allclose(taps, general, rtol=1e-12, atol=1e-12)
    torch_ok = reduction in ("max", "avg") and all(
        a.pad_begin == a.pad_end <= a.kernel // 2 for a in axes
    )
    if reduction == "avg":
        torch_ok &= all(a.dilation == 1 for a in axes)
        # torch's 3-D average refuses an axis shorter than its kernel, padding or not.
        torch_ok &= not (len(axes) == 3 and any(a.size < a.kernel for a in axes))
    if torch_ok:
        fast = engine(x, reduction, window, path="torch", count_include_pad=include)
        np.testing.assert_allclose(fast, general, rtol=1e-12, atol=1e-12)
    auto = engine(x, reduction, window, count_include_pad=include)
    np.testing.assert_allclose(auto, general, rtol=1e-12, atol=1e-12)


@SETTINGS
@given(cases(padding=False, ceil=False, dilation=False), st.sampled_from(["uint8", "int32"]))
def test_integer_fast_paths_are_exact(case, dtype):
    x, window, _ = case
    ints = (np.abs(x) * 60).astype(dtype)
    for reduction in ("max", "min", "sum"):
        want = engine(ints, reduction, window, path="gather")
        for path in ("auto", "taps"):
            np.testing.assert_array_equal(engine(ints, reduction, window, path=path), want)
    want = reference(ints, "sum", window)
    assert engine(ints, "sum", window).tolist() == want.tolist()


@SETTINGS
@given(
    st.integers(1, 3).flatmap(
        lambda nd: st.tuples(
            st.tuples(*[st.integers(1, MAX_SIZE[nd]) for _ in range(nd)]),
            st.tuples(*[st.integers(1, 6) for _ in range(nd)]),
        )
    ),
    st.sampled_from(["max", "avg", "min", "sum", "median", "mode"]),
    st.integers(0, 2**32 - 1),
)
def test_adaptive_equals_reference(sizes, reduction, seed):
    spatial, out = sizes
    x = np.round(np.random.default_rng(seed).standard_normal((1, 2, *spatial)) * 2)
    layout = Layout.parse(CANONICAL[len(spatial)])
    axes = resolve(WindowSpec.make(output_size=out), spatial, layout.spatial)
    got, _ = ops.pool_array(x, Reduction(reduction), axes, layout)
    np.testing.assert_allclose(got, ref.reference_adaptive(x, reduction, out), rtol=1e-12)
