"""poolcli.learn.compare: per-op statistics and pairwise differences, against direct pool calls."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from poolcli.engine.core import pool
from poolcli.errors import PoolError, UsageError
from poolcli.learn import compare as cmp
from poolcli.model.options import PoolOptions
from poolcli.model.reductions import Reduction
from poolcli.model.window import WindowSpec
from poolcli.render import documents, schema

SEED = np.array([[1, 3, 2, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]])


def test_parse_ops():
    assert cmp.parse_ops(None) == cmp.DEFAULT_OPS
    assert cmp.parse_ops("max,avg,max") == (Reduction.MAX, Reduction.AVG)
    assert cmp.parse_ops(" Median , lp ") == (Reduction.MEDIAN, Reduction.LP)
    assert cmp.parse_ops("all") == tuple(Reduction)
    with pytest.raises(UsageError) as info:
        cmp.parse_ops("max,mean")
    assert info.value.option == "--ops"
    assert str(info.value) == (
        "--ops max,mean: mean is not a reduction; use a comma-separated list of max, avg, min, "
        "sum, lp, median, stochastic, mode, gem, or all."
    )
    with pytest.raises(UsageError, match="names no reduction"):
        cmp.parse_ops(",")


def test_seed_matrix_by_hand():
    c = cmp.compare(SEED, ("max", "avg", "min"), WindowSpec.make(kernel_size=2))
    assert c.ops == (Reduction.MAX, Reduction.AVG, Reduction.MIN)
    by_op = {s.op: s for s in c.stats}
    # max [[6, 8], [14, 16]], avg [[3.75, 5.25], [11.5, 13.5]], min [[1, 2], [9, 11]]
    assert (by_op[Reduction.MAX].min, by_op[Reduction.MAX].max) == (6, 16)
    assert by_op[Reduction.AVG].mean == pytest.approx(8.5)
    assert by_op[Reduction.MIN].mean == pytest.approx(5.75)
    pairs = {(p.a, p.b): p for p in c.pairs}
    assert list(pairs) == [
        (Reduction.MAX, Reduction.AVG),
        (Reduction.MAX, Reduction.MIN),
        (Reduction.AVG, Reduction.MIN),
    ]
    assert pairs[Reduction.MAX, Reduction.MIN].mean_abs == pytest.approx((5 + 6 + 5 + 5) / 4)
    assert pairs[Reduction.MAX, Reduction.MIN].max_abs == 6


WINDOWS = [
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=2, stride=1, dilation=2, ceil_mode=True),
    dict(output_size=(3, 2)),
    dict(global_pool=True),
]


@pytest.mark.parametrize("window", WINDOWS, ids=str)
def test_numbers_equal_direct_pool_calls(window):
    x = np.random.default_rng(0).random((2, 7, 6)).astype(np.float32)  # CHW
    ops = tuple(Reduction)
    options = PoolOptions(norm_type=3.0, seed=4)
    c = cmp.compare(x, ops, WindowSpec.make(**window), "CHW", options)
    outputs = {
        op: pool(x, op, layout="CHW", norm_type=3.0, seed=4, **window).astype(np.float64)
        for op in ops
    }
    for op, result in c.results.items():
        np.testing.assert_array_equal(result.output, outputs[op].astype(result.output.dtype))
    for s in c.stats:
        out = outputs[s.op]
        assert (s.min, s.max) == (out.min(), out.max())
        assert s.mean == pytest.approx(out.mean())
        assert s.std == pytest.approx(out.std())
        assert s.nan == 0
    assert len(c.pairs) == len(list(itertools.combinations(ops, 2)))
    for p in c.pairs:
        diff = np.abs(outputs[p.a] - outputs[p.b])
        assert p.mean_abs == pytest.approx(diff.mean())
        assert p.max_abs == pytest.approx(diff.max())


def test_integer_outputs_keep_their_dtype_and_differences_do_not_wrap():
    x = np.array([[0, 255], [255, 0]], dtype=np.uint8)
    c = cmp.compare(x, ("max", "min", "sum"), WindowSpec.make(kernel_size=2))
    assert c.results[Reduction.MAX].output.dtype == np.uint8
    pairs = {(p.a, p.b): p for p in c.pairs}
    assert pairs[Reduction.MAX, Reduction.MIN].max_abs == 255  # not 1 (uint8 0 - 255 wraps)
    assert pairs[Reduction.MAX, Reduction.SUM].max_abs == 255


def test_nan_is_counted_and_left_out():
    x = np.array([[1.0, 2.0, 3.0, 4.0], [5.0, np.nan, 7.0, 8.0]])
    c = cmp.compare(x, ("max", "min"), WindowSpec.make(kernel_size=2))
    s = c.stats[0]
    assert s.nan == 1 and (s.min, s.max) == (8.0, 8.0)
    # Only the window without NaN is compared: max 8 - min 3.
    assert (c.pairs[0].mean_abs, c.pairs[0].max_abs) == (5.0, 5.0)


def test_an_op_that_cannot_pool_the_input_is_named():
    with pytest.raises(PoolError) as info:
        cmp.compare(-SEED, ("max", "stochastic"), WindowSpec.make(kernel_size=2))
    assert str(info.value).startswith("stochastic: holds negative values")


def test_windows_that_do_not_fit_are_a_usage_error():
    with pytest.raises(UsageError, match="larger than the padded input"):
        cmp.compare(SEED, ("max",), WindowSpec.make(kernel_size=5))


# --------------------------------------------------------------------------------------------
# The compare command


def test_cli_table(cli, seed_npy):
    out = cli("compare", seed_npy, "-k", "2", "--ops", "max,avg,min").stdout
    lines = [line.split() for line in out.splitlines()]
    assert ["max", "6", "16", "11", "4.12311"] in lines
    avg_std = f"{np.std([3.75, 5.25, 11.5, 13.5]):.6g}"
    assert ["avg", "3.75", "13.5", "8.5", avg_std] in lines
    assert ["max", "−", "min", "5.25", "6"] in lines
    assert "compare max, avg, min on seed.npy" in out


def test_cli_json_matches_the_library(cli, npy):
    x = np.random.default_rng(0).random((3, 6, 6)).astype(np.float32)
    name = npy(x, "f.npy")
    printed = cli(
        "compare", name, "--ops", "all", "-k", "3", "-s", "2", "--seed", "1", "--json"
    ).stdout
    document = json.loads(printed)
    expected = cmp.compare(
        x, tuple(Reduction), WindowSpec.make(kernel_size=3, stride=2), options=PoolOptions(seed=1)
    )
    # The one JSON schema's document, as the library's result gives it.
    assert printed == schema.dumps(documents.compare_json(expected, name, x)) + "\n"
    assert document["input_dtype"] == "float32" and document["window"]["stride"] == [2, 2]
    assert document["ops"] == [str(r) for r in Reduction]
    assert document["layout"] == "CHW" and document["output_shape"] == [3, 2, 2]
    for got, s in zip(document["stats"], expected.stats):
        assert got["op"] == str(s.op)
        assert got["mean"] == pytest.approx(s.mean) and got["std"] == pytest.approx(s.std)
    for got, p in zip(document["pairs"], expected.pairs):
        assert (got["a"], got["b"]) == (str(p.a), str(p.b))
        assert got["max_abs"] == pytest.approx(p.max_abs)


def test_cli_errors(cli, seed_npy, npy):
    result = cli("compare", seed_npy, "-k", "2", "--ops", "max,mean", code=2)
    assert "poolcli: error: --ops max,mean: mean is not a reduction" in result.stderr
    negative = npy(-np.ones((4, 4)), "neg.npy")
    result = cli("compare", negative, "-k", "2", "--ops", "max,stochastic", code=1)
    assert result.stderr.startswith("poolcli: error: neg.npy: stochastic: holds negative values")


def test_cli_viz(cli, seed_npy):
    result = cli("compare", seed_npy, "-k", "2", "--viz", "ops.png")
    assert result.stderr == "poolcli: wrote ops.png\n"
    from PIL import Image

    with Image.open("ops.png") as picture:
        # The input and five ops side by side.
        assert picture.width > 4 * picture.height
