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
