"""The animation (``--viz FILE.gif``) and the page (``--viz FILE.html``): frames counted and
decoded, captions checked against the engine's output and the cells each window reads."""

import json
import re

import numpy as np
import pytest
from PIL import Image, ImageSequence

from poolcli.render.animation import HIGHLIGHT, MAX_FRAMES, animation_frames
from poolcli.render.canvas import _short
from poolcli.render.page import page_data
from poolcli.render.window_steps import step_view, window_steps
from tests.render.test_pictures import SEED, pool, winner_cells


def numbers(text: str) -> list[float]:
    return [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", text)]


def test_gif_has_one_frame_per_output_cell(cli, seed_npy, workdir):
    result = cli("max", seed_npy, "-k", "2", "--viz", "seed.gif", "-o", "out.npy")
    assert "wrote seed.gif" in result.stderr
    with Image.open(workdir / "seed.gif") as gif:
        assert gif.format == "GIF" and gif.n_frames == 4
        frames = [np.array(f.convert("RGB")) for f in ImageSequence.Iterator(gif)]
    # Each frame differs from the next: the window moves.
    assert all(np.any(a != b) for a, b in zip(frames, frames[1:]))


@pytest.mark.parametrize(
    "reduction, window, expected",
    [
        ("max", dict(kernel_size=2), ["max(1, 3, 5, 6) = 6", "max(2, 4, 7, 8) = 8"]),
        ("avg", dict(kernel_size=2), ["(1+3+5+6)/4 = 3.75", "(2+4+7+8)/4 = 5.25"]),
        ("sum", dict(kernel_size=2), ["1+3+5+6 = 15", "2+4+7+8 = 21"]),
    ],
)
def test_captions_write_out_the_arithmetic(reduction, window, expected):
    array = SEED if reduction == "max" else SEED.astype(np.float32)
    steps = window_steps(array, pool(array, reduction, **window))
    assert [s.text for s in steps[:2]] == expected


def test_every_caption_ends_with_the_engines_value():
    array = np.random.default_rng(0).integers(-5, 9, (5, 6)).astype(np.float32)
    for reduction in ("max", "min", "avg", "sum", "median", "mode"):
        result = pool(array, reduction, kernel_size=3, stride=2, padding=1, ceil_mode=True)
        steps = window_steps(array, result)
        assert len(steps) == result.output.size
        for step in steps:
            value = float(result.output[step.position])
            assert numbers(step.text)[-1] == pytest.approx(value, rel=5e-3, abs=1e-3)
            reads = [v for r, c, kind in step.cells if kind == "in" for v in [array[r, c]]]
            if reduction in ("max", "min"):
                assert numbers(step.text)[:-1] == pytest.approx(reads)


def test_avg_caption_counts_the_cells_the_op_counts():
    array = SEED.astype(np.float32)
    cells = [s.text for s in window_steps(array, pool(array, "avg", kernel_size=3, padding=1))]
    assert cells[0] == "(1+3+5+6)/4 = 3.75"
    included = pool(array, "avg", kernel_size=3, padding=1, count_include_pad=True)
    assert window_steps(array, included)[0].text == "(1+3+5+6+0+0+0+0+0)/9 = 1.67"


def test_stochastic_captions_give_each_cells_probability():
    array = SEED.astype(np.float32)
    step = window_steps(array, pool(array, "stochastic", seed=3, kernel_size=2))[0]
    assert step.text.startswith("p = x/sum x: 1/15, 3/15, 5/15, 6/15; drew ")
    assert "winning" not in step.text


def test_frames_mark_padding_ceil_cells_and_winner_differently():
    result = pool(SEED, "max", kernel_size=3, stride=2, padding=1, ceil_mode=True)
    frames, steps = animation_frames(SEED, result)
    assert len(frames) == len(steps) == result.output.size
    kinds = {kind for step in steps for _, _, kind in step.cells}
    assert kinds == {"in", "pad", "ceil"}
    last = np.array(frames[-1])
    assert np.all(last == HIGHLIGHT, axis=-1).sum() > 100


def test_large_runs_draw_the_first_frames_and_say_so():
    array = np.arange(16 * 16).reshape(16, 16)
    frames, steps = animation_frames(array, pool(array, "max", kernel_size=2, stride=1))
    assert len(frames) == len(steps) == MAX_FRAMES


def test_large_inputs_step_through_their_top_left_windows():
    array = np.random.default_rng(2).random((40, 40)).astype(np.float32)
    result = pool(array, "max", kernel_size=3, stride=2)
    frames, steps = animation_frames(array, result)
    # Windows 0-6 read cells 0-14 (< 16) along each axis: 7x7 of the 19x19 output cells.
    assert len(frames) == len(steps) == 49
    assert [s.position for s in steps] == [(i, j) for i in range(7) for j in range(7)]
    winners = winner_cells(array, result)
    for step in steps:
        i, j = step.position
        assert {(r, c) for r, c, _ in step.cells} == {
            (r, c) for r in range(2 * i, 2 * i + 3) for c in range(2 * j, 2 * j + 3)
        }
        assert step.winner == winners[(i, j)]
        assert numbers(step.text)[-1] == pytest.approx(float(result.output[i, j]), rel=5e-3)
    data = page_data(array, result)
    assert "Shown: input rows 0-14, columns 0-14 of 40x40" in data["title"]
    assert "rows 0-6, columns 0-6 of 19x19" in data["title"]
    assert data["input"]["caption"] == "input rows 0-14, columns 0-14 of 40x40"
    assert data["output"]["caption"] == "max output rows 0-6, columns 0-6 of 19x19"
    assert (data["input"]["rows"], data["output"]["rows"]) == (15, 7)


def test_a_cropped_sampling_keeps_the_cells_the_whole_run_drew():
    array = np.random.default_rng(5).random((30, 30)).astype(np.float32) + 0.1
    result = pool(array, "stochastic", seed=7, kernel_size=2)
    view = step_view(array, result)
    steps = window_steps(view.array, view.result, 0, view.winners)
    assert len(steps) == 64
    for step in steps:
        assert array[step.winner] == result.output[step.position]


def test_inputs_that_cannot_be_stepped_through_get_one_line(cli, npy, workdir):
    volume = npy(np.zeros((4, 6, 6), np.float32), "vol.npy")
    result = cli("max", volume, "--layout", "DHW", "-k", "2", "--viz", "v.gif", code=1)
    assert "volume (4x6x6)" in result.stderr and ".png or .svg" in result.stderr
    assert not (workdir / "v.gif").exists()
    big = npy(np.zeros((40, 40), np.float32), "big.npy")
    result = cli("max", big, "-k", "20", "--viz", "big.html", code=1)
    assert "at most 16x16 cells" in result.stderr and "40x40" in result.stderr
    signal = npy(np.zeros(8, np.float32), "signal.npy")
    result = cli("max", signal, "-k", "2", "--viz", "s.gif", code=1)
    assert "2-D inputs" in result.stderr


def test_the_channel_shown_is_named(cli, npy, workdir):
    array = np.arange(3 * 4 * 4, dtype=np.float32).reshape(3, 4, 4)
    name = npy(array, "three.npy")
    cli("max", name, "--layout", "CHW", "-k", "2", "--viz", "c.html", "--channels", "1", "-q")
    page = (workdir / "c.html").read_text()
    data = json.loads(page.split('id="data">')[1].split("</script>")[0])
    assert "Channel 1 of 3 (from 0) is shown" in data["title"]
    assert data["steps"][0]["text"] == "max(16, 17, 20, 21) = 21"  # channel 1's first window


def test_page_data_lists_each_window_with_its_cells():
    result = pool(SEED, "max", output_size=(3, 3))
    data = page_data(SEED, result)
    assert len(data["steps"]) == 9
    first = data["steps"][0]
    assert sorted((r, c) for r, c, _ in first["cells"]) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert first["text"] == "max(1, 3, 5, 6) = 6"
    assert [cell[2] for cell in data["output"]["cells"]] == [
        str(v) for v in result.output.ravel().tolist()
    ]
    json.dumps(data)  # all of it fits in the page as JSON


def test_gif_frames_decode_to_the_frames_drawn(workdir):
    from poolcli.render.animation import write_gif

    array = np.random.default_rng(4).random((8, 8)).astype(np.float32)
    result = pool(array, "max", kernel_size=2, stride=1)
    write_gif(str(workdir / "a.gif"), array, result)
    drawn_frames, _ = animation_frames(array, result)
    with Image.open(workdir / "a.gif") as gif:
        decoded = [np.array(f.convert("RGB")).astype(int) for f in ImageSequence.Iterator(gif)]
    assert len(decoded) == len(drawn_frames) == 49
    for frame, image in zip(decoded, drawn_frames):
        off = np.abs(frame - np.array(image)).sum(axis=-1) > 60
        assert off.mean() < 0.005  # one shared palette: only a few text edges move


def test_adaptive_bins_of_unequal_length_list_all_their_cells():
    array = np.arange(25, dtype=np.float32).reshape(5, 5)
    result = pool(array, "max", output_size=3)  # 5 -> 3 bins: cells 0-1, 1-3, 3-4
    steps = window_steps(array, result)
    middle = next(s for s in steps if s.position == (1, 1))
    assert {(r, c) for r, c, _ in middle.cells} == {(r, c) for r in (1, 2, 3) for c in (1, 2, 3)}
    assert middle.text == "max(6, 7, 8, 11, 12, 13, 16, 17, 18) = 18"


def test_sampling_steps_mark_the_output_not_the_chances():
    array = SEED.astype(np.float32)
    result = pool(array, "stochastic", seed=1, kernel_size=2)
    data = page_data(array, result)  # the still picture has a probability panel before it
    assert (data["output"]["rows"], data["output"]["cols"]) == (2, 2)
    assert [cell[2] for cell in data["output"]["cells"]] == [
        _short(v, False) for v in result.output.ravel().tolist()
    ]
    frames, steps = animation_frames(array, result)
    assert len(frames) == len(steps) == 4
