"""Unpooling: each value put back at its ``--indices`` position in an array of zeros.

``torch`` indices (flat, row-major within each spatial plane) are read as
``torch.nn.functional.max_unpool1d/2d/3d`` reads them: in the output plane, whose size is
``--output-size`` or, per axis, ``(in - 1) * stride - pad_begin - pad_end + kernel``.
``onnx`` indices count over the whole ``(N, C, *spatial)`` tensor of that default size, as
the ONNX MaxUnpool reference does; an ``--output-size`` (ONNX's ``output_shape``) then only
adds zeros at the end of each axis. ``onnx-col`` reads the plane column-major, the inverse
of ``--index-style onnx-col`` pooling. Where several values share an index (overlapping
windows), they are the same input cell's value.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from poolcli.errors import PoolError, UsageError
from poolcli.model.layout import Layout


def default_size(size: int, kernel: int, stride: int, pads: tuple[int, int]) -> int:
    """The unpooled length of an axis: ``(size - 1) * stride - pad_begin - pad_end + kernel``.

    >>> default_size(2, 2, 2, (0, 0))
    4
    """
    return (size - 1) * stride - pads[0] - pads[1] + kernel


def unpool(values, indices, layout: Layout, plane: tuple[int, ...], style="torch", shape=None):
    """``values`` (laid out as ``layout``) placed at ``indices`` in zeros.

    ``plane`` is the spatial size the indices count in; ``shape`` the spatial size of the
    result (default ``plane``; for the onnx styles at least ``plane``). Returns a numpy array.
    """
    values, indices = np.asarray(values), np.asarray(indices)
    shape = tuple(plane if shape is None else shape)
    v = torch.from_numpy(np.ascontiguousarray(layout.canonical(values)))
    i = torch.from_numpy(np.ascontiguousarray(layout.canonical(indices))).to(torch.int64)
    n, c = v.shape[:2]
    cells = math.prod(plane) if style != "torch" else math.prod(shape)
    flat = i.reshape(n * c, -1)
    if style != "torch":
        flat = flat - torch.arange(n * c).reshape(-1, 1) * cells
    bad = (flat < 0) | (flat >= cells)
    if bool(bad.any()):
        _out_of_range(i, bad, cells, plane if style != "torch" else shape, style, n * c)
    if style == "onnx-col":
        coords = np.unravel_index(flat.numpy(), plane, order="F")
        flat = torch.from_numpy(np.ravel_multi_index(coords, plane)).reshape(flat.shape)
    out = torch.zeros(n * c, cells, dtype=v.dtype)
    out.scatter_(1, flat, v.reshape(n * c, -1))
    out = out.reshape(n, c, *(plane if style != "torch" else shape))
    if style != "torch" and shape != plane:
        _check_larger(shape, plane)
        grown = torch.zeros(n, c, *shape, dtype=v.dtype)
        grown[(slice(None), slice(None), *(slice(0, s) for s in plane))] = out
        out = grown
    return np.ascontiguousarray(layout.uncanonical(out.numpy()))


def _out_of_range(indices, bad, cells, plane, style, planes) -> None:
    where = int(torch.nonzero(bad.reshape(-1))[0])
    value = int(indices.reshape(-1)[where])
    size = "x".join(map(str, plane))
    if style == "torch":
        reach = f"the {size} output plane ({cells} cells per plane)"
    else:
        reach = f"the {planes} planes of {size} ({planes * cells} cells)"
    raise PoolError(
        f"index {value} is outside {reach}. Give the window options the indices were made "
        "with, or --output-size."
    )


def _check_larger(shape, plane) -> None:
    if any(s < p for s, p in zip(shape, plane)):
        raise PoolError(
            f"--output-size {'x'.join(map(str, shape))} is smaller than the "
            f"{'x'.join(map(str, plane))} the window options give; ONNX MaxUnpool's "
            "output_shape can only add zeros at the end."
        )


def unpool_array(
    values,
    indices,
    kernel_size=None,
    stride=None,
    padding=None,
    output_size=None,
    layout: str | None = None,
    index_style: str = "torch",
):
    """Python form of ``poolcli unpool``: ``values`` placed at ``indices`` in zeros.

    ``kernel_size``, ``stride``, ``padding`` are those the values were pooled with (the
    result's size follows from them), or ``output_size`` gives it; ``layout`` is the values'
    (default: the command line's rule). Returns a numpy array.

    >>> import numpy as np
    >>> unpool_array(np.array([[6, 8]]), np.array([[5, 3]]), kernel_size=2)
    array([[0, 0, 0, 8],
           [0, 6, 0, 0]])
    """
    from poolcli.engine.indices import check_index_style
    from poolcli.model.options import resolve_layout
    from poolcli.model.window import WindowSpec, parse_ints

    check_index_style(index_style)
    values, indices = np.asarray(values), np.asarray(indices)
    if values.shape != indices.shape:
        raise PoolError(f"indices have shape {indices.shape} but the values {values.shape}.")
    layout, _ = resolve_layout(values.shape, layout)
    spec = None
    if kernel_size is not None:
        spec = WindowSpec.make(kernel_size=kernel_size, stride=stride, padding=padding)
    size = parse_ints(output_size, "--output-size") if output_size is not None else None
    spatial = layout.spatial_shape(values.shape)
    plane = unpool_plane(spec, spatial, size, layout.spatial, index_style)
    return unpool(values, indices, layout, plane, index_style, full_size(size, spatial))


def full_size(size, spatial):
    return None if size is None else (size * len(spatial) if len(size) == 1 else size)


def unpool_plane(spec, spatial, size, names, style) -> tuple[int, ...]:
    """The spatial size the indices count in (see :mod:`poolcli.engine.unpool`)."""
    if size is not None and len(size) == 1:
        size = size * len(spatial)
    if size is not None and len(size) != len(spatial):
        raise UsageError(
            f"--output-size has {len(size)} values but the values have {len(spatial)} spatial "
            f"axes ({', '.join(names)}).",
            option="--output-size",
        )
    if spec is None or (style == "torch" and size is not None):
        return tuple(size)
    if spec.padding == "same":
        raise UsageError(
            "--padding same depends on the pooled input's size: give --output-size instead.",
            option="--padding",
        )

    def each(values):
        return values * len(spatial) if len(values) == 1 else values

    kernels, strides = each(spec.kernel_size), each(spec.stride or spec.kernel_size)
    pads = ((0, 0),) * len(spatial) if spec.padding == "valid" else each(spec.padding)
    if not len(kernels) == len(strides) == len(pads) == len(spatial):
        raise UsageError(
            f"the window options need one value per spatial axis ({', '.join(names)}).",
            option="--kernel",
        )
    plane = tuple(default_size(*a) for a in zip(spatial, kernels, strides, pads))
    if any(p < 1 for p in plane):
        raise UsageError(
            "the window options give an empty result: check --padding.", option="--padding"
        )
    return plane
