"""Window options: parsing, refusals (with their exact messages) and the size arithmetic."""

from __future__ import annotations

import itertools
import math

import pytest
import reference as ref
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from poolcli.errors import PoolError, UsageError
from poolcli.model.reductions import Reduction
from poolcli.model.window import (
    AxisWindow,
    WindowSpec,
    adaptive_bins,
    format_axes,
    output_shape,
    output_size,
    parse_ints,
    parse_padding,
    resolve,
    same_padding,
)


def refusal(call, *args, **kwargs) -> UsageError:
    with pytest.raises(UsageError) as info:
        call(*args, **kwargs)
    assert isinstance(info.value, PoolError)
    return info.value


# ----------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("given", "want"),
    [
        ("3", (3,)),
        (3, (3,)),
        ("3x2", (3, 2)),
        ("3,2", (3, 2)),
        ("3X2", (3, 2)),
        (" 3x2 ", (3, 2)),
        ("3 x 2", (3, 2)),
        ("1x2x3", (1, 2, 3)),
        ("+3", (3,)),
        ((3, 2), (3, 2)),
        ([3, 2, 1], (3, 2, 1)),
    ],
)
def test_parse_ints_accepts(given, want):
    assert parse_ints(given, "--kernel") == want


NOT_WHOLE = "is not valid: expected a whole number, or one per axis such as 3x2."


@pytest.mark.parametrize(
    ("given", "option", "message"),
    [
        ("a", "--kernel", f"--kernel a {NOT_WHOLE}"),
        ("3x", "--kernel", f"--kernel 3x {NOT_WHOLE}"),
        ("3.0", "--stride", f"--stride 3.0 {NOT_WHOLE}"),
        ("3;2", "--kernel", f"--kernel 3;2 {NOT_WHOLE}"),
        ("0", "--kernel", "--kernel must be positive, got 0."),
        ("-1", "--stride", "--stride must be positive, got -1."),
        ("3x0", "--dilation", "--dilation must be positive, got 3x0."),
        (0, "--kernel", "--kernel must be positive, got 0."),
        (True, "--kernel", "--kernel expects whole numbers, got True."),
    ],
)
def test_parse_ints_refuses(given, option, message):
    error = refusal(parse_ints, given, option)
    assert error.message == message
    assert error.option == option


def test_parse_ints_refuses_a_float_with_a_usage_error():
    # Python callers may pass kernel_size=2.5; that must be a PoolError, not AttributeError.
    error = refusal(parse_ints, 2.5, "--kernel")
    assert error.message == "--kernel expects whole numbers, got 2.5."


@pytest.mark.parametrize(
    ("given", "want"),
    [
        (0, ((0, 0),)),
        ("1", ((1, 1),)),
        ("1x2", ((1, 1), (2, 2))),
        ("1,2", ((1, 1), (2, 2))),
        ("0:1x1:2", ((0, 1), (1, 2))),
        ("1x0:1", ((1, 1), (0, 1))),
        ("2:0", ((2, 0),)),
        ("same", "same"),
        (" SAME ", "same"),
        ("valid", "valid"),
        ("Valid", "valid"),
        ((1, 2), ((1, 1), (2, 2))),
        (((0, 1), (3, 3)), ((0, 1), (3, 3))),
        (((0, 1), 3), ((0, 1), (3, 3))),
    ],
)
def test_parse_padding_accepts(given, want):
    assert parse_padding(given) == want


BAD_PADDING = "is not valid: use N, begin:end, same or valid per axis, such as 1x0:1."


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("1:2:3", f"--padding 1:2:3 {BAD_PADDING}"),
        ("a", f"--padding a {BAD_PADDING}"),
        (":1", f"--padding :1 {BAD_PADDING}"),
        ("1x", f"--padding 1x {BAD_PADDING}"),
        ("half", f"--padding half {BAD_PADDING}"),
        (-1, "--padding must be at least 0, got -1."),
    ],
)
def test_parse_padding_refuses(given, message):
    error = refusal(parse_padding, given)
    assert error.message == message
    assert error.option == "--padding"


@pytest.mark.parametrize("given", ["-1", "1:-1", "0x-2"])
def test_negative_padding_message_shows_the_value_as_typed(given):
    # The message must not show a Python tuple such as ('-1',).
    error = refusal(parse_padding, given)
    assert error.message == f"--padding must be at least 0, got {given}."


