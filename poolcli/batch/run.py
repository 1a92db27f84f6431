"""Running a batch: :func:`iter_batch` plans, then :class:`Batch` yields one result per
input, in input order, serially, in worker processes or threads, or in stacks on a GPU.

The options of :func:`iter_batch`:

* ``recursive``, ``files_from``, ``null``, ``include``, ``exclude``: which files are inputs,
  as :func:`~poolcli.batch.sources.expand_inputs`; ``format``, ``name``, ``overwrite``: the
  outputs, as :func:`~poolcli.batch.plan.plan_batch`.
* ``png_compression``: 0-9 for PNG outputs, 0 fastest ... 9 smallest (default 6; how the
  levels map onto encoders: :mod:`poolcli.io.png_codec`). ``quality``: 1-100 for JPEG and
  WebP outputs (default: JPEG 95, WebP lossless). ``normalize``: rescale float results'
  min..max to an image output's range.
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

import os
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, Any

from poolcli.batch.names import DEFAULT_NAME
from poolcli.batch.plan import Plan, plan_batch
from poolcli.batch.pool import ProcessWorkers, ThreadWorkers
from poolcli.batch.results import FAILED, FileResult, Summary
from poolcli.batch.schedule import InOrder
from poolcli.batch.stacked import run_stacked
from poolcli.batch.task import DEFAULT_PNG_COMPRESSION, Job, process_task
from poolcli.batch.workers import TorchThreads, stop_workers_started_early
from poolcli.engine.devices import resolve_device
from poolcli.engine.threads import set_torch_threads
from poolcli.errors import UsageError
from poolcli.model.steps import Step

#: Same-shape files pooled together on a GPU (``--batch-size``).
DEFAULT_BATCH_SIZE = 16
EXECUTORS = ("auto", "serial", "processes", "threads", "stacked")


class Batch:
    """A batch run: an iterator of :class:`FileResult`, one per planned input, in input order.

    Made by :func:`iter_batch`, which plans at once (so usage errors are raised before any
    file is touched); work starts with the first ``next()``. :attr:`summary` is updated as
    results are taken. On Ctrl-C (``KeyboardInterrupt`` while waiting for results, or
    :class:`~poolcli.errors.Interrupted` for SIGTERM and SIGHUP), the workers are stopped,
    temporary files removed, the results already finished are still yielded, the summary
    records the stop and its exit status, and the ``KeyboardInterrupt`` is raised again.
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
        self.summary = Summary.of_plan(plan)
        self._started: float | None = None
        self._gen: Iterator[FileResult] | None = None
        self._workers = None  # the workers of a pooled run (for tests and debugging)

    def __iter__(self) -> Batch:
        return self

    def __next__(self) -> FileResult:
        if self._gen is None:
            self._started = time.perf_counter()
            self._gen = self._run()
        try:
            result = next(self._gen)
        except KeyboardInterrupt as stop:
            self.summary.interrupt(stop)
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
        if isinstance(exc, KeyboardInterrupt):
            self.summary.interrupt(exc)
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
            clean_stale_temps(folder, self.plan.output_dir)
        kind = self.kind
        if kind != "processes":
            stop_workers_started_early()
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
        threads = TorchThreads(self.job.torch_threads)
        try:
            for task in self.plan.tasks:
                result = process_task(task, self.job, threads.apply)
                yield result
                if self.fail_fast and result.status == FAILED:
                    return
        finally:
            threads.restore()

    def _pooled(self, kind: str) -> Iterator[FileResult]:
        count = max(1, min(self.jobs, self.plan.count("run")))
        if kind == "threads":
            workers = self._workers = ThreadWorkers(self.job, count)
        else:
            workers = self._workers = ProcessWorkers(self.job, count)
        old = set_torch_threads(self.job.torch_threads) if kind == "threads" else None
        try:
            yield from InOrder(self.plan.tasks, self.job, workers, self.fail_fast).results()
        finally:
            if old is not None:
                set_torch_threads(old)


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
    quality: int | None = None,
    normalize: bool = False,
    layout: str | None = None,
    device: str = "cpu",
    jobs: int | None = None,
    executor: str = "auto",
    fail_fast: bool = False,
    torch_threads: int | None = 1,
    debug: bool = False,
    viz_dir: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    indices_dir: str | None = None,
    index_style: str = "torch",
    viz_format: str = "png",
    viz_scale: int = 1,
    viz_channels: tuple[int, ...] | None = None,
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
        indices_dir=_absolute(options["indices_dir"]),
        viz_format=options["viz_format"],
        **{name: options[name] for name in PLANNING},
    )


def _job(plan: Plan, options: dict[str, Any]) -> Job:
    layout = options["layout"]
    if layout is not None:
        from poolcli.model.axes import parse_letters
        from poolcli.model.layout import LETTERS, Layout

        letters = parse_letters(layout)
        layout = str(Layout.parse(layout)) if set(letters) <= set(LETTERS) else letters
    return Job(
        steps=plan.steps,
        layout=layout,
        device=resolve_device(options["device"]),
        overwrite=options["overwrite"],
        png_compression=options["png_compression"],
        quality=options["quality"],
        normalize=options["normalize"],
        output_dir=plan.output_dir,
        debug=options["debug"],
        torch_threads=options["torch_threads"],
        viz_dir=_absolute(options["viz_dir"]),
        indices_dir=_absolute(options.get("indices_dir")),
        index_style=options.get("index_style", "torch"),
        viz_scale=options.get("viz_scale", 1),
        viz_channels=options.get("viz_channels"),
    )


def _absolute(path: str | None) -> str | None:
    return os.path.abspath(path) if path is not None else None


def run_batch(*args, **kwargs) -> tuple[list[FileResult], Summary]:
    """Run :func:`iter_batch` to the end; returns every result and the summary."""
    batch = iter_batch(*args, **kwargs)
    with batch:
        results = list(batch)
    return results, batch.summary
