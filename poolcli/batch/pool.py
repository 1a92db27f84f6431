"""The workers of a run, as the scheduler sees them: hand a file to a worker, wait for answers,
stop. :class:`ProcessWorkers` are worker processes (CPU runs), each fed through its own pipe,
so that the death of one (killed, out of memory) loses only the files it was given: those are
tried once more on a new worker, and no finished result is lost. :class:`ThreadWorkers` are
threads of this process (for a GPU that this process owns).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import warnings
from collections import deque
from collections.abc import Iterable

from poolcli.batch.plan import Task
from poolcli.batch.results import FAILED, FileResult
from poolcli.batch.task import Job, process_task, task_result
from poolcli.batch.workers import process_context, serve
from poolcli.errors import PoolError, display_path

#: Files handed to one worker at once: the one it pools and the next, so it never waits.
PER_WORKER = 2
#: How long stopped workers may take to remove their temporary files before they are killed.
STOP_SECONDS = 5.0
#: Worker deaths in a row (no file answered in between) after which the run gives up.
MOST_DEATHS = 3


class WorkerTraceback(Exception):
    """The traceback of an unexpected error in a worker (with ``--debug``), shown as the cause
    of that error raised again here."""

    def __str__(self) -> str:
        return "\n" + self.args[0]


class _Worker:
    """One worker process, its pipe, and the files handed to it that it has not answered."""

    def __init__(self, context, job: Job, lifeline):
        self.connection, theirs = context.Pipe()
        _close_after_fork(self, context, self.connection)
        self.process = context.Process(
            target=serve, args=(theirs, job, lifeline), daemon=True, name="poolcli-worker"
        )
        with warnings.catch_warnings():
            # A resource tracker killed meanwhile is started again: no resource of ours is lost.
            warnings.filterwarnings("ignore", message="resource_tracker: process died")
            self.process.start()
        theirs.close()
        self.tasks: deque[Task] = deque()

    def send(self, task: Task) -> None:
        self.tasks.append(task)
        try:
            self.connection.send(task)
        except OSError:
            pass  # the worker is gone: its closed pipe says so at the next wait

    def receive(self) -> tuple | None:
        """Its next answer (see :func:`~poolcli.batch.workers.serve`); ``None``: it died."""
        try:
            return self.connection.recv()
        except (EOFError, OSError):
            return None


class ProcessWorkers:
    """Up to ``count`` worker processes, started as files need them; one that dies is
    replaced. Each holds the read end of a *lifeline* pipe that only this process writes to,
    so that the workers stop when this process dies (see :mod:`poolcli.batch.workers`)."""

    def __init__(self, job: Job, count: int):
        self.job = job
        self.count = count
        self.capacity = PER_WORKER * count
        self._context = process_context()
        self._lifeline, self._lifeline_end = self._context.Pipe(duplex=False)
        _close_after_fork(self, self._context, self._lifeline_end)
        self._workers: list[_Worker] = []
        self._retried: set[int] = set()
        self._deaths = 0  # in a row: since the last answer

    def pids(self) -> list[int]:
        """The worker processes' ids."""
        return [worker.process.pid for worker in self._workers]

    def submit(self, task: Task) -> None:
        idle = [worker for worker in self._workers if not worker.tasks]
        if idle:
            worker = idle[0]
        elif len(self._workers) < self.count:
            worker = _Worker(self._context, self.job, self._lifeline)
            self._workers.append(worker)
        else:
            worker = min(self._workers, key=lambda w: len(w.tasks))
        worker.send(task)

    def wait(self) -> list[tuple[Task, FileResult]]:
        """Block until a worker answers or dies; the files answered, with their results.

        The files of a worker that died are handed to another, except those that were
        already with a worker that died: they fail. An error that a worker did not turn into
        a result (a bug; with ``--debug``, any unexpected error) is raised here, with the
        worker's traceback as its cause.
        """
        from multiprocessing.connection import wait

        busy = {worker.connection: worker for worker in self._workers if worker.tasks}
        answered = []
        for connection in wait(list(busy)) if busy else ():
            worker = busy[connection]
            answer = worker.receive()
            if answer is None:
                answered += self._lost(worker)
                continue
            task = worker.tasks.popleft()
            if answer[0] == "error":
                raise answer[1] from WorkerTraceback(answer[2])
            self._deaths = 0
            answered.append((task, answer[1]))
        return answered

    def _lost(self, worker: _Worker) -> list[tuple[Task, FileResult]]:
        self._workers.remove(worker)
        worker.connection.close()
        _end([worker.process], 0.0)
        _clean_temps(worker.tasks, self.job.output_dir)  # what it was writing when it died
        self._deaths += 1
        if self._deaths >= MOST_DEATHS:
            raise PoolError(
                "the worker processes stopped unexpectedly three times in a row. Run with one "
                "job to work in this process (a script using several jobs needs the "
                "if __name__ == '__main__': guard)."
            )
        failed = []
        for task in worker.tasks:
            if task.index in self._retried:
                error = (
                    f"{display_path(task.source.path)}: the worker process pooling it stopped "
                    "unexpectedly (killed, or out of memory)."
                )
                failed.append((task, task_result(task, FAILED, error=error)))
            else:
                self._retried.add(task.index)
                self.submit(task)
        return failed

    def stop(self) -> None:
        """The run is over: each worker ends when told so, or when its pipe closes."""
        for worker in self._workers:
            with contextlib.suppress(OSError, ValueError):
                worker.connection.send(None)
            worker.connection.close()
        _end([worker.process for worker in self._workers], STOP_SECONDS)
        self._close()

    def abort(self) -> None:
        """Stop now: each worker removes the temporary file of the file it was writing and
        ends; one still there after :data:`STOP_SECONDS` is killed, and its files removed."""
        for worker in self._workers:
            with contextlib.suppress(OSError, ValueError):
                worker.process.terminate()
        _end([worker.process for worker in self._workers], STOP_SECONDS)
        for worker in self._workers:
            worker.connection.close()
            _clean_temps(worker.tasks, self.job.output_dir)
        self._close()

    def _close(self) -> None:
        self._workers.clear()
        self._lifeline_end.close()
        self._lifeline.close()


