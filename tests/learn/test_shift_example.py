"""The shifted output the ``invariance`` picture shows: the first op pooled over the input
cropped both ways (torch as the oracle), and the picture's row of before, after and change."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from poolcli.learn import invariance as inv
from poolcli.model.window import WindowSpec


def _torch_max(array: np.ndarray) -> np.ndarray:
    return F.max_pool2d(torch.from_numpy(array)[None, None], 2)[0, 0].numpy()


def test_shift_example_pools_both_crops_of_the_smallest_shift_along_w():
    x = np.random.default_rng(4).integers(0, 9, (8, 9)).astype(np.float32)
    result = inv.measure(x, ("max", "avg"), WindowSpec.make(kernel_size=2), shifts=(2, 1))
    example = inv.shift_example(x, result)
    assert (example.op.value, example.shift.label) == ("max", "shift 1 W")
    np.testing.assert_array_equal(example.before, _torch_max(x[:, :-1]))
    np.testing.assert_array_equal(example.after, _torch_max(x[:, 1:]))


def test_no_example_without_a_shift_along_the_last_axis():
    x = np.zeros((6, 6), dtype=np.float32)
    result = inv.measure(x, ("max",), WindowSpec.make(kernel_size=2), shifts=(), noise=0.1)
    assert inv.shift_example(x, result) is None


def test_invariance_picture_shows_the_shifted_output(cli, npy, workdir):
    x = np.random.default_rng(5).integers(0, 9, (8, 8)).astype(np.float32)
    name = npy(x, "g.npy")
    cli("invariance", name, "-k", "2", "--ops", "max,avg", "--shifts", "1,2", "--viz", "inv.svg")
    text = (workdir / "inv.svg").read_text()
    before, after = _torch_max(x[:, :-1]), _torch_max(x[:, 1:])
    changed = int(np.count_nonzero(before != after))
    assert f"max: shifting the input 1 cell along W changes {changed} of {before.size}" in text
    assert ">after - before<" in text
    # The change panel writes every difference in its cells.
    for value in np.unique(after - before):
        assert f">{value:g}<" in text


def _shift_picture(path_or_array, layout=None, channels=None):
    from poolcli import io as pio
    from poolcli.render import invariance_report

    loaded = pio.read_input(path_or_array) if isinstance(path_or_array, str) else None
    array = loaded.array if loaded is not None else path_or_array
    spec = WindowSpec.make(kernel_size=2)
    result = inv.measure(array, ("max",), spec, layout, shifts=(1,))
    example = inv.shift_example(array, result)
    image = loaded.image if loaded is not None else None
    return invariance_report.shift_picture(example, result.layout, image, channels), example


def test_a_grey_image_shifted_output_is_drawn_in_grey(image, workdir):
    from tests.render.test_pictures import cell_box, decoded

    pixels = np.random.default_rng(6).integers(0, 256, (8, 8)).astype(np.uint8)  # mode L
    picture, example = _shift_picture(str(workdir / image(pixels, "g.png")))
    drawn = decoded(picture)
    scale = picture.scales["values"]
    for panel, values in (("r0c0", example.before), ("r0c1", example.after)):
        for (i, j), value in np.ndenumerate(values):
            x0, y0, x1, _ = cell_box(picture.panels[panel], values.shape, i, j)
            grey = 255 * (value - scale.low) / (scale.high - scale.low)
            r, g, b = (int(v) for v in drawn[y0 + 3, x1 - 3])
            assert r == g == b and abs(r - grey) <= 1, (panel, i, j)  # a 511-step grey ramp


def test_every_channel_gets_a_row_and_channels_picks_them(cli, npy, workdir):
    from tests.render.test_picture_formats import svg_texts

    x = np.random.default_rng(7).integers(0, 9, (3, 8, 8)).astype(np.float32)
    picture, _ = _shift_picture(x, "CHW")
    assert {f"r{r}c{c}" for r in range(3) for c in range(3)} <= set(picture.panels)
    name = npy(x, "c.npy")
    args = ("invariance", name, "--layout", "CHW", "-k", "2", "--shifts", "1", "--ops", "max")
    cli(*args, "--viz", "inv.svg", "--channels", "0,2")
    rows = [t for t in svg_texts(workdir / "inv.svg") if t.startswith("channel ")]
    assert rows == ["channel 0", "channel 2"]
