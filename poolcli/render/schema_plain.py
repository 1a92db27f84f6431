"""The pieces of the one JSON schema (see :mod:`poolcli.render.schema`) that are plain Python:
the window and the JSON text, so that commands that never touch an array, such as ``shape``,
write them without importing numpy. :mod:`poolcli.render.schema` offers both as its own."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from poolcli.model.window import AxisWindow, WindowSpec


def window_json(spec: WindowSpec, windows: tuple[AxisWindow, ...] | None = None) -> dict:
    """A window as given (``windows`` None), or resolved against an input: one value per axis."""
    if windows is not None:
        return _resolved_window(spec, windows)
    sliding = spec.mode == "sliding"
    rule = spec.padding if isinstance(spec.padding, str) else None
    return {
        "windowing": spec.mode,
        "kernel_size": list(spec.kernel_size) if sliding else None,
        "stride": list(spec.stride or spec.kernel_size) if sliding else None,
        "padding": [list(p) for p in spec.padding] if sliding and rule is None else None,
        "padding_rule": rule if sliding else None,
        "dilation": list(spec.dilation) if sliding else None,
        "ceil_mode": spec.ceil_mode,
        "count_include_pad": spec.count_include_pad,
        "output_size": list(spec.output_size) if spec.mode == "adaptive" else None,
        "axes": None,
    }


def _resolved_window(spec: WindowSpec, windows: tuple[AxisWindow, ...]) -> dict:
    binned = spec.mode == "adaptive"
    rule = spec.padding if isinstance(spec.padding, str) and spec.mode == "sliding" else None
    return {
        "windowing": spec.mode,
        "kernel_size": None if binned else [w.kernel for w in windows],
        "stride": None if binned else [w.stride for w in windows],
        "padding": None if binned else [[w.pad_begin, w.pad_end] for w in windows],
        "padding_rule": rule,
        "dilation": None if binned else [w.dilation for w in windows],
        "ceil_mode": spec.ceil_mode,
        "count_include_pad": spec.count_include_pad,
        "output_size": [w.out for w in windows],
        "axes": [_axis_json(w) for w in windows],
    }


def _axis_json(axis: AxisWindow) -> dict:
    return {
        "axis": axis.name,
        "size": axis.size,
        "out": axis.out,
        "formula": axis.formula(),
        "effective_kernel": None if axis.bins is not None else axis.effective_kernel,
        "ceil_extra_cells": axis.extra_end,
        "dropped_by_ceil": axis.dropped_by_ceil,
        "bins": None if axis.bins is None else [list(b) for b in axis.bins],
    }


def dumps(document: dict) -> str:
    """JSON text with two-space indents, but every list of plain values on one line.

    >>> print(dumps({"values": [[1, 2], [3, None]]}))
    {
      "values": [
        [1, 2],
        [3, null]
      ]
    }
    """
    leaves: list[str] = []

    def mark(node):
        if isinstance(node, dict):
            return {k: mark(v) for k, v in node.items()}
        if isinstance(node, list):
            if node and all(not isinstance(v, (list, dict)) for v in node):
                leaves.append(json.dumps(node, ensure_ascii=False, allow_nan=False))
                # NUL cannot occur in a path or message, so the marker is unambiguous.
                return f"\0{len(leaves) - 1}\0"
            return [mark(v) for v in node]
        return node

    text = json.dumps(mark(document), indent=2, ensure_ascii=False, allow_nan=False)
    for i, leaf in enumerate(leaves):
        text = text.replace(json.dumps(f"\0{i}\0"), leaf, 1)
    return text
