"""GPU runs: ``batch_size`` files read in threads, the same-shape ones pooled as one stack (one
transfer each way instead of one per file), outputs written in threads."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from typing import Any

from poolcli.batch.blockwise import task_wants_blocks
from poolcli.batch.plan import Task
from poolcli.batch.results import DONE, FAILED, FileResult
from poolcli.batch.task import (
    Job,
    finish_output,
    guarded,
    input_layout,
    pool_input,
    process_task,
    read_input,
)
from poolcli.engine.threads import set_torch_threads
from poolcli.errors import PoolError
from poolcli.model.reductions import Reduction

#: A file read and ready to pool: its task, its facts so far, the input, its layout.
Ready = tuple[Task, dict[str, Any], Any, "str | None"]


def run_stacked(
    tasks: list[Task], job: Job, *, jobs: int, batch_size: int, fail_fast: bool
) -> Iterator[FileResult]:
    """The results of a stacked run, in task order."""
    from concurrent.futures import ThreadPoolExecutor

    old = set_torch_threads(job.torch_threads)
    remaining = iter(tasks)
    try:
        with ThreadPoolExecutor(max(1, jobs), thread_name_prefix="poolcli") as pool:
            while group := list(itertools.islice(remaining, batch_size)):
                for result in run_group(group, job, pool):
                    yield result
                    if fail_fast and result.status == FAILED:
                        return
    finally:
        if old is not None:
            set_torch_threads(old)


def _stackable(job: Job) -> bool:
    """Stacking changes nothing per file, except the random draws of stochastic sampling and
    the per-file pictures of --viz, which are made one by one."""
    sampling = any(
        s.reduction is Reduction.STOCHASTIC and not s.options.expectation for s in job.steps
    )
    # A mask is read and an image's sRGB white found per file (poolcli.batch.data).
    per_file = any(s.options.mask is not None or s.options.linear_light for s in job.steps)
    variant = any(
        s.options.blur or s.options.pool_axes or s.spec.mode in ("fractional", "spp")
        for s in job.steps
    )
    plain = not (sampling or per_file or variant)
    return job.viz_dir is None and job.indices_dir is None and plain


def run_group(group: list[Task], job: Job, pool) -> list[FileResult]:
    """One group of a stacked run: results in task order."""
    start = time.perf_counter()
    results: dict[int, FileResult] = {}
    ready = _read_group(group, job, pool, start, results)
    for task in group:
        if task.action != "run" or task_wants_blocks(task, job):
            results[task.index] = process_task(task, job)
    writes = _pool_stacks(ready, job)
    for task, result in pool.map(lambda item: _write(item, job, start), writes):
        results[task.index] = result
    return [results[t.index] for t in group]


def _read_group(group, job: Job, pool, start: float, results: dict) -> list[Ready]:
    """Read the group's files in threads; those that fail go to ``results``."""

    def read(task: Task):
        box: dict[str, Any] = {}

        def work(values):
            box.update(values=values, loaded=read_input(task, job, values))

        return task, box, guarded(task, job, work, start)

    ready = []
    stackable = [t for t in group if t.action == "run" and not task_wants_blocks(t, job)]
    for task, box, result in pool.map(read, stackable):
        loaded = box.get("loaded")
        if result.status != DONE or loaded is None:
            results[task.index] = result
            continue
        try:
            layout = _layout_of(loaded, job)
        except PoolError:
            layout = None  # let the file's own run report it
        ready.append((task, box["values"], loaded, layout))
    return ready


def _pool_stacks(ready: list[Ready], job: Job) -> list[tuple[Task, dict, Any, Any]]:
    """Each file with its output, pooled in a stack with the files of its shape; ``None``
    where it is to be pooled alone."""
    by_shape: dict[tuple, list[Ready]] = {}
    for item in ready:
        task, values, loaded, layout = item
        image = loaded.image is not None
        key = (loaded.array.shape, str(loaded.array.dtype), layout, loaded.has_alpha, image)
        by_shape.setdefault(key, []).append(item)
    writes = []
    for (_, _, layout, alpha, image), items in by_shape.items():
        stacked = _stack(items, layout, alpha, image, job) if len(items) > 1 else None
        for i, (task, values, loaded, _) in enumerate(items):
            out = stacked[i] if stacked is not None else None
            writes.append((task, values, loaded, out))
    return writes


def _stack(items: list[Ready], layout: str | None, alpha: bool, image: bool, job: Job):
    """The outputs of ``items`` pooled as one stack, or ``None`` when they cannot be."""
    if layout is None or "N" in layout or not _stackable(job):
        return None
    import numpy as np

    from poolcli.engine.chain import run_chain

    try:
        arrays = np.stack([loaded.array for _, _, loaded, _ in items])
        return run_chain(
            arrays, job.steps, "N" + layout, device=job.device, alpha=alpha, pixels=image
        ).output
    except PoolError:
        return None  # pooled one by one, so each file gets its own error


def _write(item: tuple[Task, dict, Any, Any], job: Job, start: float):
    """Pool a file alone when it has no output yet, then draw and write it."""
    task, values, loaded, out = item

    def work(v):
        v.update(values)
        if out is None:
            chain = pool_input(loaded, job)
            finish_output(task, job, v, loaded, chain.final, chain.output, str(chain.layout))
        else:
            layout = v.get("layout") or _layout_of(loaded, job)
            finish_output(task, job, v, loaded, None, out, layout)

    return task, guarded(task, job, work, start)


def _layout_of(loaded, job: Job) -> str:
    from poolcli.model.options import resolve_layout

    given = input_layout(loaded, job.layout)
    return str(resolve_layout(tuple(loaded.array.shape), given)[0])
