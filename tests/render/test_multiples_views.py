"""Window copies beyond the reduction commands: ``grad`` (the cells each output cell's gradient
reaches framed in black), ``compare`` (one set of copies titled with every op's value), the
zoom of a large grey image (grey copies, the winners framed) and the region a cropped
animation names in its panel titles. Decoded and checked at known pixels; the oracles are
torch and plain loops."""

import numpy as np
import torch
import torch.nn.functional as F

from poolcli import io
from poolcli.engine.grad import gradient
from poolcli.model.window import WindowSpec
from poolcli.render import pictures as viz
from poolcli.render.animation import still
from poolcli.render.canvas import _short
from poolcli.render.colours import HIGHLIGHT, ramp
from poolcli.render.grad_report import grad_picture
from poolcli.render.window_steps import step_view
from tests.render.test_multiples import black_framed, colour_of, copy_cells, corner, faded
from tests.render.test_picture_formats import svg_texts
from tests.render.test_pictures import SAMPLES, SEED, decoded, pool


def grad_drawn(path: str, op: str, **window):
    loaded = io.read_input(path)
    result = gradient(loaded.array, op, WindowSpec.make(**window))
    return grad_picture(loaded, result, "seed", unpool=False)


def framed_cells(picture, pixels, key: str, rows: int, cols: int, origin=(0, 0)):
    """The input cells framed in black in copy ``key``."""
    cell, box = copy_cells(picture, key, rows, cols, origin)
    return {
        (r, c)
        for r in range(origin[0], origin[0] + rows)
        for c in range(origin[1], origin[1] + cols)
        if black_framed(pixels, box(r, c), cell)
    }


def test_grad_of_avg_frames_every_real_cell_of_each_window(seed_npy):
    picture = grad_drawn(seed_npy, "avg", kernel_size=3, stride=1, padding="same")
    pixels = decoded(picture)
    words = " ".join(text for text, _ in picture.texts)
    assert "the cells its gradient reaches framed in black" in words
    for i in range(4):
        for j in range(4):
            key = f"windows0:w{i},{j}"
            # Window (i, j) reads rows i-1..i+1 and columns j-1..j+1; padding gets nothing.
            real = {
                (r, c)
                for r in range(i - 1, i + 2)
                for c in range(j - 1, j + 2)
                if 0 <= r < 4 and 0 <= c < 4
            }
            assert framed_cells(picture, pixels, key, 6, 6, origin=(-1, -1)) == real, (i, j)


