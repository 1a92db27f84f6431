"""The one JSON schema: how every command writes a window, a step, a result and a file.

``--json``, ``--jsonl``, ``--dry-run --json``, ``compare --json`` and ``invariance --json``
write their documents from these pieces, so a field means the same everywhere:

* :func:`window_json` -- a window as ``"windowing"`` (``sliding``, ``adaptive`` or ``global``)
  and per-axis lists: ``kernel_size``, ``stride``, ``padding`` (``[begin, end]`` pairs),
  ``padding_rule`` (``same``/``valid``, else null), ``dilation``, ``ceil_mode``,
  ``count_include_pad``, ``output_size``. Before an input is known the lists are the options as
  given (one entry means every axis; the stride defaults to the kernel); resolved against an
  input they have one entry per spatial axis, and ``axes`` adds what each axis works out to
  (its size, output-size formula, reach with dilation, adaptive bins).
* :func:`step_json` -- ``{"reduction", "window", "options"}``; a chain is a list of steps.
* :func:`file_json` -- the fields of every per-input object: ``input`` (its name as given),
  ``output`` (the path written or null), ``status`` (``done``, ``skipped``, ``failed``),
  ``error``, ``reason``, ``layout`` and the shapes and dtypes in and out. :func:`result_json`
  (a ``--json`` entry) adds statistics, the values of small outputs and the resolved window;
  :func:`failure_json` the exit status; :func:`batch_line_json` (a ``--jsonl`` line) the time
  and bytes.

Numbers that are not finite
---------------------------
JSON has no NaN or infinity. Every non-finite number is written as ``null`` -- which
``json.loads``, jq and ``numpy.asarray(values, dtype=float)`` (where it becomes NaN) all read
without error or strings in numeric arrays -- and the object that holds it says what it was in
its ``"nonfinite"`` member, present in every object with such numbers and ``{}`` when all are
finite: a number's member name maps to ``"nan"``, ``"inf"`` or ``"-inf"``; an array's name maps
to ``{"nan": [...], "inf": [...], "-inf": [...]}``, the index of every such cell (kinds that do
not occur are left out). :func:`read_values` puts the infinities back. A ``null`` that
``nonfinite`` does not name has no value (the statistics of an empty array).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from poolcli.model.display import format_value
from poolcli.render.schema_plain import dumps as dumps  # part of the schema, offered here
from poolcli.render.schema_plain import window_json
from poolcli.render.stats import Stats, array_stats

if TYPE_CHECKING:
    from poolcli.model.options import PoolOptions, PoolResult
    from poolcli.model.steps import Step

#: A result includes the values of outputs with at most this many elements.
JSON_MAX_VALUES = 256
_KINDS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


# --------------------------------------------------------------------------------------------
# Numbers


def json_value(value, dtype=None):
    """One value as a JSON number (int, bool or float), or None when it is not finite.

    A float is the shortest decimal that reads back to the same value in its dtype.

    >>> json_value(np.float32(0.1)), json_value(np.uint8(255)), json_value(np.float64("-inf"))
    (0.1, 255, None)
    """
    dtype = np.dtype(dtype if dtype is not None else getattr(value, "dtype", type(value)))
    if dtype.kind == "b":
        return bool(value)
    if dtype.kind in "iu":
        return int(value)
    number = float(format_value(value, dtype))
    return number if math.isfinite(number) else None


def nonfinite_kind(value) -> str | None:
    """``"nan"``, ``"inf"`` or ``"-inf"`` for a non-finite number, else None."""
    if isinstance(value, (bool, np.bool_)) or value is None:
        return None
    number = float(value)
    if math.isnan(number):
        return "nan"
    if math.isinf(number):
        return "inf" if number > 0 else "-inf"
    return None


def numbers_json(numbers: dict, dtype=None) -> dict:
    """``{name: value}`` as JSON numbers, with the ``nonfinite`` member that names the nulls.

    >>> numbers_json({"low": 1.5, "high": float("inf")})
    {'low': 1.5, 'high': None, 'nonfinite': {'high': 'inf'}}
    """
    out: dict = {}
    nonfinite = {}
    for name, value in numbers.items():
        out[name] = None if value is None else json_value(value, dtype)
        kind = nonfinite_kind(value)
        if kind:
            nonfinite[name] = kind
    out["nonfinite"] = nonfinite
    return out


def values_json(array) -> tuple[list, dict]:
    """The values of a (small) array as nested lists in its own layout (non-finite as null),
    and where the non-finite cells are: ``{"nan": [[i, j], ...], ...}``."""
    array = np.asarray(array)
    values = _nested(array, array.dtype)
    where = {}
    if array.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            masks = {"nan": np.isnan(array), "inf": array == np.inf, "-inf": array == -np.inf}
        for kind, mask in masks.items():
            if mask.any():
                where[kind] = np.argwhere(mask).tolist()
    return values, where


def _nested(array: np.ndarray, dtype):
    if array.ndim == 0:
        return json_value(array[()], dtype)
    return [_nested(part, dtype) for part in array]


def read_values(document: dict, name: str = "values") -> np.ndarray:
    """The float array a document holds under ``name``, its non-finite cells put back.

    >>> entry = {"values": [[None, 1.0]], "nonfinite": {"values": {"-inf": [[0, 0]]}}}
    >>> read_values(entry).tolist()
    [[-inf, 1.0]]
    """
    array = np.asarray(document[name], dtype=float)  # null reads as NaN
    for kind, cells in document.get("nonfinite", {}).get(name, {}).items():
        for index in cells:
            array[tuple(index)] = _KINDS[kind]
    return array


def stats_json(stats: Stats | None) -> dict | None:
    """min / max / mean (null when the array is empty) and the NaN count of an array."""
    if stats is None:
        return None
    dtype = np.dtype(stats.dtype) if stats.dtype != "bfloat16" else np.dtype(np.float32)
    out = numbers_json({"min": stats.min, "max": stats.max}, dtype)
    nonfinite = out.pop("nonfinite")
    mean = numbers_json({"mean": stats.mean}, np.float64)
    out["mean"] = mean["mean"]
    out["nan"] = stats.nan
    out["nonfinite"] = {**nonfinite, **mean["nonfinite"]}
    return out


# --------------------------------------------------------------------------------------------
# Windows and steps


def options_json(options: PoolOptions) -> dict:
    """The options of a reduction that are not about its window."""
    found = {
        "norm_type": options.norm_type,
        "seed": options.seed,
        "expectation": options.expectation,
        "dtype": options.dtype,
        "straight_alpha": options.straight_alpha,
        **data_json(options),
    }
    # Only when given, so the documents of other calls stay as they were.
    if options.pool_axes is not None:
        found["pool_axes"] = options.pool_axes
    if options.blur is not None:
        found["blur"] = options.blur
    return found


def data_json(options: PoolOptions) -> dict:
    """The data-aware options that are not at their defaults (--nan, --nodata, --mask...)."""
    mask = options.mask
    given = {
        "nan": str(options.nan) if str(options.nan) != "propagate" else None,
        "nodata": options.nodata,
        "mask": mask if isinstance(mask, str) or mask is None else "array",
        "valid_count": options.valid_count,
        "linear_light": options.linear_light or None,
        "srgb_max": options.srgb_max,
    }
    return {key: value for key, value in given.items() if value is not None}


def step_json(step: Step) -> dict:
    """One step of a chain: its reduction, its window as given and its options."""
    return {
        "reduction": str(step.reduction),
        "window": window_json(step.spec),
        "options": options_json(step.options),
    }


# --------------------------------------------------------------------------------------------
# Files and results


def file_json(
    name: str,
    output: str | None = None,
    *,
    status: str,
    error: str | None = None,
    reason: str | None = None,
    layout: str | None = None,
    input_shape=None,
    input_dtype: str | None = None,
    output_shape=None,
    output_dtype: str | None = None,
) -> dict:
    """The fields every per-input object has, in this order (unknown ones null)."""
    return {
        "input": name,
        "output": output,
        "status": status,
        "error": error,
        "reason": reason,
        "layout": layout,
        "input_shape": None if input_shape is None else list(input_shape),
        "input_dtype": input_dtype,
        "output_shape": None if output_shape is None else list(output_shape),
        "output_dtype": output_dtype,
    }


def result_json(
    result: PoolResult,
    name: str,
    *,
    input_stats: Stats | None = None,
    output_path: str | None = None,
    written_dtype: str | None = None,
    first: PoolResult | None = None,
) -> dict:
    """One pooled input: its file fields, statistics, resolved window and, when the output has
    at most JSON_MAX_VALUES elements, its values (else null). ``output_dtype`` is what the
    output file holds (``written_dtype``) when one was written, else the result's. For a
    chain, ``result`` is its last step's and ``first`` its first step's, which read the input."""
    output, source = result.output, first or result
    return pooled_json(
        name,
        output_path,
        output,
        layout=str(result.layout),
        layout_guessed=result.layout_guessed,
        shapes=(source.input_shape, output.shape),
        dtypes=(source.input_dtype, written_dtype or str(output.dtype)),
        input_stats=input_stats,
        window=window_json(result.spec, result.windows),
        device=str(result.device),
        premultiplied=result.premultiplied,
    )


def pooled_json(
    name: str,
    output_path: str | None,
    output,
    *,
    layout: str,
    layout_guessed: bool,
    shapes: tuple,
    dtypes: tuple[str, str],
    input_stats: Stats | None,
    window: dict,
    device: str,
    premultiplied: bool,
) -> dict:
    """The fields of :func:`result_json` from their parts: ``output`` is the output array, or
    ``None`` when it is not in memory (then its statistics and values are null); ``shapes``
    and ``dtypes`` are the input's and the output's."""
    entry = file_json(
        name,
        output_path,
        status="done",
        layout=layout,
        input_shape=shapes[0],
        input_dtype=dtypes[0],
        output_shape=shapes[1],
        output_dtype=dtypes[1],
    )
    small = output is not None and output.size <= JSON_MAX_VALUES
    values, where = values_json(output) if small else (None, {})
    entry.update(
        layout_guessed=layout_guessed,
        input_stats=stats_json(input_stats),
        output_stats=stats_json(array_stats(output)) if output is not None else None,
        values=values,
        nonfinite={"values": where} if where else {},
        window=window,
        device=device,
        premultiplied_alpha=premultiplied,
    )
    return entry


def failure_json(name: str, message: str, exit_status: int) -> dict:
    """One input that failed: its file fields with the error, and the exit status it set."""
    return {**file_json(name, status="failed", error=message), "exit_status": exit_status}


def batch_line_json(
    name: str,
    output: str | None,
    *,
    seconds: float | None = None,
    bytes_in: int | None = None,
    bytes_out: int | None = None,
    warnings: list[str] = (),
    **fields,
) -> dict:
    """One file of a batch (a ``--jsonl`` line): its file fields, the time and the bytes."""
    return {
        **file_json(name, output, **fields),
        "seconds": seconds,
        "bytes_in": bytes_in,
        "bytes_out": bytes_out,
        "warnings": list(warnings),
    }
