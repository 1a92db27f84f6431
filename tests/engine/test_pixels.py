"""Mode of colour images by whole pixels (``pixels=True``): a pixel that is in the window."""

from __future__ import annotations

import numpy as np
import pytest
import reference as ref
from hypothesis import given, settings
from hypothesis import strategies as st

from poolcli.engine import ops
from poolcli.engine.chain import run_chain
from poolcli.engine.core import run
from poolcli.errors import PoolError
from poolcli.model.layout import Layout
from poolcli.model.steps import make_step
from poolcli.model.window import WindowSpec, resolve

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def test_red_red_green_blue_gives_red():
    image = np.array([[RED, RED], [GREEN, BLUE]], np.uint8)
    spec = WindowSpec.make(kernel_size=2)
    assert run(image, "mode", spec, "HWC", pixels=True).output.tolist() == [[list(RED)]]
    # Per channel, each channel's own mode: black, a colour in no cell of the window.
    assert run(image, "mode", spec, "HWC").output.tolist() == [[[0, 0, 0]]]


def test_ties_go_to_the_smallest_pixel_comparing_channels_in_order():
    image = np.array([[RED, GREEN], [BLUE, (0, 255, 1)]], np.uint8)
    got = run(image, "mode", WindowSpec.make(kernel_size=2), "HWC", pixels=True).output
    assert got.tolist() == [[list(BLUE)]]  # (0, 0, 255) < (0, 255, 0) < ...


def test_nan_pixels_are_equal_to_each_other():
    nan = np.nan
    image = np.array([[[nan, 1.0], [nan, 1.0]], [[0.0, 2.0], [0.5, 2.0]]])
    got = run(image, "mode", WindowSpec.make(kernel_size=2), "HWC", pixels=True).output
    np.testing.assert_array_equal(got, [[[nan, 1.0]]])


@st.composite
def images(draw):
    nd = draw(st.integers(1, 2))
    sizes = tuple(draw(st.integers(1, 6)) for _ in range(nd))
    channels = draw(st.integers(1, 4))
    dtype = draw(st.sampled_from([np.uint8, np.uint16, np.int64, np.float32]))
    generator = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    palette = generator.integers(-2 if dtype in (np.int64, np.float32) else 0, 3, (3, channels))
    picks = generator.integers(0, 3, (draw(st.integers(1, 2)), *sizes))
    x = np.moveaxis(palette[picks], -1, 1).astype(dtype)  # (N, C, *spatial), few colours
    return x


@settings(max_examples=120, deadline=None)
@given(
    x=images(),
    kernel=st.integers(1, 3),
    stride=st.integers(1, 3),
    padding=st.integers(0, 1),
    dilation=st.integers(1, 2),
    ceil=st.booleans(),
    channels_last=st.booleans(),
)
def test_pixel_mode_matches_the_reference(
    x, kernel, stride, padding, dilation, ceil, channels_last
):
    nd = x.ndim - 2
    window = {"kernel_size": kernel, "stride": stride, "padding": padding, "dilation": dilation,
              "ceil_mode": ceil}  # fmt: skip
    try:
        resolve(WindowSpec.make(**window), x.shape[2:])
    except PoolError:
        return  # the window does not fit
    want = ref.reference_pixel_mode(x, kernel, stride, padding, dilation, ceil)
    layout = {1: "NCW", 2: "NCHW"}[nd]
    data = x
    if channels_last:
        layout = {1: "NWC", 2: "NHWC"}[nd]
        data = np.ascontiguousarray(np.moveaxis(x, 1, -1))
    got = run(data, "mode", WindowSpec.make(**window), layout, pixels=True).output
    if channels_last:
        got = np.moveaxis(got, -1, 1)
    assert got.dtype == x.dtype
    np.testing.assert_array_equal(got, want)
    whole = ref.reference_pixel_mode(x, x.shape[2:])  # one window over everything
    got = run(data, "mode", WindowSpec.make(global_pool=True), layout, pixels=True).output
    np.testing.assert_array_equal(np.moveaxis(got, -1, 1) if channels_last else got, whole)


def test_the_winner_holds_the_pixel_in_every_channel():
    image = np.array([[RED, GREEN, GREEN], [BLUE, GREEN, RED], [RED, RED, BLUE]], np.uint8)
    layout = Layout("HWC")
    windows = resolve(WindowSpec.make(kernel_size=2, stride=1), (3, 3))
    taps = ops.window_winners(image, "mode", windows, layout, pixels=True).numpy()
    got = run(image, "mode", WindowSpec.make(kernel_size=2, stride=1), "HWC", pixels=True)
    for i in range(2):
        for j in range(2):
            assert len(set(taps[0, :, i, j].tolist())) == 1
            tap = taps[0, 0, i, j]
            assert image[i + tap // 2, j + tap % 2].tolist() == got.output[i, j].tolist()


def test_with_alpha_every_transparent_pixel_counts_as_transparent_black():
    image = np.array([[(9, 9, 9, 0), (7, 7, 7, 0)], [(255, 0, 0, 255), (0, 0, 0, 0)]], np.uint8)
    spec = WindowSpec.make(kernel_size=2)
    got = run(image, "mode", spec, "HWC", alpha=True, pixels=True).output
    assert got.tolist() == [[[0, 0, 0, 0]]]
    image[0, 0, 3] = image[0, 1, 3] = 255  # now visible: three different pixels, one clear
    got = run(image, "mode", spec, "HWC", alpha=True, pixels=True).output
    assert got.tolist() == [[[0, 0, 0, 0]]]  # ties: the smallest pixel


def test_chains_pass_pixels_on():
    image = np.array([[RED, RED, BLUE, BLUE], [GREEN, BLUE, BLUE, GREEN]] * 2, np.uint8)
    steps = [make_step("mode", kernel_size=2), make_step("mode", kernel_size=(1, 2))]
    # Step one gives [[red, blue], [red, blue]]; step two's ties go to the smaller, blue.
    assert run_chain(image, steps, "HWC", pixels=True).output.tolist() == [[list(BLUE)]] * 2
    assert run_chain(image, steps, "HWC").output.tolist() == [[[0, 0, 0]]] * 2


@pytest.mark.parametrize("reduction", ["max", "median", "avg"])
def test_other_reductions_ignore_pixels(reduction):
    image = np.arange(48, dtype=np.uint8).reshape(4, 4, 3)
    spec = WindowSpec.make(kernel_size=2)
    np.testing.assert_array_equal(
        run(image, reduction, spec, "HWC", pixels=True).output,
        run(image, reduction, spec, "HWC").output,
    )
