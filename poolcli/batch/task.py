"""Doing one input: read, pool, draw, write; in a worker process, a thread, or the caller's
own process. Problems with the input come back as a failed :class:`FileResult`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from poolcli.batch.plan import PICTURE_EXISTS, Task, is_inside, outside_reason
from poolcli.batch.results import DONE, FAILED, SKIPPED, FileResult
from poolcli.errors import ExitStatus, PoolError, display_path, failure
from poolcli.model.steps import Step

DEFAULT_PNG_COMPRESSION = 6


@dataclass(frozen=True)
class Job:
    """What every file of a batch shares; sent once to each worker process."""

    steps: tuple[Step, ...]
    layout: str | None = None
    device: str = "cpu"
    overwrite: bool = False
    png_compression: int = DEFAULT_PNG_COMPRESSION
    output_dir: str | None = None
    debug: bool = False
    torch_threads: int | None = 1
    viz_dir: str | None = None


def write_output(path: str, array, source, layout: str | None, png_compression: int) -> list[str]:
    """:func:`poolcli.io.write_output` at the batch's PNG compression level."""
    from poolcli import io

    return io.write_output(path, array, source, layout=layout, png_compression=png_compression)


def task_result(task: Task, status: str, **values) -> FileResult:
    return FileResult(input=task.source.path, output=task.output, status=status, **values)


def process_task(
    task: Task, job: Job, before_pooling: Callable[[], None] | None = None
) -> FileResult:
    """Read, pool and write one file. Problems with the file come back as a failed result.

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
    """Run ``work(values)`` for one file; its problems become a failed :class:`FileResult`."""
    name = display_path(task.source.path)
    values: dict[str, Any] = {}
    try:
        work(values)
    except Exception as error:
        if job.debug and not isinstance(error, (PoolError, MemoryError, OSError)):
            raise
        failed = failure(error, name)
        values.update(error=failed.message, usage=failed.status == ExitStatus.USAGE)
    values["seconds"] = time.perf_counter() - start
    if values.get("status") == SKIPPED:
        return task_result(task, **values)
    status = FAILED if "error" in values else DONE
    values.pop("status", None)
    if status == FAILED:
        values["bytes_out"] = 0
    return task_result(task, status, **values)


def _process(task: Task, job: Job, values: dict[str, Any], before_pooling) -> None:
    loaded = read_input(task, job, values)
    if loaded is None:
        return
    if before_pooling is not None:
        before_pooling()
    from poolcli.engine.chain import run_chain

    layout = loaded.layout if loaded.layout is not None else job.layout
    chain = run_chain(loaded.array, job.steps, layout, device=job.device, alpha=loaded.has_alpha)
    finish_output(task, job, values, loaded, chain.final, chain.output, str(chain.layout))


def read_input(task: Task, job: Job, values: dict[str, Any]):
    """Read one input (``None`` when its output appeared meanwhile and is skipped)."""
    from poolcli import io

    output = task.output
    if output is not None and not job.overwrite and os.path.lexists(output):
        # Written since the plan was made (another run into the same folder).
        values.update(status=SKIPPED, reason="output exists (overwrite replaces it)")
        return None
    values["bytes_in"] = os.stat(task.source.path).st_size
    loaded = io.read_input(task.source.path)
    values.update(input_shape=tuple(loaded.array.shape), input_dtype=str(loaded.array.dtype))
    values["warnings"] = list(loaded.warnings)
    return loaded


def finish_output(task: Task, job: Job, values: dict[str, Any], loaded, final, out, layout: str):
    """Record the output's facts, draw ``--viz`` and write the output of one input."""
    values.update(output_shape=tuple(out.shape), output_dtype=str(out.dtype), layout=layout)
    if task.picture is not None:
        _draw(task, job, values, loaded, final)
    if task.output is None:
        return
    values["warnings"] += _write_safely(task.output, out, loaded, layout, job)
    values["bytes_out"] = os.stat(task.output).st_size


def _draw(task: Task, job: Job, values: dict[str, Any], loaded, final) -> None:
    """Draw ``--viz DIR/``'s picture of one input; an existing one stays (unless overwrite)."""
    from poolcli.render import pictures

    picture = task.picture
    if not job.overwrite and os.path.lexists(picture):
        values["warnings"].append(f"{display_path(picture)}: {PICTURE_EXISTS}.")
        return
    if not is_inside(os.path.dirname(picture), job.viz_dir):
        raise PoolError(outside_reason(job.viz_dir), path=display_path(picture))
    os.makedirs(os.path.dirname(picture), exist_ok=True)
    pictures.write_viz(picture, loaded, final)


def _write_safely(output: str, array, loaded, layout: str, job: Job) -> list[str]:
    folder = os.path.dirname(output)
    root = job.output_dir
    if root is not None and not is_inside(folder, root):
        raise PoolError(outside_reason(root), path=display_path(output))
    os.makedirs(folder, exist_ok=True)
    if root is not None and not is_inside(folder, root):  # a link made meanwhile
        raise PoolError(outside_reason(root), path=display_path(output))
    return write_output(output, array, loaded, layout, job.png_compression)
