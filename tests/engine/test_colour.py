"""--linear-light against the sRGB transfer formulas written in numpy (IEC 61966-2-1)."""

from __future__ import annotations

import numpy as np
import pytest

import poolcli
from poolcli.engine.core import run
from poolcli.errors import PoolError, UsageError
from poolcli.model.options import PoolOptions
from poolcli.model.window import WindowSpec


def to_linear(v):
    v = np.asarray(v, dtype=np.float64)
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def to_srgb(v):
    v = np.asarray(v, dtype=np.float64)
    return np.where(v <= 0.0031308, 12.92 * v, 1.055 * v ** (1 / 2.4) - 0.055)


def blocks(x, k):
    """(H/k, W/k, C, k*k) blocks of an HWC array."""
    h, w, c = x.shape
    b = x[: h // k * k, : w // k * k].reshape(h // k, k, w // k, k, c)
    return b.transpose(0, 2, 4, 1, 3).reshape(h // k, w // k, c, k * k)


@pytest.mark.parametrize("dtype, white", [(np.uint8, 255), (np.uint16, 65535)])
@pytest.mark.parametrize("k", [2, 3])
def test_average_in_linear_light_is_the_srgb_formula(dtype, white, k):
    rng = np.random.default_rng(k)
    x = rng.integers(0, white + 1, (9, 12, 3)).astype(dtype)
    want = to_srgb(to_linear(blocks(x, k) / white).mean(-1)) * white
    options = PoolOptions(linear_light=True, srgb_max=float(white))
    got = run(x, "avg", WindowSpec.make(kernel_size=k), "HWC", options).output
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-3 * white / 255)


def test_gem_and_stochastic_expectation_in_linear_light():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (6, 6, 3)).astype(np.uint8)
    lin = to_linear(blocks(x, 2) / 255)
    gem = to_srgb(np.mean(lin**3, -1) ** (1 / 3)) * 255
    options = PoolOptions(norm_type=3.0, linear_light=True, srgb_max=255.0)
    got = run(x, "gem", WindowSpec.make(kernel_size=2), "HWC", options).output
    np.testing.assert_allclose(got, gem, rtol=1e-5, atol=1e-3)
    total = lin.sum(-1)
    safe = np.where(total > 0, total, 1)
    expectation = to_srgb(np.where(total > 0, (lin * lin).sum(-1) / safe, 0)) * 255
    options = PoolOptions(expectation=True, linear_light=True, srgb_max=255.0)
    got = run(x, "stochastic", WindowSpec.make(kernel_size=2), "HWC", options).output
    np.testing.assert_allclose(got, expectation, rtol=1e-5, atol=1e-3)


def test_black_and_white_stripes_average_to_188_not_128():
    stripes = np.tile(np.array([0, 255], dtype=np.uint8), (4, 2))
    gamma = poolcli.pool(stripes, "avg", kernel_size=2)
    linear = poolcli.pool(stripes, "avg", kernel_size=2, linear_light=True, srgb_max=255)
    assert np.round(gamma).tolist() == [[128, 128]] * 2
    assert np.round(linear).tolist() == [[188, 188]] * 2


def test_alpha_is_not_decoded_and_weights_colour():
    x = np.zeros((2, 2, 4), dtype=np.uint8)
    x[..., :3] = [[[255, 255, 255], [0, 0, 0]], [[255, 255, 255], [0, 0, 0]]]
    x[..., 3] = [[255, 255], [255, 0]]
    options = PoolOptions(linear_light=True, srgb_max=255.0)
    got = run(x, "avg", WindowSpec.make(kernel_size=2), "HWC", options, alpha=True).output
    # Colour: the three visible cells (white, black, white) in linear light; alpha: its mean.
    colour = to_srgb(2 / 3) * 255
    np.testing.assert_allclose(got[0, 0], [colour, colour, colour, 255 * 3 / 4], rtol=1e-5)


def test_arrays_need_srgb_max_and_order_based_reductions_refuse():
    x = np.zeros((4, 4), dtype=np.uint8)
    with pytest.raises(PoolError, match="srgb_max=MAX"):
        poolcli.pool(x, "avg", kernel_size=2, linear_light=True)
    for reduction in ("max", "median", "sum", "lp"):
        with pytest.raises(UsageError, match="linear_light applies to avg, gem, stochastic"):
            poolcli.pool(x, reduction, kernel_size=2, linear_light=True, srgb_max=255)
    with pytest.raises(UsageError, match="srgb_max goes with linear_light"):
        poolcli.pool(x, "avg", kernel_size=2, srgb_max=255)


WINDOWS = [
    {"kernel_size": 3, "stride": 1, "padding": 1},
    {"kernel_size": 2, "stride": 1, "padding": ((1, 0), (0, 1)), "count_include_pad": True},
    {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True, "dilation": 2},
    {"kernel_size": 3, "stride": 1, "padding": "same"},
]


@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("reduction", ["avg", "gem"])
def test_linear_light_on_every_windowing_is_the_reference_on_decoded_values(window, reduction):
    import reference as ref

    from poolcli.model.window import resolve

    rng = np.random.default_rng(5)
    x = rng.integers(0, 256, (1, 2, 7, 6)).astype(np.uint8)
    spec = WindowSpec.make(**window)
    pads = tuple((a.pad_begin, a.pad_end) for a in resolve(spec, x.shape[2:]))
    decoded = to_linear(x / 255.0)
    want = ref.reference_pool(
        decoded, reduction, window["kernel_size"], window.get("stride"), pads,
        window.get("dilation"), window.get("ceil_mode", False),
        window.get("count_include_pad", False), 3.0,
    )  # fmt: skip
    options = PoolOptions(norm_type=3.0, linear_light=True, srgb_max=255.0, dtype="float64")
    got = run(x, reduction, spec, "NCHW", options).output
    np.testing.assert_allclose(got, to_srgb(want) * 255, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("window", [{"global_pool": True}, {"output_size": (2, 3, 2)}])
def test_linear_light_on_global_and_adaptive_3d_windows(window):
    rng = np.random.default_rng(6)
    x = rng.integers(0, 65536, (4, 6, 5)).astype(np.uint16)
    options = PoolOptions(linear_light=True, srgb_max=65535.0, dtype="float64")
    got = run(x, "avg", WindowSpec.make(**window), "DHW", options).output
    lin = to_linear(x / 65535.0)
    if "global_pool" in window:
        want = to_srgb(lin.mean()) * 65535
    else:
        import reference as ref

        want = to_srgb(ref.reference_adaptive(lin[None, None], "avg", (2, 3, 2))[0, 0]) * 65535
    np.testing.assert_allclose(got, np.reshape(want, got.shape), rtol=1e-9)
