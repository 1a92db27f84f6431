"""The report and the statistics, on results built by hand (the JSON: test_schema.py).

No pooling runs here: each PoolResult is assembled from an output array and resolved windows,
so these tests check only what report.py makes of them.
"""

import io

import numpy as np
import pytest
from rich.console import Console

from poolcli.model.layout import Layout
from poolcli.model.options import PoolOptions, PoolResult
from poolcli.model.reductions import Reduction
from poolcli.model.window import WindowSpec, resolve
from poolcli.render import report

SEED = np.array([[1, 3, 2, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]])


def make_result(
    output,
    input_shape,
    layout,
    spec=None,
    reduction=Reduction.MAX,
    options=None,
    guessed=False,
    input_dtype="float32",
    premultiplied=False,
):
    layout = Layout.parse(layout)
    spec = spec or WindowSpec.make(kernel_size=2)
    windows = resolve(spec, layout.spatial_shape(tuple(input_shape)), layout.spatial)
    output = np.asarray(output)
    assert output.shape == layout.with_spatial(tuple(input_shape), tuple(w.out for w in windows))
    return PoolResult(
        output=output,
        input_shape=tuple(input_shape),
        input_dtype=input_dtype,
        layout=layout,
        layout_guessed=guessed,
        reduction=Reduction(reduction),
        spec=spec,
        windows=windows,
        options=options or PoolOptions(),
        device="cpu",
        premultiplied=premultiplied,
    )


def render(renderable, width: int) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None, highlight=False)
    console.print(renderable)
    return console.file.getvalue()


def seed_avg():
    output = np.array([[3.75, 5.25], [11.5, 13.5]], np.float32)
    return make_result(output, (4, 4), "HW", reduction="avg", guessed=True, input_dtype="int64")


# --------------------------------------------------------------------------------------------
# Values


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (np.int64(7), "7"),
        (np.int8(-128), "-128"),
        (np.uint64(2**64 - 1), "18446744073709551615"),
        (np.bool_(True), "1"),
        (np.float32(3.75), "3.75"),
        (np.float32(3.3125), "3.3125"),
        (np.float32(13.5), "13.5"),
        (np.float32(6.0), "6"),
        (np.float32(0.1), "0.1"),
        (np.float64(0.1), "0.1"),
        (np.float16(0.1), "0.1"),
        (np.float32(-0.0), "-0"),
        (np.float64(np.nan), "nan"),
        (np.float32(np.inf), "inf"),
        (np.float32(-np.inf), "-inf"),
        (np.float32(1e-7), "1e-07"),
        (np.float64(2.5e20), "2.5e+20"),
        (np.float64(123456789.0), "123456789"),
    ],
)
def test_format_value(value, text):
    assert report.format_value(value) == text


def test_format_value_rounds_only_when_asked():
    value = np.float32(59.189186)
    assert report.format_value(value) == "59.189186"
    assert report.format_value(value, decimals=4) == "59.1892"
    assert report.format_value(np.float32(3.3125), decimals=4) == "3.3125"
    assert report.format_value(np.int64(12345), decimals=1) == "12345"


# --------------------------------------------------------------------------------------------
# Statistics


def test_stats_of_integers_are_exact():
    big = np.array([2**62 + 1, -(2**62) - 3, 5], np.int64)
    stats = report.array_stats(big)
    assert (stats.min, stats.max) == (-(2**62) - 3, 2**62 + 1)
    assert isinstance(stats.min, np.int64)
    unsigned = report.array_stats(np.array([0, 2**64 - 1], np.uint64))
    assert int(unsigned.max) == 2**64 - 1
    assert report.format_value(unsigned.max) == "18446744073709551615"


def test_stats_ignore_nan_and_count_it():
    stats = report.array_stats(np.array([[1.0, np.nan], [3.0, np.nan]], np.float32))
    assert (float(stats.min), float(stats.max), stats.mean, stats.nan) == (1.0, 3.0, 2.0, 2)