def test_format_axes():
    assert format_axes((3, 2)) == "3x2"
    assert format_axes(((0, 1), (1, 2))) == "0:1x1:2"
    assert format_axes((5,)) == "5"


def test_reduction_enum():
    assert [str(r) for r in Reduction] == [
        "max", "avg", "min", "sum", "lp", "median", "stochastic", "mode", "gem",
    ]  # fmt: skip
    assert Reduction("median") is Reduction.MEDIAN
    with pytest.raises(ValueError):
        Reduction("mean")


# ----------------------------------------------------------------------------- WindowSpec


def test_make_defaults():
    spec = WindowSpec.make(kernel_size=2)
    assert spec.kernel_size == (2,)
    assert spec.stride is None
    assert spec.padding == ((0, 0),)
    assert spec.dilation == (1,)
    assert (spec.ceil_mode, spec.count_include_pad, spec.global_pool) == (False, False, False)
    assert spec.output_size is None
    assert spec.mode == "sliding"


def test_make_parses_every_option():
    spec = WindowSpec.make(
        kernel_size="3x2",
        stride="1,2",
        padding="0:1x1:2",
        dilation="2x1",
        ceil_mode=True,
        count_include_pad=True,
    )
    assert spec == WindowSpec(
        kernel_size=(3, 2),
        stride=(1, 2),
        padding=((0, 1), (1, 2)),
        dilation=(2, 1),
        ceil_mode=True,
        count_include_pad=True,
    )
    assert WindowSpec.make(global_pool=True).mode == "global"
    assert WindowSpec.make(output_size="7x5").output_size == (7, 5)
    assert WindowSpec.make(output_size=7).mode == "adaptive"


def test_spec_is_frozen():
    spec = WindowSpec.make(kernel_size=2)
    with pytest.raises(AttributeError):
        spec.kernel_size = (3,)


@pytest.mark.parametrize(
    ("kwargs", "message", "option"),
    [
        ({}, "No window given: use --kernel K, --global or --output-size O.", "--kernel"),
        (
            {"kernel_size": 2, "global_pool": True},
            "--kernel, --global and --output-size are different windowings: give only one.",
            "--kernel",
        ),
        (
            {"kernel_size": 2, "output_size": 3},
            "--kernel, --global and --output-size are different windowings: give only one.",
            "--kernel",
        ),
        (
            {"global_pool": True, "output_size": 3},
            "--kernel, --global and --output-size are different windowings: give only one.",
            "--kernel",
        ),
        (
            {"kernel_size": 2, "padding": "same", "ceil_mode": True},
            "--ceil cannot be combined with --padding same: same fixes the output size.",
            "--ceil",
        ),
        (
            {"kernel_size": 2, "padding": "valid", "ceil_mode": True},
            "--ceil cannot be combined with --padding valid: valid fixes the output size.",
            "--ceil",
        ),
        (
            {"output_size": 3, "padding": 1, "dilation": 2},
            "--padding, --dilation apply only to sliding windows (--kernel), not --output-size.",
            "--padding",
        ),
        ({"kernel_size": 0}, "--kernel must be positive, got 0.", "--kernel"),
        ({"kernel_size": 2, "stride": "0"}, "--stride must be positive, got 0.", "--stride"),
        ({"kernel_size": 2, "dilation": -1}, "--dilation must be positive, got -1.", "--dilation"),
        ({"output_size": "0x2"}, "--output-size must be positive, got 0x2.", "--output-size"),
    ],
)
def test_make_refuses(kwargs, message, option):
    error = refusal(WindowSpec.make, **kwargs)
    assert error.message == message
    assert error.option == option


@pytest.mark.parametrize(
    ("kwargs", "first"),
    [
        ({"global_pool": True, "stride": 2}, "--stride"),
        ({"global_pool": True, "ceil_mode": True}, "--ceil"),
        ({"global_pool": True, "dilation": 2}, "--dilation"),
        ({"output_size": 2, "padding": "same"}, "--padding"),
    ],
)
def test_sliding_options_refused_with_other_windowings(kwargs, first):
    error = refusal(WindowSpec.make, **kwargs)
    assert error.option == first
    assert error.message.startswith(first)
    assert "only to sliding windows" in error.message or "only appl" in error.message
    assert ("--global" if kwargs.get("global_pool") else "--output-size") in error.message


# ----------------------------------------------------------------------------- arithmetic


