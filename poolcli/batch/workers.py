"""Worker processes: started from a forkserver that has imported the engine once; each
pools the files it is sent with the :class:`~poolcli.batch.task.Job` it was started with.
"""

from __future__ import annotations

import os
import signal

from poolcli.batch.plan import Task
from poolcli.batch.results import FileResult
from poolcli.batch.task import Job, process_task

_JOB: Job | None = None
_BUSY = False


def set_torch_threads(threads: int | None) -> int | None:
    """Set torch's intra-op threads; returns the old count (``None``: left alone)."""
    if threads is None:
        return None
    import torch

    old = torch.get_num_threads()
    if old != threads:
        torch.set_num_threads(threads)
    return old


def _stop_signal(signum, frame):
    """SIGTERM in a worker: stop the file being written (its temporary file is removed)."""
    if _BUSY:
        raise KeyboardInterrupt
    os._exit(0)  # idle: nothing to clean up


def init_worker(job: Job) -> None:
    """Worker process set-up: Ctrl-C is the parent's business; SIGTERM stops the file cleanly."""
    global _JOB
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _stop_signal)
    _JOB = job
    set_torch_threads(job.torch_threads)


def worker_task(task: Task) -> FileResult:
    global _BUSY
    if _JOB is None:
        raise RuntimeError("worker not initialised")
    _BUSY = True
    try:
        return process_task(task, _JOB)
    except KeyboardInterrupt:
        os._exit(1)  # stopped by the parent; the temporary file is already gone
    finally:
        _BUSY = False


def process_context():
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        # Workers fork from a server that has imported torch once, instead of each importing it.
        ctx.set_forkserver_preload(["poolcli.batch", "poolcli.io", "poolcli.engine.ops"])
        return ctx
    return multiprocessing.get_context("spawn")


def start_workers_early() -> None:
    """Start the forkserver now: it imports torch (over a second) while this process is still
    starting up, instead of after it, so worker processes are ready sooner."""
    context = process_context()
    if context.get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()
