"""Doing one input: read, pool, draw, write. The one per-input function of poolcli.

:func:`process_task` is what every front end runs for each input: a file given alone (a
batch of one, in the caller's own process), each file of a folder (in a worker process, a
thread or serially), the Python API. So a file alone and the same file in a folder give the
same output bytes, the same messages and the same status. Problems with the input come back
as a failed :class:`FileResult`, never as an exception.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from poolcli.batch.data import input_steps, write_counts
from poolcli.batch.plan import PICTURE_EXISTS, Task, is_inside, outside_reason
from poolcli.batch.results import DONE, FAILED, SKIPPED, FileResult
from poolcli.errors import STDIN, LayoutGuessWarning, PoolError, display_path, failure
from poolcli.model.layout import guess_warning
from poolcli.model.steps import Step

DEFAULT_PNG_COMPRESSION = 6


@dataclass(frozen=True)
class Job:
    """What every input of a run shares; sent once to each worker process.

    ``keep`` keeps what each input became (the input read and every step's result) in its
    :class:`FileResult`, for the report, ``--json`` and ``--explain`` of inputs given alone;
    worker processes never keep it.
    """

    steps: tuple[Step, ...]
    layout: str | None = None
    device: str = "cpu"
    overwrite: bool = False
    png_compression: int = DEFAULT_PNG_COMPRESSION
    output_dir: str | None = None
    debug: bool = False
    torch_threads: int | None = 1
    viz_dir: str | None = None
    keep: bool = False
    viz_scale: int = 1
    viz_channels: tuple[int, ...] | None = None
    quality: int | None = None
    normalize: bool = False
    #: ``--indices``: the file of an input given alone, or the folder of a batch, and how
    #: they count (:mod:`poolcli.engine.indices`).
    indices: str | None = None
    indices_dir: str | None = None
    index_style: str = "torch"
    #: Pool block by block within this many bytes (``--max-memory``), and where the blocks
    #: run (``--scheduler``); see :mod:`poolcli.batch.blockwise`.
    max_memory: int | None = None
    scheduler: str | None = None
    blockwise: bool = False


@dataclass
class Pooled:
    """What one input became, in the process that pooled it: the input as read
    (:class:`poolcli.io.LoadedInput`) and the chain's result
    (:class:`poolcli.engine.chain.ChainResult`)."""

    loaded: Any
    chain: Any


def task_result(task: Task, status: str, **values) -> FileResult:
    return FileResult(input=task.source.path, output=task.output, status=status, **values)


def process_task(
    task: Task, job: Job, before_pooling: Callable[[], None] | None = None
) -> FileResult:
    """Read, pool and write one input. Problems with the input come back as a failed result.

    The engine (torch) is imported only once the input is read and there is something to
    pool; ``before_pooling`` is called then. The output is written under a temporary name and
    renamed when complete; on any exception (Ctrl-C included) the temporary file is removed.
    """
    start = time.perf_counter()
    name = display_path(task.source.path)
    if task.action == "skip":
        return task_result(task, SKIPPED, reason=task.reason)
    if task.action == "fail":
        return task_result(task, FAILED, error=f"{name}: {task.reason}")
    return guarded(task, job, lambda values: _process(task, job, values, before_pooling), start)


def guarded(task: Task, job: Job, work, start: float) -> FileResult:
    """Run ``work(values)`` for one input; its problems become a failed :class:`FileResult`,
    and the Python warnings raised on the way its warnings."""
    name = display_path(task.source.path)
    values: dict[str, Any] = {"warnings": []}
    try:
        with _warnings_of(name, values["warnings"]):
            work(values)
    except Exception as error:
        if job.debug and not isinstance(error, (PoolError, MemoryError, OSError)):
            raise
        values["error"] = failure(error, name)
    values["seconds"] = time.perf_counter() - start
    if values.get("status") == SKIPPED:
        return task_result(task, **values)
    status = FAILED if "error" in values else DONE
    values.pop("status", None)
    if status == FAILED:
        values["bytes_out"] = 0
    return task_result(task, status, **values)


@contextmanager
def _warnings_of(name: str, found: list[str]):
    """Python warnings (numpy, torch, Pillow) as ``NAME: text`` lines, each once, instead of
    source locations on standard error."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        try:
            yield
        finally:
            for warning in caught:
                text = str(warning.message).strip().splitlines()[0] if str(warning.message) else ""
                if text and f"{name}: {text}" not in found:
                    found.append(f"{name}: {text}")


def _process(task: Task, job: Job, values: dict[str, Any], before_pooling) -> None:
    from poolcli.batch.blockwise import task_wants_blocks

    if task_wants_blocks(task, job):
        from poolcli.batch.blockwise import process_blocks

        if before_pooling is not None:
            before_pooling()
        process_blocks(task, job, values)
        return
    loaded = read_input(task, job, values)
    if loaded is None:
        return
    if before_pooling is not None:
        before_pooling()
    chain = pool_input(loaded, job)
    if job.keep:
        values["detail"] = Pooled(loaded, chain)
    finish_output(task, job, values, loaded, chain.final, chain.output, str(chain.layout))
    write_counts(chain.final)
    if job.indices is not None or job.indices_dir is not None:
        _write_indices(task, job, loaded, chain)


def _write_indices(task: Task, job: Job, loaded, chain) -> None:
    """``--indices``: where the last step's winners lie in its input, as ``.npy``."""
    from poolcli import io
    from poolcli.engine.indices import winner_indices

    source = chain.results[-2].output if len(chain.results) > 1 else loaded.array
    indices = winner_indices(source, chain.final, job.index_style)
    path = job.indices
    if path is None:
        from poolcli.batch.plan import viz_path

        path = viz_path(task.source, job.indices_dir)[: -len(".png")] + ".npy"
        if not is_inside(os.path.dirname(path), job.indices_dir):
            raise PoolError(outside_reason(job.indices_dir), path=display_path(path))
        os.makedirs(os.path.dirname(path), exist_ok=True)
    io.write_output(path, indices)


def pool_input(loaded, job: Job):
    """Run the job's chain on one input as read, with its layout and an image's alpha and
    pixel rules; returns the :class:`poolcli.engine.chain.ChainResult`."""
    from poolcli.engine.chain import run_chain

    layout = input_layout(loaded, job.layout)
    chain = run_chain(
        loaded.array,
        input_steps(loaded, job.steps, layout),
        layout,
        device=job.device,
        alpha=loaded.has_alpha,
        pixels=loaded.image is not None,  # an image's channels make one pixel (mode)
    )
    first = chain.results[0]
    if first.layout_guessed:
        note = guess_warning(first.input_shape, first.layout)
        if note is not None:  # a Keras batch guessed NCHW would lose its channels quietly
            warnings.warn(LayoutGuessWarning(note), stacklevel=2)
    return chain


def input_layout(loaded, layout: str | None) -> str | None:
    """The layout to pool ``loaded`` in: an image's own (``--layout`` must agree with it), or
    ``layout`` for an array (``None``: guessed from the shape)."""
    own = loaded.layout
    if own is None:
        return layout
    if layout is not None and str(layout) != str(own):
        raise PoolError(
            f"--layout {layout} does not apply: images are always read as {own}. "
            "Leave out --layout, or give only .npy files."
        )
    return str(own)


def read_input(task: Task, job: Job, values: dict[str, Any]):
    """Read one input (``None`` when its output appeared meanwhile and is skipped)."""
    from poolcli import io

    output = task.output
    if output is not None and not job.overwrite and os.path.lexists(output):
        # Written since the plan was made (another run into the same folder).
        values.update(status=SKIPPED, reason="output exists (overwrite replaces it)")
        return None
    path = task.source.path
    # Palette indices are labels only to reductions that compare labels (mode).
    palette = "index" if all(step.reduction.info.labels for step in job.steps) else "rgb"
    if path == STDIN:
        loaded = io.read_input(path, stdin=sys.stdin.buffer, palette=palette)
    else:
        loaded = io.read_input(path, palette=palette)  # first: it says best what is wrong
        values["bytes_in"] = os.stat(path).st_size
    values.update(input_shape=tuple(loaded.array.shape), input_dtype=str(loaded.array.dtype))
    name = display_path(path)
    values["warnings"] += [f"{name}: {warning}" for warning in loaded.warnings]
    return loaded


def finish_output(task: Task, job: Job, values: dict[str, Any], loaded, final, out, layout: str):
    """Record the output's facts, draw ``--viz`` and write the output of one input."""
    values.update(output_shape=tuple(out.shape), output_dtype=str(out.dtype), layout=layout)
    if task.picture is not None:
        _draw(task, job, values, loaded, final)
    if task.output is None:
        return
    written = _write_safely(task.output, out, loaded, layout, job)
    # What the file holds, which is not the compute dtype when an image is written.
    values["output_dtype"] = written.dtype
    values["warnings"] += [f"{display_path(task.output)}: {note}" for note in written.warnings]
    values["bytes_out"] = os.stat(task.output).st_size


def _draw(task: Task, job: Job, values: dict[str, Any], loaded, final) -> None:
    """Draw the picture of one input; an existing one stays (unless overwrite)."""
    from poolcli.render import pictures

    picture = task.picture
    if not job.overwrite and os.path.lexists(picture):
        values["warnings"].append(f"{display_path(picture)}: {PICTURE_EXISTS}.")
        return
    if job.viz_dir is not None:
        if not is_inside(os.path.dirname(picture), job.viz_dir):
            raise PoolError(outside_reason(job.viz_dir), path=display_path(picture))
        os.makedirs(os.path.dirname(picture), exist_ok=True)
    pictures.write_viz(picture, loaded, final, scale=job.viz_scale, channels=job.viz_channels)


def _write_safely(output: str, array, loaded, layout: str, job: Job):
    """Write one output inside the output folder; returns :class:`poolcli.io.Written`."""
    from poolcli import io

    folder = os.path.dirname(output)
    root = job.output_dir
    if root is not None and not is_inside(folder, root):
        raise PoolError(outside_reason(root), path=display_path(output))
    if root is not None:
        os.makedirs(folder, exist_ok=True)
    if root is not None and not is_inside(folder, root):  # a link made meanwhile
        raise PoolError(outside_reason(root), path=display_path(output))
    return io.write_output(
        output,
        array,
        loaded,
        layout=layout,
        png_compression=job.png_compression,
        quality=job.quality,
        normalize=job.normalize,
    )
