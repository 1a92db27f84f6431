"""Stochastic pooling: seeds, samples drawn from real cells in proportion to their values."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import reference as ref
from oracle import engine, rng

from poolcli.engine.core import pool, run
from poolcli.errors import PoolError
from poolcli.model.options import PoolOptions
from poolcli.model.window import WindowSpec

# ============================================================================ stochastic


def test_stochastic_seed_reproducible():
    x = rng(18).random((3, 16, 16))
    a = pool(x, "stochastic", kernel_size=2, seed=7, layout="CHW")
    b = pool(x, "stochastic", kernel_size=2, seed=7, layout="CHW")
    c = pool(x, "stochastic", kernel_size=2, seed=8, layout="CHW")
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()
    assert a.dtype == np.float64


def test_stochastic_samples_are_window_values_never_padding():
    x = rng(19).random((1, 2, 7, 8)) + 0.5  # every value positive and distinct
    for window in (
        {"kernel_size": 3, "stride": 1, "padding": 1},
        {"kernel_size": 2, "stride": 2, "padding": ((1, 0), (0, 1)), "ceil_mode": True},
        {"kernel_size": 3, "stride": 2, "padding": "same", "dilation": 2},
    ):
        cells = ref.window_cells(
            x,
            window["kernel_size"],
            window.get("stride"),
            window.get("padding"),
            window.get("dilation"),
            window.get("ceil_mode", False),
        )
        for seed in range(5):
            got = engine(x, "stochastic", options=PoolOptions(seed=seed), **window)
            for idx, values in cells.items():
                for n, c in itertools.product(range(1), range(2)):
                    assert got[(n, c, *idx)] in set(values[n, c].tolist()), (window, idx)


def test_stochastic_all_zero_window_gives_zero():
    x = np.zeros((4, 4))
    x[2:, 2:] = [[1.0, 2.0], [3.0, 0.0]]
    for seed in range(10):
        got = pool(x, "stochastic", kernel_size=2, seed=seed)
        assert got[0, 0] == 0 and got[0, 1] == 0 and got[1, 0] == 0
        assert got[1, 1] in (1.0, 2.0, 3.0)  # a zero cell is never drawn
    got = pool(x, "stochastic", kernel_size=2, expectation=True)
    np.testing.assert_allclose(got, [[0, 0], [0, 14 / 6]])


def test_stochastic_refuses_negative_input():
    x = np.array([[1.0, -2.0], [3.0, 4.0]])
    with pytest.raises(PoolError) as info:
        pool(x, "stochastic", kernel_size=2, seed=0)
    assert "negative" in str(info.value)
    with pytest.raises(PoolError):
        pool(x, "stochastic", kernel_size=2, expectation=True)
    with pytest.raises(PoolError):
        pool(x.astype(np.int16), "stochastic", kernel_size=2, seed=0)


def test_stochastic_integer_input():
    x = np.array([[0, 5, 0, 0], [0, 0, 0, 9]], dtype=np.uint8)
    got = pool(x, "stochastic", kernel_size=2, seed=3)
    assert got.dtype == np.float32
    assert got.tolist() == [[5.0, 9.0]]


def chi_square(counts, probabilities):
    total = sum(counts)
    return sum(
        (c - total * p) ** 2 / (total * p)
        for c, p in zip(counts, probabilities, strict=True)
        if p > 0
    )


def test_stochastic_frequencies_follow_x_over_sum():
    # 6000 independent windows holding [1, 2, 3, 4] (with fixed seeds, so deterministic).
    # With 3 degrees of freedom, chi-square > 30 has probability ~1e-6 for a correct sampler.
    values = np.array([1.0, 2.0, 3.0, 4.0])
    x = np.tile(values, 6000)
    for seed in (0, 1):
        got = pool(x, "stochastic", kernel_size=4, seed=seed)
        counts = [int((got == v).sum()) for v in values]
        assert sum(counts) == 6000
        assert chi_square(counts, values / values.sum()) < 30, counts


def test_stochastic_frequencies_over_seeds_with_padding():
    # One padded 2-D window per call; padding must get no share, zeros none either.
    x = np.array([[0.0, 1.0], [3.0, 6.0]])
    counts = {0.0: 0, 1.0: 0, 3.0: 0, 6.0: 0}
    for seed in range(400):
        got = pool(x, "stochastic", kernel_size=3, padding="0:1x0:1", seed=seed)
        assert got.shape == (1, 1)
        counts[float(got[0, 0])] += 1
    assert counts[0.0] == 0
    assert chi_square([counts[1.0], counts[3.0], counts[6.0]], [0.1, 0.3, 0.6]) < 30, counts


def test_rgba_sampling_never_takes_colour_from_transparent_cells():
    # Left half opaque red, right half transparent blue: straight sampling picks blue now and
    # then, alpha-weighted sampling never does, and keeps the picked cell's own colour.
    x = np.zeros((4, 4, 4), np.uint8)
    x[:, :2] = (255, 0, 0, 255)
    x[:, 2:] = (0, 0, 255, 0)
    spec = WindowSpec.make(kernel_size=4)
    weighted = {
        tuple(run(x, "stochastic", spec, "HWC", PoolOptions(seed=s), alpha=True).output.ravel())
        for s in range(40)
    }
    straight = {
        tuple(run(x, "stochastic", spec, "HWC", PoolOptions(seed=s)).output.ravel())
        for s in range(40)
    }
    assert weighted == {(255.0, 0.0, 0.0, 255.0)}
    assert any(values[2] == 255.0 for values in straight)


def test_rgba_sampling_of_an_all_transparent_window_gives_no_colour():
    x = np.full((2, 2, 4), 200, np.uint8)
    x[..., 3] = 0
    result = run(
        x, "stochastic", WindowSpec.make(kernel_size=2), "HWC", PoolOptions(seed=1), alpha=True
    )
    assert result.output.ravel().tolist() == [0.0, 0.0, 0.0, 0.0]
