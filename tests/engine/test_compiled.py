"""The compiled kernels give the eager paths' values, and step aside cleanly when they cannot
run. Few and small: each kernel compiles once per machine (Inductor's on-disk cache keeps it)."""

from __future__ import annotations

import functools
import unittest.mock

import numpy as np
import pytest
import reference as ref
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from poolcli.engine import compiled, fused, ops
from poolcli.model.layout import Layout
from poolcli.model.reductions import Reduction
from poolcli.model.window import WindowSpec, resolve


def _pool(x, reduction, layout, path="auto", **window):
    layout = Layout(layout)
    windows = resolve(
        WindowSpec.make(**window), layout.spatial_shape(tuple(x.shape)), layout.spatial
    )
    return ops.pool_tensor(x, reduction, windows, layout, path=path)


CASES = [
    # (reduction, dtype, layout, window): one kernel per kind of arithmetic.
    ("max", torch.uint8, "HWC", {"kernel_size": 3, "stride": 1}),  # exact, last axis first
    ("avg", torch.float32, "HW", {"kernel_size": 3, "stride": 1}),  # taps order, float
    ("median", torch.float32, "HW", {"kernel_size": 3, "stride": 1}),  # the shared network
    ("median", torch.uint8, "HWC", {"kernel_size": 2, "stride": 1}),  # median-of-n network
    ("avg", torch.uint8, "HWC", {"kernel_size": (5, 3), "stride": 1}),  # exact: every tap in turn
    ("avg", torch.float32, "HW", {"kernel_size": 5, "stride": (2, 1)}),  # separable order
    ("min", torch.uint8, "HWC", {"kernel_size": (7, 3), "stride": (1, 2)}),  # two boxes
    ("max", torch.float32, "HW", {"kernel_size": (6, 7), "stride": (2, 1)}),  # separable
    ("avg", torch.uint8, "HWC", {"kernel_size": (7, 9), "stride": (2, 1)}),  # rows, then rest
    ("median", torch.uint8, "HWC", {"kernel_size": (3, 9), "stride": (1, 2)}),  # counted
]


@pytest.mark.slow
@pytest.mark.parametrize(("reduction", "dtype", "layout", "window"), CASES)
def test_compiled_kernels_equal_the_eager_paths(reduction, dtype, layout, window, monkeypatch):
    if not compiled.available():
        pytest.skip(f"no compiled kernels here: {compiled._state['broken']}")
    generator = np.random.default_rng(3)
    sizes = ((37, 41, 3), (20, 64, 3)) if reduction == "max" else ((37, 41, 3),)
    for shape in sizes:  # two sizes, one kernel (dynamic shapes)
        shape = shape if "C" in layout else shape[:2]
        x = torch.from_numpy(generator.integers(0, 256, shape).astype(np.float32)).to(dtype)
        eager = _pool(x, reduction, layout, **window)
        monkeypatch.setenv("POOLCLI_COMPILE", "1")
        fused = _pool(x, reduction, layout, **window)
        monkeypatch.delenv("POOLCLI_COMPILE")
        assert compiled._state["broken"] is None
        assert fused.dtype == eager.dtype and torch.equal(fused, eager)


def test_without_a_compiler_the_eager_path_runs(monkeypatch):
    monkeypatch.setitem(compiled._state, "broken", None)
    monkeypatch.setenv("CXX", "/nonexistent/c++")
    monkeypatch.setenv("POOLCLI_COMPILE", "1")
    x = torch.arange(64.0).reshape(8, 8)
    got = _pool(x, "max", "HW", kernel_size=3, stride=1)
    assert "no C++ compiler" in compiled._state["broken"]
    monkeypatch.setenv("POOLCLI_COMPILE", "0")
    assert torch.equal(got, _pool(x, "max", "HW", kernel_size=3, stride=1))
    assert compiled.warm_up() == 0


def test_one_shot_calls_stay_eager_below_the_threshold(monkeypatch):
    monkeypatch.delenv("POOLCLI_COMPILE", raising=False)
    x = torch.zeros(64, 64)
    assert not compiled.wanted(x, ("any",))
    with compiled.enabled():
        assert not compiled.wanted(x[:8, :8], ("any",))  # too small to be worth a call
    monkeypatch.setenv("POOLCLI_COMPILE", "0")
    with compiled.enabled():
        assert not compiled.wanted(x, ("any",))


