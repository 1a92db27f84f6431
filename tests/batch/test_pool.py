"""Worker processes as the scheduler sees them (poolcli.batch.pool): answers, errors, deaths,
and the lifeline that stops them when the main process is gone."""

import os
import signal
import time

import numpy as np
import pytest

from poolcli.batch import Batch, Job, Plan, Source, Task
from poolcli.batch.pool import ProcessWorkers, WorkerTraceback
from poolcli.errors import PoolError
from poolcli.io import pid_alive
from poolcli.model.steps import make_step

MAX2 = make_step("max", kernel_size=2)


def plan_of(tasks: list[Task]) -> Plan:
    return Plan(tasks, (MAX2,), None)


def npy_task(tmp_path, index: int) -> Task:
    path = tmp_path / f"x{index}.npy"
    np.save(path, np.arange(16.0).reshape(4, 4))
    return Task(index, Source(str(path), path.name, "file"), None)


def test_an_unexpected_error_in_a_worker_is_raised_here_with_its_traceback(tmp_path):
    # A path that is not a string cannot even be named: a bug, not a problem with the input.
    tasks = [npy_task(tmp_path, 0), Task(1, Source(12345, "x", "file"), None)]
    run = Batch(plan_of(tasks), Job((MAX2,)), jobs=2, executor="processes", fail_fast=False)
    with pytest.raises(TypeError) as raised:
        list(run)
    assert isinstance(raised.value.__cause__, WorkerTraceback)
    assert "Traceback" in str(raised.value.__cause__)


def test_workers_that_keep_dying_stop_the_run(tmp_path):
    tasks = [npy_task(tmp_path, i) for i in range(4)]
    broken = Job((MAX2,), torch_threads=-1)  # every worker fails as it starts
    run = Batch(plan_of(tasks), broken, jobs=2, executor="processes", fail_fast=False)
    with pytest.raises(PoolError, match="stopped unexpectedly three times in a row"):
        list(run)


def test_workers_stop_when_the_main_process_lets_go_of_their_lifeline(tmp_path):
    workers = ProcessWorkers(Job((MAX2,)), 2)
    try:
        for i in range(2):
            workers.submit(npy_task(tmp_path, i))
        answered = []
        while len(answered) < 2:
            answered += workers.wait()
        assert [result.status for _, result in answered] == ["done", "done"]
        pids = workers.pids()
        assert len(pids) == 2 and all(pid_alive(pid) for pid in pids)
        workers._lifeline_end.close()  # as when this process dies: the pipe closes
        deadline = time.monotonic() + 10
        while any(pid_alive(pid) for pid in pids):
            assert time.monotonic() < deadline, "the workers outlived their lifeline"
            time.sleep(0.01)
    finally:
        workers.abort()


def test_an_answer_sent_before_its_worker_died_is_not_lost(tmp_path):
    workers = ProcessWorkers(Job((MAX2,)), 1)
    try:
        workers.submit(npy_task(tmp_path, 0))
        (worker,) = workers._workers
        assert worker.connection.poll(60)  # answered, not yet read
        os.kill(worker.process.pid, signal.SIGKILL)
        while pid_alive(worker.process.pid):
            time.sleep(0.01)
        (answered,) = workers.wait()
        assert answered[0].index == 0 and answered[1].status == "done"
    finally:
        workers.abort()
