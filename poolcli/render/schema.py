"""The ``--json`` document: the call's parameters and one entry per input."""

from __future__ import annotations

from typing import TYPE_CHECKING

from poolcli.model.reductions import Reduction
from poolcli.render.numbers import json_values
from poolcli.render.stats import Stats, array_stats

if TYPE_CHECKING:
    from poolcli.model.options import PoolResult


#: --json includes the values when the output has at most this many elements.
JSON_MAX_VALUES = 256


def json_parameters(result_or_spec, options) -> dict:
    """The call's parameters, as given (before they are resolved against an input)."""
    spec = getattr(result_or_spec, "spec", result_or_spec)
    padding = spec.padding if isinstance(spec.padding, str) else [list(p) for p in spec.padding]
    return {
        "kernel_size": list(spec.kernel_size) if spec.kernel_size else None,
        "stride": list(spec.stride) if spec.stride else None,
        "padding": padding,
        "dilation": list(spec.dilation),
        "ceil_mode": spec.ceil_mode,
        "count_include_pad": spec.count_include_pad,
        "global_pool": spec.global_pool,
        "output_size": list(spec.output_size) if spec.output_size else None,
        "norm_type": options.norm_type,
        "seed": options.seed,
        "expectation": options.expectation,
        "dtype": options.dtype,
        "straight_alpha": options.straight_alpha,
    }


def json_windows(result: PoolResult) -> list[dict]:
    rows = []
    for w in result.windows:
        row = {
            "axis": w.name,
            "size": w.size,
            "out": w.out,
            "kernel": w.kernel,
            "formula": w.formula(),
        }
        if w.bins is not None:
            row["bins"] = [list(b) for b in w.bins]
        else:
            row.update(
                effective_kernel=w.effective_kernel,
                stride=w.stride,
                dilation=w.dilation,
                padding=[w.pad_begin, w.pad_end],
                ceil_mode=w.ceil_mode,
                ceil_extra_cells=w.extra_end,
            )
        rows.append(row)
    return rows


def json_entry(
    result: PoolResult,
    path: str,
    *,
    input_stats: Stats | None = None,
    output_path: str | None = None,
) -> dict:
    """One input's part of the --json document."""
    output = result.output
    entry = {
        "path": path,
        "ok": True,
        "layout": str(result.layout),
        "layout_guessed": result.layout_guessed,
        "input": {
            "shape": list(result.input_shape),
            "dtype": result.input_dtype,
            "stats": input_stats.as_json() if input_stats is not None else None,
        },
        "output": {
            "path": output_path,
            "shape": list(output.shape),
            "dtype": str(output.dtype),
            "stats": array_stats(output).as_json(),
            "values": json_values(output) if output.size <= JSON_MAX_VALUES else None,
        },
        "windows": json_windows(result),
        "device": str(result.device),
        "premultiplied_alpha": result.premultiplied,
    }
    return entry


def json_error(path: str, message: str, exit_status: int) -> dict:
    """One failed input's part of the --json document."""
    return {"path": path, "ok": False, "error": message, "exit_status": exit_status}


def dumps(document: dict) -> str:
    """JSON text with two-space indents, but every list of plain values on one line.

    >>> print(dumps({"values": [[1, 2], [3, 4]]}))
    {
      "values": [
        [1, 2],
        [3, 4]
      ]
    }
    """
    import json

    leaves: list[str] = []

    def mark(node):
        if isinstance(node, dict):
            return {k: mark(v) for k, v in node.items()}
        if isinstance(node, list):
            if node and all(not isinstance(v, (list, dict)) for v in node):
                leaves.append(json.dumps(node, ensure_ascii=False))
                # NUL cannot occur in a path or message, so the marker is unambiguous.
                return f"\0{len(leaves) - 1}\0"
            return [mark(v) for v in node]
        return node

    text = json.dumps(mark(document), indent=2, ensure_ascii=False)
    for i, leaf in enumerate(leaves):
        text = text.replace(json.dumps(f"\0{i}\0"), leaf, 1)
    return text


def json_document(
    reduction: Reduction | str,
    parameters: dict,
    entries: list[dict],
    *,
    device: str | None,
    version: str,
) -> dict:
    """The --json document: the call (op, parameters, device) and one entry per input."""
    return {
        "poolcli": version,
        "op": str(Reduction(reduction)),
        "parameters": parameters,
        "device": device,
        "inputs": entries,
    }
