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
