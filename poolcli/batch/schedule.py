"""Results in input order from workers that run ahead of them.

Files are handed to the workers as long as fewer than their capacity (two per worker) are
being pooled; a file that finished behind a slow one waits for it (up to :data:`QUEUED` of
them), while the workers go on. With ``fail_fast``, finished files not yet given back count
as being pooled, so that at most the workers' capacity of files start after a failure.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from typing import Protocol

from poolcli.batch.plan import Task
from poolcli.batch.results import FAILED, FileResult
from poolcli.batch.task import Job, process_task

#: Finished results that may wait behind a slow file.
QUEUED = 256


class Workers(Protocol):
    """What the scheduler needs of workers (see :mod:`poolcli.batch.pool`)."""

    capacity: int

    def submit(self, task: Task) -> None: ...
    def wait(self) -> list[tuple[Task, FileResult]]: ...
    def stop(self) -> None: ...
    def abort(self) -> None: ...


class InOrder:
    """One run's files handed to ``workers``, and their results given back in input order."""

    def __init__(self, tasks: Sequence[Task], job: Job, workers: Workers, fail_fast: bool):
        self._tasks = iter(tasks)
        self.job = job
        self.workers = workers
        self.fail_fast = fail_fast
        self._pending: deque[Task] = deque()  # handed out, not yet given back
        self._finished: dict[int, FileResult] = {}
        self._running = 0  # handed to workers, not answered
        self._unreported = 0  # answered by workers, not given back
        self._stopped = False

    def results(self) -> Iterator[FileResult]:
        """The results, in input order. On Ctrl-C the workers are stopped (no partial file is
        left) and the results finished before it are given back before it is raised again;
        on any other exit the workers are stopped too."""
        ended = False
        try:
            yield from self._in_order()
            self.workers.stop()
            ended = True
        except KeyboardInterrupt:
            finished = [self._finished[t.index] for t in self._pending if t.index in self._finished]
            self.workers.abort()
            ended = True
            yield from finished  # their outputs are complete
            raise
        finally:
            if not ended:
                self.workers.abort()

    def _in_order(self) -> Iterator[FileResult]:
        while True:
            self._hand_out()
            if not self._pending:
                return
            head = self._pending[0]
            if head.index not in self._finished:
                self._collect()
                continue
            self._pending.popleft()
            if head.action == "run":
                self._unreported -= 1
            result = self._finished.pop(head.index)
            yield result
            if self.fail_fast and result.status == FAILED:
                self._stopped = True  # start nothing more; files handed out finish

    def _hand_out(self) -> None:
        capacity = self.workers.capacity
        while not self._stopped and len(self._pending) < capacity + QUEUED:
            in_flight = self._running + (self._unreported if self.fail_fast else 0)
            if in_flight >= capacity:
                return
            task = next(self._tasks, None)
            if task is None:
                return
            self._pending.append(task)
            if task.action == "run":
                self.workers.submit(task)
                self._running += 1
            else:
                self._finished[task.index] = process_task(task, self.job)

    def _collect(self) -> None:
        for task, result in self.workers.wait():
            self._finished[task.index] = result
            self._running -= 1
            self._unreported += 1
