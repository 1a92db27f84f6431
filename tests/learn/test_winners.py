"""poolcli.learn.winners: which cell each window's result came from, against the output."""

import numpy as np
import pytest

from poolcli.engine.core import run
from poolcli.learn.winners import has_winner, result_winners, window_winners
from poolcli.model.options import PoolOptions
from poolcli.model.window import WindowSpec

SEED = np.array([[1, 3, 2, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]])


def pooled(array, reduction, layout=None, **options):
    return run(array, reduction, WindowSpec.make(kernel_size=2), layout, PoolOptions(**options))


@pytest.mark.parametrize(
    "reduction, options, expected",
    [
        ("max", {}, True),
        ("min", {}, True),
        ("median", {}, True),
        ("mode", {}, True),
        ("stochastic", {"seed": 1}, True),
        ("stochastic", {}, False),  # another run would sample other cells
        ("stochastic", {"seed": 1, "expectation": True}, False),
        ("avg", {}, False),
        ("sum", {}, False),
        ("lp", {}, False),
    ],
)
def test_which_ops_have_a_winner(reduction, options, expected):
    result = pooled(SEED.astype(np.float32), reduction, **options)
    assert has_winner(result) is expected
    taps = window_winners(SEED.astype(np.float32), result)
    assert (taps is not None) is expected


@pytest.mark.parametrize("reduction, seed", [("max", None), ("median", None), ("stochastic", 4)])
def test_each_winner_holds_the_result(reduction, seed):
    array = np.random.default_rng(0).integers(1, 9, (6, 4)).astype(np.float32)
    result = pooled(array, reduction, seed=seed)
    taps = window_winners(array, result)
    assert taps.shape == (1, 1, 3, 2) and taps.dtype == np.int64
    for i in range(3):
        for j in range(2):
            ti, tj = divmod(int(taps[0, 0, i, j]), 2)
            assert array[2 * i + ti, 2 * j + tj] == result.output[i, j]


def test_result_winners_are_laid_out_like_the_output():
    array = np.random.default_rng(1).integers(0, 50, (4, 6, 3)).astype(np.float32)
    result = pooled(array, "max", layout="HWC")
    taps = result_winners(array, result)
    assert taps.shape == result.output.shape == (2, 3, 3)
    canonical = window_winners(array, result)[0]  # (C, H, W)
    assert np.array_equal(taps, canonical.transpose(1, 2, 0))
    assert result_winners(array, pooled(array, "avg", layout="HWC")) is None


def test_winners_follow_the_alpha_and_pixel_rules_of_the_result():
    # White under a transparent pixel must neither win the colour nor be framed as its source.
    x = np.array(
        [[[255, 255, 255, 0], [10, 20, 30, 255]], [[5, 5, 5, 255], [1, 1, 1, 255]]], np.uint8
    )
    spec = WindowSpec.make(kernel_size=2)
    result = run(x, "max", spec, "HWC", alpha=True)
    taps = window_winners(x, result)[0, :, 0, 0]
    cells = x.reshape(4, 4)  # the window's cells in tap order, channels last
    assert [int(cells[t, c]) for c, t in enumerate(taps)] == result.output[0, 0].tolist()
    assert result.output[0, 0].tolist() == [10, 20, 30, 255]
    # mode of whole pixels: every channel's winner is the same cell
    x = np.array([[[255, 0, 0], [255, 0, 0]], [[0, 255, 0], [0, 0, 255]]], np.uint8)
    result = run(x, "mode", spec, "HWC", pixels=True)
    assert result.output[0, 0].tolist() == [255, 0, 0]
    taps = window_winners(x, result)[0, :, 0, 0]
    assert len(set(taps.tolist())) == 1 and taps[0] in (0, 1)


@pytest.mark.parametrize(
    "reduction, options",
    [("max", {}), ("median", {}), ("mode", {}), ("stochastic", {"seed": 7})],
)
def test_the_winners_of_a_block_are_those_of_the_whole_pooling(reduction, options):
    from poolcli.learn.winners import crop_winners
    from poolcli.render.zoom import crop_axis

    rng = np.random.default_rng(3)
    array = rng.integers(0, 6, (3, 30, 26)).astype(np.float32) + 0.5  # CHW
    spec = WindowSpec.make(kernel_size=3, stride=1, padding="same")
    result = run(array, reduction, spec, "CHW", PoolOptions(**options))
    crops = [crop_axis(axis) for axis in result.windows]
    (oy, _, wy), (ox, _, wx) = crops
    whole = window_winners(array, result)
    block = crop_winners(array, result, crops)
    assert block.shape == (1, 3, wy.out, wx.out)
    np.testing.assert_array_equal(block, whole[:, :, oy : oy + wy.out, ox : ox + wx.out])


def test_gradient_routes_are_the_nonzero_rows_of_torch_s_jacobian():
    import torch
    import torch.nn.functional as F

    from poolcli.engine.grad import gradient
    from poolcli.learn.winners import gradient_routes

    array = SEED.astype(np.float64)
    array[0, 0] = 0.0  # lp sends nothing to a cell holding 0
    spec = WindowSpec.make(kernel_size=3, stride=1, padding=1)
    result = gradient(array, "lp", spec)
    routes = gradient_routes(array, result, 0, (4, 4))

    def lp(x):
        return F.lp_pool2d(F.pad(x[None, None], (1, 1, 1, 1)), 2, 3, 1)[0, 0]

    jacobian = torch.autograd.functional.jacobian(lp, torch.tensor(array))
    np.testing.assert_array_equal(routes, jacobian.numpy() != 0)
    assert not routes[0, 0, 0, 0] and routes[0, 0, 1, 1]
