"""Running a batch: :func:`iter_batch` plans, then :class:`Batch` yields one result per
input, in input order, serially, in worker processes or threads, or in stacks on a GPU.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from typing import IO

from poolcli.batch.names import DEFAULT_NAME
from poolcli.batch.plan import Plan, Task, plan_batch
from poolcli.batch.results import FAILED, FileResult, Summary
from poolcli.batch.stacked import _run_group
from poolcli.batch.task import DEFAULT_PNG_COMPRESSION, Job, _result, process_task
from poolcli.batch.workers import _init_worker, _process_context, _set_torch_threads, _worker_task
from poolcli.engine.devices import resolve_device
from poolcli.errors import PoolError, UsageError, display_path
from poolcli.model.steps import Step

#: Same-shape files pooled together on a GPU (``--batch-size``).
DEFAULT_BATCH_SIZE = 16
EXECUTORS = ("auto", "serial", "processes", "threads", "stacked")


class Batch:
    """A batch run: an iterator of :class:`FileResult`, one per planned input, in input order.

    Made by :func:`iter_batch`, which plans at once (so usage errors are raised before any
    file is touched); work starts with the first ``next()``. :attr:`summary` is updated as
    results are taken. On Ctrl-C (``KeyboardInterrupt`` while waiting for results), the
    workers are stopped, temporary files removed, the results already finished are still
    yielded, ``summary.interrupted`` is set and the ``KeyboardInterrupt`` is raised again.
    """

    def __init__(
        self,
        plan: Plan,
        job: Job,
        *,
        jobs: int,
        executor: str,
        fail_fast: bool,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ):
        self.plan = plan
        self.job = job
        self.jobs = jobs
        self.batch_size = batch_size
        self.executor = executor
        self.fail_fast = fail_fast
        self.summary = Summary(total=len(plan.tasks), ignored=len(plan.ignored))
        self._started: float | None = None
        self._gen: Iterator[FileResult] | None = None
        self._pool = None  # the executor of a pooled run (for tests and debugging)

    def __iter__(self) -> Batch:
        return self

    def __next__(self) -> FileResult:
        if self._gen is None:
            self._started = time.perf_counter()
            self._gen = self._run()
        try:
            result = next(self._gen)
        except KeyboardInterrupt:
            self.summary.interrupted = True
            self._tick()
            raise
        except StopIteration:
            self._tick()
            raise
        self.summary.add(result)
        self._tick()
        if self.fail_fast and result.status == FAILED:
            self.summary.stopped = True
        return result

    def close(self) -> None:
        """Stop the run (workers stopped, temporary files removed); safe to call twice."""
        if self._gen is not None:
            self._gen.close()

    def __enter__(self) -> Batch:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None and issubclass(exc_type, KeyboardInterrupt):
            self.summary.interrupted = True
        self.close()

    def _tick(self) -> None:
        if self._started is not None:
            self.summary.seconds = time.perf_counter() - self._started

    @property
    def kind(self) -> str:
        """The executor this run uses: ``serial``, ``processes`` or ``threads``."""
        runnable = self.plan.count("run")
        if self.executor != "auto":
            return self.executor
        if self.job.device != "cpu" and self.batch_size > 1 and runnable > 1:
            return "stacked"
        if self.jobs <= 1 or runnable <= 1:
            return "serial"
        return "processes" if self.job.device == "cpu" else "threads"

    def _run(self) -> Iterator[FileResult]:
        from poolcli.io import clean_stale_temps

        for folder in sorted({os.path.dirname(t.output) for t in self.plan.tasks if t.output}):
            clean_stale_temps(folder)
        kind = self.kind
        if kind == "serial":
            yield from self._serial()
        elif kind == "stacked":
            yield from self._stacked()
        else:
            yield from self._pooled(kind)

    def _stacked(self) -> Iterator[FileResult]:
        """GPU runs: read ``batch_size`` files in threads, pool the same-shape ones as one
        stack (one transfer each way instead of one per file), write in threads."""
        from concurrent.futures import ThreadPoolExecutor

        old = _set_torch_threads(self.job.torch_threads)
        tasks = iter(self.plan.tasks)
        try:
            with ThreadPoolExecutor(max(1, self.jobs), thread_name_prefix="poolcli") as pool:
                while group := list(itertools.islice(tasks, self.batch_size)):
                    for result in _run_group(group, self.job, pool):
                        yield result
                        if self.fail_fast and result.status == FAILED:
                            return
        finally:
            if old is not None:
                _set_torch_threads(old)

    def _serial(self) -> Iterator[FileResult]:
        old = _set_torch_threads(self.job.torch_threads) if self.plan.count("run") else None
        try:
            for task in self.plan.tasks:
                result = process_task(task, self.job)
                yield result
                if self.fail_fast and result.status == FAILED:
                    return
        finally:
            if old is not None:
                _set_torch_threads(old)

    def _pooled(self, kind: str) -> Iterator[FileResult]:
        from concurrent.futures import FIRST_COMPLETED, Future, wait

        workers = max(1, min(self.jobs, self.plan.count("run")))
        limit = 2 * workers
        tasks = iter(self.plan.tasks)
        pending: deque[tuple[Task, Future | FileResult]] = deque()
        pool = self._pool = self._make_pool(kind, workers)
        old = _set_torch_threads(self.job.torch_threads) if kind == "threads" else None
        stop = False
        breaks = 0
        retries: dict[int, int] = {}
        try:
            while True:
                # Results are yielded in input order, but workers do not wait for that: files
                # that finished (or were skipped) behind a slow one queue up, up to a bound.
                # With fail_fast they count as in flight, so at most 2 * jobs files start
                # after a failure.
                while (
                    not stop
                    and len(pending) < limit + 256
                    and sum(
                        isinstance(p, Future) and (self.fail_fast or not p.done())
                        for _, p in pending
                    )
                    < limit
                ):
                    task = next(tasks, None)
                    if task is None:
                        break
                    if task.action == "run":
                        try:
                            future = self._submit(pool, kind, task)
                        except Exception as error:
                            if not _broken(error):
                                raise
                            pool = self._restart(pool, kind, workers, pending, retries, True)
                            future = self._submit(pool, kind, task)
                        pending.append((task, future))
                    else:
                        pending.append((task, process_task(task, self.job)))
                if not pending:
                    return
                task, item = pending[0]
                if isinstance(item, Future) and not item.done():
                    # Wake when any file finishes, to give its worker the next one.
                    running = [p for _, p in pending if isinstance(p, Future) and not p.done()]
                    wait(running, return_when=FIRST_COMPLETED)
                    continue
                if isinstance(item, Future):
                    try:
                        result = item.result()
                    except KeyboardInterrupt:
                        raise
                    except Exception as error:
                        if self.job.debug or not _broken(error):
                            raise
                        # A worker died (killed, out of memory): every file in flight is
                        # lost with it. Each is tried once more in a new pool; a file that
                        # breaks the pool twice fails.
                        breaks += 1
                        if breaks > 2:
                            raise PoolError(
                                "the worker processes stopped unexpectedly three times in a "
                                "row. Run with one job to work in this process (a script "
                                "using several jobs needs the if __name__ == '__main__': "
                                "guard)."
                            ) from None
                        retry = retries.get(task.index, 0) == 0
                        pool = self._restart(pool, kind, workers, pending, retries, retry)
                        if retry:
                            continue
                        result = _result(
                            task,
                            FAILED,
                            error=f"{display_path(task.source.path)}: the worker process "
                            "pooling it stopped unexpectedly (killed, or out of memory).",
                        )
                else:
                    result = item
                if isinstance(item, Future) and result.status != FAILED:
                    breaks = 0
                pending.popleft()
                yield result
                if self.fail_fast and result.status == FAILED:
                    # Start nothing more; files already handed to workers finish (their
                    # futures are not cancelled: Python 3.11's pool can trip over those).
                    stop = True
        except (KeyboardInterrupt, GeneratorExit) as stop_error:
            finished = [
                p.result() if isinstance(p, Future) else p
                for _, p in pending
                if not isinstance(p, Future)
                or (p.done() and not p.cancelled() and p.exception() is None)
            ]
            self._abort(pool, kind, pending)
            pool = None
            if isinstance(stop_error, KeyboardInterrupt):
                # Report what was finished before the interrupt; its outputs are complete.
                yield from finished
            raise
        finally:
            if pool is not None:
                pool.shutdown(wait=True)
            if old is not None:
                _set_torch_threads(old)

    def _make_pool(self, kind: str, workers: int):
        from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

        if kind == "threads":
            return ThreadPoolExecutor(workers, thread_name_prefix="poolcli")
        return ProcessPoolExecutor(
            workers, mp_context=_process_context(), initializer=_init_worker, initargs=(self.job,)
        )

    def _submit(self, pool, kind: str, task: Task):
        if kind == "threads":
            return pool.submit(process_task, task, self.job)
        return pool.submit(_worker_task, task)

    def _restart(self, pool, kind, workers, pending, retries, with_head: bool):
        """A worker died: start a new pool and resubmit the files in flight that did not
        finish (the head of ``pending`` too when ``with_head``); counts the retries."""
        from concurrent.futures import Future

        pool.shutdown(wait=False, cancel_futures=True)
        new = self._pool = self._make_pool(kind, workers)
        for i, (task, item) in enumerate(pending):
            if (i == 0 and not with_head) or not isinstance(item, Future):
                continue
            if item.done() and not item.cancelled() and item.exception() is None:
                continue
            retries[task.index] = retries.get(task.index, 0) + 1
            pending[i] = (task, self._submit(new, kind, task))
        return new

    def _abort(self, pool, kind: str, pending) -> None:
        """Stop now: cancel queued files, stop the workers, remove their temporary files."""
        from concurrent.futures import Future

        if kind == "processes":
            # No future is cancelled first: when the workers die, Python 3.11's pool sets an
            # exception on every pending future and fails (in its own thread) on cancelled ones.
            processes = list((getattr(pool, "_processes", None) or {}).values())
            for process in processes:
                with contextlib.suppress(Exception):
                    process.terminate()  # SIGTERM: the worker removes its temporary file
            deadline = time.monotonic() + 5
            for process in processes:
                process.join(max(0.0, deadline - time.monotonic()))
                if process.is_alive():
                    process.kill()
                    process.join(1)
            pool.shutdown(wait=True, cancel_futures=True)
        else:
            # Threads cannot be stopped: they finish their file (each write is atomic).
            for _, item in pending:
                if isinstance(item, Future):
                    item.cancel()
            pool.shutdown(wait=True, cancel_futures=True)
        from poolcli.io import clean_stale_temps

        for folder in {os.path.dirname(t.output) for t, _ in pending if t.output}:
            clean_stale_temps(folder)


def _broken(error: BaseException) -> bool:
    from concurrent.futures.process import BrokenProcessPool

    return isinstance(error, BrokenProcessPool)


def iter_batch(
    inputs: Iterable[str] | Plan,
    steps: Step | Sequence[Step] | None = None,
    output_dir: str | None = None,
    *,
    recursive: bool = False,
    files_from: str | IO[bytes] | None = None,
    null: bool = False,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    format: str = "same",
    name: str = DEFAULT_NAME,
    overwrite: bool = False,
    png_compression: int = DEFAULT_PNG_COMPRESSION,
    layout: str | None = None,
    device: str = "cpu",
    jobs: int | None = None,
    executor: str = "auto",
    fail_fast: bool = False,
    torch_threads: int | None = 1,
    debug: bool = False,
    viz_dir: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> Batch:
    """Pool many files: plan at once, then iterate to run, one :class:`FileResult` per input.

    Parameters
    ----------
    inputs
        Files, folders and glob patterns (see :func:`expand_inputs`), or a :class:`Plan`
        from :func:`plan_batch` (then the planning options below are not used).
    steps
        One :class:`~poolcli.model.steps.Step` or a chain of them, applied to every input.
    output_dir
        Output folder (created when missing); ``None`` pools without writing.
    recursive, files_from, null, include, exclude
        As :func:`expand_inputs`.
    format, name, overwrite
        As :func:`plan_batch`.
    png_compression : int
        zlib level 0-9 of PNG outputs (default 6, as Pillow and libpng): lower is faster
        and bigger.
    layout : str, optional
        Layout of ``.npy`` inputs (images are always HW or HWC); default: from the shape.
    device : str
        ``cpu``, ``cuda``, ``cuda:N``, ``mps`` or ``auto``.
    jobs : int, optional
        Files worked on at once (default: ``os.cpu_count()``). Outputs do not depend on it.
    executor : str
        ``auto`` (serial for one job or one file; worker processes on the CPU; on a GPU,
        ``stacked`` groups of ``batch_size`` files in this process, so that one process owns
        the device), or ``serial``, ``processes``, ``threads``, ``stacked``.
    fail_fast : bool
        Stop at the first failed file: no file is started after it; the few already handed
        to workers (at most ``2 * jobs``) finish and are reported.
    torch_threads : int or None
        torch's intra-op threads per worker (and in this process while a serial run lasts);
        default 1, so that workers do not compete for cores and results are the same for
        every ``jobs``. ``None`` leaves torch's setting alone.
    debug : bool
        Raise unexpected errors (with their traceback) instead of reporting them per file.
    viz_dir : str, optional
        Also draw every input and its output (``--viz DIR/``), mirroring relative paths.
    batch_size : int
        On a GPU (or with ``executor="stacked"``), files read together; those of the same
        shape, dtype and layout are stacked and pooled in one call. Outputs are the same.

    Returns
    -------
    Batch
        An iterator of results with a live :attr:`Batch.summary`.

    Raises
    ------
    UsageError
        Before any work, for a batch that cannot be done (see :func:`plan_batch`), a bad
        option value, or a device that is not there.

    Examples
    --------
    >>> from poolcli.model.steps import make_step
    >>> batch = iter_batch(["sample_data/seed_4x4.npy"], make_step("max", kernel_size=2))
    >>> [(r.status, r.input_shape, r.output_shape) for r in batch]
    [('done', (4, 4), (2, 2))]
    >>> batch.summary.done, int(batch.summary.exit_status)
    (1, 0)
    """
    if not 0 <= png_compression <= 9:
        raise UsageError(
            f"--png-compression must be 0 to 9, got {png_compression}.",
            option="--png-compression",
        )
    if executor not in EXECUTORS:
        raise UsageError(f"executor must be one of {', '.join(EXECUTORS)}, got {executor}.")
    jobs = (os.cpu_count() or 1) if jobs is None else jobs
    if jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {jobs}.", option="--jobs")
    if torch_threads is not None and torch_threads < 1:
        raise UsageError(f"torch_threads must be at least 1, got {torch_threads}.")
    if isinstance(inputs, Plan):
        plan = inputs
    else:
        if steps is None:
            raise UsageError("A batch needs an op: give steps.")
        plan = plan_batch(
            inputs,
            steps,
            output_dir,
            format=format,
            name=name,
            overwrite=overwrite,
            recursive=recursive,
            files_from=files_from,
            null=null,
            include=include,
            exclude=exclude,
            viz_dir=os.path.abspath(viz_dir) if viz_dir is not None else None,
        )
    if layout is not None:
        from poolcli.model.layout import Layout

        layout = str(Layout.parse(layout))
    job = Job(
        steps=plan.steps,
        layout=layout,
        device=resolve_device(device),
        overwrite=overwrite,
        png_compression=png_compression,
        output_dir=plan.output_dir,
        debug=debug,
        torch_threads=torch_threads,
        viz_dir=os.path.abspath(viz_dir) if viz_dir is not None else None,
    )
    if batch_size < 1:
        raise UsageError(
            f"--batch-size must be at least 1, got {batch_size}.", option="--batch-size"
        )
    return Batch(
        plan, job, jobs=jobs, executor=executor, fail_fast=fail_fast, batch_size=batch_size
    )


def run_batch(*args, **kwargs) -> tuple[list[FileResult], Summary]:
    """Run :func:`iter_batch` to the end; returns every result and the summary."""
    batch = iter_batch(*args, **kwargs)
    with batch:
        results = list(batch)
    return results, batch.summary
