"""Huge-page buffers: advice only, so the values and the layout are torch.empty's."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from poolcli.engine import compiled, memory, ops
from poolcli.model.layout import Layout
from poolcli.model.window import WindowSpec, resolve


def test_large_buffers_ask_for_huge_pages_in_a_warm_process_only(monkeypatch):
    asked = []
    monkeypatch.setattr(memory, "advise_huge_pages", lambda address, size: asked.append(size))
    memory.empty((1024, 1025), torch.float32, "cpu")
    assert asked == []  # a one-shot call: the first huge pages cost more than they save
    with compiled.enabled():
        small = memory.empty((4, 4), torch.float32, "cpu")
        big = memory.empty((1024, 1025), torch.float32, "cpu")
    assert small.shape == (4, 4) and big.shape == (1024, 1025) and big.is_contiguous()
    assert asked == [1024 * 1025 * 4]
    memory.empty((1024, 1025), torch.float32, "cpu")
    assert len(asked) == 1


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="madvise is Linux's")
def test_advice_covers_whole_pages_only_and_keeps_the_values():
    buffer = memory.empty((3 << 20,), torch.uint8, "cpu")
    buffer.fill_(7)
    assert not memory.advise_huge_pages(buffer.data_ptr() + 1, 100)  # no whole page inside
    assert memory.advise_huge_pages(buffer.data_ptr(), buffer.numel())
    assert int(buffer.min()) == int(buffer.max()) == 7


def test_huge_page_outputs_pool_as_before():
    # Big enough that every path's buffers take the advice; values against torch's kernel.
    x = torch.from_numpy(np.random.default_rng(1).standard_normal((1100, 1100), np.float32))
    layout = Layout("HW")
    windows = resolve(WindowSpec.make(kernel_size=3, stride=1), (1100, 1100), layout.spatial)
    want = torch.nn.functional.max_pool2d(x[None], 3, 1)[0]
    with memory.huge_pages():
        for path in ("taps", "separable"):
            assert torch.equal(ops.pool_tensor(x, "max", windows, layout, path=path), want)


BIG = (1024, 1025)  # over memory.HUGE_FROM


@pytest.fixture
def warm_pool():
    memory.release()
    with memory.huge_pages():
        yield
    memory.release()


def test_a_buffer_nothing_holds_serves_again(warm_pool):
    first = memory.empty(BIG, torch.float32, "cpu")
    address = first.data_ptr()
    assert memory.empty(BIG, torch.float32, "cpu").data_ptr() != address  # first is held
    del first
    again = memory.empty(BIG, torch.float32, "cpu")
    assert again.data_ptr() == address
    assert again.shape == BIG and again.is_contiguous() and again._base is None
    assert memory.empty((1025, 1024), torch.int32, "cpu").data_ptr() != address


def _copied(values) -> np.ndarray:
    return values.copy() if isinstance(values, np.ndarray) else values.clone().numpy()


@pytest.mark.parametrize(
    "holder",
    [
        lambda t: t.numpy(),  # what the engine hands to io
        lambda t: t[1:],
        lambda t: t.view(torch.uint8),
        lambda t: t.t(),
    ],
)
def test_a_buffer_still_held_is_never_handed_out(warm_pool, holder):
    buffer = memory.empty(BIG, torch.float32, "cpu")
    buffer.fill_(3.0)
    kept, address = holder(buffer), buffer.data_ptr()
    before = _copied(kept)
    del buffer
    for _ in range(3):
        other = memory.empty(BIG, torch.float32, "cpu")
        assert other.data_ptr() != address
        other.fill_(-1.0)
    np.testing.assert_array_equal(_copied(kept), before)  # untouched by the writes above


def test_the_pool_keeps_at_most_pool_bytes_of_free_buffers(warm_pool, monkeypatch):
    size = BIG[0] * BIG[1] * 4
    monkeypatch.setattr(memory, "POOL_BYTES", 2 * size)
    for rows in range(1024, 1030):  # six sizes, each freed at once
        memory.empty((rows, BIG[1]), torch.float32, "cpu")
    assert sum(b.numel() for b in memory._pool) <= 2 * size + 6 * BIG[1] * 4


def test_a_one_shot_process_keeps_no_buffers():
    memory.release()
    memory.empty(BIG, torch.float32, "cpu")
    assert memory._pool == []


def test_pooling_in_a_loop_gives_torchs_values(warm_pool):
    x = torch.from_numpy(np.random.default_rng(2).standard_normal((1100, 1100), np.float32))
    layout = Layout("HW")
    windows = resolve(WindowSpec.make(kernel_size=3, stride=1), (1100, 1100), layout.spatial)
    want = torch.nn.functional.max_pool2d(x[None], 3, 1)[0]
    kept = [ops.pool_tensor(x, "max", windows, layout, path=path) for path in ("taps",) * 3]
    for _ in range(3):  # the freed intermediates serve again; held outputs do not
        ops.pool_tensor(x, "max", windows, layout, path="separable")
    assert all(torch.equal(y, want) for y in kept)
