"""Pictures: rendered, decoded from PNG, and checked at known pixels.

The panels' boxes come from ``Picture.panels``; everything else (where each cell lies, which
cell won each window, which colours a bar ends with) is worked out here from the geometry of
equal cells, :func:`poolcli.engine.ops.window_winners` and the published viridis values.
Pictures are drawn as ``write_viz`` draws them: with the winners of
:func:`poolcli.learn.winners.window_winners`.
"""

import ast
import io as stdio
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from poolcli import io as pio
from poolcli.engine import core, ops
from poolcli.errors import PoolError, UsageError
from poolcli.learn.winners import window_winners
from poolcli.model.options import PoolOptions
from poolcli.model.window import WindowSpec
from poolcli.render import pictures as viz

SEED = np.array([[1, 3, 2, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]])
SAMPLES = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "sample_data")

# Published viridis colours (matplotlib's 256-entry table at 0, 64, 128, 192 and 255).
VIRIDIS_0 = (0x44, 0x01, 0x54)
VIRIDIS_1 = (0xFD, 0xE7, 0x25)


def pool(array, reduction, layout=None, seed=None, alpha=False, **window):
    options = PoolOptions(seed=seed)
    return core.run(array, reduction, WindowSpec.make(**window), layout, options, alpha=alpha)


def drawn(source, result, **options):
    """:func:`render_pool` with the winners :func:`write_viz` gives it."""
    array = source.array if hasattr(source, "array") else source
    return viz.render_pool(source, result, winners=window_winners(array, result), **options)


def decoded(picture) -> np.ndarray:
    """The picture written as PNG and read back, as an (H, W, 3) array."""
    buffer = stdio.BytesIO()
    picture.image.save(buffer, format="PNG")
    return np.array(Image.open(stdio.BytesIO(buffer.getvalue())).convert("RGB"))


def cell_box(panel, grid, row, col):
    """Pixel box of cell (row, col) of a panel split into ``grid`` equal cells."""
    x0, y0, x1, y1 = panel
    rows, cols = grid
    left = x0 + round(col * (x1 - x0) / cols)
    right = x0 + round((col + 1) * (x1 - x0) / cols)
    top = y0 + round(row * (y1 - y0) / rows)
    bottom = y0 + round((row + 1) * (y1 - y0) / rows)
    return left, top, right, bottom


def has_colour(pixels, box, colour) -> bool:
    x0, y0, x1, y1 = box
    region = pixels[y0:y1, x0:x1]
    return bool(np.all(region == np.array(colour, np.uint8), axis=-1).any())


def top_band(box):
    """The top quarter of a cell: where frames run and centred text never reaches."""
    x0, y0, x1, y1 = box
    return x0, y0, x1, y0 + (y1 - y0) // 4


def winner_cells(array, result):
    """(window index) -> input cell of its winner, from the engine, for an HW input."""
    taps = ops.window_winners(
        array, result.reduction, result.windows, result.layout, result.options
    )
    taps = taps.numpy()[0, 0]
    wy, wx = result.windows
    cells = {}
    for i in range(wy.out):
        for j in range(wx.out):
            ti, tj = divmod(int(taps[i, j]), wx.kernel)
            cells[(i, j)] = (wy.cells(i)[ti], wx.cells(j)[tj])
    return cells


def check_texts_inside(picture):
    height, width = picture.image.height, picture.image.width
    for text, (x0, y0, x1, y1) in picture.texts:
        assert 0 <= x0 <= x1 <= width and 0 <= y0 <= y1 <= height, (text, (x0, y0, x1, y1))


# --------------------------------------------------------------------------------------------
# The colour map


def test_viridis_is_the_published_table():
    assert viz.VIRIDIS.shape == (256, 3)
    assert tuple(viz.VIRIDIS[0]) == VIRIDIS_0
    assert tuple(viz.VIRIDIS[64]) == (0x3B, 0x52, 0x8B)
    assert tuple(viz.VIRIDIS[128]) == (0x21, 0x91, 0x8C)
    assert tuple(viz.VIRIDIS[192]) == (0x5E, 0xC9, 0x62)
    assert tuple(viz.VIRIDIS[255]) == VIRIDIS_1


