"""Worker processes: started from a forkserver that has imported the engine once; each pools
the files it is sent through its own pipe, with the :class:`~poolcli.batch.task.Job` it was
started with, and answers with their results.

A worker never outlives poolcli's main process. On Linux the kernel tells the forkserver
when the main process dies and each worker when the forkserver dies (``PR_SET_PDEATHSIG``,
as SIGTERM). Everywhere, a thread in each worker waits on a pipe that only the main process
holds open (its *lifeline*): when the main process dies, even by SIGKILL, the pipe closes and
the worker stops as SIGTERM stops it. The forkserver ends by itself once the main process and
the workers are gone, and the resource tracker once they all are.

SIGTERM or SIGHUP in a worker stops the file being written (its temporary file is removed)
and ends the process; Ctrl-C is the main process's business.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
import traceback

from poolcli.batch.plan import Task
from poolcli.batch.task import Job, process_task
from poolcli.engine.threads import set_torch_threads

#: How long a worker whose main process died may take to stop cleanly before it just exits.
GRACE_SECONDS = 1.0

_JOB: Job | None = None
_STARTED_EARLY = False  # a forkserver started by start_workers_early, not used yet
_BUSY = False
_STOPPING = False
_FORK_READY = False  # a process forked from the warm server, about to run a command


class TorchThreads:
    """torch's intra-op threads in this process for one run: set to ``threads`` when the first
    file is about to be pooled (a run with nothing to pool never imports torch), and the old
    count put back by :meth:`restore`."""

    def __init__(self, threads: int | None):
        self.threads = threads
        self._old: int | None = None
        self._applied = False

    def apply(self) -> None:
        if not self._applied:
            self._applied = True
            self._old = set_torch_threads(self.threads)

    def restore(self) -> None:
        if self._old is not None:
            set_torch_threads(self._old)
            self._old = None


def die_with_parent(signum: int = signal.SIGTERM) -> None:
    """Ask the kernel to send ``signum`` to this process when its parent dies (Linux only:
    ``prctl(PR_SET_PDEATHSIG)``; elsewhere nothing happens)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    try:
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signum, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # no prctl: the lifeline still stops the worker


def _stop_signal(signum, frame):
    """SIGTERM or SIGHUP in a worker: stop the file being written (its temporary file is
    removed), then end; a second signal while stopping changes nothing."""
    global _STOPPING
    if _STOPPING:
        return
    _STOPPING = True
    if _BUSY:
        raise KeyboardInterrupt
    os._exit(0)  # idle: nothing to clean up


def _hold_lifeline(lifeline) -> None:
    """Wait until the main process closes the lifeline (it never writes to it), then stop."""
    try:
        lifeline.recv_bytes()
    except (EOFError, OSError):
        pass
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(GRACE_SECONDS)
    os._exit(1)  # still busy after the grace period (a long computation): leave now


def init_worker(job: Job, lifeline) -> None:
    """Worker process set-up: signals, the ties to the main process, torch's threads."""
    global _JOB
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _stop_signal)
    die_with_parent()
    threading.Thread(target=_hold_lifeline, args=(lifeline,), daemon=True).start()
    _JOB = job
    set_torch_threads(job.torch_threads)


def serve(connection, job: Job, lifeline) -> None:
    """A worker's life: pool each task it receives and send back ``("done", FileResult)``,
    or ``("error", exception, traceback text)`` for an unexpected error with ``--debug``.
    Ends when it receives ``None`` or the main process closes the pipe."""
    init_worker(job, lifeline)
    while True:
        try:
            task = connection.recv()
            if task is None:
                return
            connection.send(_answer(task))
        except (EOFError, OSError):  # the main process is gone
            return


def _answer(task: Task) -> tuple:
    global _BUSY
    if _JOB is None:
        raise RuntimeError("worker not initialised")
    _BUSY = True
    try:
        return ("done", process_task(task, _JOB))
    except KeyboardInterrupt:
        os._exit(1)  # stopped by a signal; the temporary file is already gone
    except Exception as error:  # raised by process_task only with --debug
        return ("error", _picklable(error), traceback.format_exc())
    finally:
        _BUSY = False


def _picklable(error: Exception) -> Exception:
    import pickle

    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {error}")
    return error


def allow_fork() -> None:
    """Mark this process as forked from the warm server (:mod:`poolcli.server`) before its
    command runs: it has imported torch but never run a torch op nor touched CUDA, so its
    batch workers fork from it directly, with no import to wait for.

    Threads this process starts later (a progress bar's refresh) are not copied into a worker,
    which only pools the files it is sent and answers through its pipe."""
    global _FORK_READY
    _FORK_READY = True


def process_context():
    """The multiprocessing context of worker processes: a fork of this process when it comes
    from the warm server (:func:`allow_fork`), else a forkserver that has imported the engine
    once (workers fork from it instead of each importing torch), else spawn."""
    import multiprocessing

    if _FORK_READY:
        return multiprocessing.get_context("fork")
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(
        [
            "poolcli.batch.forkserver_preload",
            "poolcli.io.read",
            "poolcli.io.write",
            "poolcli.engine.ops",
        ]
    )
    return context


def start_workers_early() -> None:
    """Start the forkserver now: it imports torch (over a second) while this process is still
    starting up, instead of after it, so worker processes are ready sooner."""
    global _STARTED_EARLY
    context = process_context()
    if context.get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()
        _STARTED_EARLY = True


def stop_workers_started_early() -> None:
    """For a run that needs no worker process: stop the forkserver that
    :func:`start_workers_early` started, so that it does not import torch for nothing beside
    this process."""
    global _STARTED_EARLY
    if not _STARTED_EARLY:
        return
    _STARTED_EARLY = False
    from multiprocessing import forkserver

    server = forkserver._forkserver
    pid = getattr(server, "_forkserver_pid", None)
    if pid is None:
        return
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGTERM)  # at once, even in the middle of importing torch
    with contextlib.suppress(Exception):
        server._stop()  # reaps it; the next run that needs workers starts another