@pytest.mark.parametrize(
    ("args", "want"),
    [
        ((28, 2), 14),
        ((24, 5, 1), 20),
        ((5, 2, 2, 0, 1, True), 3),
        ((6, 3, 2, 1, 1, True), 4),
        ((7, 3, 2), 3),  # a 7x7 map, 3x3 window, stride 2 -> 3x3
        ((7, 2, 2), 3),
        ((5, 2, 3, 1, 1, True), 2),  # ceil would give 3, but that window starts in the end padding
        ((5, 3, 1, (0, 2)), 5),
        ((10, 3, 1, 0, 3), 4),
    ],
)
def test_output_size_examples(args, want):
    assert output_size(*args) == want


def test_output_size_default_stride_is_kernel():
    assert output_size(9, 3) == 3
    assert output_size(10, 3) == 3
    assert output_size(10, 3, ceil_mode=True) == 4


def test_output_size_matches_torch_shapes():
    for size, k, s, p, d, ceil in itertools.product(
        range(1, 11), range(1, 6), range(1, 5), range(3), (1, 2, 3), (False, True)
    ):
        if p > k // 2 or d * (k - 1) + 1 > size + 2 * p:
            continue
        want = F.max_pool1d(torch.zeros(1, 1, size), k, s, p, d, ceil_mode=ceil).shape[-1]
        assert output_size(size, k, s, p, d, ceil) == want, (size, k, s, p, d, ceil)
        if d == 1:
            got = F.avg_pool1d(torch.zeros(1, 1, size), k, s, p, ceil_mode=ceil).shape[-1]
            assert got == want


def test_output_shape_matches_torch_2d_and_3d():
    x2 = torch.zeros(1, 1, 7, 9)
    x3 = torch.zeros(1, 1, 5, 6, 7)
    for k, s, p, ceil in itertools.product(range(1, 6), range(1, 4), range(3), (False, True)):
        if p > k // 2:
            continue
        spec = WindowSpec.make(kernel_size=k, stride=s, padding=p, ceil_mode=ceil)
        assert output_shape(spec, (7, 9)) == tuple(
            F.max_pool2d(x2, k, s, p, ceil_mode=ceil).shape[2:]
        )
        assert output_shape(spec, (5, 6, 7)) == tuple(
            F.max_pool3d(x3, k, s, p, ceil_mode=ceil).shape[2:]
        )


def test_ceil_rule_drops_a_window_starting_in_the_end_padding():
    (axis,) = resolve(WindowSpec.make(kernel_size=2, stride=3, padding=1, ceil_mode=True), (5,))
    assert axis.out == 2
    assert axis.dropped_by_ceil == 1
    assert axis.formula() == "ceil((5 + 1 + 1 − 2) / 3) + 1 − 1 = 2"
    torch_out = F.max_pool1d(torch.zeros(1, 1, 5), 2, 3, 1, ceil_mode=True).shape[-1]
    assert torch_out == 2


def test_ceil_extra_cells():
    (axis,) = resolve(WindowSpec.make(kernel_size=2, ceil_mode=True), (5,))
    assert (axis.out, axis.extra_end, axis.dropped_by_ceil) == (3, 1, 0)
    assert axis.cells(2) == [4, 5]  # 5 exists only because of ceil mode
    assert axis.formula() == "ceil((5 + 0 + 0 − 2) / 2) + 1 = 3"
    (floor_axis,) = resolve(WindowSpec.make(kernel_size=2), (5,))
    assert (floor_axis.out, floor_axis.extra_end) == (2, 0)
    assert floor_axis.formula() == "floor((5 + 0 + 0 − 2) / 2) + 1 = 2"


