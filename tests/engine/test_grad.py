"""Gradients of pooling (poolcli.engine.grad) against hand-computed cases, gradcheck and the
winners.

Hand-computed cases follow the seed article 000 (sections 3.3 and 4.3): max sends the
upstream gradient to the window's maximum, avg spreads it as 1/|R| over the window.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from poolcli.engine import grad, ops
from poolcli.engine.core import pool, run
from poolcli.errors import PoolError, UsageError
from poolcli.model.layout import Layout
from poolcli.model.options import PoolOptions
from poolcli.model.reductions import Reduction
from poolcli.model.window import WindowSpec, resolve

# The 4x4 feature map of seed article 000, section 3.1.
SEED = np.array([[1, 3, 2, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]])

WINDOWINGS = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=1, padding=1),
    dict(kernel_size=3, stride=2, padding=1, count_include_pad=True),
    dict(kernel_size=2, stride=1, dilation=2),
    dict(kernel_size=2, stride=2, ceil_mode=True),
    dict(kernel_size=(3, 2), stride=(2, 1), padding="0:1x1:0"),
    dict(output_size=(3, 2)),
    dict(global_pool=True),
]


def distinct(shape, seed=0):
    """Values without ties: a shuffled range, scaled into (0.1, 1.1)."""
    values = np.random.default_rng(seed).permutation(int(np.prod(shape))).astype(np.float64)
    return (values / values.size + 0.1).reshape(shape)


def grad_of(x, reduction, upstream=None, layout=None, options=None, **window):
    return grad.gradient(
        x, reduction, WindowSpec.make(**window), layout, options, upstream=upstream
    )


# --------------------------------------------------------------------------------------------
# Hand-computed cases


def test_max_sends_each_upstream_value_to_its_window_maximum():
    result = grad_of(SEED, "max", upstream=np.array([[1.0, 2.0], [3.0, 4.0]]), kernel_size=2)
    expected = np.array([[0, 0, 0, 0], [0, 1, 0, 2], [0, 0, 0, 0], [0, 3, 0, 4]], dtype=np.float64)
    np.testing.assert_array_equal(result.grad, expected)
    np.testing.assert_array_equal(result.output, [[6, 8], [14, 16]])
    assert result.upstream_given


def test_avg_spreads_one_over_window_size():
    result = grad_of(SEED, "avg", upstream=np.array([[4.0, 8.0], [12.0, 16.0]]), kernel_size=2)
    expected = np.kron(np.array([[1.0, 2.0], [3.0, 4.0]]), np.ones((2, 2)))
    np.testing.assert_array_equal(result.grad, expected)
    np.testing.assert_array_equal(result.output, [[3.75, 5.25], [11.5, 13.5]])


def test_avg_with_padding_counts_only_real_cells_unless_asked():
    # 3x3 windows, stride 1, padding 1 on a 4x4 input: a corner cell lies in four windows
    # holding 4, 6, 6 and 9 real cells.
    x = np.zeros((4, 4))
    plain = grad_of(x, "avg", kernel_size=3, stride=1, padding=1).grad
    assert plain[0, 0] == pytest.approx(1 / 4 + 1 / 6 + 1 / 6 + 1 / 9)
    assert plain[1, 1] == pytest.approx(1 / 4 + 2 / 6 + 2 / 6 + 4 / 9)
    counted = grad_of(x, "avg", kernel_size=3, stride=1, padding=1, count_include_pad=True).grad
    assert counted[0, 0] == pytest.approx(4 / 9)
    assert counted[1, 1] == pytest.approx(1.0)
    # Every window hands out its whole upstream value only when padding is not counted.
    assert plain.sum() == pytest.approx(16)
    assert counted.sum() < 16


def test_overlapping_max_windows_add_up():
    x = np.array([1.0, 5.0, 2.0, 0.0, 3.0])
    result = grad_of(x, "max", layout="W", kernel_size=3, stride=1)
    np.testing.assert_array_equal(result.output, [5, 5, 3])
    np.testing.assert_array_equal(result.grad, [0, 2, 0, 0, 1])


def test_sum_gives_every_real_cell_the_whole_upstream_value():
    x = distinct((3, 4))
    result = grad_of(x, "sum", kernel_size=2, stride=1, padding=1)
    # A cell of a 3x4 input is in 2x2 windows (stride 1, padding 1): always 4 of them.
    np.testing.assert_array_equal(result.grad, np.full((3, 4), 4.0))


def test_median_and_mode_send_the_gradient_to_the_cell_the_value_comes_from():
    x = np.array([[4.0, 1.0], [3.0, 2.0]])
    median = grad_of(x, "median", kernel_size=2).grad
    np.testing.assert_array_equal(median, [[0, 0], [0, 1]])  # lower median 2
    labels = np.array([[7.0, 2.0], [2.0, 5.0]])
    mode = grad_of(labels, "mode", kernel_size=2).grad
    assert mode.sum() == 1 and labels[mode == 1] == [2.0]


def test_stochastic_sampling_and_expectation():
    x = distinct((4, 4))
    options = PoolOptions(seed=5)
    sampled = grad_of(x, "stochastic", options=options, kernel_size=2)
    winners = grad.unpool(x, "stochastic", WindowSpec.make(kernel_size=2), options=options)
    np.testing.assert_array_equal(sampled.grad, winners.wins)
    np.testing.assert_array_equal(sampled.output, pool(x, "stochastic", kernel_size=2, seed=5))

    # d/dx_i of Σx²/Σx = (2 x_i Σx − Σx²) / (Σx)²
    window = np.array([[1.0, 2.0], [3.0, 0.0]])
    expectation = grad_of(
        window, "stochastic", options=PoolOptions(expectation=True), kernel_size=2
    )
    total, squares = window.sum(), (window**2).sum()
    np.testing.assert_allclose(expectation.grad, (2 * window * total - squares) / total**2)
    zero = grad_of(
        np.zeros((2, 2)), "stochastic", options=PoolOptions(expectation=True), kernel_size=2
    )
    np.testing.assert_array_equal(zero.grad, np.zeros((2, 2)))


def test_lp_gradient_closed_form_and_undefined_at_zero():
    x = np.array([[1.0, -2.0], [2.0, 4.0]])
    p = 3.0
    result = grad_of(x, "lp", options=PoolOptions(norm_type=p), kernel_size=2)
    y = (np.abs(x) ** p).sum() ** (1 / p)
    np.testing.assert_allclose(result.grad, np.sign(x) * np.abs(x) ** (p - 1) / y ** (p - 1))
    assert result.undefined == 0
    zero = grad_of(np.zeros((2, 4)), "lp", kernel_size=2)
    assert zero.undefined == 8
    assert "NaN where a window is all 0" in zero.rule


# --------------------------------------------------------------------------------------------
# Against torch.autograd.gradcheck and the engine's own winners


def _gradcheck(x, reduction, options=None, **window):
    spec = WindowSpec.make(**window)
    layout = Layout("HW")
    windows = resolve(spec, x.shape, "HW")
    options = options or PoolOptions()

    def f(t):
        return grad.differentiable_pool(
            t, Reduction(reduction), windows, layout, spec.count_include_pad, options
        )

    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(f, (t,), eps=1e-6, atol=1e-5)


@pytest.mark.parametrize("window", WINDOWINGS, ids=str)
@pytest.mark.parametrize("reduction", ["avg", "sum", "lp", "max", "min"])
def test_gradcheck(reduction, window):
    # Distinct values: max and min have no ties, lp no zero window.
    _gradcheck(distinct((5, 6)), reduction, **window)


def test_gradcheck_lp_p3_and_stochastic_expectation():
    _gradcheck(distinct((5, 6)), "lp", PoolOptions(norm_type=3.0), kernel_size=3, stride=2)
    _gradcheck(distinct((5, 6)), "stochastic", PoolOptions(expectation=True), kernel_size=2)


@pytest.mark.parametrize("window", WINDOWINGS, ids=str)
@pytest.mark.parametrize("reduction", ["max", "min", "median", "mode"])
def test_gradient_lands_on_the_engines_winners(reduction, window):
    """Without ties, the gradient of ones is how many windows each cell won."""
    x = distinct((5, 6), seed=3)
    spec = WindowSpec.make(**window)
    result = grad.gradient(x, reduction, spec)
    winners = grad.unpool(x, reduction, spec)
    np.testing.assert_array_equal(result.grad, winners.wins)
    np.testing.assert_array_equal(result.output, run(x, reduction, spec).output)


def test_gradient_matches_finite_differences_of_the_real_op():
    x = distinct((4, 5), seed=7)
    upstream = np.random.default_rng(1).normal(size=(4, 5))
    window = dict(kernel_size=3, stride=1, padding="same")
    for reduction in ("avg", "lp", "max"):
        result = grad_of(x, reduction, upstream=upstream, **window)
        numeric = np.zeros_like(x)
        for index in np.ndindex(x.shape):
            step = np.zeros_like(x)
            step[index] = 1e-6
            up = pool(x + step, reduction, **window)  # x is float64: computed in float64
            down = pool(x - step, reduction, **window)
            numeric[index] = ((up - down) * upstream).sum() / 2e-6
        np.testing.assert_allclose(result.grad, numeric, atol=1e-6)


# --------------------------------------------------------------------------------------------
# Ties


def test_tied_maxima_give_the_whole_gradient_to_the_first_one_on_every_windowing():
    """The tie rule: of tied maxima (minima), the first in window order gets it all.

    As torch's max_pool does, and the same cell --unpool keeps. The engine's taps path would
    halve the gradient at each tie in tap order and the global path's amax would split it
    evenly; under autograd max and min take the gather path on every windowing instead.
    """
    ones = np.ones((4, 6))
    first = np.zeros((4, 6))
    first[::2, ::2] = 1
    for reduction in ("max", "min"):
        np.testing.assert_array_equal(grad_of(ones, reduction, kernel_size=2).grad, first)
        one = grad_of(ones, reduction, global_pool=True).grad
        assert one[0, 0] == 1 and one.sum() == 1
    # Overlapping windows: the centre cell is the first cell of one window only.
    overlap = grad_of(np.ones((3, 3)), "max", kernel_size=2, stride=1).grad
    np.testing.assert_array_equal(overlap, [[1, 1, 0], [1, 1, 0], [0, 0, 0]])
    # The same as torch's max_pool2d on the tied window.
    t = torch.ones((1, 1, 2, 2), dtype=torch.float64, requires_grad=True)
    F.max_pool2d(t, 2).sum().backward()
    np.testing.assert_array_equal(grad_of(np.ones((2, 2)), "max", kernel_size=2).grad, t.grad[0, 0])


@pytest.mark.parametrize("window", WINDOWINGS, ids=str)
@pytest.mark.parametrize("reduction", ["max", "min"])
def test_with_ties_the_gradient_still_lands_on_the_engines_winners(reduction, window):
    x = np.random.default_rng(4).integers(0, 3, size=(5, 6)).astype(np.float64)
    spec = WindowSpec.make(**window)
    np.testing.assert_array_equal(
        grad.gradient(x, reduction, spec).grad, grad.unpool(x, reduction, spec).wins
    )


@pytest.mark.parametrize("window", WINDOWINGS, ids=str)
@pytest.mark.parametrize("reduction", ["median", "mode"])
def test_with_ties_median_and_mode_send_each_window_to_one_cell_of_its_value(reduction, window):
    x = np.random.default_rng(4).integers(0, 3, size=(5, 6)).astype(np.float64)
    spec = WindowSpec.make(**window)
    output = run(x, reduction, spec).output
    for index in np.ndindex(output.shape):
        upstream = np.zeros(output.shape)
        upstream[index] = 1
        g = grad.gradient(x, reduction, spec, upstream=upstream).grad
        assert g.sum() == 1 and np.count_nonzero(g) == 1
        assert x[g == 1] == [output[index]]


# --------------------------------------------------------------------------------------------
# Layouts, images, errors


def test_channels_and_batch_items_are_independent():
    x = distinct((2, 3, 4, 4))  # NCHW
    result = grad_of(x, "max", kernel_size=2)
    assert result.grad.shape == x.shape
    for n in range(2):
        for c in range(3):
            alone = grad_of(x[n, c], "max", kernel_size=2).grad
            np.testing.assert_array_equal(result.grad[n, c], alone)
    hwc = grad_of(x[0].transpose(1, 2, 0), "avg", layout="HWC", kernel_size=2).grad
    np.testing.assert_array_equal(hwc, np.full((4, 4, 3), 0.25))


def test_rgba_averaging_goes_through_the_alpha_rule_like_the_real_op():
    rgba = np.random.default_rng(0).integers(0, 256, size=(4, 4, 4)).astype(np.uint8)
    spec = WindowSpec.make(kernel_size=2)
    result = grad.gradient(rgba, "avg", spec, "HWC", alpha=True)
    real = run(rgba, "avg", spec, "HWC", alpha=True).output
    np.testing.assert_allclose(result.output, real, rtol=1e-5)
    straight = grad.gradient(
        rgba, "avg", spec, "HWC", alpha=True, options=PoolOptions(straight_alpha=True)
    )
    np.testing.assert_array_equal(straight.grad, np.full(rgba.shape, 0.25))
    assert not np.allclose(result.grad, straight.grad)


def test_integer_input_gives_float64_gradient():
    result = grad_of(SEED.astype(np.uint8), "max", kernel_size=2)
    assert result.grad.dtype == np.float64
    assert result.input_dtype == "uint8"


def test_upstream_of_the_wrong_shape_fails_the_input():
    with pytest.raises(PoolError) as info:
        grad_of(SEED, "max", upstream=np.ones((3, 3)), kernel_size=2)
    assert not isinstance(info.value, UsageError)  # it depends on the input's shape
    assert str(info.value) == (
        "--upstream has shape 3x3 but the pooled output has shape 2x2: give one value per "
        "output cell, in the input's layout."
    )


def test_stochastic_on_negative_input_is_an_error():
    with pytest.raises(PoolError, match="negative values"):
        grad_of(-SEED.astype(float), "stochastic", kernel_size=2)


# --------------------------------------------------------------------------------------------
# Unpooling


def test_unpool_seed_matrix():
    result = grad.unpool(SEED, "max", WindowSpec.make(kernel_size=2))
    expected = np.array([[0, 0, 0, 0], [0, 6, 0, 8], [0, 0, 0, 0], [0, 14, 0, 16]])
    np.testing.assert_array_equal(result.kept, expected)
    assert result.kept.dtype == SEED.dtype
    assert result.kept_cells == 4


@pytest.mark.parametrize(
    "window",
    [dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1), dict(kernel_size=3, stride=2)],
    ids=str,
)
def test_unpool_matches_torch_max_unpool(window):
    x = distinct((2, 5, 6))
    spec = WindowSpec.make(**window)
    result = grad.unpool(x, "max", spec, "CHW")
    t = torch.from_numpy(x)
    kernel, stride = window["kernel_size"], window.get("stride", window["kernel_size"])
    padding = window.get("padding", 0)
    pooled, indices = F.max_pool2d(t, kernel, stride, padding, return_indices=True)
    expected = F.max_unpool2d(pooled, indices, kernel, stride, padding, output_size=x.shape[1:])
    np.testing.assert_array_equal(result.kept, expected.numpy())
    # Kept cells hold their input value; the others were dropped.
    np.testing.assert_array_equal(result.kept[result.wins > 0], x[result.wins > 0])


def test_unpool_min_median_mode_and_adaptive_windows():
    x = distinct((5, 7), seed=2)
    for reduction in ("min", "median", "mode"):
        result = grad.unpool(x, reduction, WindowSpec.make(output_size=(2, 3)))
        assert result.wins.sum() == 6
        # Adaptive bins overlap (5 rows into 2 bins: 0:3 and 2:5), so a cell can win twice.
        won = result.wins > 0
        kept = np.sort(np.repeat(result.kept[won], result.wins[won]))
        np.testing.assert_array_equal(kept, np.sort(result.pooled.output.reshape(-1)))


def test_unpool_needs_a_winning_cell():
    with pytest.raises(UsageError, match="--unpool needs a reduction whose result is one input"):
        grad.unpool(SEED, "avg", WindowSpec.make(kernel_size=2))
    with pytest.raises(UsageError, match="not stochastic --expectation"):
        grad.unpool(
            SEED,
            "stochastic",
            WindowSpec.make(kernel_size=2),
            options=PoolOptions(expectation=True),
        )


def test_unpool_stochastic_without_seed_agrees_with_its_own_pooling():
    x = distinct((4, 4))
    result = grad.unpool(x, "stochastic", WindowSpec.make(kernel_size=2))
    kept = result.kept[result.wins > 0]
    np.testing.assert_array_equal(np.sort(kept), np.sort(result.pooled.output.reshape(-1)))


def test_ops_module_is_the_engine_used():
    # grad differentiates the same function the commands run: the forward values agree with
    # ops.pool_array on every windowing.
    x = distinct((5, 6))
    layout = Layout("HW")
    for window in WINDOWINGS:
        spec = WindowSpec.make(**window)
        windows = resolve(spec, x.shape, "HW")
        for reduction in ("max", "avg", "lp", "median"):
            expected, _ = ops.pool_array(
                x, Reduction(reduction), windows, layout, count_include_pad=spec.count_include_pad
            )
            np.testing.assert_allclose(grad.gradient(x, reduction, spec).output, expected)


# --------------------------------------------------------------------------------------------
# The grad command


def test_cli_prints_the_seed_gradient(cli, seed_npy):
    result = cli("grad", seed_npy, "-k", "2")
    out = result.stdout
    assert "max over seed.npy: 4×4 int64, layout HW (guessed); kernel 2x2, stride 2x2 → 2×2" in out
    assert "of tied cells, the first in window order" in " ".join(out.split())
    gradient = out.split("\ngradient\n", 1)[1]
    assert gradient.startswith("  0  0  0  0\n  0  1  0  1\n  0  0  0  0\n  0  1  0  1\n")
    assert "Σ gradient = 4, Σ upstream = 4" in out
    assert result.stderr == ""


def test_cli_upstream_and_output(cli, npy, seed_npy):
    up = npy(np.array([[1.0, 2.0], [3.0, 4.0]]), "up.npy")
    result = cli("grad", seed_npy, "--op", "avg", "-k", "2", "--upstream", up, "-o", "g.npy")
    assert result.stdout == ""
    assert result.stderr == "poolcli: wrote g.npy: the gradient of seed.npy\n"
    written = np.load("g.npy")
    assert written.dtype == np.float64
    np.testing.assert_array_equal(written, np.kron([[1, 2], [3, 4]], np.ones((2, 2))) / 4)


def test_cli_upstream_shape_mismatch(cli, npy, seed_npy):
    up = npy(np.ones((3, 3)), "up.npy")
    result = cli("grad", seed_npy, "-k", "2", "--upstream", up, code=1)
    assert result.stderr == (
        "poolcli: error: seed.npy: --upstream has shape 3x3 but the pooled output has shape "
        "2x2: give one value per output cell, in the input's layout.\n"
    )


def test_cli_gradient_is_written_as_npy_only(cli, seed_npy):
    result = cli("grad", seed_npy, "-k", "2", "-o", "g.png", code=2)
    assert "-o g.png: the gradient is written as .npy (exact float64 values)" in result.stderr
    assert not os.path.exists("g.png")


def test_cli_unpool(cli, seed_npy, image):
    result = cli("grad", seed_npy, "-k", "2", "--unpool")
    assert (
        "unpooled (kept values, 0 elsewhere)\n   0   0   0   0\n   0   6   0   8\n" in result.stdout
    )
    assert "Pooling kept 4 of 16 input cells (25.0%)." in result.stdout
    picture = np.arange(36, dtype=np.uint8).reshape(6, 6)
    png = image(picture, "p.png")
    result = cli("grad", png, "-k", "3", "--unpool", "-o", "kept.png", "--viz", "kept_viz.png")
    assert result.stderr == (
        "poolcli: wrote kept.png: what pooling kept of p.png\npoolcli: wrote kept_viz.png\n"
    )
    from PIL import Image

    kept = np.asarray(Image.open("kept.png"))
    expected = np.zeros_like(picture)
    expected[2::3, 2::3] = picture[2::3, 2::3]
    np.testing.assert_array_equal(kept, expected)


def test_cli_usage_errors(cli, seed_npy):
    result = cli("grad", seed_npy, "--op", "avg", "-k", "2", "--unpool", code=2)
    assert "--unpool needs a reduction whose result is one input cell" in result.stderr
    result = cli("grad", seed_npy, "-k", "2", "--unpool", "--upstream", seed_npy, code=2)
    assert "poolcli: error: --upstream and --unpool do not go together" in result.stderr
    result = cli("grad", seed_npy, "-k", "2", "--viz", "g.txt", code=2)
    assert "poolcli: error: --viz g.txt: give a picture file name ending in .png" in result.stderr
    result = cli("grad", seed_npy, "-k", "5", code=1)  # depends on the input: it fails
    assert "poolcli: error: seed.npy: --kernel 5x5 is larger than the padded input 4x4." in (
        result.stderr
    )


def test_cli_missing_input_exits_1(cli, workdir):
    result = cli("grad", "nope.npy", "-k", "2", code=1)
    assert result.stderr == "poolcli: error: nope.npy: No such file.\n"


def test_cli_large_input_shows_corners(cli, npy):
    big = npy(distinct((40, 40)), "big.npy")
    out = cli("grad", big, "-k", "2").stdout
    assert "gradient, top-left corner" in out
    assert "too large to show in full" in out


def test_cli_viz_draws_input_output_and_gradient(cli, seed_npy):
    result = cli("grad", seed_npy, "-k", "2", "--viz", "g.png")
    assert result.stderr == "poolcli: wrote g.png\n"
    from PIL import Image

    with Image.open("g.png") as picture:
        assert picture.format == "PNG" and picture.width > 3 * picture.height / 2
