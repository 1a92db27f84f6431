"""The global path: one window over all spatial axes, a plain reduction over those axes."""

from __future__ import annotations

import math

import torch

from poolcli.engine.convert import accumulator, guard_int_sum, is_float
from poolcli.engine.window_reduce import uniform_noise
from poolcli.model.reductions import Reduction


def pool_global(x, reduction, options) -> torch.Tensor:
    """One window over all spatial axes of ``x`` (N, C, *spatial), without copying the input."""
    n, c = x.shape[:2]
    dims = tuple(range(2, x.dim()))
    cells = math.prod(x.shape[2:])
    if reduction is Reduction.MAX:
        y = x.amax(dims)
    elif reduction is Reduction.MIN:
        y = x.amin(dims)
    elif reduction in (Reduction.SUM, Reduction.AVG) and not is_float(x.dtype):
        guard_int_sum(x, cells)
        y = x.sum(dims, dtype=torch.int64)
        if reduction is Reduction.AVG:
            y = y.to(torch.float64) / cells
    elif reduction in (Reduction.SUM, Reduction.AVG):
        y = x.sum(dims, dtype=accumulator(x.dtype, options.dtype))
        if reduction is Reduction.AVG:
            y = y / cells
    else:
        # One channel at a time keeps the temporaries to a channel's size.
        y = torch.stack(
            [
                torch.stack(
                    [
                        _global_item(x[i, j].reshape(-1), reduction, options, i * c + j, n * c)
                        for j in range(c)
                    ]
                )
                for i in range(n)
            ]
        )
    return y.reshape(n, c, *([1] * len(dims)))


def _global_item(flat: torch.Tensor, reduction, options, item: int, items: int) -> torch.Tensor:
    """Reduce one channel's cells (1-D) for the reductions that need more than a plain sum."""
    if reduction is Reduction.LP:
        acc = accumulator(flat.dtype, options.dtype)
        total = sum(
            block.to(acc).abs().pow(options.norm_type).sum()
            for block in flat.split(_block_cells(options))
        )
        return total.pow(1.0 / options.norm_type)
    if reduction is Reduction.MEDIAN:
        return flat.median()  # torch's median is the lower median and propagates NaN
    if reduction is Reduction.MODE:
        return _global_mode(flat)
    acc = accumulator(flat.dtype, options.dtype)
    total = flat.sum(dtype=acc)
    if options.expectation:
        squares = sum(block.to(acc).square().sum() for block in flat.split(_block_cells(options)))
        return torch.where(total > 0, squares / torch.where(total > 0, total, 1), 0)
    noise = uniform_noise(reduction, (items,), options)[item].to(flat.device)
    return _global_sample(flat, acc, noise, options)


def _block_cells(options) -> int:
    return max(1, options.memory_limit // 32)


def _global_mode(flat: torch.Tensor) -> torch.Tensor:
    if not is_float(flat.dtype) and flat.element_size() <= 2:
        # Small integer types: count every value directly.
        low = int(flat.min())
        counts = torch.bincount((flat.to(torch.int32) - low).to(torch.int64))
        return (counts.argmax() + low).to(flat.dtype)
    values, counts = torch.unique(flat, return_counts=True)  # sorted, so ties pick the smallest
    if is_float(flat.dtype) and bool(values.isnan().any()):
        nan = values.isnan()
        values = torch.cat([values[~nan], values[nan][:1]])
        counts = torch.cat([counts[~nan], counts[nan].sum().reshape(1)])
    return values[counts.argmax()]


def _global_sample(flat, acc, noise, options) -> torch.Tensor:
    """Sample one cell of ``flat`` with probability value / total, scanning in blocks.

    The running sums are the gather path's ``cumsum`` carried across blocks, so both paths
    pick the same cell.
    """
    blocks = flat.split(_block_cells(options))
    total = torch.zeros((), dtype=acc, device=flat.device)
    for block in blocks:
        total = block.to(acc).cumsum(0)[-1] + total
    if not total > 0:
        return torch.zeros((), dtype=acc, device=flat.device)
    threshold = noise.to(acc) * total
    seen = torch.zeros((), dtype=acc, device=flat.device)
    for block in blocks:
        cumulative = block.to(acc).cumsum(0) + seen
        if cumulative[-1] > threshold:
            index = torch.searchsorted(cumulative, threshold.reshape(1), right=True)
            return block[index.clamp(max=block.numel() - 1)].to(acc).reshape(())
        seen = cumulative[-1]
    positive = flat[flat > 0]
    return positive[-1].to(acc)
