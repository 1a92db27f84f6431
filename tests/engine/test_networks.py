"""The selection networks, proven by the 0-1 principle: a network of compare-exchanges that
leaves the median at its place for every input of 0s and 1s does so for every input."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from poolcli.engine import networks
from poolcli.engine.median import median_network


def _wires(n: int) -> list[np.ndarray]:
    """All ``2**n`` inputs of 0s and 1s, bit-sliced: wire ``i`` holds bit ``i`` of every
    input ``p`` at bit ``p`` (little-endian bytes, as ``np.packbits`` packs them)."""
    if n < 3:
        patterns = np.arange(1 << n)
        return [np.packbits((patterns >> i) & 1, bitorder="little") for i in range(n)]
    byte = np.arange(1 << (n - 3))
    low = [np.full(byte.shape, mask, np.uint8) for mask in (0xAA, 0xCC, 0xF0)]
    high = [np.where((byte >> i) & 1, 255, 0).astype(np.uint8) for i in range(n - 3)]
    return low + high


@pytest.mark.parametrize("n", [*range(1, 18), 25])
def test_median_of_n_network_on_every_input_of_zeros_and_ones(n):
    wires = _wires(n)
    for a, b, keep_min, keep_max in median_network(n):
        low = wires[a] & wires[b] if keep_min else None  # min of bits: and
        high = wires[a] | wires[b] if keep_max else None  # max of bits: or
        wires[a], wires[b] = low, high
    lower_median = (n - 1) // 2
    # The lower median of n bits is 1 when at most lower_median of them are 0.
    ones = np.bitwise_count(np.arange(1 << n, dtype=np.uint32))
    want = np.packbits(ones >= n - lower_median, bitorder="little")
    assert np.array_equal(wires[lower_median], want)


def test_shared_3x3_network_on_every_window_of_zeros_and_ones():
    cells = torch.tensor(list(itertools.product((0, 1), repeat=9)), dtype=torch.uint8)
    windows = cells.reshape(-1, 3, 3)
    got = networks.median_network(windows, ((3, 1, 1), (3, 1, 1)), (1, 2))
    want = (cells.sum(dim=1) >= 5).to(torch.uint8)
    assert torch.equal(got.reshape(-1), want)
