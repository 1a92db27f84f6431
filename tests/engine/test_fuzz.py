"""Every engine path, forced, against the loop reference on random cases.

A forced path either refuses the case with a :class:`UsageError` (its row of the capability
table does not admit it) or computes exactly what the reference computes. The automatic
choice never refuses. The cases cover 1-, 2- and 3-D inputs, every reduction, axes thinner
than the kernel, asymmetric padding, dilation, ceil mode, adaptive and global windows, and
integer and float dtypes, channels first and last.
"""

from __future__ import annotations

import numpy as np
import reference as ref
from hypothesis import given, reject, settings
from hypothesis import strategies as st

from poolcli.engine import choose, ops
from poolcli.errors import PoolError, UsageError
from poolcli.model.layout import Layout
from poolcli.model.options import PoolOptions
from poolcli.model.reductions import Reduction
from poolcli.model.window import WindowSpec, resolve

PATHS = choose.PATHS
DTYPES = (
    np.bool_,
    np.uint8,
    np.int16,
    np.int32,
    np.int64,
    np.uint16,
    np.uint64,
    np.float16,
    np.float32,
    np.float64,
)
CHANNELS_FIRST = {1: "NCW", 2: "NCHW", 3: "NCDHW"}
CHANNELS_LAST = {1: "NWC", 2: "NHWC", 3: "NDHWC"}
TOLERANCE = {np.float16: 2e-3, np.float32: 1e-5, np.float64: 1e-12}


@st.composite
def windows(draw, nd):
    """Spatial sizes, window options for them (axes often thinner than the kernel), and the
    reference's call for them."""
    windowing = draw(st.sampled_from(["sliding"] * 6 + ["adaptive", "global"]))
    if windowing != "sliding":
        sizes = tuple(draw(st.integers(1, 6)) for _ in range(nd))
        if windowing == "global":
            return sizes, {"global_pool": True}, lambda x, r, p: ref.reference_global(x, r, p)
        out = tuple(draw(st.integers(1, size + 1)) for size in sizes)
        return sizes, {"output_size": out}, lambda x, r, p: ref.reference_adaptive(x, r, out, p)
    kernel = tuple(draw(st.integers(1, 4)) for _ in range(nd))
    sizes = tuple(draw(st.integers(1, k + 2)) for k in kernel)
    stride = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    style = draw(st.sampled_from(["none", "symmetric", "asymmetric"]))
    if style == "none":
        pads = tuple((0, 0) for _ in kernel)
    elif style == "symmetric":  # what torch's kernels take
        pads = tuple((p, p) for p in (draw(st.integers(0, k // 2)) for k in kernel))
    else:
        pads = tuple((draw(st.integers(0, k)), draw(st.integers(0, k))) for k in kernel)
    ceil, include = draw(st.booleans()), draw(st.booleans())
    window = {
        "kernel_size": kernel,
        "stride": stride,
        "dilation": dilation,
        "padding": pads,
        "ceil_mode": ceil,
        "count_include_pad": include,
    }

    def expected(x, reduction, norm_type):
        return ref.reference_pool(
            x, reduction, kernel, stride, pads, dilation, ceil, include, norm_type
        )

    return sizes, window, expected


def values(draw, reduction, dtype, shape):
    """Small values, so that windows hold ties and float sums are exact in any order."""
    generator = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if dtype is np.bool_:
        return generator.random(shape) < 0.5
    low = 0 if reduction in ("stochastic", "gem") or np.dtype(dtype).kind in "ub" else -3
    x = generator.integers(low, 4, shape).astype(dtype)
    nan_allowed = reduction not in ("mode", "stochastic")
    if np.dtype(dtype).kind == "f" and nan_allowed and draw(st.booleans()) and x.size > 1:
        x.reshape(-1)[draw(st.integers(0, x.size - 1))] = np.nan
    return x


@st.composite
def cases(draw, reductions=tuple(r.value for r in Reduction), dtypes=DTYPES):
    nd = draw(st.integers(1, 3))
    sizes, window, expected = draw(windows(nd))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2)), *sizes)
    reduction = draw(st.sampled_from(reductions))
    dtype = draw(st.sampled_from(dtypes))
    x = values(draw, reduction, dtype, shape)
    norm_type = draw(st.sampled_from([1.0, 2.0, 3.5]))
    channels_last = draw(st.booleans())
    return x, reduction, window, expected, norm_type, channels_last


def pooled(x, reduction, window, norm_type, channels_last, path):
    """The engine's result for canonical ``x``, computed in the chosen layout."""
    nd = x.ndim - 2
    layout = Layout.parse((CHANNELS_LAST if channels_last else CHANNELS_FIRST)[nd])
    if channels_last:
        x = np.moveaxis(x, 1, -1)
    spec = WindowSpec.make(**window)
    axes = resolve(spec, layout.spatial_shape(x.shape), layout.spatial)
    options = PoolOptions(norm_type=norm_type, expectation=True)
    out, _ = ops.pool_array(
        x,
        Reduction(reduction),
        axes,
        layout,
        count_include_pad=spec.count_include_pad,
        options=options,
        path=path,
    )
    return np.moveaxis(out, -1, 1) if channels_last else out


def assert_matches(got, want, dtype, message):
    assert got.shape == want.shape, message
    if got.dtype.kind in "iub":
        np.testing.assert_array_equal(got, want.astype(got.dtype), err_msg=message)
        return
    tolerance = TOLERANCE.get(got.dtype.type, 1e-12)
    np.testing.assert_allclose(
        got.astype(np.float64),
        want.astype(np.float64),
        rtol=tolerance,
        atol=tolerance,
        equal_nan=True,
        err_msg=message,
    )


def check_every_path(x, reduction, window, expected, norm_type, channels_last):
    try:
        resolve(WindowSpec.make(**window), x.shape[2:])
    except PoolError:
        reject()  # windows that do not fit: refused before the engine, tested elsewhere
    want = expected(x, reduction, norm_type)
    results = {}
    for path in PATHS:
        try:
            results[path] = pooled(x, reduction, window, norm_type, channels_last, path)
        except UsageError as error:
            assert path != "auto", error
            assert f"the {path} path cannot compute {reduction} here" in str(error)
            continue
        message = f"{path} {reduction} {x.dtype} {window}"
        assert_matches(results[path], want, x.dtype, message)
    assert {r.dtype for r in results.values()} == {results["auto"].dtype}


@settings(max_examples=250, deadline=None)
@given(cases())
def test_every_path_refuses_or_equals_the_reference(case):
    check_every_path(*case)


@settings(max_examples=150, deadline=None)
@given(cases(reductions=("max", "avg"), dtypes=(np.float32, np.float64)))
def test_torch_kernels_get_only_the_cases_they_take(case):
    # max and avg of floats are the cases torch's own kernels may be given.
    check_every_path(*case)