def test_stats_all_nan():
    stats = report.array_stats(np.full((2, 2), np.nan))
    assert stats.nan == 4 and np.isnan(stats.min) and np.isnan(stats.mean)


def test_stats_with_infinities_of_both_signs():
    stats = report.array_stats(np.array([-np.inf, 1.0, np.inf]))
    assert stats.min == -np.inf and stats.max == np.inf and np.isnan(stats.mean)


@pytest.mark.parametrize(
    "array",
    [
        np.array([[True, False], [True, True]]),
        np.arange(24, dtype=">f4").reshape(2, 3, 4),
        np.arange(24, dtype=np.float16).reshape(4, 6).T,
        np.arange(60, dtype=np.uint8).reshape(3, 4, 5)[:, ::2, 1:],
        np.random.default_rng(0).random(2**20 + 17),  # more than one chunk
    ],
    ids=["bool", "big-endian", "float16 transposed", "strided", "chunks"],
)
def test_stats_match_numpy(array):
    stats = report.array_stats(array)
    as_float = array.astype(np.float64)
    assert float(stats.min) == as_float.min()
    assert float(stats.max) == as_float.max()
    assert stats.mean == pytest.approx(as_float.mean(), rel=1e-12)
    assert stats.count == array.size and stats.nan == 0
    assert stats.dtype == str(array.dtype)


def test_stats_of_bool_print_as_zero_and_one():
    stats = report.array_stats(np.array([True, False]))
    table = render(report.stats_table([("output", stats)]), 60)
    assert "output    0    1   0.5" in table


def test_format_mean():
    assert report.format_mean(8.5) == "8.5"
    assert report.format_mean(3.3125) == "3.3125"
    assert report.format_mean(2 / 3) == "0.6666667"


# --------------------------------------------------------------------------------------------
# The report


def test_seed_report():
    text = render(report.build_report(seed_avg(), "seed.npy", layout_reason="2-D array"), 80)
    assert "│ input  │ seed.npy" in text
    assert "HW (guessed: 2-D array; set --layout)" in text
    assert "4×4 → 2×2" in text
    assert "int64 → float32" in text
    assert "kernel 2x2, stride 2x2" in text
    assert "out H = floor((4 + 0 + 0 − 2) / 2) + 1 = 2" in text
    assert "output\n   3.75   5.25\n  11.5   13.5\n" in text
    assert "rounded" not in text


def test_window_table_and_narrow_form():
    spec = WindowSpec.make(kernel_size="3x2", stride="2x1", padding="1:0x0:1", dilation="2x1")
    windows = resolve(spec, (9, 6), "HW")
    result = make_result(np.zeros([w.out for w in windows]), (9, 6), "HW", spec=spec)
    wide = render(report._WindowsBlock(result), 120)
    assert "axis  size  kernel  dilation  reach  stride  pad  ceil  out" in wide
    assert "H        9       3         2      5       2  1:0  no      3" in wide
    narrow = render(report._WindowsBlock(result), 56)
    assert narrow.startswith(
        "H: size 9, out 3\n"
        "   kernel 3 (dilation 2, reach 5), stride 2, pad 1:0\n"
        "W: size 6, out 6\n"
        "   kernel 2, stride 1, pad 0:1\n"
        "out H = floor((9 + 1 + 0 − 5) / 2) + 1 = 3\n"
    )
    assert "out H = floor((9 + 1 + 0 − 5) / 2) + 1 = 3" in wide


def test_ceil_mode_extra_cells_are_shown():
    spec = WindowSpec.make(kernel_size=2, ceil_mode=True)
    result = make_result(np.zeros((3, 3)), (5, 5), "HW", spec=spec)
    text = render(report.build_report(result, "x.npy"), 100)
    assert "yes (+1)" in text
    assert "ceil((5 + 0 + 0 − 2) / 2) + 1 = 3" in text
    assert "ceil mode" in text


