"""The ``--json`` documents of ``explain`` and ``grad``, in the schema of the others (a
window is :func:`~poolcli.render.schema_plain.window_json`, values are nested lists with
non-finite cells named)."""

from __future__ import annotations

from typing import Any

import numpy as np

from poolcli.errors import display_path
from poolcli.render.schema import json_value, values_json
from poolcli.render.schema_plain import window_json
from poolcli.version import __version__

#: Arrays with more cells than this are summarised, not listed, as in the reductions' JSON.
MAX_VALUES = 256


def _head(name: str, result, input_shape, input_dtype) -> dict[str, Any]:
    return {
        "poolcli": __version__,
        "input": name,
        "layout": str(result.layout),
        "layout_guessed": bool(result.layout_guessed),
        "input_shape": list(input_shape),
        "input_dtype": str(input_dtype),
        "reduction": str(result.reduction),
        "window": window_json(result.spec, result.windows),
    }


def _array(array) -> dict[str, Any]:
    """Shape, dtype and (when small) the values of ``array``."""
    array = np.asarray(array)
    entry: dict[str, Any] = {"shape": list(array.shape), "dtype": str(array.dtype)}
    if array.size <= MAX_VALUES:
        entry["values"], entry["nonfinite"] = values_json(array)
    return entry


def explain_json(explanation, result, name: str) -> dict[str, Any]:
    """``explain --json``: the input, the window resolved, and every window listed (cells,
    their kind and value, the result and the winner), as the text shows them."""
    document = _head(name, result, explanation.input_shape, explanation.input_dtype)
    document.update(
        output_shape=list(explanation.output_shape),
        output_dtype=explanation.output_dtype,
        count_include_pad=explanation.count_include_pad,
        notes=list(explanation.notes),
        total_slices=explanation.total_slices,
        slices=[_slice_json(s, explanation.output_dtype) for s in explanation.slices],
    )
    return document


def _slice_json(piece, dtype: str) -> dict[str, Any]:
    return {
        "label": piece.label,
        "index": list(piece.index),
        "total_windows": piece.total_windows,
        "windows": [_window_json(w, dtype) for w in piece.windows],
    }


def _window_json(window, dtype: str) -> dict[str, Any]:
    cells = None
    if window.cells is not None:
        cells = [
            {
                "index": list(c.index),
                "kind": c.kind,
                "value": None if c.value is None else json_value(c.value),
                "winner": c.winner,
            }
            for c in window.cells
        ]
    return {
        "position": list(window.position),
        "axis_cells": [list(axis) for axis in window.axis_cells],
        "cells": cells,
        "real": window.real,
        "padding": window.padding,
        "result": json_value(window.result),
        "winner": None if window.winner is None else list(window.winner),
    }


def grad_json(result, name: str, array, unpool: bool) -> dict[str, Any]:
    """``grad --json``: the gradient (or, with ``unpool``, what pooling kept and how often
    each cell won), with the output and the upstream gradient."""
    if unpool:
        pooled = result.pooled
        document = _head(name, pooled, pooled.input_shape, pooled.input_dtype)
        document.update(
            kind="unpool",
            output=_array(pooled.output),
            kept=_array(result.kept),
            wins=_array(result.wins),
            kept_cells=result.kept_cells,
        )
        return document
    document = _head(name, result, result.input_shape, result.input_dtype)
    document.update(
        kind="gradient",
        rule=result.rule,
        output=_array(result.output),
        upstream=_array(result.upstream),
        upstream_given=result.upstream_given,
        grad=_array(result.grad),
        undefined=result.undefined,
    )
    return document


def unpool_json(values: str, indices: str, output: str, layout: str, style: str, result) -> dict:
    """``unpool --json``: the files read and written, and the unpooled array."""
    return {
        "command": "unpool",
        "values": display_path(values),
        "indices": display_path(indices),
        "output": display_path(output),
        "layout": layout,
        "index_style": style,
        "output_array": _array(result),
    }
