"""Layout letters: validation messages, the default-layout rule, and the canonical permutation."""

from __future__ import annotations

import numpy as np
import pytest

from poolcli.errors import UsageError
from poolcli.model.layout import Layout, default_layout
from poolcli.model.options import resolve_layout

CONTRACT_EXAMPLES = ["HW", "CHW", "HWC", "NCHW", "NHWC", "W", "NCW", "NWC", "DHW", "NCDHW", "NDHWC"]


def refusal(call, *args) -> UsageError:
    with pytest.raises(UsageError) as info:
        call(*args)
    assert info.value.option == "--layout"
    return info.value


@pytest.mark.parametrize("letters", CONTRACT_EXAMPLES + ["CW", "NW", "CDHW", "DHWC", "NCDHW"])
def test_contract_layouts_parse(letters):
    layout = Layout.parse(letters, len(letters))
    assert str(layout) == letters
    assert layout.spatial == "".join(c for c in letters if c in "DHW")


@pytest.mark.parametrize(("text", "letters"), [("nhwc", "NHWC"), (" HWC ", "HWC"), ("cHw", "CHW")])
def test_parse_normalises_case_and_spaces(text, letters):
    assert Layout.parse(text).letters == letters


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("NHWX", "--layout NHWX is not valid: use the letters N, C, D, H, W, such as NCHW or HWC."),
        ("", "--layout  is not valid: use the letters N, C, D, H, W, such as NCHW or HWC."),
        ("HW C", "--layout HW C is not valid: use the letters N, C, D, H, W, such as NCHW or HWC."),
        ("HHW", "--layout HHW repeats H: each letter may appear once."),
        ("NCHWC", "--layout NCHWC repeats C: each letter may appear once."),
        ("NNHHW", "--layout NNHHW repeats H, N: each letter may appear once."),
        ("NC", "--layout NC has no spatial axis: include W, HW or DHW."),
        ("WH", "--layout WH: the spatial axes must be W, HW or DHW, in that order."),
        ("DW", "--layout DW: the spatial axes must be W, HW or DHW, in that order."),
        ("H", "--layout H: the spatial axes must be W, HW or DHW, in that order."),
        ("HDW", "--layout HDW: the spatial axes must be W, HW or DHW, in that order."),
    ],
)
def test_parse_refuses(text, message):
    assert refusal(Layout.parse, text).message == message


def test_parse_checks_the_number_of_axes():
    error = refusal(Layout.parse, "HWC", 2)
    assert error.message == "--layout HWC names 3 axes but the array has 2."
    error = refusal(resolve_layout, (2, 3), "HWC")
    assert error.message == "--layout HWC names 3 axes but the array has 2 (shape 2x3)."
    error = refusal(resolve_layout, (2, 3, 4, 5), "NCW")
    assert error.message == "--layout NCW names 3 axes but the array has 4 (shape 2x3x4x5)."


@pytest.mark.parametrize(
    ("letters", "spatial_axes", "channel_axis"),
    [
        ("HW", (0, 1), None),
        ("HWC", (0, 1), 2),
        ("CHW", (1, 2), 0),
        ("NHWC", (1, 2), 3),
        ("NCW", (2,), 1),
        ("NWC", (1,), 2),
        ("W", (0,), None),
        ("DHW", (0, 1, 2), None),
        ("NDHWC", (1, 2, 3), 4),
    ],
)
def test_axes(letters, spatial_axes, channel_axis):
    layout = Layout.parse(letters)
    assert layout.spatial_axes == spatial_axes
    assert layout.channel_axis == channel_axis


@pytest.mark.parametrize("letters", CONTRACT_EXAMPLES)
def test_canonical_permutation_round_trips(letters):
    layout = Layout.parse(letters)
    shape = tuple(range(2, 2 + len(letters)))
    x = np.zeros(shape)
    canonical = x.transpose(layout.to_canonical())
    order = [c for c in "NCDHW" if c in letters]
    assert canonical.shape == tuple(shape[letters.index(c)] for c in order)
    assert canonical.transpose(layout.from_canonical()).shape == shape
    assert layout.spatial_shape(shape) == tuple(shape[letters.index(c)] for c in layout.spatial)
    new = layout.with_spatial(shape, (1,) * len(layout.spatial))
    assert all(new[i] == 1 for i in layout.spatial_axes)
    assert all(new[i] == shape[i] for i in range(len(shape)) if i not in layout.spatial_axes)


@pytest.mark.parametrize(
    ("shape", "letters"),
    [
        ((5,), "W"),
        ((4, 6), "HW"),
        ((3, 32, 32), "CHW"),
        ((32, 32, 3), "HWC"),
        ((32, 32, 4), "HWC"),
        ((28, 28, 1), "HWC"),
        ((1, 28, 28), "CHW"),
        ((3, 32, 3), "CHW"),  # first axis also 1, 3 or 4: not HWC
        ((4, 5, 4), "CHW"),
        ((5, 5, 5), "CHW"),
        ((5, 6, 2), "CHW"),  # 2 channels last is not in (1, 3, 4)
        ((2, 3, 8, 8), "NCHW"),
        ((1, 2, 4, 8, 8), "NCDHW"),
    ],
)
def test_default_layout(shape, letters):
    assert default_layout(shape).letters == letters
    layout, guessed = resolve_layout(shape, None)
    assert (layout.letters, guessed) == (letters, True)


def test_given_layout_is_not_guessed():
    layout, guessed = resolve_layout((8, 8, 3), "CHW")
    assert (layout.letters, guessed) == ("CHW", False)
    layout, guessed = resolve_layout((8, 8, 3), Layout("HWC"))
    assert (layout.letters, guessed) == ("HWC", False)


@pytest.mark.parametrize("ndim", [0, 6])
def test_no_default_layout(ndim):
    error = refusal(default_layout, (2,) * ndim)
    assert error.message == (
        f"a {ndim}-D array has no default layout: give --layout (at most N, C and 3 spatial axes)."
    )
