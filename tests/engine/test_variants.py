"""BlurPool (--blur), fractional windows (--fractional-windows) and SPP (--spp) against their
oracles: kornia's MaxBlurPool2D and reflect-padded binomial filter, torch's
fractional_max_pool2d/3d with the same samples, torch's adaptive pools, and the loop
reference."""

from __future__ import annotations

import kornia.filters as kf
import numpy as np
import pytest
import reference as ref
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from kornia.filters.kernels import get_pascal_kernel_2d

import poolcli
from poolcli.engine.core import run
from poolcli.errors import UsageError
from poolcli.learn.invariance import measure
from poolcli.model.options import PoolOptions
from poolcli.model.reductions import Reduction
from poolcli.model.window import WindowSpec

LAYOUT = {1: "NCW", 2: "NCHW", 3: "NCDHW"}


def data(shape, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


# ---------------------------------------------------------------------------- BlurPool


@pytest.mark.parametrize("size", [3, 5])
@pytest.mark.parametrize("kernel, stride", [(2, 2), (3, 2), (2, 3)])
def test_blur_matches_kornia_reflect_filter(size, kernel, stride):
    x = data((2, 3, 11, 12))
    out = poolcli.pool(x, "max", kernel_size=kernel, stride=stride, blur=size, layout="NCHW")
    maxed = F.max_pool2d(torch.from_numpy(x), kernel, 1)
    pascal = get_pascal_kernel_2d(size, norm=True)[None]
    blurred = kf.filter2d(maxed, pascal, border_type="reflect")[..., ::stride, ::stride]
    np.testing.assert_allclose(out, blurred.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out, ref.reference_blurpool(x, kernel, stride, size), atol=1e-5)


def test_blur_matches_kornia_max_blur_pool_inside():
    """kornia pads the blur with zeros where antialiased-cnns reflects: equal away from the
    border."""
    x = data((1, 2, 16, 16), 1)
    out = poolcli.pool(x, "max", kernel_size=2, blur=3, layout="NCHW")
    theirs = kf.max_blur_pool2d(torch.from_numpy(x), 3, stride=2, max_pool_size=2).numpy()
    assert out.shape == theirs.shape
    np.testing.assert_allclose(out[..., 1:-1, 1:-1], theirs[..., 1:-1, 1:-1], rtol=1e-5)


@pytest.mark.parametrize("nd", [1, 3])
def test_blur_1d_3d_and_layouts(nd):
    shape = (1, 2) + (9, 8, 7)[:nd]
    x = data(shape, 2)
    out = poolcli.pool(x, "max", kernel_size=2, blur=3, layout=LAYOUT[nd])
    np.testing.assert_allclose(out, ref.reference_blurpool(x, 2, 2, 3), atol=1e-5)
    hwc = poolcli.pool(
        np.moveaxis(x[0], 0, -1), "max", kernel_size=2, blur=3, layout="DHWC"[-nd - 1 :]
    )
    np.testing.assert_allclose(np.moveaxis(hwc, -1, 0), out[0], atol=1e-6)


def test_blur_output_size_is_max_pooling_s_and_integers_give_floats():
    x = np.arange(7 * 9, dtype=np.uint8).reshape(7, 9)
    out = poolcli.pool(x, "max", kernel_size=3, stride=2, padding=1, blur=5)
    plain = poolcli.pool(x, "max", kernel_size=3, stride=2, padding=1)
    assert out.shape == plain.shape and out.dtype == np.float32


def test_blur_errors():
    x = data((6, 6))
    for kwargs, match in [
        (dict(blur=4), "3 or 5"),
        (dict(blur=3, ceil_mode=True), "blur does not go with ceil_mode"),
    ]:
        with pytest.raises(UsageError, match=match):
            poolcli.pool(x, "max", kernel_size=2, **kwargs)
    with pytest.raises(UsageError, match="only to max"):
        poolcli.pool(x, "avg", kernel_size=2, blur=3)


def test_blur_is_more_shift_robust():
    """Zhang 2019's point, measured by `poolcli invariance`: thin stripes moved by one cell
    flip plain max pooling's output; blurred, the change is smaller."""
    x = np.zeros((32, 32), np.float32)
    x[:, ::4] = x[:, 1::4] = 1
    spec = WindowSpec.make(kernel_size=2)
    plain = measure(x, ("max",), spec, shifts=(1,), noise=0).for_op(Reduction.MAX)
    blurred = measure(x, ("max", "avg"), spec, options=PoolOptions(blur=3), shifts=(1,), noise=0)
    blurred = blurred.for_op(Reduction.MAX)
    assert blurred[1].mean_change < plain[1].mean_change
    assert blurred[1].max_change < plain[1].max_change


# ---------------------------------------------------------------------------- fractional


def torch_samples(samples, planes, dtype=torch.float32):
    """torch's _random_samples, the same for every plane: fractional_max_pool2d reads them W
    first, then H; fractional_max_pool3d in axis order, T, H, W."""
    ordered = samples[::-1] if len(samples) == 2 else samples
    return torch.tensor(ordered, dtype=dtype).expand(*planes, len(samples)).contiguous()


@pytest.mark.parametrize(
    "shape, kernel, out, samples",
    [
        ((2, 3, 10, 13), 2, (5, 7), (0.25, 0.8)),
        ((1, 2, 25, 9), 3, (11, 4), (0.9, 0.1)),
        ((1, 1, 32, 32), 2, (16, 16), (0.5, 0.5)),
        ((1, 2, 7, 8, 9), 2, (4, 5, 6), (0.3, 0.6, 0.99)),
    ],
)
def test_fractional_matches_torch(shape, kernel, out, samples):
    nd = len(shape) - 2
    x = data(shape, 3)
    spec = WindowSpec.make(kernel_size=kernel, output_size=out, fractional=True, samples=samples)
    result = run(x, "max", spec, LAYOUT[nd])
    fmp = F.fractional_max_pool2d if nd == 2 else F.fractional_max_pool3d
    theirs, indices = fmp(
        torch.from_numpy(x),
        kernel,
        output_size=out,
        _random_samples=torch_samples(samples, shape[:2]),
        return_indices=True,
    )
    np.testing.assert_array_equal(result.output, theirs.numpy())
    np.testing.assert_array_equal(
        result.output, ref.reference_fractional(x, "max", kernel, out, samples)
    )
    from poolcli.engine.indices import winner_indices

    np.testing.assert_array_equal(winner_indices(x, result), indices.numpy())


@settings(max_examples=30, deadline=None)
@given(st.integers(4, 30), st.integers(1, 3), st.floats(0, 0.999), st.data())
def test_fractional_windows_property(size, kernel, u, draw):
    kernel = min(kernel, size - 1)
    out = draw.draw(st.integers(1, size - kernel + 1))
    x = data((1, 1, size, 5), size)
    spec = WindowSpec.make(
        kernel_size=(kernel, 1), output_size=(out, 5), fractional=True, samples=(u, 0.5)
    )
    result = run(x, "max", spec, "NCHW")
    theirs = F.fractional_max_pool2d(
        torch.from_numpy(x),
        (kernel, 1),
        output_size=(out, 5),
        _random_samples=torch_samples((u, 0.5), (1, 1)),
    )
    np.testing.assert_array_equal(result.output, theirs.numpy())


def test_fractional_ratio_seed_and_any_reduction():
    x = data((1, 2, 20, 15), 4)
    a = poolcli.pool(x, "max", fractional=True, output_ratio=0.5, seed=7, layout="NCHW")
    b = poolcli.pool(x, "max", fractional=True, output_ratio=0.5, seed=7, layout="NCHW")
    assert a.shape == (1, 2, 10, 7)
    np.testing.assert_array_equal(a, b)
    avg = poolcli.pool(x, "avg", fractional=True, output_size=(10, 7), seed=7, layout="NCHW")
    spec = WindowSpec.make(output_size=(10, 7), fractional=True, output_ratio=None)
    from poolcli.engine.core import _variant_spec

    placed = _variant_spec(spec, PoolOptions(seed=7), 2)
    expected = ref.reference_fractional(x, "avg", 2, (10, 7), placed.samples)
    np.testing.assert_allclose(avg, expected, rtol=1e-5, atol=1e-6)


def test_fractional_errors():
    x = data((6, 6))
    with pytest.raises(UsageError, match="do not fit"):
        poolcli.pool(x, "max", kernel_size=3, fractional=True, output_size=5)
    with pytest.raises(UsageError, match="exactly one"):
        poolcli.pool(x, "max", fractional=True)
    with pytest.raises(UsageError, match="between 0 and 1"):
        poolcli.pool(x, "max", fractional=True, output_ratio=1.5)
    with pytest.raises(UsageError, match="stride does not go with fractional"):
        poolcli.pool(x, "max", stride=2, fractional=True, output_size=3)


# ---------------------------------------------------------------------------- SPP


@pytest.mark.parametrize("reduction", ["max", "avg", "median"])
@pytest.mark.parametrize("shape", [(2, 3, 13, 11), (1, 2, 9), (1, 1, 5, 6, 7)])
def test_spp_matches_adaptive_pools(reduction, shape):
    nd = len(shape) - 2
    x = data(shape, 5)
    out = poolcli.pool(x, reduction, spp=(1, 2, 4), layout=LAYOUT[nd])
    assert out.shape == (*shape[:2], sum(n**nd for n in (1, 2, 4)))
    np.testing.assert_allclose(
        out, ref.reference_spp(x, reduction, (1, 2, 4)), rtol=1e-5, atol=1e-6
    )
    if reduction == "max" and nd == 2:
        theirs = [F.adaptive_max_pool2d(torch.from_numpy(x), n).flatten(2) for n in (1, 2, 4)]
        np.testing.assert_array_equal(out, torch.cat(theirs, -1).numpy())


def test_spp_layout_and_errors():
    x = data((12, 10, 3), 6)  # HWC
    result = run(x, "max", WindowSpec.make(spp="1,2"), "HWC")
    assert str(result.layout) == "WC" and result.output.shape == (5, 3)
    with pytest.raises(UsageError, match="--spp"):
        WindowSpec.make(spp="1,2", kernel_size=2)