def test_adaptive_and_global_windows():
    adaptive = make_result(np.zeros((3, 2)), (5, 4), "HW", spec=WindowSpec.make(output_size="3x2"))
    text = render(report.build_report(adaptive, "x.npy"), 100)
    assert "adaptive to 3x2" in text
    assert "0:2, 1:4, 3:5" in text
    assert "adaptive: 5 cells into 3 bins" in text
    glob = make_result(np.zeros((1, 1)), (5, 4), "HW", spec=WindowSpec.make(global_pool=True))
    assert "global: one window over H, W" in render(report.build_report(glob, "x.npy"), 100)


SHAPES = {
    "W": ((1, 8), "NW"),
    "HW": ((6, 6), "HW"),
    "HWC": ((6, 6, 3), "HWC"),
    "NCHW": ((2, 3, 6, 6), "NCHW"),
    "NCDHW": ((1, 2, 4, 6, 6), "NCDHW"),
    "big": ((3, 80, 90), "CHW"),
    "wide": ((4, 200), "HW"),
}


@pytest.mark.parametrize("width", [60, 120])
@pytest.mark.parametrize("case", list(SHAPES))
def test_report_fits_the_width(case, width):
    shape, layout = SHAPES[case]
    rng = np.random.default_rng(3)
    spec = WindowSpec.make(kernel_size=2, stride=1, padding="same")
    windows = resolve(spec, Layout.parse(layout).spatial_shape(shape), Layout(layout).spatial)
    out_shape = Layout(layout).with_spatial(shape, tuple(w.out for w in windows))
    output = (rng.random(out_shape) * 1e4).astype(np.float32)
    result = make_result(output, shape, layout, spec=spec, reduction="avg")
    stats = report.array_stats(rng.random(shape))
    path = "data/" + "very-long-folder-name/" * 4 + "input.npy"
    text = render(report.build_report(result, path, input_stats=stats), width)
    lines = text.splitlines()
    assert max(map(len, lines)) <= width
    assert "input.npy" in text.replace("\n", "").replace("│", "").replace(" ", "")
    assert "output" in text and "mean" in text
    assert any(line.startswith("out W = floor((") for line in lines)


def test_small_outputs_are_shown_whole_with_titles():
    output = np.arange(2 * 3 * 2 * 2).reshape(2, 3, 2, 2)
    result = make_result(output, (2, 3, 4, 4), "NCHW", input_dtype="int64")
    text = render(report.build_report(result, "x.npy"), 80)
    for n in range(2):
        for c in range(3):
            assert f"output · item {n}, channel {c}\n" in text
    assert "  20  21\n  22  23\n" in text
    assert "top-left corner" not in text


def test_image_channels_are_named():
    result = make_result(np.zeros((2, 2, 4), np.uint8), (4, 4, 4), "HWC", input_dtype="uint8")
    text = render(report.build_report(result, "x.png", channel_names=("R", "G", "B", "A")), 80)
    assert [line for line in text.splitlines() if line.startswith("output ·")] == [
        "output · channel R",
        "output · channel G",
        "output · channel B",
        "output · channel A",
    ]


def test_one_dimensional_output_is_a_row():
    result = make_result(np.array([[3, 7, 11, 15]]), (1, 8), "NW", input_dtype="int64")
    text = render(report.build_report(result, "x.npy"), 80)
    assert "output · item 0\n   3   7  11  15\n" in text


def test_depth_slices():
    result = make_result(np.zeros((2, 2, 2)), (4, 4, 4), "DHW")
    text = render(report.build_report(result, "x.npy"), 80)
    assert "output · depth 0" in text and "output · depth 1" in text


