"""Overlapping windows drawn one by one under the picture (small multiples): each copy of the
input shows its window's cells in their colours, the rest faded, padding hatched, the window
framed and its winner framed, titled with the engine's output value. Decoded and checked at
known pixels; the windows come from plain loops, the winners from the engine."""

import numpy as np
import torch
import torch.nn.functional as F

from poolcli.render import pictures as viz
from poolcli.render.canvas import _short
from poolcli.render.colours import HATCH_BACK, HATCH_LINE, HIGHLIGHT, INK
from poolcli.render.multiples import FADED, MULTIPLES_SIDE
from tests.render.test_picture_formats import svg_texts
from tests.render.test_pictures import (
    SEED,
    cell_box,
    decoded,
    drawn,
    has_colour,
    pool,
    winner_cells,
)


def copy_cells(picture, key: str, rows: int, cols: int, origin=(0, 0)):
    """(cell size, function (r, c) -> pixel box) of the copy ``key`` of an input shown with
    ``rows`` x ``cols`` cells from input cell ``origin`` (negative: padding)."""
    x0, y0, x1, y1 = picture.panels[key]
    cell = (x1 - x0) // cols
    assert (x1 - x0, y1 - y0) == (cols * cell, rows * cell)

    def box(r, c):
        left, top = x0 + (c - origin[1]) * cell, y0 + (r - origin[0]) * cell
        return left, top, left + cell, top + cell

    return cell, box