def _close_after_fork(owner, context, end) -> None:
    """With the fork start method, a worker inherits every descriptor of this process: close
    in it the ends that are this process's own (its pipes to the workers, the lifeline's
    writing end), so that their closing here still reaches the workers."""
    if context.get_start_method() != "fork":
        return
    from multiprocessing import util

    util.register_after_fork(owner, lambda _: end.close())


def _end(processes: list, seconds: float) -> None:
    """Give ``processes`` ``seconds`` to end, then kill them; returns when they are gone for
    sure, so that their temporary files are told from those of live processes."""
    from poolcli.io import pid_alive

    deadline = time.monotonic() + seconds
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
    for process in processes:
        if process.pid is not None and pid_alive(process.pid):
            with contextlib.suppress(OSError):
                os.kill(process.pid, getattr(signal, "SIGKILL", signal.SIGTERM))
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline and any(
        process.pid is not None and pid_alive(process.pid) for process in processes
    ):
        time.sleep(0.01)


def _clean_temps(tasks: Iterable[Task], plan_root: str | None) -> None:
    """Remove the temporary files that dead workers left in the folders of ``tasks`` (never
    following a link out of ``plan_root``)."""
    from poolcli.io import clean_stale_temps

    paths = [path for task in tasks for path in (task.output, task.picture) if path is not None]
    for folder in {os.path.dirname(path) for path in paths}:
        clean_stale_temps(folder, plan_root)


class ThreadWorkers:
    """``count`` threads of this process, for a GPU that this process owns. Threads cannot be
    stopped: on Ctrl-C they finish the file they are writing (each write is atomic)."""

    def __init__(self, job: Job, count: int):
        from concurrent.futures import ThreadPoolExecutor

        self.job = job
        self.capacity = PER_WORKER * count
        self._pool = ThreadPoolExecutor(count, thread_name_prefix="poolcli")
        self._futures: dict = {}

    def submit(self, task: Task) -> None:
        self._futures[self._pool.submit(process_task, task, self.job)] = task

    def wait(self) -> list[tuple[Task, FileResult]]:
        from concurrent.futures import FIRST_COMPLETED, wait

        done, _ = wait(list(self._futures), return_when=FIRST_COMPLETED)
        return [(self._futures.pop(future), future.result()) for future in done]

    def stop(self) -> None:
        self._pool.shutdown(wait=True)

    def abort(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
