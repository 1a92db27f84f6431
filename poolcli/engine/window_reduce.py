"""Reducing gathered windows: one kernel per reduction, on ``(items, *out, cells)`` values.

Padding cells hold :func:`poolcli.engine.gather.gather_fill`: a value that cannot win a
maximum or a minimum, sorts last for the median and the mode, and adds nothing to a sum.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import torch

from poolcli.engine.convert import accumulator, fill_value, is_float
from poolcli.engine.taps import axis_counts
from poolcli.errors import UsageError
from poolcli.model.reductions import OutputDType, Reduction
from poolcli.model.window import AxisWindow


def gather_accumulator(dtype: torch.dtype, reduction: Reduction, options) -> torch.dtype:
    """The dtype the gather reduces windows in (the result is cast to the output dtype)."""
    rule = reduction.info.output_dtype
    if rule is OutputDType.INPUT:
        return dtype
    if not is_float(dtype) and rule is OutputDType.WIDE_INT:
        return torch.int64
    if not is_float(dtype) and reduction is Reduction.AVG:
        return torch.float64  # exact integer sums, divided once
    return accumulator(dtype, options.dtype)


def uniform_noise(reduction, shape, options) -> torch.Tensor | None:
    """Uniform numbers in [0, 1) for stochastic sampling, one per output cell of ``shape``
    (``(n, c, *out)``, or ``(items,)`` for global pooling).

    Each number is a counter-based draw (:func:`cell_uniforms`): a hash of the seed and of the
    cell's position in the whole output, so that it does not depend on how the output is cut
    into blocks (``options.cell_origin``: where this part starts in the whole output,
    ``options.cell_grid``: the whole output's spatial shape) nor on the device.
    """
    if reduction is not Reduction.STOCHASTIC or options.expectation:
        return None
    seed = options.seed
    if seed is None:
        seed = int.from_bytes(os.urandom(8), "little")
    if len(shape) == 1:  # global pooling: one window per item, at the origin of its block
        ones = (1,) * len(options.cell_grid)
        return uniform_noise(reduction, (shape[0], 1, *ones), options).reshape(shape)
    spatial = tuple(shape[2:])
    origin = tuple(options.cell_origin) or (0,) * len(spatial)
    grid = tuple(options.cell_grid) or spatial
    index = torch.arange(math.prod(shape[:2]), dtype=torch.int64) * math.prod(grid)
    index = index.reshape(*shape[:2], *([1] * len(spatial)))
    step = 1
    for axis in reversed(range(len(spatial))):
        along = (torch.arange(spatial[axis], dtype=torch.int64) + origin[axis]) * step
        index = index + along.reshape([-1] + [1] * (len(spatial) - 1 - axis))
        step *= grid[axis]
    return cell_uniforms(seed, index.expand(*shape).contiguous())


def _signed(value: int) -> int:
    """``value`` modulo 2**64 as a signed 64-bit number (torch's int64 wraps around)."""
    value %= 2**64
    return value - 2**64 if value >= 2**63 else value


def _shift(z: torch.Tensor, bits: int) -> torch.Tensor:
    """Logical right shift of int64 values seen as unsigned."""
    return (z >> bits) & ((1 << (64 - bits)) - 1)


def cell_uniforms(seed: int, index: torch.Tensor) -> torch.Tensor:
    """SplitMix64 at position ``index`` of the stream ``seed``, as float64 in [0, 1).

    >>> cell_uniforms(0, torch.arange(3)).tolist() == cell_uniforms(0, torch.arange(5))[:3].tolist()
    True
    """
    z = index.to(torch.int64) + 1
    z = z * _signed(0x9E3779B97F4A7C15) + _signed(seed)
    z = (z ^ _shift(z, 30)) * _signed(0xBF58476D1CE4E5B9)
    z = (z ^ _shift(z, 27)) * _signed(0x94D049BB133111EB)
    z = z ^ _shift(z, 31)
    return _shift(z, 11).to(torch.float64) * 2.0**-53


@dataclass
class Gathered:
    """One chunk of gathered windows: output rows ``rows`` of the first axis, every window's
    cells along the last axis of ``values``, and which of them are real (per axis)."""

    values: torch.Tensor
    reals: list[torch.Tensor]
    windows: Sequence[AxisWindow]
    rows: tuple[int, int]
    count_include_pad: bool
    noise: torch.Tensor | None
    #: Which gathered cells may be used (shaped as ``values``), or None for all real ones.
    visible: torch.Tensor | None = None

    @cached_property
    def real(self) -> torch.Tensor:
        """The cells that count: real (not padding) and visible. The outer product of the
        per-axis real-tap tables, (o1, o2, ..., k1*k2*...), and the visible mask if any."""
        nd = len(self.reals)
        mask = None
        for i, real in enumerate(self.reals):
            shape = [1] * (2 * nd)
            shape[i], shape[nd + i] = real.shape
            r = real.reshape(shape)
            mask = r if mask is None else mask & r
        out_shape = [r.shape[0] for r in self.reals]
        mask = mask.reshape(*out_shape, -1).to(self.values.device)
        return mask if self.visible is None else mask & self.visible


def reduce_windows(chunk: Gathered, reduction: Reduction, options) -> torch.Tensor:
    """Each window of ``chunk`` reduced to one value."""
    return REDUCERS[reduction](chunk, options)


def winning_taps(chunk: Gathered, reduction: Reduction, options) -> torch.Tensor:
    """Index (in window order) of the cell each window's result comes from: the first real cell
    holding the result value (a padded fill value may tie with it, but never wins); of several
    NaN in a max or min window, the last, as torch's max_pool kernels pick it."""
    if not reduction.info.winner or (reduction is Reduction.STOCHASTIC and options.expectation):
        raise UsageError(f"{reduction} has no single winning cell per window")
    values, real = chunk.values, chunk.real.expand_as(chunk.values)
    if reduction is Reduction.STOCHASTIC:
        sampled = _sample(values.to(torch.float64), chunk.noise).squeeze(-1)
        # An all-zero window gives 0 without sampling: its first real cell holds that 0.
        first_real = real.to(torch.uint8).argmax(-1)
        return torch.where(values.to(torch.float64).sum(-1) > 0, sampled, first_real)
    result = reduce_windows(chunk, reduction, options).unsqueeze(-1)
    hit = values == result
    first = (hit & real).to(torch.uint8).argmax(-1)
    if not is_float(values.dtype):
        return first
    nan = values.isnan() & real
    if reduction in (Reduction.MAX, Reduction.MIN):
        last = values.shape[-1] - 1 - nan.flip(-1).to(torch.uint8).argmax(-1)
        return torch.where(nan.any(-1), last, first)
    return (hit | (nan & result.isnan())).logical_and(real).to(torch.uint8).argmax(-1)


def _extreme(reduction: Reduction, pick: Callable, extreme: Callable) -> Callable:
    def reduce(chunk: Gathered, options) -> torch.Tensor:
        values = chunk.values
        if chunk.visible is not None:
            values = torch.where(chunk.real, values, fill_value(reduction.info.fill, values.dtype))
        if values.requires_grad:
            # Route the gradient to one cell per window, the first maximum, as torch's max_pool.
            return values.gather(-1, pick(values, -1, keepdim=True)).squeeze(-1)
        return extreme(values, -1)

    return reduce


def _median(chunk: Gathered, options) -> torch.Tensor:
    values, real = chunk.values, chunk.real
    if chunk.visible is not None:
        # Hidden cells sort last, as padding does (gather_fill), so the lower median of the
        # cells that count sits at (count - 1) // 2.
        values = torch.where(real, values, fill_value("high", values.dtype))
    ordered = values.sort(dim=-1, stable=True).values
    # A window with no visible cell picks any cell; the alpha rule gives it 0.
    pick = ((real.sum(-1) - 1) // 2).clamp(min=0).expand(*values.shape[:-1]).unsqueeze(-1)
    result = ordered.gather(-1, pick).squeeze(-1)
    if is_float(values.dtype):
        result = torch.where(values.isnan().any(-1), math.nan, result)
    return result


def _mode(chunk: Gathered, options) -> torch.Tensor:
    values, real = chunk.values, chunk.real
    mode = _most_frequent(values, real)
    if values.requires_grad:
        # The gradient goes to the first cell holding the mode, as window_winners says.
        hit = (values == mode.unsqueeze(-1)) & real
        return values.gather(-1, hit.to(torch.uint8).argmax(-1, keepdim=True)).squeeze(-1)
    return mode


def _sum(chunk: Gathered, options) -> torch.Tensor:
    values = chunk.values
    if not is_float(values.dtype):
        return values.sum(-1, dtype=torch.int64)
    return values.sum(-1, dtype=gather_accumulator(values.dtype, Reduction.SUM, options))


def _avg(chunk: Gathered, options) -> torch.Tensor:
    values = chunk.values
    acc = gather_accumulator(values.dtype, Reduction.AVG, options)
    total = values.sum(-1, dtype=torch.int64 if not is_float(values.dtype) else acc)
    counts = [axis_counts(a, chunk.count_include_pad) for a in chunk.windows]
    counts[0] = counts[0][slice(*chunk.rows)]
    count = torch.ones((), dtype=torch.float64)
    for i, c in enumerate(counts):
        shape = [1] * len(counts)
        shape[i] = len(c)
        count = count * torch.tensor(c, dtype=torch.float64).reshape(shape)
    return (total.to(torch.float64) / count.to(values.device)).to(acc)


def _lp(chunk: Gathered, options) -> torch.Tensor:
    v = chunk.values.to(gather_accumulator(chunk.values.dtype, Reduction.LP, options))
    return v.abs().pow(options.norm_type).sum(-1).pow(1.0 / options.norm_type)


def _stochastic(chunk: Gathered, options) -> torch.Tensor:
    v = chunk.values.to(gather_accumulator(chunk.values.dtype, Reduction.STOCHASTIC, options))
    total = v.sum(-1)
    if options.expectation:
        squares = (v * v).sum(-1)
        return torch.where(total > 0, squares / torch.where(total > 0, total, 1), 0)
    picked = v.gather(-1, _sample(v, chunk.noise)).squeeze(-1)
    return torch.where(total > 0, picked, 0)


#: The kernel of every reduction on gathered windows.
REDUCERS: dict[Reduction, Callable[[Gathered, object], torch.Tensor]] = {
    Reduction.MAX: _extreme(Reduction.MAX, torch.argmax, torch.amax),
    Reduction.MIN: _extreme(Reduction.MIN, torch.argmin, torch.amin),
    Reduction.MEDIAN: _median,
    Reduction.MODE: _mode,
    Reduction.SUM: _sum,
    Reduction.AVG: _avg,
    Reduction.LP: _lp,
    Reduction.STOCHASTIC: _stochastic,
}


def _sample(values: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Tap sampled per window with probability value / window sum (first tap when all zero)."""
    cumulative = values.cumsum(-1)
    threshold = (noise.to(values.dtype) * cumulative[..., -1]).unsqueeze(-1)
    chosen = torch.searchsorted(cumulative.contiguous(), threshold.contiguous(), right=True)
    return chosen.clamp(max=values.shape[-1] - 1)


def _most_frequent(values, real) -> torch.Tensor:
    """Most frequent real value per window; ties go to the smallest value."""
    ordered, order = values.sort(-1)
    valid = real.expand_as(values).gather(-1, order).to(torch.int64)
    same = ordered[..., 1:] == ordered[..., :-1]
    if is_float(values.dtype):
        same |= ordered[..., 1:].isnan() & ordered[..., :-1].isnan()
    starts = torch.ones_like(ordered, dtype=torch.bool)
    starts[..., 1:] = ~same
    seen = valid.cumsum(-1)
    before = seen - valid
    base = torch.where(starts, before, 0).cummax(-1).values
    run = seen - base
    # argmax returns the first maximum: the end of the earliest (smallest) most frequent run.
    best = run.argmax(-1, keepdim=True)
    return ordered.gather(-1, best).squeeze(-1)
