"""Blockwise pooling equals the in-memory engine for every reduction and windowing, whatever
the block size (property tests with tiny memory budgets that force many blocks)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from poolcli.blocks import pool_blockwise
from poolcli.engine.core import run
from poolcli.errors import PoolError, UsageError
from poolcli.model.blocks import parse_size, plan_blocks
from poolcli.model.options import PoolOptions
from poolcli.model.window import WindowSpec, resolve

REDUCTIONS = ("max", "avg", "min", "sum", "lp", "median", "stochastic", "mode")
LAYOUTS = {1: ("W", "NCW", "WC"), 2: ("HW", "CHW", "HWC", "NHWC"), 3: ("DHW", "CDHW")}
SETTINGS = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)


@st.composite
def windowings(draw, nd: int):
    """Window keyword arguments of any kind: sliding (padding, dilation, ceil) or adaptive."""
    if draw(st.integers(0, 5)) == 0:
        return {"output_size": tuple(draw(st.integers(1, 4)) for _ in range(nd))}
    kernel = tuple(draw(st.integers(1, 4)) for _ in range(nd))
    kwargs = {
        "kernel_size": kernel,
        "stride": tuple(draw(st.integers(1, 3)) for _ in range(nd)),
        "dilation": tuple(draw(st.integers(1, 2)) for _ in range(nd)),
        "count_include_pad": draw(st.booleans()),
    }
    pads = draw(
        st.one_of(
            st.just("same"),
            st.tuples(*[st.tuples(st.integers(0, 2), st.integers(0, 2)) for _ in range(nd)]),
        )
    )
    kwargs["padding"] = pads
    kwargs["ceil_mode"] = pads != "same" and draw(st.booleans())
    return kwargs


@st.composite
def cases(draw):
    nd = draw(st.integers(1, 3))
    layout = draw(st.sampled_from(LAYOUTS[nd]))
    sizes = {"D": (1, 6), "H": (1, 9), "W": (1, 11), "N": (1, 2), "C": (1, 3)}
    shape = tuple(draw(st.integers(*sizes[c])) for c in layout)
    reduction = draw(st.sampled_from(REDUCTIONS))
    dtype = draw(st.sampled_from(["float32", "float64", "uint8", "int32", "float16"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if reduction == "mode":
        x = rng.integers(0, 3, size=shape).astype(dtype)
    else:
        x = (rng.random(shape) * 50).astype(dtype)
    kwargs = draw(windowings(nd))
    return x, layout, reduction, kwargs, draw(st.integers(1, 4000))


@SETTINGS
@given(cases())
def test_blockwise_equals_in_memory(case):
    x, layout, reduction, kwargs, budget = case
    spec = WindowSpec.make(**kwargs)
    options = PoolOptions(seed=7, expectation=False)
    try:
        whole = run(x, reduction, spec, layout, options).output
    except (UsageError, PoolError):
        assume(False)
    try:
        blocks = pool_blockwise(
            x, reduction, spec, layout=layout, options=options, max_memory=budget
        )
    except PoolError as error:
        assert "--max-memory" in str(error)
        return
    assert blocks.output.dtype == whole.dtype
    np.testing.assert_array_equal(blocks.output, whole)


def test_a_block_that_is_one_window_adds_as_the_whole_array_does():
    """A 2×2 block holding one window is not pooled as a global window: the global path adds
    the cells in another order, which changed a float average in its last bit."""
    x = np.array([[31.848083, 13.489336, 2.0486763], [0.8263818, 40.663513, 45.63778]], np.float32)
    spec = WindowSpec.make(kernel_size=2, stride=1, padding="same")
    whole = run(x, "avg", spec, "HW", PoolOptions()).output
    blocks = pool_blockwise(x, "avg", spec, layout="HW", options=PoolOptions(), max_memory=127)
    assert blocks.plan.count > 1
    np.testing.assert_array_equal(blocks.output, whole)


def test_many_blocks_with_halo_and_edges():
    x = np.random.default_rng(0).random((37, 29)).astype(np.float32)
    spec = WindowSpec.make(kernel_size=3, stride=2, padding="1:2x0:1", dilation=2, ceil_mode=True)
    for reduction in REDUCTIONS[:-1]:
        options = PoolOptions(seed=3)
        whole = run(x, reduction, spec, "HW", options).output
        blocks = pool_blockwise(x, reduction, spec, layout="HW", options=options, max_memory=3000)
        assert blocks.plan.count > 4
        np.testing.assert_array_equal(blocks.output, whole)


def test_stochastic_without_seed_samples_one_stream_across_blocks():
    x = np.ones((8, 8), np.float32)
    spec = WindowSpec.make(kernel_size=2)
    out = pool_blockwise(x, "stochastic", spec, max_memory=900).output
    np.testing.assert_array_equal(out, np.ones((4, 4), np.float32))


def test_a_budget_below_one_window_is_a_clear_error():
    x = np.zeros((64, 64), np.float32)
    with pytest.raises(PoolError, match=r"--max-memory .* is too small.*Give at least"):
        pool_blockwise(x, "max", WindowSpec.make(kernel_size=8), max_memory=100)


def test_global_needs_the_whole_input_in_one_block():
    x = np.zeros((64, 64), np.float32)
    with pytest.raises(PoolError, match="--max-memory"):
        pool_blockwise(x, "max", WindowSpec.make(global_pool=True), max_memory=4000)
    out = pool_blockwise(x, "max", WindowSpec.make(global_pool=True), max_memory=2**20)
    assert out.output.shape == (1, 1)


def test_plan_cuts_the_first_axis_first_and_aligns():
    windows = resolve(WindowSpec.make(kernel_size=2), (1000, 1000))
    plan = plan_blocks(windows, 1, 4, 10**6, align=(16, 16))
    assert plan.per_block[1] == 500 and plan.per_block[0] % 16 == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [("512MiB", 512 * 2**20), ("4GiB", 4 * 2**30), ("1.5GB", 1_500_000_000), ("100", 100)],
)
def test_sizes(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["lots", "-1MiB", "0"])
def test_bad_sizes(text):
    with pytest.raises(UsageError, match="--max-memory"):
        parse_size(text)


@pytest.mark.parametrize("scheduler", ["threads", "processes"])
def test_blocks_that_share_a_zarr_chunk_lose_nothing_in_parallel(tmp_path, scheduler):
    """Blocks smaller than the output's chunks, run at once: every cell is written."""
    import zarr

    x = np.random.default_rng(4).random((4, 70, 58)).astype(np.float32)
    path = str(tmp_path / "x.npy")
    np.save(path, x)
    out = str(tmp_path / "o.zarr")
    spec = WindowSpec.make(kernel_size=3, stride=2)
    done = pool_blockwise(
        path, "max", spec, out, layout="CHW", max_memory=40_000 * 2, scheduler=scheduler,
        chunks=(4, 34, 28),
    )  # fmt: skip
    assert done.plan.count > 4 and done.plan.per_block[0] < 34
    np.testing.assert_array_equal(zarr.open_array(out)[...], run(x, "max", spec, "CHW").output)