@pytest.mark.parametrize(
    ("out_shape", "small"),
    [
        ((16, 16), True),
        ((17, 16), False),
        ((16, 17), False),
        ((4, 16, 16), True),
        ((5, 2, 2), False),
        ((4, 4, 2, 2), True),
        ((5, 4, 2, 2), False),
    ],
)
def test_small_or_corner(out_shape, small):
    layout = {2: "HW", 3: "CHW", 4: "NCHW"}[len(out_shape)]
    in_shape = tuple(s * 2 if i >= len(out_shape) - 2 else s for i, s in enumerate(out_shape))
    result = make_result(np.zeros(out_shape), in_shape, layout)
    text = render(report.build_report(result, "x.npy"), 200)
    assert ("top-left corner" not in text) == small
    assert ("too large to show in full" not in text) == small


def test_corner_preview():
    output = np.arange(40 * 50).reshape(40, 50)
    result = make_result(output, (80, 100), "HW", input_dtype="int64")
    text = render(report.build_report(result, "x.npy"), 120)
    assert "output, top-left corner" in text
    assert "\n    0    1    2    3    4    5    6    7  …\n" in text
    assert "\n  250  251  252" in text  # row 5
    assert "  300" not in text  # row 6 is not shown
    assert "The output (40×50) is too large to show in full" in text


def test_matrix_drops_columns_that_do_not_fit():
    matrix = report.Matrix(np.arange(16) * 1000, "output", 1, 16)
    matrix.values = matrix.values.reshape(1, 16)
    text = render(matrix, 40)
    line = text.splitlines()[1]
    assert len(line) <= 40
    assert line.endswith("  …")
    assert line.startswith("      0   1000   2000")


def test_decimal_points_line_up():
    matrix = report.Matrix(np.array([[1.5, -20.25], [300, 0.125]], np.float32), "m", 2, 2)
    assert render(matrix, 80) == "m\n    1.5    -20.25\n  300        0.125\n"


def test_rounded_values_are_marked():
    output = np.array([[1 / 3, 0.5], [2.0, 0.25]], np.float32)
    result = make_result(output, (4, 4), "HW", reduction="avg")
    text = render(report.build_report(result, "x.npy"), 80)
    assert "0.3333" in text
    assert "Values are rounded to 4 decimals" in text


def test_premultiplied_alpha_is_said():
    result = make_result(
        np.zeros((2, 2, 4), np.float32), (4, 4, 4), "HWC", reduction="avg", premultiplied=True
    )
    text = render(report.build_report(result, "x.png"), 120)
    assert "colour weighted by alpha (premultiplied)" in text


@pytest.mark.parametrize(
    ("reduction", "options", "spec", "text"),
    [
        ("lp", PoolOptions(norm_type=3), None, "lp, p = 3"),
        ("stochastic", PoolOptions(seed=4), None, "stochastic, sampled with seed 4"),
        ("stochastic", PoolOptions(expectation=True), None, "stochastic, expectation Σx²/Σx"),
        ("median", None, None, "median (lower median)"),
        ("mode", None, None, "mode (ties: the smallest)"),
        ("avg", None, WindowSpec.make(kernel_size=2, padding=1), "avg, padding not counted"),
        (
            "avg",
            None,
            WindowSpec.make(kernel_size=2, padding=1, count_include_pad=True),
            "avg, padding counted in the mean",
        ),
        ("avg", None, None, "avg"),
    ],
)
def test_describe_op(reduction, options, spec, text):
    spec = spec or WindowSpec.make(kernel_size=2)
    windows = resolve(spec, (4, 4), "HW")
    result = make_result(np.zeros([w.out for w in windows]), (4, 4), "HW", spec, reduction, options)
    assert report.describe_op(result) == text


@pytest.mark.parametrize(
    ("shape", "layout", "reason"),
    [
        ((4, 4), "HW", "2-D array"),
        ((8, 8, 3), "HWC", "3-D, last axis has 3 entries"),
        ((3, 8, 8), "CHW", "3-D, channels first"),
        ((1, 3, 8, 8), "NCHW", "4-D array"),
    ],
)
def test_layout_reason(shape, layout, reason):
    assert report.layout_reason(shape, layout) == reason
