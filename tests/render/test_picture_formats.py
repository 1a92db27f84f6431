"""Pictures as vectors and at other scales, and the colour maps chosen from the values: the
files are written through the CLI, decoded, and checked at known places."""

import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from poolcli.render import pictures as viz
from poolcli.render.colours import DIVERGING, nice_ticks
from poolcli.render.drawing import raster
from tests.render.test_pictures import SEED, cell_box, decoded, drawn, pool

SVG = "{http://www.w3.org/2000/svg}"


def svg_texts(path) -> list[str]:
    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG}svg"
    return [element.text for element in root.iter(f"{SVG}text")]


def test_svg_holds_every_text_as_text(cli, seed_npy, workdir):
    result = cli("max", seed_npy, "-k", "2", "--viz", "seed.svg", "-o", "out.npy")
    assert "wrote seed.svg" in result.stderr
    texts = svg_texts(workdir / "seed.svg")
    # The title, each input value and each output value, and the colour bar's ends.
    assert any(t.startswith("seed.npy: max pooling") for t in texts)
    for value in [*SEED.ravel().tolist(), 6, 8, 14, 16]:
        assert str(value) in texts
    picture = drawn(SEED, pool(SEED, "max", kernel_size=2))
    assert texts[1:] == [text for text, _ in picture.texts][1:]  # all but the file name


def test_svg_draws_the_cells_in_their_colours(workdir):
    result = pool(SEED, "max", kernel_size=2)
    picture = drawn(SEED, result)
    viz.save_viz(str(workdir / "seed.svg"), picture)
    root = ET.parse(workdir / "seed.svg").getroot()
    scale = picture.scales["values"]
    fills = {}
    for rect in root.iter(f"{SVG}rect"):
        box = tuple(int(float(rect.get(k))) for k in ("x", "y"))
        fills.setdefault(box, rect.get("fill"))
    for (i, j), value in np.ndenumerate(SEED):
        x0, y0, _, _ = cell_box(picture.panels["r0c0"], (4, 4), i, j)
        r, g, b = viz.viridis((value - scale.low) / (scale.high - scale.low))
        assert fills[(x0, y0)] == f"#{r:02x}{g:02x}{b:02x}", (i, j)


def test_viz_scale_draws_the_same_picture_larger(cli, seed_npy, workdir):
    cli("max", seed_npy, "-k", "2", "--viz", "one.png", "-q")
    cli("max", seed_npy, "-k", "2", "--viz", "three.png", "--viz-scale", "3", "-q")
    with Image.open(workdir / "one.png") as one, Image.open(workdir / "three.png") as three:
        assert three.size == (3 * one.width, 3 * one.height)
        small = np.array(one.convert("RGB"))
        large = np.array(three.convert("RGB"))
    picture = drawn(SEED, pool(SEED, "max", kernel_size=2))
    for (i, j), _ in np.ndenumerate(SEED):
        x0, y0, x1, _ = cell_box(picture.panels["r0c0"], (4, 4), i, j)
        assert tuple(large[3 * (y0 + 3), 3 * (x1 - 2)]) == tuple(small[y0 + 3, x1 - 2])


def test_replaying_the_ops_at_scale_one_gives_the_same_pixels():
    picture = drawn(SEED, pool(SEED, "median", kernel_size=2, stride=1, padding="same"))
    replayed = np.array(raster(picture.ops, picture.image.size, 1))
    differ = np.any(replayed != decoded(picture), axis=-1)
    assert differ.mean() < 0.01  # only anti-aliased text edges may differ


def test_channels_picks_the_rows(cli, npy, workdir):
    array = np.arange(8 * 4 * 4, dtype=np.float32).reshape(8, 4, 4)
    name = npy(array, "eight.npy")
    cli("max", name, "--layout", "CHW", "-k", "2", "--viz", "eight.svg", "--channels", "1,6-7")
    texts = svg_texts(workdir / "eight.svg")
    assert [t for t in texts if t.startswith("channel ")] == ["channel 1", "channel 6", "channel 7"]
    result = cli("max", name, "-k", "2", "--viz", "x.svg", "--channels", "two", code=2)
    assert "--channels two" in result.stderr