def test_viridis_maps_ends_clips_and_marks_nan():
    rgb = viz.viridis([0.0, 1.0, -3.0, 7.0, np.nan])
    assert rgb.dtype == np.uint8
    assert [tuple(c) for c in rgb] == [VIRIDIS_0, VIRIDIS_1, VIRIDIS_0, VIRIDIS_1, viz.NAN_COLOUR]


# --------------------------------------------------------------------------------------------
# The 4x4 seed matrix


@pytest.fixture(scope="module")
def seed_max():
    result = pool(SEED, "max", kernel_size=2)
    picture = drawn(SEED, result)
    return result, picture, decoded(picture)


def test_panels_side_by_side_at_the_same_size(seed_max):
    _, picture, pixels = seed_max
    left, right = picture.panels["r0c0"], picture.panels["r0c1"]
    assert left[2] - left[0] == right[2] - right[0] >= viz.MIN_PANEL
    assert left[3] - left[1] == right[3] - right[1] >= viz.MIN_PANEL
    assert left[1] == right[1]  # same row
    assert right[0] > left[2]  # output to the right of the input
    assert picture.grids["r0c0"] == (4, 4) and picture.grids["r0c1"] == (2, 2)
    assert pixels.shape[:2] == (picture.image.height, picture.image.width)
    assert pixels.shape[1] >= right[2] and pixels.shape[0] >= right[3]


def test_cells_are_filled_with_their_viridis_colour(seed_max):
    _, picture, pixels = seed_max
    scale = picture.scales["values"]
    for panel, grid, values in (("r0c0", (4, 4), SEED), ("r0c1", (2, 2), [[6, 8], [14, 16]])):
        for (i, j), value in np.ndenumerate(np.asarray(values)):
            x0, y0, x1, y1 = cell_box(picture.panels[panel], grid, i, j)
            expected = viz.viridis((value - scale.low) / (scale.high - scale.low))
            # Just inside the top-right corner: clear of boundaries, frames and text.
            assert tuple(pixels[y0 + 3, x1 - 2]) == tuple(expected), (panel, i, j)


def test_each_winner_is_outlined_in_its_output_cells_colour(seed_max):
    result, picture, pixels = seed_max
    winners = winner_cells(SEED, result)
    assert winners == {(0, 0): (1, 1), (0, 1): (1, 3), (1, 0): (3, 1), (1, 1): (3, 3)}
    assert set(picture.window_colours) == set(winners)
    colours = set(picture.window_colours.values())
    assert len(colours) == 4  # neighbouring windows never share a colour
    for window, (r, c) in winners.items():
        colour = picture.window_colours[window]
        out_cell = cell_box(picture.panels["r0c1"], (2, 2), *window)
        assert has_colour(pixels, top_band(out_cell), colour)
        # Exactly the winner among the window's four cells carries the frame.
        for rr in range(2 * window[0], 2 * window[0] + 2):
            for cc in range(2 * window[1], 2 * window[1] + 2):
                box = top_band(cell_box(picture.panels["r0c0"], (4, 4), rr, cc))
                assert has_colour(pixels, box, colour) == ((rr, cc) == (r, c)), (window, rr, cc)


def test_window_boundaries_are_drawn_between_windows(seed_max):
    _, picture, pixels = seed_max
    x0, y0, x1, y1 = picture.panels["r0c0"]
    middle_x, middle_y = (x0 + x1) // 2, (y0 + y1) // 2
    # The boundary between window columns runs down the middle; cell separators are thinner.
    assert tuple(pixels[y0 + 5, middle_x]) == viz.BOUNDARY
    assert tuple(pixels[y0 + 5, middle_x + 1]) == viz.BOUNDARY
    assert tuple(pixels[middle_y + 1, x0 + 5]) == viz.BOUNDARY
    quarter = x0 + (x1 - x0) // 4
    assert tuple(pixels[y0 + 5, quarter + 1]) != viz.BOUNDARY


