"""Missing data (--nan omit, --nodata, --mask) and gem against their oracles.

Every reduction on every path, forced, against the loop reference (``reference.kept_cells``
leaves the cells out); the nan-reductions of numpy per window; gem against its formula.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import reference as ref
from hypothesis import given, reject, settings
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view

import poolcli
from poolcli.engine import ops
from poolcli.engine.core import run
from poolcli.errors import PoolError, UsageError
from poolcli.model.layout import Layout
from poolcli.model.options import PoolOptions
from poolcli.model.reductions import Reduction
from poolcli.model.window import WindowSpec, resolve

PATHS = ("auto", "taps", "torch", "global", "gather")
ALL = tuple(r.value for r in Reduction)
CHANNELS_FIRST = {1: "NCW", 2: "NCHW", 3: "NCDHW"}
CHANNELS_LAST = {1: "NWC", 2: "NHWC", 3: "NDHWC"}
NODATA = -7.0


@st.composite
def windowing(draw, nd):
    """Spatial sizes and window options: sliding (padding, dilation, ceil), global, adaptive."""
    sizes = tuple(draw(st.integers(1, 6)) for _ in range(nd))
    kind = draw(st.sampled_from(["sliding", "sliding", "sliding", "global", "adaptive"]))
    if kind == "global":
        return sizes, {"global_pool": True}
    if kind == "adaptive":
        return sizes, {"output_size": tuple(draw(st.integers(1, s)) for s in sizes)}
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    window = {
        "kernel_size": kernel,
        "stride": tuple(draw(st.integers(1, 3)) for _ in range(nd)),
        "dilation": tuple(draw(st.integers(1, 2)) for _ in range(nd)),
        "ceil_mode": draw(st.booleans()),
        "count_include_pad": draw(st.booleans()),
    }
    padding = draw(st.sampled_from(["none", "pairs", "same"]))
    if padding == "same":
        window.update(padding="same", ceil_mode=False)
    elif padding == "pairs":
        window["padding"] = tuple(
            (draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(nd)
        )
    return sizes, window


def reference(x, reduction, window, norm_type, missing):
    if window.get("global_pool"):
        return ref.reference_global(x, reduction, norm_type, missing)
    if "output_size" in window:
        return ref.reference_adaptive(x, reduction, window["output_size"], norm_type, missing)
    spec = WindowSpec.make(**window)
    pads = tuple((a.pad_begin, a.pad_end) for a in resolve(spec, x.shape[2:]))
    return ref.reference_pool(
        x,
        reduction,
        window["kernel_size"],
        window["stride"],
        pads,
        window["dilation"],
        window["ceil_mode"],
        window["count_include_pad"],
        norm_type,
        missing,
    )


def engine(x, reduction, window, options, channels_last, path):
    nd = x.ndim - 2
    layout = Layout.parse((CHANNELS_LAST if channels_last else CHANNELS_FIRST)[nd])
    if channels_last:
        x = np.moveaxis(x, 1, -1)
    spec = WindowSpec.make(**window)
    axes = resolve(spec, layout.spatial_shape(x.shape), layout.spatial)
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


@st.composite
def cases(draw, reductions=ALL):
    nd = draw(st.integers(1, 3))
    sizes, window = draw(windowing(nd))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2)), *sizes)
    reduction = draw(st.sampled_from(reductions))
    dtype = draw(st.sampled_from([np.float32, np.float64, np.int16, np.uint8]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    low = 0 if reduction in ("stochastic", "gem") else -3
    x = rng.integers(low, 4, shape).astype(np.float64)
    holes = rng.random(shape) < draw(st.sampled_from([0.2, 0.5, 0.9]))
    rule = draw(st.sampled_from(["nan", "nodata", "mask", "all"]))
    nan = "omit" if rule in ("nan", "all") and np.dtype(dtype).kind == "f" else "propagate"
    if nan == "omit":
        x[holes] = np.nan
    nodata = NODATA if rule in ("nodata", "all") and dtype is not np.uint8 else None
    if nodata is not None:
        x[holes & (rng.random(shape) < 0.5)] = nodata
    mask = None
    if rule in ("mask", "all") or (nan == "propagate" and nodata is None):
        mask = (rng.random(sizes) > 0.4).astype(np.uint8)
    x = x.astype(dtype)
    options = PoolOptions(
        norm_type=draw(st.sampled_from([1.0, 2.0, 3.0])),
        expectation=True,
        nan=nan,
        nodata=nodata,
        mask=mask,
    )
    return x, reduction, window, options, draw(st.booleans())


def check(x, reduction, window, options, channels_last):
    try:
        resolve(WindowSpec.make(**window), x.shape[2:])
    except PoolError:
        reject()
    missing = ref.kept_cells(x, options.nan, options.nodata, options.mask)
    want = reference(x, reduction, window, options.norm_type, missing).astype(np.float64)
    integer_result = x.dtype.kind in "iu" and reduction in ("max", "min", "median", "mode", "sum")
    for path in PATHS:
        try:
            got = engine(x, reduction, window, options, channels_last, path)
        except UsageError as error:
            assert path != "auto", error
            assert f"the {path} path cannot compute {reduction} here" in str(error)
            continue
        except PoolError as error:
            # An empty window of an integer result has no value but --nodata.
            assert integer_result and options.nodata is None and np.isnan(want).any(), error
            assert "no cell is left to use" in str(error)
            continue
        tolerance = 1e-5 if got.dtype != np.float64 else 1e-10
        np.testing.assert_allclose(
            got.astype(np.float64), want, rtol=tolerance, atol=tolerance, equal_nan=True,
            err_msg=f"{path} {reduction} {x.dtype} {window} {options}",
        )  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(cases())
def test_every_path_leaves_out_what_the_reference_leaves_out(case):
    check(*case)


# --------------------------------------------------------------------------------------------
# numpy's nan-reductions, window by window


def numpy_windows(x, kernel, stride):
    """(rows, cols, kh*kw) windows of a 2-D array, no padding."""
    view = sliding_window_view(x, kernel)[:: stride[0], :: stride[1]]
    return view.reshape(*view.shape[:2], -1)


NAN_ORACLES = {
    "max": lambda w, p: np.nanmax(w, -1),
    "min": lambda w, p: np.nanmin(w, -1),
    "avg": lambda w, p: np.nanmean(w, -1),
    "sum": lambda w, p: np.where(np.isnan(w).all(-1), np.nan, np.nansum(w, -1)),
    # The lower median, as torch.median: numpy's "lower" percentile method.
    "median": lambda w, p: np.nanpercentile(w, 50, axis=-1, method="lower"),
    "lp": lambda w, p: np.where(
        np.isnan(w).all(-1), np.nan, np.nansum(np.abs(w) ** p, -1) ** (1 / p)
    ),
    "gem": lambda w, p: np.nanmean(w**p, -1) ** (1 / p),
    "stochastic": lambda w, p: np.where(
        np.isnan(w).all(-1), np.nan, np.nansum(w * w, -1) / np.nansum(w, -1)
    ),
}


@pytest.mark.parametrize("reduction", sorted(NAN_ORACLES))
@pytest.mark.parametrize("window", [((2, 2), (2, 2)), ((3, 2), (1, 2)), ((3, 3), (2, 1))])
def test_nan_omit_is_numpys_nan_reduction(reduction, window):
    kernel, stride = window
    rng = np.random.default_rng(7)
    x = rng.integers(0, 9, (9, 8)).astype(np.float64) + rng.random((9, 8))
    x[rng.random(x.shape) < 0.4] = np.nan
    x[:3, :3] = np.nan  # whole windows of NaN give NaN
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy on all-NaN windows
        want = NAN_ORACLES[reduction](numpy_windows(x, kernel, stride), 3.0)
    p = 3.0 if reduction in ("lp", "gem") else None
    got = poolcli.pool(
        x, reduction, kernel_size=kernel, stride=stride, nan="omit", norm_type=p,
        expectation=reduction == "stochastic",
    )  # fmt: skip
    np.testing.assert_allclose(got, want, rtol=1e-12, equal_nan=True)
    assert np.isnan(got[0, 0])


def test_nan_propagates_by_default_and_mode_omits_nan_when_asked():
    x = np.array([[1.0, np.nan, 2.0, 2.0], [np.nan, np.nan, np.nan, 5.0]])
    assert np.isnan(poolcli.pool(x, "max", kernel_size=2)).all()
    assert poolcli.pool(x, "mode", kernel_size=2, nan="omit")[0].tolist()[1] == 2.0
    assert poolcli.pool(x, "mode", kernel_size=2, nan="omit")[0][0] == 1.0


def test_nodata_window_of_only_nodata_gives_nodata_in_the_output_dtype():
    x = np.array([[5, 5, 1, 2], [5, 5, 3, 5]], dtype=np.uint8)
    assert poolcli.pool(x, "max", kernel_size=2, nodata=5).tolist() == [[5, 3]]
    assert poolcli.pool(x, "avg", kernel_size=2, nodata=5).tolist() == [[5.0, 2.0]]
    assert poolcli.pool(x, "mode", kernel_size=2, nodata=5).dtype == np.uint8
    with pytest.raises(PoolError, match="cannot hold it"):
        poolcli.pool(x, "max", kernel_size=2, nodata=300, mask=[[0, 0, 1, 1], [0, 0, 1, 1]])


def test_an_integer_window_the_mask_empties_needs_nodata():
    x = np.arange(8, dtype=np.int32).reshape(2, 4)
    mask = np.array([[0, 0, 1, 1], [0, 0, 1, 1]])
    with pytest.raises(PoolError, match="give nodata=V"):
        poolcli.pool(x, "max", kernel_size=2, mask=mask)
    assert poolcli.pool(x, "max", kernel_size=2, mask=mask, nodata=-1).tolist() == [[-1, 7]]
    assert np.isnan(poolcli.pool(x, "avg", kernel_size=2, mask=mask)[0, 0])


def test_count_include_pad_counts_padding_but_never_left_out_cells():
    x = np.array([[np.nan, 2.0, 4.0]])
    got = poolcli.pool(x, "avg", kernel_size=(1, 3), stride=1, padding=((0, 0), (1, 1)),
                       count_include_pad=True, nan="omit")  # fmt: skip
    # Windows: [pad, nan, 2] -> 2/2; [nan, 2, 4] -> 6/2; [2, 4, pad] -> 6/3.
    np.testing.assert_allclose(got, [[1.0, 3.0, 2.0]])


def test_a_mask_of_the_wrong_shape_is_refused():
    with pytest.raises(PoolError, match="mask is 3×3"):
        poolcli.pool(np.zeros((4, 4)), "max", kernel_size=2, mask=np.ones((3, 3)))


def test_valid_counts_are_the_cells_each_output_used():
    x = np.array([[1.0, np.nan, 3.0], [-1.0, -1.0, 6.0]])
    options = PoolOptions(nan="omit", nodata=-1.0, valid_count="c.npy")
    spec = WindowSpec.make(kernel_size=2, stride=1, padding=1)
    result = run(x, "avg", spec, "HW", options)
    used = ~np.isnan(x) & (x != -1)
    padded = np.pad(used, 1)
    want = sliding_window_view(padded, (2, 2)).sum(axis=(-1, -2))
    assert result.valid_count.tolist() == want.tolist()
    assert result.valid_count.dtype == np.int64


def test_winners_never_fall_on_left_out_cells():
    x = np.array([[[[9.0, 1.0], [2.0, np.nan]]]])
    windows = resolve(WindowSpec.make(kernel_size=2), (2, 2))
    options = PoolOptions(nodata=9.0, nan="omit")
    taps = ops.window_winners(x, "max", windows, Layout("NCHW"), options)
    assert taps.flatten().tolist() == [2]


# --------------------------------------------------------------------------------------------
# gem


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, 4.5])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_gem_is_the_generalized_mean_formula(p, dtype):
    rng = np.random.default_rng(int(p * 10))
    x = (rng.random((7, 9)) * 200).astype(dtype)
    want = np.mean(numpy_windows(x.astype(np.float64), (3, 2), (3, 2)) ** p, -1) ** (1 / p)
    got = poolcli.pool(x, "gem", kernel_size=(3, 2), norm_type=p)
    assert got.dtype == (np.float32 if dtype == np.uint8 else dtype)
    np.testing.assert_allclose(got, want, rtol=1e-5 if got.dtype == np.float32 else 1e-12)


def test_gem_defaults_to_p_3_and_refuses_negative_inputs():
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_allclose(poolcli.pool(x, "gem", global_pool=True), [[25 ** (1 / 3)]])
    with pytest.raises(PoolError, match="negative values"):
        poolcli.pool(-x, "gem", kernel_size=2)
    # A negative nodata value is left out, so it is no negative input.
    got = poolcli.pool(np.array([[-1.0, 8.0]]), "gem", kernel_size=(1, 2), nodata=-1)
    np.testing.assert_allclose(got, [[8.0]])


def test_the_explanation_and_the_engine_leave_out_the_same_cells():
    import torch

    from poolcli.engine.missing import valid_cells
    from poolcli.learn.missing import used_cells

    rng = np.random.default_rng(3)
    x = rng.integers(0, 4, (2, 3, 5, 4)).astype(np.float32)
    x[rng.random(x.shape) < 0.3] = np.nan
    mask = rng.random((5, 4)) > 0.3
    options = PoolOptions(nan="omit", nodata=2.0, mask=mask)
    result = run(x, "max", WindowSpec.make(kernel_size=2), "NCHW", options)
    engine_side = valid_cells(torch.from_numpy(x), Layout("NCHW"), options).numpy()
    np.testing.assert_array_equal(used_cells(x, result), engine_side)


def test_nodata_on_uint64_is_refused_where_values_are_compared_flipped():
    x = np.array([[1, 2**64 - 1], [5, 3]], dtype=np.uint64)
    with pytest.raises(PoolError, match="uint64"):
        poolcli.pool(x, "max", kernel_size=2, nodata=3)
    small = np.array([[1, 2], [5, 3]], dtype=np.uint64)  # sums see the values themselves
    assert poolcli.pool(small, "sum", kernel_size=2, nodata=3).tolist() == [[8]]
    assert poolcli.pool(x, "max", kernel_size=2, mask=[[1, 0], [1, 1]]).tolist() == [[5]]


RGBA_WINDOWS = [
    {"kernel_size": 2},
    {"kernel_size": 3, "stride": 1, "padding": 1},
    {"kernel_size": 2, "stride": 1, "padding": ((1, 0), (0, 1))},
    {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
    {"kernel_size": 2, "stride": 1, "dilation": 2, "padding": 1, "count_include_pad": True},
]


@pytest.mark.parametrize("reduction", ALL)
@pytest.mark.parametrize("rule", ["nodata", "mask", "nan"])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_rgba_images_keep_the_alpha_rule_on_the_cells_that_count(reduction, rule, dtype):
    rng = np.random.default_rng(11)
    x = (rng.integers(0, 4, (1, 4, 6, 5)) * 85).astype(np.float64)
    x[:, 3] = rng.choice(np.array([0, 0, 128, 255, 255]), (1, 6, 5))
    nodata = 85.0 if rule == "nodata" else None
    mask = (rng.random((6, 5)) > 0.3).astype(np.uint8) if rule == "mask" else None
    nan = "propagate"
    if rule == "nan":
        if dtype is np.uint8:
            return  # integers hold no NaN
        x[rng.random(x.shape) < 0.3] = np.nan
        nan = "omit"
    if dtype is np.float32:
        x[:, 3] /= 255
    x = x.astype(dtype)
    missing = ref.kept_cells(x, nan, nodata, mask)
    options = PoolOptions(norm_type=2.0, expectation=True, nan=nan, nodata=nodata, mask=mask)
    for window in RGBA_WINDOWS:
        spec = WindowSpec.make(**window)
        pads = tuple((a.pad_begin, a.pad_end) for a in resolve(spec, x.shape[2:]))
        want = ref.reference_pool_rgba(
            x, reduction, window["kernel_size"], window.get("stride"), pads,
            window.get("dilation"), window.get("ceil_mode", False),
            window.get("count_include_pad", False), 2.0, missing,
        ).astype(np.float64)  # fmt: skip
        try:
            got = run(x, reduction, spec, "NCHW", options, alpha=True).output
        except PoolError as error:
            assert "no cell is left to use" in str(error) and np.isnan(want).any()
            continue
        np.testing.assert_allclose(
            got.astype(np.float64), want, rtol=1e-5, atol=1e-4, equal_nan=True,
            err_msg=str(window),
        )  # fmt: skip