def test_grad_of_max_frames_the_cell_torch_sends_the_gradient_to(seed_npy):
    array = np.array([[1, 9, 2, 4], [5, 6, 7, 8], [9, 10, 3, 12], [13, 14, 15, 0]])
    np.save(seed_npy, array)
    picture = grad_drawn(seed_npy, "max", kernel_size=3, stride=1)
    pixels = decoded(picture)
    _, indices = F.max_pool2d(
        torch.tensor(array, dtype=torch.float64)[None], 3, 1, return_indices=True
    )
    for (i, j), flat in np.ndenumerate(indices[0].numpy()):
        framed = framed_cells(picture, pixels, f"windows0:w{i},{j}", 4, 4)
        assert framed == {divmod(int(flat), 4)}, (i, j)
        # The window itself is framed in magenta along its left edge.
        cell, box = copy_cells(picture, f"windows0:w{i},{j}", 4, 4)
        left, top, _, _ = box(i, j)
        assert tuple(pixels[top + cell // 2, left]) == HIGHLIGHT


def test_compare_draws_one_set_of_copies_titled_with_every_op(cli, seed_npy, workdir):
    cli("compare", seed_npy, "-k", "2", "-s", "1", "--viz", "cmp.svg")
    texts = svg_texts(workdir / "cmp.svg")
    x = torch.tensor(SEED, dtype=torch.float64)[None]
    expected = {
        "max": F.max_pool2d(x, 2, 1)[0].numpy(),
        "avg": F.avg_pool2d(x, 2, 1)[0].numpy(),
        "min": -F.max_pool2d(-x, 2, 1)[0].numpy(),
    }
    words = " ".join(texts)
    for i in range(3):
        for j in range(3):
            assert f"({i}, {j})" in texts
            for op, values in expected.items():
                integer = op != "avg"
                assert f"{op} {_short(values[i, j], integer)}," in words, (op, i, j)
    assert sum(t.startswith("Each window on its own") for t in texts) == 1


def test_compare_copies_keep_the_input_colours_of_each_window():
    results = [pool(SEED, op, kernel_size=2, stride=1) for op in ("max", "avg")]
    picture = viz.render_compare(SEED, results)
    pixels = decoded(picture)
    cell, box = copy_cells(picture, "windows0:w1,2", 4, 4)
    for (r, c), value in np.ndenumerate(SEED):
        y, x = corner(box(r, c), cell)
        want = colour_of(picture, value)
        inside = r in (1, 2) and c in (2, 3)
        assert tuple(pixels[y, x]) == (want if inside else faded(want)), (r, c)


def lower_median_cell(window: np.ndarray) -> tuple[int, int]:
    """The first cell in reading order holding the lower median: a plain loop."""
    values = sorted(window.ravel().tolist())
    median = values[(len(values) - 1) // 2]
    for (r, c), v in np.ndenumerate(window):
        if v == median:
            return r, c
    raise AssertionError


def test_the_zoom_of_a_grey_image_is_grey_with_its_median_winners_framed():
    loaded = io.read_input(f"{SAMPLES}/gradient.png")
    result = pool(loaded.array, "median", kernel_size=3, stride=1, padding="same")
    picture = viz.render_pool(loaded, result)
    pixels = decoded(picture)
    array = loaded.array
    # The zoom: input rows and columns 29-34, output 30-33 (64 -> 64, the middle 4).
    prefix = "zoom0:windows0:"
    for i in range(4):
        for j in range(4):
            key = f"{prefix}w{i},{j}"
            cell, box = copy_cells(picture, key, 6, 6)
            window = array[29 + i : 32 + i, 29 + j : 32 + j]
            wr, wc = lower_median_cell(window)
            framed = framed_cells(picture, pixels, key, 6, 6)
            assert framed == {(i + wr, j + wc)}, (i, j)
    # Grey: a cell the window reads keeps its grey level on the zoom's own scale (116-136).
    cell, box = copy_cells(picture, f"{prefix}w0,0", 6, 6)
    y, x = corner(box(0, 0), cell)
    value = array[29, 29]
    assert tuple(pixels[y, x]) == tuple(int(v) for v in ramp((value - 116) / 20, "grey"))
    # Value text: light on the darkest cell (116), dark on the lightest (136).
    x0, y0, x1, y1 = box(0, 0)
    assert pixels[y, x].max() < 60
    assert pixels[y0 + 4 : y1 - 4, x0 + 4 : x1 - 4].max() >= 230
    cell, box = copy_cells(picture, f"{prefix}w3,3", 6, 6)
    x0, y0, x1, y1 = box(5, 5)
    assert tuple(pixels[y1 - 3, x0 + 3]) == (255, 255, 255)
    assert pixels[y0 + 4 : y1 - 4, x0 + 4 : x1 - 4].min() <= 40


def test_a_cropped_animation_names_its_region_in_the_panel_titles():
    array = (np.arange(40 * 40).reshape(40, 40) * 37 % 101).astype(np.float32)
    result = pool(array, "max", kernel_size=3, stride=2)
    picture, _ = still(step_view(array, result))
    texts = [text for text, _ in picture.texts]
    assert "input rows 0-14, columns 0-14 of 40x40" in texts
    assert "max output rows 0-6, columns 0-6 of 19x19" in texts
    assert not any(text.startswith("input 15x15") for text in texts)
