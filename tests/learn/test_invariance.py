"""poolcli.learn.invariance on constructed inputs whose answers are known."""

from __future__ import annotations

import json

import numpy as np
import pytest

from poolcli.engine.core import pool
from poolcli.errors import PoolError, UsageError
from poolcli.learn import invariance as inv
from poolcli.model.options import PoolOptions
from poolcli.model.reductions import Reduction
from poolcli.model.window import WindowSpec
from poolcli.render import documents, schema

ALL = tuple(Reduction)


def by_label(result, op):
    return {c.perturbation.label: c for c in result.for_op(op)}


def peaks_at_odd_cells(size=8, seed=0):
    """Background in [0, 0.5) with one peak in [1, 2) at every (odd, odd) cell.

    Every 2x2 window (stride 2) has its peak at its bottom-right cell, and a window moved by
    one cell along either axis still holds that peak: max pooling cannot see the shift.
    """
    rng = np.random.default_rng(seed)
    x = rng.random((size, size)) * 0.5
    x[1::2, 1::2] = 1 + rng.random((size // 2, size // 2))
    return x


def test_constant_image_gives_no_change():
    x = np.full((6, 7), 3.0)
    result = inv.measure(x, ALL, WindowSpec.make(kernel_size=2), shifts=(1, 2), noise=0.05)
    assert result.input_range == 0 and result.sigma == 0
    assert len(result.changes) == (len(ALL) + 1) * 5  # (2 shifts x 2 axes + noise) per op
    for c in result.changes:
        assert (c.unchanged, c.mean_change, c.max_change) == (1.0, 0.0, 0.0), c


def test_a_shift_inside_the_max_window_leaves_max_unchanged_but_not_avg():
    x = peaks_at_odd_cells()
    result = inv.measure(
        x, ("max", "avg", "min"), WindowSpec.make(kernel_size=2), noise=0, shifts=(1,)
    )
    for label in ("shift 1 H", "shift 1 W"):
        assert by_label(result, Reduction.MAX)[label].unchanged == 1.0
        assert by_label(result, Reduction.MAX)[label].mean_change == 0.0
        assert by_label(result, Reduction.AVG)[label].unchanged == 0.0
        assert by_label(result, Reduction.MIN)[label].unchanged < 1.0
        # The input itself changes almost everywhere.
        assert by_label(result, None)[label].unchanged < 0.1


def test_numbers_against_direct_pool_calls():
    x = np.random.default_rng(1).random((5, 9))
    result = inv.measure(
        x, ("avg",), WindowSpec.make(kernel_size=3, stride=2), shifts=(2,), noise=0
    )
    a = pool(x[:, :7], "avg", kernel_size=3, stride=2).astype(np.float64)
    b = pool(x[:, 2:], "avg", kernel_size=3, stride=2).astype(np.float64)
    scale = x.max() - x.min()
    c = by_label(result, Reduction.AVG)["shift 2 W"]
    assert c.cells == a.size
    assert c.unchanged == np.mean(a == b)
    assert c.mean_change == pytest.approx(np.abs(a - b).mean() / scale)
    assert c.max_change == pytest.approx(np.abs(a - b).max() / scale)


def test_noise_is_seeded_scaled_to_the_range_and_kept_in_the_domain():
    x = np.random.default_rng(2).integers(0, 256, size=(16, 16)).astype(np.uint8)
    result = inv.measure(x, ("max",), WindowSpec.make(kernel_size=2), shifts=(), noise=0.02, seed=3)
    assert result.sigma == pytest.approx(0.02 * (int(x.max()) - int(x.min())))
    again = inv.measure(x, ("max",), WindowSpec.make(kernel_size=2), shifts=(), noise=0.02, seed=3)
    assert result.changes == again.changes
    noisy = inv.noised(x, result.sigma, 3)
    assert noisy.dtype == np.uint8
    # Noise of about 5 levels moves most cells and keeps the values in 0..255 (no wrapping).
    assert 0.5 < np.mean(noisy != x) < 1
    assert np.abs(noisy.astype(int) - x.astype(int)).max() < 40
    floats = inv.noised(np.zeros((50, 50)) + [0, 1] * 25, 0.5, 0)
    assert floats.min() >= 0  # inputs without negative values stay non-negative


def test_stochastic_sampling_is_seeded_so_unchanged_windows_stay_unchanged():
    x = np.full((4, 4), 2.0)
    x[::2] = 1.0
    result = inv.measure(
        x, ("stochastic",), WindowSpec.make(kernel_size=2), shifts=(2,), noise=0, seed=9
    )
    # A shift by the stride gives the same windows: the same samples.
    assert by_label(result, Reduction.STOCHASTIC)["shift 2 H"].unchanged == 1.0
    assert by_label(result, Reduction.STOCHASTIC)["shift 2 W"].unchanged == 1.0


def test_multichannel_and_3d_inputs_shift_along_every_spatial_axis():
    x = np.random.default_rng(0).random((2, 4, 5, 6))  # CDHW
    result = inv.measure(
        x, ("max",), WindowSpec.make(kernel_size=2), "CDHW", shifts=(1,), noise=0.01
    )
    assert [p.label for p in result.perturbations] == [
        "shift 1 D",
        "shift 1 H",
        "shift 1 W",
        "noise 1%",
    ]


def test_shifts_the_input_cannot_take_fail_that_input():
    # They depend on the input's size: the input fails (PoolError), the call is not wrong.
    x = np.zeros((4, 6))
    with pytest.raises(PoolError) as info:
        inv.measure(x, ("max",), WindowSpec.make(kernel_size=2), shifts=(4,))
    assert not isinstance(info.value, UsageError)
    assert str(info.value) == "--shifts 4 is not smaller than the input along H (4 cells)."
    with pytest.raises(PoolError) as info:
        inv.measure(x, ("max",), WindowSpec.make(kernel_size=3), shifts=(2,))
    assert not isinstance(info.value, UsageError)
    assert str(info.value).startswith(
        "--shifts 2: the input cropped by 2 cells along H no longer fits the window"
    )
    with pytest.raises(UsageError, match="--noise must be 0 or more"):
        inv.measure(x, ("max",), WindowSpec.make(kernel_size=2), noise=-1)


def test_an_op_that_cannot_pool_the_input_is_named():
    with pytest.raises(PoolError, match="^stochastic: holds negative values"):
        inv.measure(-np.ones((4, 4)), ("stochastic",), WindowSpec.make(kernel_size=2))


def test_options_reach_the_ops():
    x = np.random.default_rng(5).random((6, 6))
    p1 = inv.measure(
        x, ("lp",), WindowSpec.make(kernel_size=2), None, PoolOptions(norm_type=1), noise=0
    )
    p4 = inv.measure(
        x, ("lp",), WindowSpec.make(kernel_size=2), None, PoolOptions(norm_type=4), noise=0
    )
    assert p1.changes != p4.changes


# --------------------------------------------------------------------------------------------
# The invariance command


def test_cli_constant_image_table(cli, image):
    png = image(np.full((8, 8), 7, np.uint8), "flat.png")
    out = cli("invariance", png, "-k", "2", "--ops", "max,avg", "--shifts", "1").stdout
    rows = [line.split() for line in out.splitlines() if "%" in line and "|" not in line]
    # input, max and avg: shift 1 H, shift 1 W, noise 1%: nothing changes.
    assert len(rows) == 9
    assert all("100.0%" in row for row in rows), rows
    assert "nothing wraps around" in " ".join(out.split())


def test_cli_json_matches_the_library(cli, npy):
    x = peaks_at_odd_cells()
    name = npy(x, "peaks.npy")
    args = ("--ops", "max,avg", "--shifts", "1,2", "--noise", "0.05", "--seed", "4")
    printed = cli("invariance", name, "-k", "2", *args, "--json").stdout
    document = json.loads(printed)
    expected = inv.measure(
        x, ("max", "avg"), WindowSpec.make(kernel_size=2), shifts=(1, 2), noise=0.05, seed=4
    )
    # The one JSON schema's document, as the library's result gives it.
    assert printed == schema.dumps(documents.invariance_json(expected, name, x)) + "\n"
    assert document["input_dtype"] == "float64" and document["window"]["kernel_size"] == [2, 2]
    assert document["seed"] == 4 and document["sigma"] == pytest.approx(expected.sigma)
    assert len(document["changes"]) == len(expected.changes) == 15
    for got, c in zip(document["changes"], expected.changes):
        assert got["op"] == (None if c.op is None else str(c.op))
        assert (got["kind"], got["axis"]) == (c.perturbation.kind, c.perturbation.axis)
        assert got["unchanged"] == c.unchanged
        assert got["mean_change"] == pytest.approx(c.mean_change)
    max_shift_1 = [c for c in document["changes"] if c["op"] == "max" and c["amount"] == 1]
    assert [c["unchanged"] for c in max_shift_1] == [1.0, 1.0]


def test_cli_usage_errors(cli, seed_npy):
    result = cli("invariance", seed_npy, "-k", "2", "--shifts", "0", code=2)
    assert "poolcli: error: --shifts must be positive, got 0." in result.stderr
    result = cli("invariance", seed_npy, "-k", "2", "--noise", "-0.1", code=2)
    assert "poolcli: error: --noise must be 0 or more, got -0.1." in result.stderr
    result = cli("invariance", seed_npy, "-k", "2", "--shifts", "4", code=1)
    assert result.stderr == (
        "poolcli: error: seed.npy: --shifts 4 is not smaller than the input along H (4 cells).\n"
    )


def test_cli_viz(cli, seed_npy):
    result = cli("invariance", seed_npy, "-k", "2", "--shifts", "1,2", "--viz", "inv.png")
    assert result.stderr == "poolcli: wrote inv.png\n"
    from PIL import Image

    with Image.open("inv.png") as picture:
        assert picture.format == "PNG" and picture.width > picture.height
