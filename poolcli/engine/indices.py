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
import torch.nn.functional as F

from poolcli.errors import UsageError
from poolcli.model.reductions import Reduction
from poolcli.model.window import adaptive_bins

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


def spatial_positions(taps: torch.Tensor, windows) -> torch.Tensor:
    """Flat row-major spatial positions of the winning ``taps`` ((N, C, *out), row-major over
    the kernel taps)."""
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
        flat = flat + cell * math.prod(sizes[dim + 1 :])
    return flat


def winner_indices(array, result, style: str = "torch"):
    """The ``--indices`` array of ``result`` (pooled from ``array``), laid out like the output.

    int64; a torch tensor for a tensor ``array``, else a numpy array. Where torch's own max
    pooling computes the case (floats, padding within its limits, adaptive bins), its
    ``return_indices`` are used; else the engine's gather finds each window's winner. Both
    follow the same rules (tested equal).
    """
    check_index_style(style)
    check_has_indices(result)
    flat = torch_indices(array, result)
    if flat is None:
        flat = spatial_positions(gathered_winners(array, result), result.windows)
    if style == "onnx-col":
        flat = column_major(flat, [a.size for a in result.windows])
    if style != "torch":
        n, c = flat.shape[:2]
        plane = math.prod(a.size for a in result.windows)
        planes = torch.arange(n * c, device=flat.device).reshape(n, c, *([1] * (flat.ndim - 2)))
        flat = flat + planes * plane
    flat = result.layout.uncanonical(flat)
    if isinstance(array, torch.Tensor):
        return flat.contiguous()
    return np.ascontiguousarray(flat.cpu().numpy())


def gathered_winners(array, result) -> torch.Tensor:
    """Each window's winning tap, from the engine's gather (``(N, C, *out)``)."""
    from poolcli.engine import ops

    return ops.window_winners(
        array,
        result.reduction,
        result.windows,
        result.layout,
        result.options,
        alpha=result.alpha,
        pixels=result.pixels,
    )


def column_major(flat: torch.Tensor, sizes) -> torch.Tensor:
    """Row-major positions in a plane of ``sizes`` as column-major ones."""
    coords, rest = [], flat
    for size in reversed(sizes):
        coords.append(rest % size)
        rest = rest // size
    coords.reverse()
    out, weight = torch.zeros_like(flat), 1
    for coord, size in zip(coords, sizes):
        out, weight = out + coord * weight, weight * size
    return out


_MAX_POOL = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
_ADAPTIVE = {1: F.adaptive_max_pool1d, 2: F.adaptive_max_pool2d, 3: F.adaptive_max_pool3d}


def torch_indices(array, result) -> torch.Tensor | None:
    """torch's ``return_indices`` for ``result`` in ``(N, C, *out)``, or None where torch's
    max pooling does not compute exactly this case (min pools the negation)."""
    windows = result.windows
    if result.reduction not in (Reduction.MAX, Reduction.MIN) or result.alpha or result.pixels:
        return None
    x = array if isinstance(array, torch.Tensor) else torch.from_numpy(np.asarray(array))
    if not x.dtype.is_floating_point or x.dtype in (torch.float16, torch.bfloat16):
        return None
    x = result.layout.canonical(x.to(result.device)).contiguous()
    x = -x if result.reduction is Reduction.MIN else x
    nd = len(windows)
    if all(a.bins is not None and a.bins == adaptive_bins(a.size, a.out) for a in windows):
        return _ADAPTIVE[nd](x, tuple(a.out for a in windows), return_indices=True)[1]
    if any(a.bins is not None for a in windows):
        return None
    if any(a.pad_begin != a.pad_end or 2 * a.pad_begin > a.kernel for a in windows):
        return None
    _, indices = _MAX_POOL[nd](
        x,
        [a.kernel for a in windows],
        [a.stride for a in windows],
        [a.pad_begin for a in windows],
        [a.dilation for a in windows],
        ceil_mode=any(a.ceil_mode for a in windows),
        return_indices=True,
    )
    return indices