@pytest.mark.slow
def test_a_warm_up_without_new_kernels_uses_only_the_kernels_it_loaded(monkeypatch):
    if not compiled.available():
        pytest.skip(f"no compiled kernels here: {compiled._state['broken']}")
    monkeypatch.delenv("POOLCLI_COMPILE", raising=False)
    monkeypatch.setattr(compiled, "_state", {**compiled._state, "loaded": set()})
    monkeypatch.setattr(compiled.memory, "use_huge_pages", lambda: None)
    three = [
        case for case in compiled.warm_cases("3x3") if case[:3] == ("max", torch.float32, "HW")
    ]
    assert len(compiled.warm_cases("3x3")) < len(compiled.WARM_CASES)
    assert compiled.warm_up(three, new_kernels=False) == 1
    ran = []
    monkeypatch.setattr(compiled.log, "debug", lambda text, *args: ran.append(text % args))
    x = torch.randn(512, 512)
    for kernel, compiled_ in ((3, True), (4, False), (3, True)):
        ran.clear()
        got = _pool(x, "max", "HW", kernel_size=kernel, stride=1)
        assert bool(ran) == compiled_, (kernel, ran)
        want = F.max_pool2d(x[None, None], kernel, 1)[0, 0]
        assert torch.equal(got, want)


@pytest.mark.slow
def test_debug_says_once_why_the_compiled_kernels_are_off(run, tmp_path):
    from conftest import subprocess_env

    np.save(tmp_path / "x.npy", np.arange(64, dtype=np.float32).reshape(8, 8))
    env = {**subprocess_env(), "POOLCLI_COMPILE": "1", "CXX": "/nonexistent/c++"}
    args = ("max", tmp_path / "x.npy", "-k", "3", "-s", "1", "-o", tmp_path / "y.npy", "-q")
    said = run(*args, "--debug", env=env).stderr.decode()
    assert said.count("compiled kernels off, eager paths instead: no C++ compiler") == 1


def _eager_kernels(kind, static):
    """The compiled kernels' functions run eagerly (``_compiled``'s stand-in in the tests)."""
    if kind == "split":
        return compiled._Split(*static)
    return functools.partial(compiled._into, functools.partial(fused.box, *static))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 11), st.integers(1, 3), st.integers(1, 2)), min_size=1, max_size=3
    ),
    st.sampled_from(["max", "min"]),
    st.sampled_from(["two boxes", "separable", "planned"]),
    st.integers(1, 600),
    st.integers(0, 2**32 - 1),
)
def test_split_max_and_min_give_the_loop_references(axes, reduction, split, strip, seed):
    """Long max/min windows as two kernels through strips (the compiled kernels' arithmetic
    and :class:`compiled._Split`'s strips, run eagerly here) against the loop reference, on
    windows without padding of every kernel up to 11 and strips of a few rows."""
    axes = tuple(axes)
    sizes = [(k - 1) * d + 1 + extra for (k, _, d), extra in zip(axes, (4, 3, 5))]
    x = np.random.default_rng(seed).integers(0, 50, sizes).astype(np.int16)
    spatial = tuple(range(len(axes)))
    inner, outer = {
        "two boxes": fused.split_axes,
        "separable": fused.separable_axes,
        "planned": lambda axes: fused.max_min_split(axes) or fused.split_axes(axes),
    }[split](axes)
    red = Reduction(reduction)
    order = tuple(reversed(spatial))
    kernels = [("box", (red, a, spatial, torch.int16, order, None, None)) for a in (inner, outer)]
    kernel, stride, dilation = zip(*axes)
    want = ref.reference_pool(x[None, None], reduction, kernel, stride, 0, dilation)[0, 0]
    got = torch.empty(want.shape, dtype=torch.int16)
    with (
        unittest.mock.patch.object(compiled, "_compiled", _eager_kernels),
        unittest.mock.patch.object(compiled, "STRIP_BYTES", strip),
    ):
        compiled._Split(*kernels, torch.int16)(torch.from_numpy(x), got)
    assert np.array_equal(got.numpy(), want)


def test_max_and_min_run_separably_from_36_cells_across_two_axes():
    square, cube = ((7, 1, 1), (6, 1, 1)), ((5, 1, 1), (5, 2, 1), (5, 1, 2))
    line, small = ((1, 1, 1), (7, 1, 1)), ((5, 1, 1), (5, 1, 1))
    assert fused.max_min_split(square) == fused.separable_axes(square)
    assert fused.max_min_split(cube) == fused.separable_axes(cube)
    assert fused.max_min_split(line) == fused.split_axes(line)
    assert fused.max_min_split(((7, 1, 1), (3, 1, 1))) == fused.split_axes(((7, 1, 1), (3, 1, 1)))
    assert fused.max_min_split(small) is None
    assert fused.max_min_split(((3, 1, 1),) * 3) is None