def test_still_commands_refuse_an_animation(cli, seed_npy, workdir):
    result = cli("grad", seed_npy, "-k", "2", "--viz", "g.gif", code=2)
    assert "give a .png or .svg name" in result.stderr
    cli("grad", seed_npy, "-k", "2", "--viz", "g.svg")
    assert "upstream gradient (all ones)" in svg_texts(workdir / "g.svg")


def test_gradients_use_a_diverging_map_centred_at_zero():
    gradient = np.zeros((4, 4))
    gradient[1, 1], gradient[3, 3] = 2.0, -1.0
    columns = [
        viz.Column("input", SEED),
        viz.Column("gradient", gradient, scale="gradient", cmap="diverging"),
    ]
    picture = viz.render_columns(columns, "HW")
    pixels = decoded(picture)
    scale = picture.scales["gradient"]
    assert (scale.low, scale.high) == (-2.0, 2.0)
    for (i, j), expected in (((0, 0), DIVERGING[1]), ((1, 1), DIVERGING[2])):
        x0, y0, x1, _ = cell_box(picture.panels["r0c1"], (4, 4), i, j)
        assert tuple(pixels[y0 + 3, x1 - 2]) == expected
    x0, y0, x1, _ = cell_box(picture.panels["r0c1"], (4, 4), 3, 3)
    assert tuple(pixels[y0 + 3, x1 - 2]) == _half_blue()


def _half_blue():
    low, mid = np.array(DIVERGING[0], float), np.array(DIVERGING[1], float)
    return tuple(np.rint(low + (mid - low) * 0.5).astype(np.uint8))


def test_compare_gives_sum_and_lp_their_own_scales():
    results = [pool(SEED, op, kernel_size=2) for op in ("max", "sum", "lp")]
    picture = viz.render_compare(SEED, results)
    scales = picture.scales
    assert (scales["values"].low, scales["values"].high) == (1, 16)
    assert (scales["sum"].low, scales["sum"].high) == (15, 54)
    assert "lp" in scales


@pytest.mark.parametrize("low, high", [(1, 16), (0, 2.5), (0.31, 0.57), (-3.2, 7), (15, 54)])
def test_colour_bar_ticks_are_round(low, high):
    ticks = nice_ticks(low, high)
    assert len(ticks) >= 2 and all(low <= t <= high for t in ticks)
    steps = {round(b - a, 9) for a, b in zip(ticks, ticks[1:])}
    assert len(steps) == 1
    step = steps.pop()
    mantissa = step / 10 ** np.floor(np.log10(step))
    assert round(mantissa, 6) in (1, 2, 5)
    assert all(abs(t / step - round(t / step)) < 1e-6 for t in ticks)  # multiples of the step


def test_large_inputs_add_a_zoom_with_values_and_a_difference_map():
    rng = np.random.default_rng(1)
    array = rng.integers(0, 100, (40, 48)).astype(np.float32)
    result = pool(array, "max", kernel_size=2)
    picture = viz.render_pool(array, result)
    texts = [text for text, _ in picture.texts]
    assert any(t.startswith("Shown") and "enlarged" in t for t in texts)  # the display scale
    # The zoom: 4x4 output cells from the middle (rows 18-21, columns 22-25) and their
    # 8x8 input cells, every value written.
    assert "input rows 36-43, columns 44-51" not in texts
    assert "input rows 16-23, columns 20-27" in texts
    assert "max output rows 8-11, columns 10-13" in texts
    for value in array[16:24, 20:28].ravel().tolist() + result.output[8:12, 10:14].ravel().tolist():
        assert f"{value:g}" in texts
    # The difference map: each output minus its window's mean, on a diverging scale at 0.
    difference = picture.scales  # the top picture's scales stay
    assert "values" in difference
    panel = picture.panels["zoom1:r0c0"]
    pixels = decoded(picture)
    window_means = array.reshape(20, 2, 24, 2).mean(axis=(1, 3))
    expected = result.output - window_means
    reach = np.abs(expected).max()
    x0, y0, x1, y1 = panel
    scale = (x1 - x0) / 24
    i, j = np.unravel_index(np.argmax(expected), expected.shape)
    px = pixels[int(y0 + (i + 0.5) * scale), int(x0 + (j + 0.5) * scale)]
    assert tuple(px) == DIVERGING[2] and expected[i, j] == reach