def black_framed(pixels, box, cell: int) -> bool:
    """Whether the cell at ``box`` of a copy is framed in black: its top and left edges,
    just inside the magenta line (as wide as the window's frame), are INK."""
    inset = max(2, cell // 10) - 1
    x0, y0 = box[0] + inset, box[1] + inset
    top = pixels[y0, x0 + 2 : box[2] - inset - 2]
    left = pixels[y0 + 2 : box[3] - inset - 2, x0]
    return bool(np.all(top == INK) and np.all(left == INK))


def colour_of(picture, value):
    scale = picture.scales["values"]
    return tuple(int(v) for v in viz.viridis((value - scale.low) / (scale.high - scale.low)))


def faded(colour):
    return tuple(int(round(255 - FADED * (255 - v))) for v in colour)


def corner(box, cell):
    """A pixel inside the cell's bottom-left corner: clear of the frame and of the value."""
    return box[3] - cell // 5, box[0] + cell // 5


def test_each_avg_window_is_drawn_on_its_own_copy():
    result = pool(SEED, "avg", kernel_size=2, stride=1)
    picture = drawn(SEED, result)
    pixels = decoded(picture)
    expected = F.avg_pool2d(torch.tensor(SEED, dtype=torch.float64)[None], 2, 1)[0].numpy()
    texts = [text for text, _ in picture.texts]
    for i in range(3):
        for j in range(3):
            assert f"({i}, {j}) = {_short(expected[i, j], False)}" in texts
            cell, box = copy_cells(picture, f"windows0:w{i},{j}", 4, 4)
            for (r, c), value in np.ndenumerate(SEED):
                y, x = corner(box(r, c), cell)
                inside = i <= r <= i + 1 and j <= c <= j + 1  # window (i, j): a plain loop
                want = colour_of(picture, value)
                assert tuple(pixels[y, x]) == (want if inside else faded(want)), (i, j, r, c)
            # The magenta frame runs along the window's outer edge.
            left, top, _, _ = box(i, j)
            assert tuple(pixels[top + cell // 2, left]) == HIGHLIGHT
            assert tuple(pixels[top + cell // 2, left + 2 * cell - 1]) == HIGHLIGHT
            assert tuple(pixels[top + cell // 2, left + cell]) != HIGHLIGHT  # one frame


def test_padding_in_a_window_is_hatched_on_its_copy():
    result = pool(SEED, "sum", kernel_size=3, stride=1, padding="same")
    picture = drawn(SEED, result)
    pixels = decoded(picture)
    # The copies show the input with its padding ring: rows and columns -1 to 4.
    cell, box = copy_cells(picture, "windows0:w0,0", 6, 6, origin=(-1, -1))
    assert has_colour(pixels, box(-1, -1), HATCH_LINE) and has_colour(
        pixels, box(-1, 1), HATCH_BACK
    )
    y, x = corner(box(0, 0), cell)
    assert tuple(pixels[y, x]) == colour_of(picture, SEED[0, 0])
    # Padding outside this window stays plain: the window (0, 0) does not reach row 4.
    assert not has_colour(pixels, box(4, 4), HATCH_LINE)
    texts = [text for text, _ in picture.texts]
    assert "(0, 0) = 15" in texts and "(3, 3) = 54" in texts  # 11+12+15+16, and 1+3+5+6


def test_each_median_winner_is_framed_in_black_on_its_copy():
    result = pool(SEED, "median", kernel_size=2, stride=1, padding="same")
    picture = drawn(SEED, result)
    pixels = decoded(picture)
    winners = winner_cells(SEED, result)
    for (i, j), (wr, wc) in winners.items():
        cell, box = copy_cells(picture, f"windows0:w{i},{j}", 5, 5)
        for r in range(i, min(i + 2, 4)):
            for c in range(j, min(j + 2, 4)):
                assert black_framed(pixels, box(r, c), cell) == ((r, c) == (wr, wc)), (
                    (i, j),
                    (r, c),
                )


def test_a_large_output_shows_its_first_windows_and_says_so():
    array = (np.arange(256).reshape(16, 16) * 37 % 101).astype(np.float32)
    result = pool(array, "max", kernel_size=3, stride=1, padding="same")
    picture = drawn(array, result)
    side = MULTIPLES_SIDE
    keys = {k for k in picture.panels if k.startswith("windows0:")}
    assert keys == {f"windows0:w{i},{j}" for i in range(side) for j in range(side)}
    words = " ".join(text for text, _ in picture.texts)
    assert f"The first {side}x{side} of 16x16 output cells are drawn" in words
    assert "input rows 0-6 and columns 0-6" in words
    # 256 crossing winners are left to the copies: the input carries no numbered frames.
    assert picture.window_colours == {}
    # The copies show rows and columns -1 to 6: the window (5, 5) reads rows 4-6.
    pixels = decoded(picture)
    cell, box = copy_cells(picture, "windows0:w5,5", 8, 8, origin=(-1, -1))
    y, x = corner(box(6, 6), cell)
    assert tuple(pixels[y, x]) == colour_of(picture, array[6, 6])


def test_adaptive_bins_each_get_a_copy():
    array = np.arange(36).reshape(6, 6) % 7
    result = pool(array, "avg", output_size=4)
    picture = drawn(array, result)
    pixels = decoded(picture)
    cell, box = copy_cells(picture, "windows0:w1,2", 6, 6)
    # 6 -> 4 bins: bin 1 is rows 1-2, bin 2 columns 3-4 (torch's rule).
    for (r, c), value in np.ndenumerate(array):
        y, x = corner(box(r, c), cell)
        inside = r in (1, 2) and c in (3, 4)
        want = colour_of(picture, value)
        assert tuple(pixels[y, x]) == (want if inside else faded(want)), (r, c)


def test_windows_that_tile_get_no_copies():
    picture = drawn(SEED, pool(SEED, "max", kernel_size=2))
    assert not any(key.startswith("windows") for key in picture.panels)


def test_the_zoom_of_a_large_input_draws_its_windows_one_by_one():
    array = (np.arange(40 * 40).reshape(40, 40) * 37 % 101).astype(np.float32)
    result = pool(array, "avg", kernel_size=3, stride=1)
    picture = viz.render_pool(array, result)
    keys = [k for k in picture.panels if ":windows0:w" in k]
    assert len(keys) == 16  # the zoom's 4x4 output cells
    words = " ".join(text for text, _ in picture.texts)
    assert "Each window on its own (in the zoom)" in words


def test_svg_names_every_window_as_text(cli, seed_npy, workdir):
    cli("lp", seed_npy, "-k", "2", "-s", "1", "--viz", "lp.svg", "-q")
    texts = svg_texts(workdir / "lp.svg")
    expected = F.lp_pool2d(torch.tensor(SEED, dtype=torch.float64)[None], 2, 2, 1)[0].numpy()
    for (i, j), value in np.ndenumerate(expected):
        assert f"({i}, {j}) = {_short(value, False)}" in texts


def test_cells_only_ceil_mode_adds_are_dotted_not_hatched():
    array = SEED.astype(np.float32)
    result = pool(array, "avg", kernel_size=3, stride=2, padding=1, ceil_mode=True)
    picture = drawn(array, result)
    pixels = decoded(picture)
    # Rows and columns -1 to 5: one padding cell each side, then one only --ceil adds.
    cell, box = copy_cells(picture, "windows0:w0,2", 7, 7, origin=(-1, -1))
    padding, ceil = box(0, 4), box(0, 5)  # window (0, 2) reads columns 3-5
    assert has_colour(pixels, padding, HATCH_BACK) and has_colour(pixels, padding, HATCH_LINE)
    assert has_colour(pixels, ceil, HATCH_LINE) and has_colour(pixels, ceil, (255, 255, 255))
    assert not has_colour(pixels, ceil, HATCH_BACK)
    words = " ".join(text for text, _ in picture.texts)
    assert "cells only --ceil adds dotted" in words


def test_sums_get_their_own_scale_so_the_input_keeps_its_colours():
    result = pool(SEED, "sum", kernel_size=3, stride=1, padding="same")
    picture = drawn(SEED, result)
    pixels = decoded(picture)
    values, sums = picture.scales["values"], picture.scales["sum"]
    assert (values.low, values.high) == (1, 16)
    assert (sums.low, sums.high) == (15, 99)  # 1+3+5+6, and 6+7+8+10+11+12+14+15+16
    x0, y0, x1, _ = cell_box(picture.panels["r0c0"], (4, 4), 3, 3)
    assert tuple(pixels[y0 + 3, x1 - 3]) == tuple(viz.viridis((SEED[3, 3] - 1) / 15))
    x0, y0, x1, _ = cell_box(picture.panels["r0c1"], (4, 4), 2, 2)
    assert tuple(pixels[y0 + 3, x1 - 3]) == tuple(viz.viridis((99 - 15) / (99 - 15)))
