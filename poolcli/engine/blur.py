"""Anti-aliased max pooling (BlurPool, Zhang 2019): ``max --blur 3|5``.

The max is taken with stride 1 (the given kernel, padding and dilation), then every spatial
axis is blurred with the binomial filter of the given size (``[1, 2, 1] / 4`` or
``[1, 4, 6, 4, 1] / 16``) and sampled every ``stride`` cells, from the first: the
``MaxPool(stride=1)`` + ``BlurPool(stride)`` pair of antialiased-cnns, with its reflect
padding (``(size - 1) // 2`` cells at each end). The output has the size plain max pooling
with that stride gives, and the compute dtype (``--dtype``; float32 for integer inputs),
since a blurred cell mixes several cells. Filtering before sampling keeps the output from
jumping when the input shifts by a cell (see ``poolcli invariance``).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch
import torch.nn.functional as F

from poolcli.engine import ops
from poolcli.engine.convert import accumulator, output_dtype
from poolcli.errors import PoolError, UsageError
from poolcli.model.reductions import Reduction

FILTERS = {3: (1.0, 2.0, 1.0), 5: (1.0, 4.0, 6.0, 4.0, 1.0)}


def check_blur(reduction: Reduction, spec, blur: int) -> None:
    """Refuse ``--blur`` where it has no meaning."""
    if blur not in FILTERS:
        raise UsageError(f"--blur must be 3 or 5, got {blur}.", option="--blur")
    if reduction is not Reduction.MAX:
        raise UsageError(f"--blur applies only to max, not {reduction}.", option="--blur")
    if spec.mode != "sliding":
        raise UsageError("--blur needs sliding windows (--kernel).", option="--blur")
    if spec.ceil_mode:
        raise UsageError("--blur does not go with --ceil.", option="--blur")


def pool_blur(array, reduction, spec, windows, layout, options, alpha: bool = False):
    """Max with stride 1, then the strided binomial blur; returns ``(output, device)``."""
    check_blur(reduction, spec, options.blur)
    dense = tuple(
        dataclasses.replace(a, stride=1, out=a.padded_size - a.effective_kernel + 1)
        for a in windows
    )
    plain = dataclasses.replace(options, blur=None)
    maxed, device = ops.pool_array(array, reduction, dense, layout, options=plain, alpha=alpha)
    x = maxed if isinstance(maxed, torch.Tensor) else torch.from_numpy(np.asarray(maxed))
    x = x.to(device)
    y = blur_downsample(x, layout, [a.stride for a in windows], options.blur, options.dtype)
    if isinstance(array, torch.Tensor):
        return y, device
    if y.dtype is torch.bfloat16:
        y = y.float()
    return np.ascontiguousarray(y.cpu().numpy()), device


def blur_downsample(x: torch.Tensor, layout, strides, size: int, dtype=None) -> torch.Tensor:
    """Blur every spatial axis of ``x`` (laid out as ``layout``) with the binomial filter of
    ``size`` and keep every ``stride``-th cell; reflect padding at both ends."""
    compute = accumulator(x.dtype, dtype)
    out_dtype = output_dtype(x.dtype, Reduction.AVG, dtype)  # a mean's dtype rule
    work = layout.canonical(x).to(compute)
    taps = torch.tensor(FILTERS[size], dtype=torch.float64)
    kernel = (taps / taps.sum()).to(compute).to(x.device).reshape(1, 1, -1)
    low, high = (size - 1) // 2, math.ceil((size - 1) / 2)
    for dim, stride in enumerate(strides):
        axis = 2 + dim
        length = work.shape[axis]
        if length == 1:  # one cell reflected is a constant: the blur keeps it
            continue
        if length <= high:
            name = layout.spatial[dim]
            raise PoolError(
                f"--blur {size} needs at least {high + 1} cells along {name} after the max "
                f"(there are {length}): use a smaller kernel"
                + (" or --blur 3." if size > 3 else ".")
            )
        moved = work.movedim(axis, -1)
        flat = moved.reshape(-1, 1, length)
        flat = F.pad(flat, (low, high), mode="reflect")
        flat = F.conv1d(flat, kernel, stride=stride)
        work = flat.reshape(*moved.shape[:-1], flat.shape[-1]).movedim(-1, axis)
    return layout.uncanonical(work.to(out_dtype))