@pytest.mark.parametrize("size", range(1, 12))
@pytest.mark.parametrize("kernel", range(1, 6))
@pytest.mark.parametrize("stride", range(1, 4))
@pytest.mark.parametrize("dilation", [1, 2])
def test_same_padding_formula(size, kernel, stride, dilation):
    # CONTRACT.md: out = ceil(in / stride), total = max((out-1)*stride + (k-1)*d + 1 - in, 0),
    # begin = total // 2, the rest at the end.
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    assert same_padding(size, kernel, stride, dilation) == (total // 2, total - total // 2)
    assert same_padding(size, kernel, stride, dilation) == ref.same_pads(
        size, kernel, stride, dilation
    )
    spec = WindowSpec.make(kernel_size=kernel, stride=stride, dilation=dilation, padding="same")
    try:
        (axis,) = resolve(spec, (size,))
    except UsageError as error:  # only when a window would hold nothing but padding
        assert "only padding cells" in error.message
        return
    assert axis.out == out
    assert (axis.pad_begin, axis.pad_end) == same_padding(size, kernel, stride, dilation)


def test_same_padding_examples():
    assert same_padding(5, 2, 2) == (0, 1)
    assert same_padding(13, 6, 5) == (1, 2)  # TensorFlow's documented example
    assert same_padding(4, 3) == (1, 1)
    assert same_padding(4, 1, 3) == (0, 0)


def test_valid_padding_is_zero():
    axes = resolve(WindowSpec.make(kernel_size=3, stride=1, padding="valid"), (7, 8))
    assert [(a.pad_begin, a.pad_end, a.out) for a in axes] == [(0, 0, 5), (0, 0, 6)]


@pytest.mark.parametrize("size", range(1, 10))
@pytest.mark.parametrize("out", range(1, 12))
def test_adaptive_bins_match_torch_rule(size, out):
    assert list(adaptive_bins(size, out)) == ref.adaptive_edges(size, out)


def test_adaptive_resolve():
    axes = resolve(WindowSpec.make(output_size="3x2"), (5, 4))
    assert [a.out for a in axes] == [3, 2]
    assert axes[0].bins == ((0, 2), (1, 4), (3, 5))
    assert axes[0].kernel == 3  # the longest bin
    assert axes[0].cells(1) == [1, 2, 3]
    assert axes[1].bins == ((0, 2), (2, 4))
    assert axes[0].formula() == "adaptive: 5 cells into 3 bins"
    assert axes[0].extra_end == 0 and axes[0].dropped_by_ceil == 0


def test_global_resolve():
    axes = resolve(WindowSpec.make(global_pool=True), (4, 6), "HW")
    assert [(a.name, a.out, a.kernel, a.pad_begin, a.pad_end) for a in axes] == [
        ("H", 1, 4, 0, 0),
        ("W", 1, 6, 0, 0),
    ]
    assert axes[1].cells(0) == list(range(6))


def test_axis_window_properties():
    axis = AxisWindow(
        name="W", size=6, out=4, kernel=3, stride=2, dilation=2, pad_begin=2, pad_end=1
    )
    assert axis.effective_kernel == 5
    assert axis.padded_size == 9
    assert axis.cells(0) == [-2, 0, 2]
    assert axis.cells(3) == [4, 6, 8]
    assert not axis.is_identity
    assert AxisWindow(name="W", size=6, out=6, kernel=1).is_identity


def test_resolve_names_default_to_the_last_spatial_letters():
    assert [a.name for a in resolve(WindowSpec.make(kernel_size=1), (3,))] == ["W"]
    assert [a.name for a in resolve(WindowSpec.make(kernel_size=1), (3, 3, 3))] == ["D", "H", "W"]


def test_per_axis_values_follow_layout_order():
    axes = resolve(
        WindowSpec.make(kernel_size="3x2x1", stride="1x2x1", padding="1:0x0x0:0"), (5, 6, 7)
    )
    assert [(a.name, a.kernel, a.stride, a.pad_begin, a.pad_end) for a in axes] == [
        ("D", 3, 1, 1, 0),
        ("H", 2, 2, 0, 0),
        ("W", 1, 1, 0, 0),
    ]
    assert [a.out for a in axes] == [4, 3, 7]


# ----------------------------------------------------------------------------- refusals


def test_kernel_larger_than_padded_input():
    error = refusal(resolve, WindowSpec.make(kernel_size="5x5"), (3, 4), "HW")
    assert error.message == "--kernel 5x5 is larger than the padded input 3x4."
    assert error.option == "--kernel"
    error = refusal(resolve, WindowSpec.make(kernel_size=3, dilation=2), (4, 5), "HW")
    assert error.message == (
        "--kernel 3x3 (reaching 5x5 with dilation) is larger than the padded input 4x5."
    )
    # padding makes room: a kernel of 5 fits 3 + 1 + 1
    axes = resolve(WindowSpec.make(kernel_size=5, padding=1), (3, 4), "HW")
    assert [a.out for a in axes] == [1, 1]


def test_output_size_function_refuses_a_kernel_that_does_not_fit():
    error = refusal(output_size, 3, 5)
    assert error.message == "--kernel 5 (reaching 5 cells) is larger than the padded input 3."


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"kernel_size": "3x3x3"},
            "--kernel 3x3x3 has 3 values but the input has 2 spatial axes (H, W).",
        ),
        (
            {"kernel_size": 2, "stride": "1x1x1"},
            "--stride 1x1x1 has 3 values but the input has 2 spatial axes (H, W).",
        ),
        (
            {"kernel_size": 2, "dilation": "1x1x1"},
            "--dilation 1x1x1 has 3 values but the input has 2 spatial axes (H, W).",
        ),
        (
            {"kernel_size": 2, "padding": "1x1x1"},
            "--padding 1:1x1:1x1:1 has 3 values but the input has 2 spatial axes (H, W).",
        ),
        (
            {"output_size": "2x2x2"},
            "--output-size 2x2x2 has 3 values but the input has 2 spatial axes (H, W).",
        ),
    ],
)
def test_more_values_than_spatial_axes(kwargs, message):
    error = refusal(resolve, WindowSpec.make(**kwargs), (4, 5), "HW")
    assert error.message == message