def test_colour_scale_ends_are_viridis_ends_labelled_with_min_and_max(seed_max):
    _, picture, pixels = seed_max
    scale = picture.scales["values"]
    x0, y0, x1, y1 = scale.box
    assert (scale.low, scale.high) == (1, 16)
    assert (scale.low_label, scale.high_label) == ("1", "16")
    assert np.all(pixels[y0, x0:x1] == VIRIDIS_1)
    assert np.all(pixels[y1 - 1, x0:x1] == VIRIDIS_0)
    # The bar runs beside the panels, as tall as they are.
    assert (y0, y1) == picture.panels["r0c0"][1::2]
    labels = {text: box for text, box in picture.texts if box[0] >= x1}
    for text in ("1", "16"):
        bx0, by0, bx1, by1 = labels[text]
        assert (pixels[by0:by1, bx0:bx1] < 128).all(axis=-1).any(), f"label {text} not drawn"
    assert labels["16"][1] < labels["1"][1]  # max on top


def test_small_inputs_show_every_value(seed_max):
    _, picture, pixels = seed_max
    values = [text for text, _ in picture.texts]
    for v in list(SEED.ravel()) + [6, 8, 14, 16]:
        assert str(v) in values
    for (i, j), _ in np.ndenumerate(SEED):
        x0, y0, x1, y1 = cell_box(picture.panels["r0c0"], (4, 4), i, j)
        middle = pixels[y0 + (y1 - y0) // 3 : y1 - (y1 - y0) // 3, x0 + 8 : x1 - 8]
        fill = pixels[y0 + 3, x1 - 2]
        assert (np.abs(middle.astype(int) - fill).sum(axis=-1) > 200).sum() > 10, (i, j)


def test_title_names_op_parameters_and_shapes(seed_max):
    _, picture, _ = seed_max
    title = " ".join(text for text, box in picture.texts if box[1] < picture.panels["r0c0"][1])
    for word in ("max", "pooling,", "kernel", "2x2,", "stride", "4x4", "(HW,", "int64)", "->"):
        assert word in title.split(), word
    check_texts_inside(picture)


def test_padding_is_hatched_and_overlapping_winners_are_outlined():
    result = pool(SEED, "max", kernel_size=3, stride=1, padding="same")
    picture = drawn(SEED, result)
    pixels = decoded(picture)
    panel = picture.panels["r0c0"]
    cell = (panel[2] - panel[0]) // 4
    # One padding cell on each side: hatched (both hatch colours) left of and above the input.
    for box in (
        (panel[0] - cell + 2, panel[1] + 2, panel[0] - 2, panel[1] + cell - 2),
        (panel[0] + 2, panel[1] - cell + 2, panel[0] + cell - 2, panel[1] - 2),
    ):
        assert has_colour(pixels, box, viz.HATCH_LINE) and has_colour(pixels, box, viz.HATCH_BACK)
    winners = winner_cells(SEED, result)
    assert len(winners) == 16 and len(picture.window_colours) == 16
    for window, (r, c) in winners.items():
        colour = picture.window_colours[window]
        assert has_colour(pixels, cell_box(panel, (4, 4), r, c), colour), window
        out_cell = cell_box(picture.panels["r0c1"], (4, 4), *window)
        assert has_colour(pixels, top_band(out_cell), colour), window
    assert any("Hatched" in text for text, _ in picture.texts)


@pytest.mark.parametrize(
    "reduction, window, seed",
    [
        ("min", dict(kernel_size=3, stride=2, padding=1), None),
        ("median", dict(kernel_size=3, stride=2, padding=1), None),
        ("mode", dict(kernel_size=2), None),
        ("stochastic", dict(kernel_size=(2, 3), stride=(2, 3)), 5),
        ("max", dict(output_size=(3, 4)), None),
        ("max", dict(kernel_size=2, dilation=2, stride=2), None),
    ],
)
def test_winners_outlined_where_the_engine_says(reduction, window, seed):
    array = np.random.default_rng(3).integers(0, 4, (6, 6))
    result = pool(array, reduction, seed=seed, **window)
    picture = drawn(array, result)
    pixels = decoded(picture)
    winners = winner_cells(array, result)
    output = result.output
    assert set(picture.window_colours) == set(winners)
    for window_index, (r, c) in winners.items():
        assert array[r, c] == output[window_index]  # the engine's winner holds the result
        colour = picture.window_colours[window_index]
        assert has_colour(pixels, cell_box(picture.panels["r0c0"], (6, 6), r, c), colour)
        # The output is the last column (stochastic has a probability panel before it).
        last = f"r0c{sum(key.startswith('r0c') for key in picture.panels) - 1}"
        out_cell = cell_box(picture.panels[last], picture.grids[last], *window_index)
        assert has_colour(pixels, top_band(out_cell), colour)


def test_reductions_without_a_winner_outline_nothing():
    for reduction, seed in (("avg", None), ("lp", None), ("stochastic", None)):
        result = pool(SEED.astype(float), reduction, seed=seed, kernel_size=2)
        picture = drawn(SEED, result)
        assert picture.window_colours == {}
    assert any("--seed" in note for note in picture.notes)


def test_constant_input_has_a_one_value_scale():
    result = pool(np.full((4, 4), 7), "avg", kernel_size=2)
    picture = drawn(np.full((4, 4), 7), result)
    scale = picture.scales["values"]
    assert scale.low_label == scale.high_label == "all 7"
    pixels = decoded(picture)
    x0, y0, x1, y1 = scale.box
    assert np.all(pixels[y0:y1, x0:x1] == viz.viridis(0.5))


# --------------------------------------------------------------------------------------------
# Images, large inputs, channels, volumes, signals


def test_rgba_image_shows_the_checkerboard_under_transparency():
    loaded = pio.read_input(os.path.join(SAMPLES, "rgba.png"))
    result = pool(loaded.array, "avg", layout="HWC", alpha=True, kernel_size=8)
    picture = drawn(loaded, result)
    pixels = decoded(picture)
    for panel in ("r0c0", "r0c1"):
        x0, y0, x1, y1 = picture.panels[panel]
        corner = (x0, y0, x0 + (x1 - x0) // 8, y0 + (y1 - y0) // 8)  # transparent in the image
        assert has_colour(pixels, corner, viz.CHECKER[0]), panel
        assert has_colour(pixels, corner, viz.CHECKER[1]), panel
        centre = pixels[(y0 + y1) // 2, (x0 + x1) // 2]
        assert tuple(centre) not in viz.CHECKER  # the opaque disc covers it
    assert picture.scales == {}  # the image's own colours, no colour map


def test_large_output_is_enlarged_by_nearest_neighbour():
    array = np.arange(48 * 64, dtype=np.float32).reshape(48, 64)
    result = pool(array, "max", kernel_size=4)
    picture = drawn(array, result)
    pixels = decoded(picture)
    left, right = picture.panels["r0c0"], picture.panels["r0c1"]
    assert right[2] - right[0] == left[2] - left[0] == 64 * 6  # a whole factor, one row
    assert right[3] - right[1] == left[3] - left[1] == 48 * 6
    block = 24  # 16x12 output cells over 384x288 pixels
    scale = picture.scales["values"]
    for i, j in ((0, 0), (5, 7), (11, 15)):
        x, y = right[0] + j * block, right[1] + i * block
        area = pixels[y : y + block, x : x + block]
        assert np.all(area == area[0, 0])
        value = result.output[i, j]
        assert tuple(area[0, 0]) == tuple(
            viz.viridis((value - scale.low) / (scale.high - scale.low))
        )
    assert (scale.low, scale.high) == (0, 48 * 64 - 1)


def test_grayscale_image_is_drawn_in_grey_over_its_data_range():
    loaded = pio.read_input(os.path.join(SAMPLES, "gray16.png"))
    result = pool(loaded.array, "max", layout="HW", kernel_size=4)
    picture = drawn(loaded, result)
    pixels = decoded(picture)
    scale = picture.scales["values"]
    assert (scale.low_label, scale.high_label) == ("0", "65535")
    x0, y0, x1, y1 = scale.box
    assert np.all(pixels[y0, x0:x1] == 255) and np.all(pixels[y1 - 1, x0:x1] == 0)
    # The brightest input pixel (65535, bottom right) is white in the panel.
    px0, py0, px1, py1 = picture.panels["r0c0"]
    assert tuple(pixels[py1 - 1, px1 - 1]) == (255, 255, 255)
    # A label map (values 0-4 in an 8-bit image): one colour per label, each labelled.
    labels = pio.read_input(os.path.join(SAMPLES, "labels.png"))
    result = pool(labels.array, "mode", layout="HW", kernel_size=4)
    picture = drawn(labels, result)
    scale = picture.scales["values"]
    beside = [
        (t, box)
        for t, box in picture.texts
        if scale.box[2] <= box[0] < scale.box[2] + 40 and scale.box[1] <= box[1] < scale.box[3]
    ]
    assert [t for t, _ in beside] == ["0", "1", "2", "3", "4"]
    pixels = decoded(picture)
    swatches = {tuple(pixels[(box[1] + box[3]) // 2, scale.box[0] + 2]) for _, box in beside}
    assert swatches == {tuple(c) for c in viz.SERIES[:5]}
    assert (scale.low_label, scale.high_label) == ("0", "4")


def test_many_channels_one_row_each_and_the_rest_counted():
    array = np.random.default_rng(0).random((64, 8, 8)).astype(np.float32)
    result = pool(array, "max", kernel_size=2)
    picture = drawn(array, result, max_rows=3)
    assert {key for key in picture.panels} == {f"r{r}c{c}" for r in range(3) for c in range(2)}
    assert any("61 more" in note for note in picture.notes)
    texts = [text for text, _ in picture.texts]
    assert {"channel 0", "channel 1", "channel 2"} <= set(texts)
    tops = [picture.panels[f"r{r}c0"][1] for r in range(3)]
    assert tops == sorted(tops) and len(set(tops)) == 3
    # Rows share one scale over the channels shown.
    shown = np.concatenate([array[:3].ravel(), result.output[:3].ravel()])
    scale = picture.scales["values"]
    assert scale.low == pytest.approx(shown.min()) and scale.high == pytest.approx(shown.max())


def test_channel_rows_follow_the_layout():
    array = np.zeros((1, 4, 4, 2), np.int64)  # NHWC
    array[0, :, :, 1] = 9
    result = pool(array, "max", layout="NHWC", kernel_size=2)
    picture = drawn(array, result)
    pixels = decoded(picture)
    # Two integer values: drawn as two categories, the first and second category colours.
    for row, category in ((0, 0), (1, 1)):
        x0, y0, x1, y1 = cell_box(picture.panels[f"r{row}c0"], (4, 4), 0, 0)
        assert tuple(pixels[y0 + 3, x1 - 2]) == viz.SERIES[category]


def test_signal_is_a_line_plot_with_output_at_window_centres():
    signal = np.sin(np.arange(64) / 5.0)
    result = pool(signal, "max", kernel_size=4)
    picture = drawn(signal, result)
    pixels = decoded(picture)
    plot = picture.panels["r0g0"]
    colours = picture.series_colours
    assert set(colours) == {"input 64", "max output 16"}
    for colour in colours.values():
        x0, y0, x1, y1 = plot
        count = np.all(pixels[y0:y1, x0:x1] == colour, axis=-1).sum()
        assert count > 100
    # The first output value (max of cells 0-3) is marked at x = 1.5: its marker is there.
    output_colour = colours["max output 16"]
    x0, y0, x1, y1 = plot
    columns = np.flatnonzero(np.all(pixels[y0:y1, x0:x1] == output_colour, axis=-1).any(axis=0))
    first = x0 + columns.min()
    span = (x1 - x0) / (63 * 1.04)  # pixels per cell, with the chart's 2 % margins
    assert abs(first - (x0 + (1.5 + 63 * 0.02) * span)) <= 6
    assert any("centre of its window" in note for note in picture.notes)
    check_texts_inside(picture)


def test_compare_draws_one_panel_per_op_with_one_scale():
    results = [pool(SEED, op, kernel_size=2) for op in ("max", "avg", "min")]
    picture = viz.render_compare(SEED, results)
    assert set(picture.panels) == {"r0c0", "r0c1", "r0c2", "r0c3"}
    xs = [picture.panels[f"r0c{k}"][0] for k in range(4)]
    assert xs == sorted(xs)
    scale = picture.scales["values"]
    assert (scale.low_label, scale.high_label) == ("1", "16")
    headers = {text for text, _ in picture.texts}
    assert {"input 4x4", "max 2x2", "avg 2x2", "min 2x2"} <= headers
    check_texts_inside(picture)


def test_line_chart_draws_every_series():
    picture = viz.line_chart(
        {"max": [1.0, 0.9, 0.8], "avg": [1.0, 0.5, 0.25]},
        x=[0, 1, 2],
        title="unchanged share",
        x_label="shift",
        y_label="share",
    )
    pixels = decoded(picture)
    x0, y0, x1, y1 = picture.panels["plot"]
    for colour in picture.series_colours.values():
        assert np.all(pixels[y0:y1, x0:x1] == colour, axis=-1).sum() > 50
    check_texts_inside(picture)


# --------------------------------------------------------------------------------------------
# Writing


def test_write_viz_writes_a_png(tmp_path):
    path = str(tmp_path / "seed.png")
    loaded = pio.read_input(os.path.join(SAMPLES, "seed_4x4.npy"))
    result = pool(loaded.array, "max", kernel_size=2)
    viz.write_viz(path, loaded, result)
    with Image.open(path) as written:
        assert written.format == "PNG"
        assert written.size == drawn(loaded, result).image.size
    assert os.listdir(tmp_path) == ["seed.png"]  # no temporary file left behind


def test_write_viz_refuses_a_name_that_is_not_a_picture(tmp_path):
    result = pool(SEED, "max", kernel_size=2)
    with pytest.raises(UsageError) as error:
        viz.write_viz(str(tmp_path / "seed.npy"), SEED, result)
    assert error.value.option == "--viz"
    assert os.listdir(tmp_path) == []


def test_write_viz_into_a_missing_folder_is_a_clear_error(tmp_path):
    result = pool(SEED, "max", kernel_size=2)
    with pytest.raises(PoolError, match="does not exist"):
        viz.write_viz(str(tmp_path / "missing" / "seed.png"), SEED, result)


def test_columns_can_keep_their_own_colour_scales():
    result = pool(SEED, "max", kernel_size=2)
    gradient = np.zeros((4, 4))
    gradient[1, 1] = gradient[3, 3] = 2.5
    columns = [viz.Column("input", SEED), viz.Column("gradient", gradient, scale="gradient")]
    picture = viz.render_columns(columns, "HW", windows=result.windows)
    pixels = decoded(picture)
    values, grad = picture.scales["values"], picture.scales["gradient"]
    assert (values.low_label, values.high_label) == ("1", "16")
    assert (grad.low_label, grad.high_label) == ("0", "2.5")
    assert values.box[0] > picture.panels["r0c0"][2]  # each bar right after its column
    assert picture.panels["r0c1"][0] > values.box[2] and grad.box[0] > picture.panels["r0c1"][2]
    x0, y0, x1, y1 = cell_box(picture.panels["r0c1"], (4, 4), 1, 1)
    assert tuple(pixels[y0 + 3, x1 - 2]) == VIRIDIS_1
    # The windows given are drawn on the input.
    px0, py0, px1, _ = picture.panels["r0c0"]
    assert tuple(pixels[py0 + 5, (px0 + px1) // 2]) == viz.BOUNDARY


def test_long_names_and_labels_stay_inside_the_picture(tmp_path):
    name = "a_very_long_file_name_without_any_spaces_" * 4 + ".npy"
    np.save(tmp_path / name, np.arange(2 * 2 * 2, dtype=np.float32).reshape(2, 2, 2))
    loaded = pio.read_input(str(tmp_path / name))
    result = pool(loaded.array, "max", layout="DHW", kernel_size=1)
    picture = drawn(loaded, result)
    check_texts_inside(picture)
    assert any(text.startswith("a_very_long") for text, _ in picture.texts)


def test_winners_are_data_drawn_where_the_caller_says():
    # On a constant input every cell holds the result, so any tap is a winner: the picture
    # frames the taps it is given, and none without them.
    array = np.full((4, 4), 5)
    result = pool(array, "max", kernel_size=2)
    assert viz.render_pool(array, result).window_colours == {}
    last_tap = np.full((1, 1, 2, 2), 3)  # the bottom-right cell of every 2x2 window
    picture = viz.render_pool(array, result, winners=last_tap)
    pixels = decoded(picture)
    assert set(picture.window_colours) == {(0, 0), (0, 1), (1, 0), (1, 1)}
    for (i, j), colour in picture.window_colours.items():
        framed = cell_box(picture.panels["r0c0"], (4, 4), 2 * i + 1, 2 * j + 1)
        other = cell_box(picture.panels["r0c0"], (4, 4), 2 * i, 2 * j)
        assert has_colour(pixels, top_band(framed), colour)
        assert not has_colour(pixels, top_band(other), colour)


def test_winners_are_framed_only_where_cells_are_drawn():
    assert viz.frames_winners(pool(SEED, "max", kernel_size=2))
    assert not viz.frames_winners(pool(np.zeros((17, 4)), "max", kernel_size=2))
    assert not viz.frames_winners(pool(np.zeros((2, 4, 4)), "max", layout="DHW", kernel_size=2))


def test_the_drawing_imports_nothing_from_the_engine():
    render = Path(viz.__file__).parent
    for path in sorted(render.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                assert not name.startswith(("poolcli.engine", "torch")), (path.name, name)


def test_overlapping_adaptive_windows_are_drawn_as_bars_in_two_lanes():
    array = np.arange(49, dtype=np.float32).reshape(7, 7)
    result = pool(array, "avg", output_size=3)  # bins 0-2, 2-4, 4-6: neighbours share a cell
    picture = drawn(array, result)
    pixels = decoded(picture)
    x0, y0, x1, y1 = picture.panels["r0c0"]
    cell = (x1 - x0) // 7

    def dark(x, y, across):
        near = pixels[y - 1 : y + 2, x] if across else pixels[y, x - 1 : x + 2]
        return bool((near.max(axis=-1) < 60).any())

    for i, (start, end) in enumerate(((0, 3), (2, 5), (4, 7))):
        lane = 4 + 5 * (i % 2)
        middle = round((start + end) / 2 * cell)
        assert dark(x0 + middle, y1 + lane, True), i  # the column bar under the panel
        assert dark(x1 + lane, y0 + middle, False), i  # the row bar right of it
        assert not dark(x0 + middle, y1 + 9 - 5 * (i % 2), True), i  # the other lane is empty
    assert any(text.startswith("Bars under and right of the input") for text, _ in picture.texts)
