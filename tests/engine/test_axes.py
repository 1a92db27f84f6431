"""--pool-axes: pooling any layout letters, checked against torch on the moved axes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import poolcli
from poolcli.errors import UsageError
from poolcli.model.axes import AxesLayout


def data(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def test_pool_time_in_tchw():
    x = data((8, 3, 4, 5))  # T, C, H, W
    out = poolcli.pool(x, "max", kernel_size=3, stride=2, layout="TCHW", pool_axes="T")
    moved = torch.from_numpy(np.moveaxis(x, 0, -1).reshape(-1, 1, 8).copy())  # (C*H*W, 1, T)
    expected = F.max_pool1d(moved, 3, 2).reshape(3, 4, 5, -1)
    np.testing.assert_array_equal(out, np.moveaxis(expected.numpy(), -1, 0))
    assert out.shape == (3, 3, 4, 5)


def test_maxout_across_channels():
    x = data((6, 4, 5))  # CHW
    out = poolcli.pool(x, "max", kernel_size=2, layout="CHW", pool_axes="C")
    np.testing.assert_array_equal(out, x.reshape(3, 2, 4, 5).max(axis=1))


@pytest.mark.parametrize("reduction", ["avg", "median", "sum"])
def test_two_axes_per_axis_kernels(reduction):
    x = data((6, 2, 7, 3), 1)  # T, C, H, W; pool T and H with kernels 2 and 3
    out = poolcli.pool(x, reduction, kernel_size="2x3", layout="TCHW", pool_axes="HT")
    moved = np.transpose(x, (1, 3, 0, 2))  # C, W, T, H
    expected = poolcli.pool(
        moved.reshape(-1, 1, 6, 7), reduction, kernel_size=(2, 3), layout="NCHW"
    )
    expected = np.transpose(expected.reshape(2, 3, 3, 2), (2, 0, 3, 1))
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_indices_over_time_match_torch():
    x = data((9, 2, 3), 2)  # T, C, W
    out, indices = poolcli.pool(
        x,
        "max",
        kernel_size=3,
        stride=2,
        padding=1,
        layout="TCW",
        pool_axes="T",
        return_indices=True,
    )
    moved = torch.from_numpy(np.moveaxis(x, 0, -1).copy()).reshape(1, 6, 9)
    _, expected = F.max_pool1d(moved, 3, 2, 1, return_indices=True)
    np.testing.assert_array_equal(indices, np.moveaxis(expected.reshape(2, 3, -1).numpy(), -1, 0))


def test_layout_keeps_letters_and_refuses_unknown_axes():
    layout = AxesLayout.make("TCHW", "T", (8, 3, 4, 5))
    assert str(layout) == "TCHW" and layout.spatial == "T"
    x = data((8, 3, 4, 5))
    with pytest.raises(UsageError, match="pool_axes="):
        poolcli.pool(x[:, :, 0, 0], "max", kernel_size=2, layout="TC")
    # Without --pool-axes, such a layout pools its D, H, W letters.
    hw = poolcli.pool(x, "max", kernel_size=2, layout="TCHW")
    np.testing.assert_array_equal(hw, poolcli.pool(x, "max", kernel_size=2, layout="NCHW"))
    with pytest.raises(UsageError, match="has no axis Q"):
        poolcli.pool(x, "max", kernel_size=2, layout="TCHW", pool_axes="Q")
    with pytest.raises(UsageError, match="repeats"):
        poolcli.pool(x, "max", kernel_size=2, layout="TTHW", pool_axes="T")


def test_cli_then_and_json(cli, npy, workdir):
    x = data((8, 3, 4, 5), 3)
    path = npy(x)
    cli(
        "max",
        path,
        "--layout",
        "TCHW",
        "--pool-axes",
        "T",
        "-k",
        "2",
        "--then",
        "avg",
        "-k",
        "2",
        "-o",
        "y.npy",
        "-q",
    )
    y = np.load(workdir / "y.npy")
    first = poolcli.pool(x, "max", kernel_size=2, layout="TCHW", pool_axes="T")
    second = poolcli.pool(first, "avg", kernel_size=2, layout="TCHW", pool_axes="HW")
    np.testing.assert_allclose(y, second, rtol=1e-6)
    result = cli("max", path, "--layout", "TCHW", "--pool-axes", "C", "-k", "3", "--json")
    assert '"TCHW"' in result.stdout
    cli("max", path, "--layout", "TCHW", "--pool-axes", "T", "-k", "9", code=1)