def test_one_axis_message_is_singular():
    error = refusal(resolve, WindowSpec.make(kernel_size="2x2"), (4,), "W")
    assert error.message == "--kernel 2x2 has 2 values but the input has 1 spatial axis (W)."


def test_padding_beyond_half_the_kernel_is_allowed_while_windows_hold_real_cells():
    # kernel 3, padding 2: window 0 is [-2, -1, 0] and still holds cell 0.
    (axis,) = resolve(WindowSpec.make(kernel_size=3, stride=1, padding=2), (4,))
    assert axis.out == 6
    axes = resolve(WindowSpec.make(kernel_size=2, stride=1, padding="1:1x0:1"), (3, 3), "HW")
    assert [a.out for a in axes] == [4, 3]
    # dilation 2 with padding 3: window 0 is [-3, -1, 1]
    (axis,) = resolve(WindowSpec.make(kernel_size=3, stride=1, dilation=2, padding=3), (4,))
    assert axis.out == 6


@pytest.mark.parametrize(
    ("kwargs", "shape", "message"),
    [
        (
            {"kernel_size": 2, "padding": "3:0"},
            (4, 5),
            "--padding leaves window 0 on axis H with only padding cells "
            "(padding 3:0, kernel 2, dilation 1). Use less padding.",
        ),
        (
            {"kernel_size": 2, "padding": "0x3:0"},
            (4, 5),
            "--padding leaves window 0 on axis W with only padding cells "
            "(padding 3:0, kernel 2, dilation 1). Use less padding.",
        ),
        (
            {"kernel_size": 2, "stride": 1, "padding": "0x0:2"},
            (4, 5),
            "--padding leaves window 5 on axis W with only padding cells "
            "(padding 0:2, kernel 2, dilation 1). Use less padding.",
        ),
        (
            # dilation steps over the one real cell: window 0 is [-2, 1] on a 1-cell axis
            {"kernel_size": 2, "stride": 1, "dilation": 3, "padding": "2x0"},
            (1, 5),
            "--padding leaves window 0 on axis H with only padding cells "
            "(padding 2:2, kernel 2, dilation 3). Use less padding.",
        ),
    ],
)
def test_windows_of_only_padding_are_refused(kwargs, shape, message):
    error = refusal(resolve, WindowSpec.make(**kwargs), shape, "HW")
    assert error.message == message
    assert error.option == "--padding"


def _brute_force_ok(size, k, s, b, e, d, ceil):
    out = ref.out_length(size, k, s, b, e, d, ceil)
    if out is None:
        return None
    for i in range(out):
        if not any(0 <= i * s - b + j * d < size for j in range(k)):
            return None
    return out


@settings(max_examples=150, deadline=None)
@given(
    size=st.integers(1, 300),
    k=st.integers(1, 6),
    s=st.integers(1, 5),
    b=st.integers(0, 9),
    e=st.integers(0, 9),
    d=st.integers(1, 3),
    ceil=st.booleans(),
)
def test_resolve_accepts_exactly_when_every_window_holds_a_real_cell(size, k, s, b, e, d, ceil):
    want = _brute_force_ok(size, k, s, b, e, d, ceil)
    spec = WindowSpec.make(kernel_size=k, stride=s, padding=((b, e),), dilation=d, ceil_mode=ceil)
    if want is None:
        with pytest.raises(UsageError):
            resolve(spec, (size,))
        return
    (axis,) = resolve(spec, (size,))
    assert axis.out == want
    assert axis.cells(axis.out - 1)[-1] < size + e + axis.extra_end
    assert axis.extra_end == max(0, (want - 1) * s + d * (k - 1) + 1 - (size + b + e))
