"""Spatial pyramid pooling (He et al., SPPNet): ``--spp 1,2,4``.

Each level is an adaptive pool to ``n`` cells per spatial axis (torch's bin rule), with any
reduction; the levels are flattened per channel (row-major) and concatenated, coarsest given
first. The spatial axes become one axis of ``sum(n ** dims)`` cells, at the place of the
first spatial axis: ``NCHW`` gives ``NCW``, ``HWC`` gives ``WC`` (with ``--pool-axes`` the
first pooled letter stays).
"""

from __future__ import annotations

import numpy as np
import torch

from poolcli.engine import ops
from poolcli.model.axes import AxesLayout
from poolcli.model.layout import Layout
from poolcli.model.window import WindowSpec, resolve


def spp_layout(layout: Layout) -> Layout:
    """The layout of an SPP output: the spatial letters become one axis."""
    first = layout.spatial[0]
    letters = "".join(c for c in layout.letters if c not in layout.spatial or c == first)
    if isinstance(layout, AxesLayout):
        return AxesLayout(letters, first, layout.batch_sizes)
    return Layout(letters.replace(first, "W"))


def pool_spp(array, reduction, spec, layout, options, alpha=False, pixels=False):
    """Every level pooled and concatenated; returns ``(output, device, output layout)``."""
    spatial = layout.spatial_shape(tuple(array.shape))
    parts = []
    device = "cpu"
    for n in spec.spp:
        level = WindowSpec.make(output_size=n, count_include_pad=spec.count_include_pad)
        windows = resolve(level, spatial, layout.spatial)
        out, device = ops.pool_array(
            array, reduction, windows, layout, options=options, alpha=alpha, pixels=pixels
        )
        canonical = layout.canonical(out)
        parts.append(canonical.reshape(*canonical.shape[:2], -1))
    joined = torch.cat(parts, -1) if isinstance(array, torch.Tensor) else np.concatenate(parts, -1)
    out_layout = spp_layout(layout)
    output = out_layout.uncanonical(joined)
    if not isinstance(output, torch.Tensor):
        output = np.ascontiguousarray(output)
    return output, device, out_layout
