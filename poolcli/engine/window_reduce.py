"""Reducing gathered windows: (items, *out, cells) values and which cells are real."""

from __future__ import annotations

import math

import torch

from poolcli.engine.convert import accumulator, is_float
from poolcli.engine.taps import axis_counts
from poolcli.model.reductions import Reduction


def gather_dtype(dtype, reduction, options) -> torch.dtype:
    if reduction.info.order_based:
        return dtype
    if reduction in (Reduction.SUM,) and not is_float(dtype):
        return torch.int64
    if reduction is Reduction.AVG and not is_float(dtype):
        return torch.float64
    return accumulator(dtype, options.dtype)


def uniform_noise(reduction, shape, options) -> torch.Tensor | None:
    """Uniform numbers for stochastic sampling, drawn on the CPU so every device agrees."""
    if reduction is not Reduction.STOCHASTIC or options.expectation:
        return None
    generator = torch.Generator()
    if options.seed is None:
        generator.seed()
    else:
        generator.manual_seed(options.seed)
    return torch.rand(shape, generator=generator, dtype=torch.float64)


def _real_mask(reals, device) -> torch.Tensor:
    """Outer product of per-axis real-tap tables: (o1, o2, ..., k1*k2*...)."""
    nd = len(reals)
    mask = None
    for i, real in enumerate(reals):
        shape = [1] * (2 * nd)
        shape[i], shape[nd + i] = real.shape
        r = real.reshape(shape)
        mask = r if mask is None else mask & r
    out_shape = [r.shape[0] for r in reals]
    return mask.reshape(*out_shape, -1).to(device)


def reduce_windows(values, reals, reduction, count_include_pad, windows, r0, r1, options, noise):
    """Reduce (items, *out, cells) windows whose padding cells hold the reduction's fill."""
    device = values.device
    if reduction in (Reduction.MAX, Reduction.MIN):
        if values.requires_grad:
            # Route the gradient to one cell per window, the first maximum, as torch's max_pool.
            pick = values.argmax(-1) if reduction is Reduction.MAX else values.argmin(-1)
            return values.gather(-1, pick.unsqueeze(-1)).squeeze(-1)
        return values.amax(-1) if reduction is Reduction.MAX else values.amin(-1)
    real = _real_mask(reals, device)
    real_count = real.sum(-1)
    if reduction is Reduction.MEDIAN:
        ordered = values.sort(dim=-1, stable=True).values
        pick = ((real_count - 1) // 2).expand(*values.shape[:-1]).unsqueeze(-1)
        result = ordered.gather(-1, pick).squeeze(-1)
        if is_float(values.dtype):
            result = torch.where(values.isnan().any(-1), math.nan, result)
        return result
    if reduction is Reduction.MODE:
        mode = _mode(values, real)
        if values.requires_grad:
            # The gradient goes to the first cell holding the mode, as window_winners says.
            hit = (values == mode.unsqueeze(-1)) & real
            return values.gather(-1, hit.to(torch.uint8).argmax(-1, keepdim=True)).squeeze(-1)
        return mode
    acc = gather_dtype(values.dtype, reduction, options)
    if reduction in (Reduction.SUM, Reduction.AVG):
        if not is_float(values.dtype):
            total = values.sum(-1, dtype=torch.int64)
        else:
            total = values.sum(-1, dtype=acc)
        if reduction is Reduction.SUM:
            return total
        counts = [axis_counts(a, count_include_pad) for a in windows]
        counts[0] = counts[0][r0:r1]
        count = torch.ones((), dtype=torch.float64)
        for i, c in enumerate(counts):
            shape = [1] * len(counts)
            shape[i] = len(c)
            count = count * torch.tensor(c, dtype=torch.float64).reshape(shape)
        return (total.to(torch.float64) / count.to(device)).to(acc)
    v = values.to(acc)
    if reduction is Reduction.LP:
        return v.abs().pow(options.norm_type).sum(-1).pow(1.0 / options.norm_type)
    # Stochastic.
    total = v.sum(-1)
    if options.expectation:
        squares = (v * v).sum(-1)
        return torch.where(total > 0, squares / torch.where(total > 0, total, 1), 0)
    picked = v.gather(-1, _sample(v, noise)).squeeze(-1)
    return torch.where(total > 0, picked, 0)


def _sample(values: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Tap sampled per window with probability value / window sum (first tap when all zero)."""
    cumulative = values.cumsum(-1)
    threshold = (noise.to(values.dtype) * cumulative[..., -1]).unsqueeze(-1)
    chosen = torch.searchsorted(cumulative.contiguous(), threshold.contiguous(), right=True)
    return chosen.clamp(max=values.shape[-1] - 1)


def winning_taps(values, reals, reduction, noise) -> torch.Tensor:
    """Index (in window order) of the cell each window's result comes from: the first real cell
    holding the result value (a padded fill value may tie with it, but never wins)."""
    real = _real_mask(reals, values.device).expand_as(values)
    if reduction is Reduction.STOCHASTIC and noise is not None:
        sampled = _sample(values.to(torch.float64), noise).squeeze(-1)
        # An all-zero window gives 0 without sampling: its first real cell holds that 0.
        first_real = real.to(torch.uint8).argmax(-1)
        return torch.where(values.to(torch.float64).sum(-1) > 0, sampled, first_real)
    if reduction is Reduction.MAX:
        result = values.amax(-1)
    elif reduction is Reduction.MIN:
        result = values.amin(-1)
    elif reduction is Reduction.MEDIAN:
        ordered = values.sort(-1).values
        pick = ((real.sum(-1) - 1) // 2).unsqueeze(-1)
        result = ordered.gather(-1, pick).squeeze(-1)
    elif reduction is Reduction.MODE:
        result = _mode(values, real)
    else:
        raise ValueError(f"{reduction} has no single winning cell per window")
    result = result.unsqueeze(-1)
    hit = values == result
    if is_float(values.dtype):
        hit |= values.isnan() & result.isnan()
    return (hit & real).to(torch.uint8).argmax(-1)


def _mode(values, real) -> torch.Tensor:
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
