"""One input pooled block by block (``--max-memory``, ``--scheduler``, Zarr): the part of
:func:`poolcli.batch.task.process_task` for inputs that need not fit in memory.

The input is read in blocks from ``.npy``, Zarr or TIFF and the output written block by block
to ``.npy``, Zarr or TIFF (:mod:`poolcli.blocks`); without an output the result is gathered
in memory for the report. Chains (``--then``) and images other than TIFF need the whole
input in memory and are refused here with a reason.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from typing import Any

from poolcli.errors import STDIN, PoolError

#: Called as ``progress(done, total)`` while blocks are pooled (set by the command line).
_PROGRESS: list[Callable[[str, int, int], None]] = []

BLOCK_INPUTS = (".npy", ".zarr", ".tif", ".tiff", ".btf", ".tf8")
BLOCK_OUTPUTS = (".npy", ".zarr", ".tif", ".tiff")


def set_progress(callback: Callable[[str, int, int], None] | None) -> None:
    """Report blocks done with ``callback(name, done, total)`` (``None``: stop)."""
    _PROGRESS.clear()
    if callback is not None:
        _PROGRESS.append(callback)


def wants_blocks(paths, output: str | None) -> bool:
    """Whether a call must go block by block whatever its options: a Zarr input or output."""
    from poolcli.io.formats import is_zarr_store

    named = [*paths, output or ""]
    suffix = any(str(p).lower().rstrip("/" + os.sep).endswith(".zarr") for p in named)
    return suffix or any(is_zarr_store(str(p)) for p in paths if p != STDIN)


def task_wants_blocks(task, job) -> bool:
    """Whether one input of a run goes block by block: the run's choice, or a Zarr input or
    output met in a batch."""
    return job.blockwise or (
        task.source.path != STDIN and wants_blocks([task.source.path], task.output)
    )


def process_blocks(task, job, values: dict[str, Any]) -> None:
    """Pool ``task``'s input block by block within ``job.max_memory`` (see the module notes)."""
    from poolcli.blocks import pool_blockwise
    from poolcli.model.options import DEFAULT_MEMORY_LIMIT

    path, output = task.source.path, task.output
    if len(job.steps) != 1:
        raise PoolError(
            "--then needs each step's whole result in memory; it cannot go with --max-memory, "
            "--scheduler or Zarr files. Run one op per call."
        )
    _check_names(path, output)
    (step,) = job.steps
    callback = _PROGRESS[0] if _PROGRESS else None
    name = os.path.basename(path.rstrip("/" + os.sep))
    done = pool_blockwise(
        path,
        step.reduction,
        step.spec,
        output,
        layout=job.layout,
        options=dataclasses.replace(step.options, device=job.device),
        max_memory=job.max_memory or 2 * DEFAULT_MEMORY_LIMIT,
        scheduler=job.scheduler,
        progress=(lambda d, t: callback(name, d, t)) if callback else None,
    )
    values.update(
        input_shape=tuple(done.source.shape),
        input_dtype=str(done.source.dtype),
        output_shape=done.shape,
        output_dtype=done.dtype,
        layout=str(done.layout),
        bytes_in=_size(path),
        # What the report shows: the block count, and the array when nothing was written;
        # and what --json tells of the pooling.
        detail={
            "blocks": done.plan.count,
            "array": done.output if output is None else None,
            "windows": done.windows,
            "layout_guessed": done.layout_guessed,
            "premultiplied": done.premultiplied,
        },
    )
    if output is not None:
        values["bytes_out"] = _size(output)


def blocks_problem(task, steps, layout: str | None) -> str | None:
    """Why pooling ``task`` block by block would fail, found from its names and its input's
    header or metadata (no data is read); ``None``: no reason known."""
    from poolcli.batch.precheck import follow_shape
    from poolcli.io.lazy import open_lazy

    path = task.source.path
    try:
        _check_names(path, task.output)
        with open_lazy(path) as data:
            follow_shape(tuple(data.shape), layout or data.axes, steps)
    except PoolError as error:
        return error.message if error.path in (None, path) else str(error)
    except OSError as error:
        return f"cannot be read: {error.strerror or error}."
    return None


def _check_names(path: str, output: str | None) -> None:
    if path == STDIN or not path.lower().rstrip("/" + os.sep).endswith(BLOCK_INPUTS):
        raise PoolError(
            "is read block by block (--max-memory, --scheduler or Zarr) only from .npy, "
            ".zarr or .tif files; pool it without those options.",
            path=path,
        )
    if output is not None and not output.lower().rstrip("/" + os.sep).endswith(BLOCK_OUTPUTS):
        raise PoolError(
            "is written block by block only as .npy, .zarr or .tif; choose one of those suffixes.",
            path=output,
        )


def _size(path: str) -> int:
    if os.path.isdir(path):
        return sum(
            os.path.getsize(os.path.join(root, f))
            for root, _, files in os.walk(path)
            for f in files
        )
    return os.path.getsize(path)
