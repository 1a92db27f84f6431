"""Running a batch: :func:`iter_batch` plans, then :class:`Batch` yields one result per
input, in input order, serially, in worker processes or threads, or in stacks on a GPU.

The options of :func:`iter_batch`:

* ``recursive``, ``files_from``, ``null``, ``include``, ``exclude``: which files are inputs,
  as :func:`~poolcli.batch.sources.expand_inputs`; ``format``, ``name``, ``overwrite``: the
  outputs, as :func:`~poolcli.batch.plan.plan_batch`.
* ``png_compression``: zlib level 0-9 of PNG outputs (default 6, as Pillow and libpng):
  lower is faster and bigger.
* ``layout``: the layout of ``.npy`` inputs (images are always HW or HWC); default: from
  the shape.
* ``device``: ``cpu``, ``cuda``, ``cuda:N``, ``mps`` or ``auto``.
* ``jobs``: files worked on at once (default: ``os.cpu_count()``). Outputs do not depend
  on it.
* ``executor``: ``auto`` (serial for one job or one file; worker processes on the CPU; on a
  GPU, ``stacked`` groups of ``batch_size`` files in this process, so that one process owns
  the device), or ``serial``, ``processes``, ``threads``, ``stacked``.
* ``fail_fast``: stop at the first failed file: no file is started after it; the few
  already handed to workers (at most ``2 * jobs``) finish and are reported.
* ``torch_threads``: torch's intra-op threads per worker (and in this process while a
  serial run lasts); default 1, so that workers do not compete for cores and results are
  the same for every ``jobs``. ``None`` leaves torch's setting alone.
* ``debug``: raise unexpected errors (with their traceback) instead of reporting them per
  file.
* ``viz_dir``: also draw every input and its output (``--viz DIR/``), mirroring relative
  paths.
* ``batch_size``: on a GPU (or with ``executor="stacked"``), files read together; those of
  the same shape, dtype and layout are stacked and pooled in one call. Outputs are the same.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, Any

from poolcli.batch.names import DEFAULT_NAME
from poolcli.batch.plan import Plan, Task, plan_batch
from poolcli.batch.results import FAILED, FileResult, Summary
from poolcli.batch.stacked import run_stacked
from poolcli.batch.task import DEFAULT_PNG_COMPRESSION, Job, process_task, task_result
from poolcli.batch.workers import init_worker, process_context, set_torch_threads, worker_task
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
            yield from run_stacked(
                self.plan.tasks,
                self.job,
                jobs=self.jobs,
                batch_size=self.batch_size,
                fail_fast=self.fail_fast,
            )
        else:
            yield from self._pooled(kind)

    def _serial(self) -> Iterator[FileResult]:
        old = set_torch_threads(self.job.torch_threads) if self.plan.count("run") else None
        try:
            for task in self.plan.tasks:
                result = process_task(task, self.job)
                yield result
                if self.fail_fast and result.status == FAILED:
                    return
        finally:
            if old is not None:
                set_torch_threads(old)

    def _pooled(self, kind: str) -> Iterator[FileResult]:
        from concurrent.futures import FIRST_COMPLETED, Future, wait

        workers = max(1, min(self.jobs, self.plan.count("run")))
        limit = 2 * workers
        tasks = iter(self.plan.tasks)
        pending: deque[tuple[Task, Future | FileResult]] = deque()
        pool = self._pool = self._make_pool(kind, workers)
        old = set_torch_threads(self.job.torch_threads) if kind == "threads" else None
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
                        result = task_result(
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
                set_torch_threads(old)

    def _make_pool(self, kind: str, workers: int):
        from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

        if kind == "threads":
            return ThreadPoolExecutor(workers, thread_name_prefix="poolcli")
        return ProcessPoolExecutor(
            workers, mp_context=process_context(), initializer=init_worker, initargs=(self.job,)
        )

    def _submit(self, pool, kind: str, task: Task):
        if kind == "threads":
            return pool.submit(process_task, task, self.job)
        return pool.submit(worker_task, task)

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

    ``inputs`` are files, folders and glob patterns (see :func:`expand_inputs`), or a
    :class:`Plan` from :func:`plan_batch` (then the planning options are not used); ``steps``
    one :class:`~poolcli.model.steps.Step` or a chain of them, applied to every input;
    ``output_dir`` the output folder (created when missing; ``None`` pools without writing).
    The other options are described in this module's notes. Raises :class:`UsageError`,
    before any work, for a batch that cannot be done, a bad option or a missing device.

    >>> from poolcli.model.steps import make_step
    >>> batch = iter_batch(["sample_data/seed_4x4.npy"], make_step("max", kernel_size=2))
    >>> [(r.status, r.input_shape, r.output_shape) for r in batch]
    [('done', (4, 4), (2, 2))]
    >>> batch.summary.done, int(batch.summary.exit_status)
    (1, 0)
    """
    options = dict(locals())  # the call's arguments, handed on by name
    jobs = _checked_jobs(jobs, png_compression, executor, torch_threads)
    plan = inputs if isinstance(inputs, Plan) else _plan(options)
    job = _job(plan, options)
    if batch_size < 1:
        raise UsageError(
            f"--batch-size must be at least 1, got {batch_size}.", option="--batch-size"
        )
    return Batch(
        plan, job, jobs=jobs, executor=executor, fail_fast=fail_fast, batch_size=batch_size
    )


def _checked_jobs(jobs: int | None, png_compression: int, executor: str, torch_threads) -> int:
    """``jobs`` (default: the number of cores), once the run's options are checked."""
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
    return jobs


#: The options of :func:`iter_batch` that :func:`plan_batch` takes.
PLANNING = ("format", "name", "overwrite", "recursive", "files_from", "null", "include", "exclude")


def _plan(options: dict[str, Any]) -> Plan:
    if options["steps"] is None:
        raise UsageError("A batch needs an op: give steps.")
    return plan_batch(
        options["inputs"],
        options["steps"],
        options["output_dir"],
        viz_dir=_absolute(options["viz_dir"]),
        **{name: options[name] for name in PLANNING},
    )


def _job(plan: Plan, options: dict[str, Any]) -> Job:
    layout = options["layout"]
    if layout is not None:
        from poolcli.model.layout import Layout

        layout = str(Layout.parse(layout))
    return Job(
        steps=plan.steps,
        layout=layout,
        device=resolve_device(options["device"]),
        overwrite=options["overwrite"],
        png_compression=options["png_compression"],
        output_dir=plan.output_dir,
        debug=options["debug"],
        torch_threads=options["torch_threads"],
        viz_dir=_absolute(options["viz_dir"]),
    )


def _absolute(path: str | None) -> str | None:
    return os.path.abspath(path) if path is not None else None


def run_batch(*args, **kwargs) -> tuple[list[FileResult], Summary]:
    """Run :func:`iter_batch` to the end; returns every result and the summary."""
    batch = iter_batch(*args, **kwargs)
    with batch:
        results = list(batch)
    return results, batch.summary
