"""Whole JSON documents, made of the pieces of :mod:`poolcli.render.schema`.

* :func:`json_document` -- a reduction command's ``--json``: ``{"poolcli", "steps", "device",
  "files"}``, one :func:`~poolcli.render.schema.result_json` (or
  :func:`~poolcli.render.schema.failure_json`) per input, as a batch's document lists its files;
* :func:`compare_json` -- ``compare --json``: the input, the window, per-op statistics and the
  pairwise differences;
* :func:`invariance_json` -- ``invariance --json``: the input, the window and every change;
* :func:`batch_json` -- a batch's ``--json``: the chain, one :func:`file_line_json` per file
  (each also a ``--jsonl`` line, :func:`jsonl_line`) and the summary.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from poolcli.model.steps import chain_label
from poolcli.render.schema import (
    batch_line_json,
    numbers_json,
    step_json,
    window_json,
)
from poolcli.version import __version__

if TYPE_CHECKING:
    from poolcli.batch.results import FileResult, Summary
    from poolcli.learn.compare import Comparison
    from poolcli.learn.invariance import InvarianceResult
    from poolcli.model.steps import Step


def json_document(
    steps: Sequence[Step], entries: list[dict], *, device: str | None, version: str
) -> dict:
    """A reduction command's ``--json`` document: every step of the chain it ran (its own op,
    then each ``--then``) and one entry per input."""
    return {
        "poolcli": version,
        "steps": [step_json(step) for step in steps],
        "device": device,
        "files": entries,
    }


def compare_json(comparison: Comparison, name: str, array) -> dict:
    """The ``compare --json`` document of ``comparison``, run on ``array`` (named ``name``)."""
    first = comparison.first
    return {
        **_input_json(name, array, str(first.layout)),
        "output_shape": list(first.output.shape),
        "window": window_json(first.spec, first.windows),
        "ops": [str(op) for op in comparison.ops],
        "stats": [
            {"op": str(s.op), **_floats(min=s.min, max=s.max, mean=s.mean, std=s.std, nan=s.nan)}
            for s in comparison.stats
        ],
        "pairs": [
            {"a": str(p.a), "b": str(p.b), **_floats(mean_abs=p.mean_abs, max_abs=p.max_abs)}
            for p in comparison.pairs
        ],
    }


def invariance_json(result: InvarianceResult, name: str, array) -> dict:
    """The ``invariance --json`` document of ``result``, measured on ``array``."""
    return {
        **_input_json(name, array, str(result.layout)),
        "window": window_json(result.spec, result.windows) if result.spec else None,
        **_floats(input_range=result.input_range, sigma=result.sigma, seed=result.seed),
        "changes": [
            {
                "op": None if c.op is None else str(c.op),
                "kind": c.perturbation.kind,
                "axis": c.perturbation.axis,
                "amount": c.perturbation.amount,
                **_floats(
                    unchanged=c.unchanged,
                    mean_change=c.mean_change,
                    max_change=c.max_change,
                    cells=c.cells,
                ),
            }
            for c in result.changes
        ],
    }


def _input_json(name: str, array, layout: str) -> dict:
    return {
        "input": name,
        "layout": layout,
        "input_shape": list(array.shape),
        "input_dtype": str(array.dtype),
    }


def _floats(**numbers) -> dict:
    """Float members (ints kept whole), then the ``nonfinite`` member that names the nulls."""
    floats = {k: v for k, v in numbers.items() if not isinstance(v, (int, np.integer))}
    written = numbers_json(floats, np.float64)
    nonfinite = written.pop("nonfinite")
    return {**{k: written.get(k, v) for k, v in numbers.items()}, "nonfinite": nonfinite}


def file_line_json(result: FileResult) -> dict:
    """One file of a batch as a ``--jsonl`` line and a ``files`` entry of its document."""
    return batch_line_json(
        result.input,
        result.output,
        status=result.status,
        error=result.error,
        reason=result.reason,
        layout=result.layout,
        input_shape=result.input_shape,
        input_dtype=result.input_dtype,
        output_shape=result.output_shape,
        output_dtype=result.output_dtype,
        seconds=round(result.seconds, 6),
        bytes_in=result.bytes_in,
        bytes_out=result.bytes_out,
        warnings=result.warnings,
    )


def jsonl_line(result: FileResult) -> str:
    """One ``--jsonl`` line (no newline): :func:`file_line_json` as compact JSON."""
    return json.dumps(file_line_json(result), ensure_ascii=False, separators=(",", ":"))


def batch_json(results: Iterable[FileResult], summary: Summary, steps: Sequence[Step]) -> dict:
    """A batch's ``--json`` document: the chain, every file, the summary."""
    steps = tuple(steps)
    return {
        "poolcli": __version__,
        "chain": chain_label(steps) if steps else None,
        "steps": [step_json(s) for s in steps],
        "files": [file_line_json(r) for r in results],
        "summary": summary.to_dict(),
    }
