"""GPU runs: files read together in threads, those of one shape pooled as one stack."""

from __future__ import annotations

import time
from typing import Any

from poolcli.batch.plan import Task
from poolcli.batch.results import DONE, FileResult
from poolcli.batch.task import Job, _finish, _guarded, _read, process_task
from poolcli.errors import PoolError
from poolcli.model.reductions import Reduction


def _stackable(job: Job) -> bool:
    """Stacking changes nothing per file, except the random draws of stochastic sampling and
    the per-file pictures of --viz, which are made one by one."""
    sampling = any(
        s.reduction is Reduction.STOCHASTIC and not s.options.expectation for s in job.steps
    )
    return job.viz_dir is None and not sampling


def _run_group(group: list[Task], job: Job, pool) -> list[FileResult]:
    """One group of a stacked run: results in task order."""
    from poolcli.engine.chain import run_chain
    from poolcli.model.options import resolve_layout

    start = time.perf_counter()
    results: dict[int, FileResult] = {}
    ready: list[tuple[Task, dict, Any, str]] = []

    def read(task: Task):
        box: dict[str, Any] = {}

        def work(values):
            box.update(values=values, loaded=_read(task, job, values))

        return task, box, _guarded(task, job, work, start)

    for task, box, result in pool.map(read, [t for t in group if t.action == "run"]):
        loaded = box.get("loaded")
        if result.status != DONE or loaded is None:
            results[task.index] = result
            continue
        given = loaded.layout if loaded.layout is not None else job.layout
        try:
            layout = str(resolve_layout(tuple(loaded.array.shape), given)[0])
        except PoolError:
            layout = None  # let the file's own run report it
        ready.append((task, box["values"], loaded, layout))
    for task in group:
        if task.action != "run":
            results[task.index] = process_task(task, job)

    by_shape: dict[tuple, list] = {}
    for item in ready:
        task, values, loaded, layout = item
        key = (loaded.array.shape, str(loaded.array.dtype), layout, loaded.has_alpha)
        by_shape.setdefault(key, []).append(item)

    writes = []
    for (_, _, layout, alpha), items in by_shape.items():
        stacked = None
        if len(items) > 1 and layout is not None and "N" not in layout and _stackable(job):
            import numpy as np

            try:
                arrays = np.stack([loaded.array for _, _, loaded, _ in items])
                chain = run_chain(arrays, job.steps, "N" + layout, device=job.device, alpha=alpha)
                stacked = chain.output
            except PoolError:
                stacked = None  # pooled one by one below, so each file gets its own error
        for i, (task, values, loaded, _) in enumerate(items):
            out = stacked[i] if stacked is not None else None
            writes.append((task, values, loaded, out))

    def finish(item):
        task, values, loaded, out = item

        def work(v):
            v.update(values)
            if out is None:
                item_layout = loaded.layout if loaded.layout is not None else job.layout
                chain = run_chain(
                    loaded.array,
                    job.steps,
                    item_layout,
                    device=job.device,
                    alpha=loaded.has_alpha,
                )
                _finish(task, job, v, loaded, chain.final, chain.output, str(chain.layout))
            else:
                _finish(task, job, v, loaded, None, out, v.get("layout") or _layout_of(loaded, job))

        return task, _guarded(task, job, work, start)

    for task, result in pool.map(finish, writes):
        results[task.index] = result
    return [results[t.index] for t in group]


def _layout_of(loaded, job: Job) -> str:
    from poolcli.model.options import resolve_layout

    given = loaded.layout if loaded.layout is not None else job.layout
    return str(resolve_layout(tuple(loaded.array.shape), given)[0])
