"""RGBA images: a transparent pixel lends no colour under any reduction (unless straight alpha)."""

from __future__ import annotations

import numpy as np
import pytest
import reference as ref
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from poolcli.engine import grad, ops
from poolcli.engine.core import run
from poolcli.model.layout import Layout
from poolcli.model.options import PoolOptions
from poolcli.model.reductions import Reduction
from poolcli.model.window import WindowSpec, resolve

ALL = [r.value for r in Reduction]
WINDOWS = [
    {"kernel_size": 2},
    {"kernel_size": 3, "stride": 1, "padding": 1},  # overlapping, padded
    {"kernel_size": 2, "stride": 1, "padding": ((1, 0), (0, 1))},
    {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
    {"kernel_size": 2, "stride": 1, "dilation": 2, "padding": 1, "count_include_pad": True},
]


def rgba(seed, shape=(1, 4, 5, 6), dtype=np.uint8):
    """(N, 4, H, W): random colour, alpha mostly 0 or opaque, some partial."""
    g = np.random.default_rng(seed)
    x = g.integers(0, 4, shape).astype(dtype) * (85 if dtype == np.uint8 else 1)
    alpha = g.choice(np.array([0, 0, 0, 128, 255]), shape[:1] + (1,) + shape[2:])
    x[:, 3:] = alpha.astype(dtype) if dtype == np.uint8 else alpha / 255
    return x


def pooled(x, reduction, window, layout="NCHW", straight=False):
    """The engine's result for canonical ``x`` pooled in ``layout``, back in NCHW."""
    data = x if layout == "NCHW" else np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    options = PoolOptions(expectation=True, straight_alpha=straight)
    out = run(data, reduction, WindowSpec.make(**window), layout, options, alpha=True).output
    return out if layout == "NCHW" else out.transpose(0, 3, 1, 2)


def reference(x, reduction, window, straight=False):
    call = ref.reference_pool if straight else ref.reference_pool_rgba
    return call(  # integer sums come as Python ints
        x,
        reduction,
        window["kernel_size"],
        window.get("stride"),
        window.get("padding"),
        window.get("dilation"),
        window.get("ceil_mode", False),
        window.get("count_include_pad", False),
    ).astype(np.float64)


@pytest.mark.parametrize("reduction", ALL)
@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize("straight", [False, True])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_rgba_matches_the_reference(reduction, layout, straight, dtype):
    x = rgba(1, dtype=dtype)
    for window in WINDOWS:
        got = pooled(x, reduction, window, layout, straight)
        want = reference(x, reduction, window, straight)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4, err_msg=str(window))


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    reduction=st.sampled_from(ALL),
    window=st.sampled_from(WINDOWS),
    size=st.tuples(st.integers(2, 6), st.integers(2, 6)),
)
def test_random_rgba_images_match_the_reference(seed, reduction, window, size):
    x = rgba(seed, (2, 4, *size))
    try:
        resolve(WindowSpec.make(**window), size)
    except Exception:
        return  # the window does not fit this size
    got = pooled(x, reduction, window)
    np.testing.assert_allclose(got, reference(x, reduction, window), rtol=1e-5, atol=1e-4)


def test_the_reference_pools_an_opaque_image_as_any_array():
    x = rgba(2)
    x[:, 3] = 255
    # (Not lp: its premultiplied colour is divided by the lp norm of the weights.)
    for reduction in set(ALL) - {"lp"}:
        want = ref.reference_pool(x, reduction, 3, 1, 1).astype(np.float64)
        np.testing.assert_allclose(ref.reference_pool_rgba(x, reduction, 3, 1, 1), want)


@pytest.mark.parametrize("reduction", ["max", "min", "median", "mode"])
def test_a_shape_on_transparent_white_gets_no_halo(reduction):
    # An opaque red square on a transparent background stored as white.
    image = np.zeros((8, 8, 4), np.uint8)
    image[...] = (255, 255, 255, 0)
    image[2:6, 2:6] = (200, 0, 0, 255)
    out = run(image, reduction, WindowSpec.make(kernel_size=3, stride=1, padding=1), "HWC",
              alpha=True).output  # fmt: skip
    colours = {tuple(p[:3]) for p in out.reshape(-1, 4)}
    assert colours == {(200, 0, 0), (0, 0, 0)}, reduction  # 0: all-transparent windows
    straight = run(image, reduction, WindowSpec.make(kernel_size=3, stride=1, padding=1), "HWC",
                   PoolOptions(straight_alpha=True), alpha=True).output  # fmt: skip
    assert (straight[..., :3] == 255).any()  # straight alpha: colour is pooled as it is


@pytest.mark.parametrize("reduction", ALL)
def test_an_all_transparent_window_gives_colour_zero(reduction):
    x = np.full((4, 4, 4), 200, np.uint8)
    x[..., 3] = 0
    options = PoolOptions(expectation=True)
    out = run(x, reduction, WindowSpec.make(kernel_size=2), "HWC", options, alpha=True).output
    assert out.tolist() == [[[0, 0, 0, 0]] * 2] * 2


@pytest.mark.parametrize("reduction", ["max", "min", "median", "mode"])
def test_winners_and_unpooling_take_colour_from_visible_cells(reduction):
    x = rgba(3, (1, 4, 6, 6))
    x[0, 3, 0, 0] = 255  # every window below has a visible cell
    x[0, 3, ::2, ::2] = 255
    layout = Layout("NCHW")
    windows = resolve(WindowSpec.make(kernel_size=2), (6, 6))
    taps = ops.window_winners(x, reduction, windows, layout, alpha=True).numpy()
    window_alpha = x[0, 3].reshape(3, 2, 3, 2).transpose(0, 2, 1, 3).reshape(3, 3, 4)
    chosen = np.take_along_axis(window_alpha, taps[0, :3].transpose(1, 2, 0), axis=-1)
    assert (chosen > 0).all()
    kept = grad.unpool(x, reduction, WindowSpec.make(kernel_size=2), "NCHW", alpha=True).kept
    assert (kept[0, :3][:, x[0, 3] == 0] == 0).all()


def test_the_gradient_of_max_goes_to_visible_cells_only():
    x = rgba(4, (1, 4, 4, 4)).astype(np.float64)
    x[0, 3, 0, 0] = x[0, 3, 2, 2] = 255.0
    result = grad.gradient(x, "max", WindowSpec.make(kernel_size=2), "NCHW", alpha=True)
    hidden = np.broadcast_to(x[0, 3] == 0, (3, 4, 4))
    assert (result.grad[0, :3][hidden] == 0).all()
    # Each window with a visible cell sends its whole upstream 1 to one of them, per channel.
    seen = (x[0, 3].reshape(2, 2, 2, 2) > 0).any(axis=(1, 3)).sum()
    assert result.grad[0, :3].sum() == 3 * seen


def test_only_rgba_layouts_take_alpha():
    from poolcli.errors import UsageError

    with pytest.raises(UsageError, match="alpha channel"):
        ops.pool_tensor(
            torch.zeros(4, 4), "max", resolve(WindowSpec.make(kernel_size=2), (4, 4)),
            Layout("HW"), alpha=True,
        )  # fmt: skip