def test_zoom_crops_follow_adaptive_bins():
    from poolcli.render.zoom import crop_axis

    array = np.arange(30 * 30, dtype=np.float32).reshape(30, 30)
    result = pool(array, "avg", output_size=(7, 7))
    first, start, window = crop_axis(result.windows[0])
    assert window.out == 3 and first == 2  # 4 bins would reach over 16 cells
    assert window.size <= 16
    original = result.windows[0].bins[first : first + 3]
    assert [(s + start, e + start) for s, e in window.bins] == list(original)


def test_stochastic_pictures_show_each_cells_probability():
    array = SEED.astype(np.float32)
    picture = drawn(array, pool(array, "stochastic", seed=2, kernel_size=2))
    texts = [text for text, _ in picture.texts]
    assert "probability x / sum of its window" in texts
    assert not any("winning" in t for t in texts)
    assert any("sampled input cell" in t for t in texts)
    # Window (0, 0) holds 1, 3, 5, 6: probabilities 1/15, 3/15, 5/15, 6/15, each written.
    for share in (1 / 15, 3 / 15, 5 / 15, 6 / 15):
        assert f"{share:.3g}" in texts
    assert picture.grids["r0c1"] == (4, 4)


def test_grids_number_their_rows_and_columns():
    result = pool(SEED, "max", kernel_size=3, stride=1, padding=1)
    picture = drawn(SEED, result)
    x0, y0, x1, y1 = picture.panels["r0c0"]
    cell = (x1 - x0) // 4
    above = sorted(
        (box[0], t)
        for t, box in picture.texts
        if t.isdigit() and box[3] <= y0 - cell and x0 - cell <= box[0] < x1
    )
    assert [t for _, t in above][-4:] == ["0", "1", "2", "3"]  # over the padding ring
    left = sorted(
        (box[1], t) for t, box in picture.texts if box[2] <= x0 - cell and y0 <= box[1] < y1
    )
    assert [t for _, t in left] == ["0", "1", "2", "3"]


def test_compare_wraps_into_bands_that_share_their_scales():
    ops = ("max", "avg", "min", "sum", "lp", "median", "mode")
    results = [pool(SEED.astype(np.float32), op, kernel_size=2) for op in ops]
    picture = viz.render_compare(SEED, results)
    pixels = decoded(picture)
    # Two bands: the input, then 5 ops; the input again, then 2 ops (one below the other).
    assert {k for k in picture.panels if k.startswith("r0c")} == {f"r0c{k}" for k in range(6)}
    assert {k for k in picture.panels if k.startswith("zoom0:r0c")} == {
        f"zoom0:r0c{k}" for k in range(3)
    }
    top, below = picture.panels["r0c0"], picture.panels["zoom0:r0c0"]
    assert below[1] > top[3] and below[0] == top[0]
    # The same value has the same colour in both bands: 16 (max of the input) in the input
    # of each band.
    values = picture.scales["values"]
    assert (values.low, values.high) == (1, 16)
    for panel in ("r0c0", "zoom0:r0c0"):
        x0, y0, x1, _ = cell_box(picture.panels[panel], (4, 4), 3, 3)
        assert tuple(pixels[y0 + 3, x1 - 2]) == tuple(viz.viridis(1.0))
    assert "lp" in picture.scales and "sum" in picture.scales


def test_adaptive_pictures_list_their_bins():
    picture = drawn(SEED, pool(SEED, "max", output_size=(3, 2)))
    text = " ".join(t for t, _ in picture.texts)
    assert "rows 0-1, 1-2, 2-3; columns 0-1, 2-3." in text