def test_blocks_are_whole_output_chunks_when_rows_of_chunks_do_not_fit():
    windows = resolve(WindowSpec.make(kernel_size=2), (1024, 1024))
    rows = plan_blocks(windows, 1, 4, 2**20, engine_share=4)
    assert rows.per_block == (16, 512)  # no chunks to keep whole: the widest rows
    tiles = plan_blocks(windows, 1, 4, 2**20, align=(64, 64), engine_share=4)
    assert tiles.per_block[0] == 64 and tiles.per_block[1] % 64 == 0
    assert tiles.block_bytes <= 2**20 * 3 // 4
    # Too small for one chunk: rows again (the chunks are cut whatever the blocks).
    small = plan_blocks(windows, 1, 4, 2**16, align=(64, 64), engine_share=4)
    assert small.per_block == plan_blocks(windows, 1, 4, 2**16, engine_share=4).per_block


@pytest.mark.parametrize("reduction,kernel,stride", [("max", 2, 2), ("avg", 3, 2), ("mode", 3, 1)])
def test_bands_smaller_than_zarr_chunks_are_written_as_whole_chunks(
    tmp_path, monkeypatch, reduction, kernel, stride
):
    """Blocks of a few rows gathered into whole rows of chunks: every chunk written once,
    straight to its file, and the output equals the engine's."""
    import zarr

    from poolcli.io import zarr_chunks

    writes = []
    original = zarr_chunks.ChunkFiles.write

    def direct_only(self, index, values):
        done = original(self, index, values)
        writes.append(done)
        return done

    monkeypatch.setattr(zarr_chunks.ChunkFiles, "write", direct_only)
    x = (np.random.default_rng(5).random((2, 203, 90)) * 9).astype(np.float32)
    path = str(tmp_path / "x.npy")
    np.save(path, x)
    out = str(tmp_path / "o.zarr")
    spec = WindowSpec.make(kernel_size=kernel, stride=stride)
    done = pool_blockwise(
        path, reduction, spec, out, layout="CHW", max_memory=150_000, chunks=(2, 40, 90)
    )
    assert done.plan.count > 3 and done.plan.per_block[0] < 40
    assert writes and all(writes)
    expected = run(x, reduction, spec, "CHW").output
    np.testing.assert_array_equal(zarr.open_array(out)[...], expected)