ROUNDED_CASES = [
    # (dtype, window): the rounded mean in the loop's last step.
    ("uint8", {"kernel_size": 3, "stride": 1}),  # float32 quotient, one loop
    ("uint8", {"kernel_size": (7, 9), "stride": (2, 1)}),  # rows, then the rest
    ("int16", {"kernel_size": (2, 3), "stride": 1}),  # float64 quotient
]


@pytest.mark.slow
@pytest.mark.parametrize(("dtype", "window"), ROUNDED_CASES)
def test_compiled_rounded_averages_equal_the_eager_paths(dtype, window, monkeypatch):
    if not compiled.available():
        pytest.skip(f"no compiled kernels here: {compiled._state['broken']}")
    from poolcli.model.options import PoolOptions

    info = np.iinfo(dtype)
    layout = Layout("HWC")
    options = PoolOptions(dtype=dtype)
    x = np.random.default_rng(4).integers(info.min, int(info.max) + 1, (37, 41, 3), dtype=dtype)
    x[:9, :9] %= 2  # ties
    tensor = torch.from_numpy(x)
    windows = resolve(WindowSpec.make(**window), x.shape[:2], layout.spatial)
    eager = ops.pool_tensor(tensor, "avg", windows, layout, options=options)
    monkeypatch.setenv("POOLCLI_COMPILE", "1")
    fused = ops.pool_tensor(tensor, "avg", windows, layout, options=options)
    assert compiled._state["broken"] is None
    assert fused.dtype == eager.dtype == tensor.dtype and torch.equal(fused, eager)
    canonical = x.transpose(2, 0, 1)[None]
    mean = ref.reference_pool(canonical, "avg", window["kernel_size"], window["stride"])
    want = np.rint(mean).astype(dtype)[0].transpose(1, 2, 0)
    np.testing.assert_array_equal(fused.numpy(), want)


def _awkward_floats(generator, shape, dtype):
    """Negative and positive floats, both zeros and both infinities (no NaN: the medians'
    networks never see one)."""
    values = np.array([-np.inf, -3.5, -1.0, -0.0, 0.0, 1e-30, 2.0, 7.25, np.inf], dtype=dtype)
    return torch.from_numpy(generator.choice(values, shape))


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from([np.float32, np.float64]),
    st.sampled_from([((3, 1, 1), (3, 1, 1)), ((2, 2, 1), (3, 1, 2)), ((5, 1, 1),)]),
    st.integers(0, 2**32 - 1),
)
def test_median_kernels_compare_floats_as_ordered_integers(dtype, axes, seed):
    """The compiled medians' arithmetic (float bits as ordered integers), run eagerly here,
    against the loop reference on negative floats, signed zeros and infinities."""
    sizes = [(k - 1) * d + 1 + extra for (k, _, d), extra in zip(axes, (4, 3))]
    x = _awkward_floats(np.random.default_rng(seed), sizes, dtype)
    spatial = tuple(range(len(axes)))
    network = compiled.median_network(int(np.prod([k for k, _, _ in axes])))
    got = [fused._median_taps(axes, spatial, network, x)]
    if all(k == 3 for k, _, _ in axes):
        got.append(fused._median(axes, spatial, x))
    kernel, stride, dilation = zip(*axes)
    want = ref.reference_pool(x.numpy()[None, None], "median", kernel, stride, 0, dilation)[0, 0]
    for result in got:
        assert result.dtype == x.dtype and np.array_equal(result.numpy(), want)


@pytest.mark.slow
@pytest.mark.parametrize("window", [{"kernel_size": 3, "stride": 1}, {"kernel_size": (2, 3)}])
def test_compiled_medians_of_negative_floats_equal_the_eager_paths(window, monkeypatch):
    if not compiled.available():
        pytest.skip(f"no compiled kernels here: {compiled._state['broken']}")
    x = _awkward_floats(np.random.default_rng(4), (29, 33), np.float32)
    eager = _pool(x, "median", "HW", **window)
    monkeypatch.setenv("POOLCLI_COMPILE", "1")
    fused = _pool(x, "median", "HW", **window)
    assert compiled._state["broken"] is None
    assert torch.equal(fused, eager)
