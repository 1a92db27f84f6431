"""Where each window's result came from, as flat positions: ``--indices`` and ``return_indices``.

Per output cell, the position of its winning input cell (the one whose value it is):

``torch``
    Flat, row-major, within that cell's own spatial plane (D, H, W): torch's
    ``return_indices`` and what ``torch.nn.functional.max_unpool*d`` takes.
``onnx``
    Flat over the whole tensor taken as ``(N, C, *spatial)``, row-major: the ``Indices``
    output of ONNX MaxPool (``storage_order=0``).
``onnx-col``
    As ``onnx``, but column-major within the spatial plane (``storage_order=1``): the first
    spatial axis varies fastest; planes still follow each other in ``(N, C)`` order.

Ties go to the first real cell holding the result, in window order (row-major over the
kernel taps), and of several NaN in a window the last, as torch's kernels do; padded cells
never win. The winners come from the
engine's own gather (:func:`poolcli.engine.ops.window_winners`), so they always agree with
the pooled values.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from poolcli.errors import UsageError
from poolcli.model.reductions import Reduction

INDEX_STYLES = ("torch", "onnx", "onnx-col")


def check_index_style(style: str) -> str:
    """``style`` if it is one of :data:`INDEX_STYLES`, else a UsageError."""
    if style not in INDEX_STYLES:
        raise UsageError(
            f"--index-style {style} is not valid: use torch, onnx or onnx-col.",
            option="--index-style",
        )
    return style


def check_has_indices(result) -> None:
    """Refuse ``--indices`` for a result whose cells are not input cells."""
    reduction, options = result.reduction, result.options
    if getattr(options, "blur", None):
        raise UsageError(
            "--indices does not go with --blur: a blurred cell mixes several input cells.",
            option="--indices",
        )
    if result.spec.mode == "spp":
        raise UsageError(
            "--indices does not go with --spp: its cells come from several poolings.",
            option="--indices",
        )
    sampled = not options.expectation and options.seed is not None
    if not reduction.info.winner or (reduction is Reduction.STOCHASTIC and not sampled):
        how = " without --seed or with --expectation" if reduction.info.winner else ""
        raise UsageError(
            "--indices needs a reduction whose result is one input cell (max, min, median, "
            f"mode, or stochastic with --seed), not {reduction}{how}.",
            option="--indices",
        )


def spatial_positions(taps: torch.Tensor, windows, order: str = "row") -> torch.Tensor:
    """Flat spatial positions of the winning ``taps`` ((N, C, *out), row-major over the kernel
    taps); ``order`` ``row`` (last axis fastest) or ``col`` (first axis fastest)."""
    kernels = [a.kernel for a in windows]
    sizes = [a.size for a in windows]
    flat = torch.zeros_like(taps)
    rest = taps.clone()
    coords = []
    for dim in reversed(range(len(windows))):
        coords.append(rest % kernels[dim])
        rest = rest // kernels[dim]
    coords.reverse()  # per axis: the tap index along that axis
    nd = len(windows)
    for dim, (axis, tap) in enumerate(zip(windows, coords)):
        shape = [1] * (2 + nd)
        shape[2 + dim] = axis.out
        out = torch.arange(axis.out, device=taps.device)
        if axis.bins is not None:
            start = torch.tensor([b[0] for b in axis.bins], device=taps.device)
            cell = start.reshape(shape) + tap
        else:
            cell = (out * axis.stride - axis.pad_begin).reshape(shape) + tap * axis.dilation
        if order == "row":
            weight = math.prod(sizes[dim + 1 :])
        else:
            weight = math.prod(sizes[:dim])
        flat = flat + cell * weight
    return flat


def winner_indices(array, result, style: str = "torch"):
    """The ``--indices`` array of ``result`` (pooled from ``array``), laid out like the output.

    int64; a torch tensor for a tensor ``array``, else a numpy array.
    """
    from poolcli.engine import ops

    check_index_style(style)
    check_has_indices(result)
    taps = ops.window_winners(
        array,
        result.reduction,
        result.windows,
        result.layout,
        result.options,
        alpha=result.alpha,
        pixels=result.pixels,
    )
    flat = spatial_positions(taps, result.windows, "col" if style == "onnx-col" else "row")
    if style != "torch":
        n, c = flat.shape[:2]
        plane = math.prod(a.size for a in result.windows)
        planes = torch.arange(n * c, device=flat.device).reshape(n, c, *([1] * (flat.ndim - 2)))
        flat = flat + planes * plane
    flat = result.layout.uncanonical(flat)
    if isinstance(array, torch.Tensor):
        return flat.contiguous()
    return np.ascontiguousarray(flat.cpu().numpy())
