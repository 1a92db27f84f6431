"""Resident workers: long-lived processes that run commands in themselves, one at a time.

Two kinds, one class (:class:`Resident`): the GPU worker, described here, and the kernel
worker, which holds the compiled CPU kernels loaded (:mod:`poolcli.server.kernels`).

A CUDA context cannot cross a fork, and creating one costs a large part of a second, so
commands that will compute on a GPU are not forked: the server hands them (the client's
connection and standard streams, over a socket pair) to one worker forked before any CUDA
call, which created the context once and runs those commands one after another in itself,
putting its own streams, directory, umask, environment and signal handlers back after each.

Which commands: those with a ``--device`` option whose device is ``cuda`` (or ``auto`` on a
machine where torch sees a GPU; the server learns that from a forked probe, so that it never
touches CUDA itself). ``POOLCLI_SERVER_RESIDENT=all``, read when the server starts, sends every
command there instead, on any machine: a way to check the worker without a GPU.
"""

from __future__ import annotations

import contextlib
import logging
import os
import selectors
import signal
import socket
import sys
from collections import deque
from collections.abc import Callable

from poolcli.client import wire
from poolcli.server import child

ROUTE_VARIABLE = "POOLCLI_SERVER_RESIDENT"


def device_commands() -> frozenset[str]:
    """The commands that have a ``--device`` option."""
    import typer

    from poolcli.cli import app

    commands = typer.main.get_command(app).commands
    return frozenset(
        name
        for name, command in commands.items()
        if any("--device" in param.opts for param in command.params)
    )


def gpu_present() -> bool:
    """Whether torch sees a GPU here, asked in a forked probe so that this process never
    initialises CUDA (``POOLCLI_SERVER_RESIDENT=all`` counts as yes)."""
    from poolcli.engine.devices import gpu_possible

    if os.environ.get(ROUTE_VARIABLE) == "all":
        return True
    if not gpu_possible():
        return False
    pid = os.fork()
    if pid == 0:
        try:
            from poolcli.engine.devices import resolve_device

            os._exit(0 if resolve_device("auto") != "cpu" else 1)
        finally:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def wants_resident(argv: list[str], gpu: bool, commands: frozenset[str]) -> bool:
    """Whether the command ``argv`` goes to the resident worker."""
    if os.environ.get(ROUTE_VARIABLE) == "all":
        return True
    if not gpu or not argv or argv[0] not in commands or "--help" in argv or "-h" in argv:
        return False
    device = "auto"
    for i, arg in enumerate(argv):
        if arg == "--then":
            break
        if arg == "--device" and i + 1 < len(argv):
            device = argv[i + 1]
        elif arg.startswith("--device="):
            device = arg.split("=", 1)[1]
    device = device.strip().lower()
    return device == "auto" or device.startswith("cuda")


class Resident:
    """The server's side of a resident worker: started on the first command for it (or by
    :meth:`start`); each command's connection held until the worker answers with its exit
    status. ``warm`` runs in the worker before its first command; the worker then says
    whether it is ready (:attr:`ready`, false until then)."""

    def __init__(self, selector, close_in_child: Callable, main: Callable, warm: Callable):
        self.selector, self.close_in_child_of_server, self.main = selector, close_in_child, main
        self.warm = warm
        self.ready = False
        self.pid: int | None = None
        self.pair: socket.socket | None = None
        self.pidfd: int | None = None
        self.pending: deque[socket.socket] = deque()

    def busy(self) -> int:
        return len(self.pending)

    def start(self) -> None:
        if self.pid is None:
            self._start([])

    def submit(self, conn: socket.socket, message: dict, fds: list[int]) -> None:
        if self.pid is None:
            self._start([conn.fileno(), *fds])
        try:
            wire.send(self.pair, message, [conn.fileno(), *fds])
        except OSError:
            conn.close()  # the worker is gone: the client reports a lost server
        else:
            self.pending.append(conn)
        for fd in fds:
            os.close(fd)

    def _start(self, inherited: list[int]) -> None:
        """Fork the worker; ``inherited``: descriptors of the request at hand, which the
        worker receives again (only its own copies must stay open)."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:
            status = 1
            try:
                ours.close()
                self.close_in_child_of_server()
                for fd in inherited:
                    os.close(fd)
                status = child.guarded(lambda: serve(theirs, self.main, parent, self.warm))
            finally:
                os._exit(status)
        theirs.close()
        self.pid, self.pair, self.pidfd = pid, ours, os.pidfd_open(pid)
        self.selector.register(self.pair, selectors.EVENT_READ, self._answered)
        self.selector.register(self.pidfd, selectors.EVENT_READ, self._ended)

    def _answered(self, key) -> None:
        try:
            answer, _ = wire.receive(self.pair)
        except (OSError, ValueError, EOFError):
            answer = None
        if answer is None:
            return  # it is ending: _ended reports it
        if "ready" in answer:
            self.ready = bool(answer["ready"])
            return
        conn = self.pending.popleft()
        with contextlib.suppress(OSError):
            wire.send(conn, {"exit": answer["exit"]})
        conn.close()

    def _ended(self, key) -> None:
        self.selector.unregister(self.pair)
        self.selector.unregister(self.pidfd)
        os.close(self.pidfd)
        self.pair.close()
        _, status = os.waitpid(self.pid, 0)
        code = os.waitstatus_to_exitcode(status)
        self.pid = self.pair = self.pidfd = None
        self.ready = False
        if self.pending:  # it ended in the middle of this one's command (a stop, a crash)
            conn = self.pending.popleft()
            with contextlib.suppress(OSError):
                wire.send(conn, {"exit": code if code >= 0 else 128 - code})
            conn.close()
        while self.pending:
            self.pending.popleft().close()  # never started: the client reports a lost server

    def stop(self) -> None:
        if self.pair is not None:
            self.pair.close()

    def close_in_child(self) -> None:
        if self.pair is not None:
            self.pair.close()
            os.close(self.pidfd)
        for conn in self.pending:
            conn.close()


def serve(pair: socket.socket, main: Callable, parent: int, warm: Callable) -> int:
    """The worker's life: warmed (``warm()`` says whether that worked), then each command run
    in this process."""
    from poolcli.batch.workers import die_with_parent

    die_with_parent()
    if os.getppid() != parent:
        return 1
    ready = bool(warm())
    try:
        wire.send(pair, {"ready": ready})
    except OSError:
        return 0
    if not ready:
        return 0
    while True:
        try:
            message, fds = wire.receive(pair, 4)
        except (OSError, ValueError, EOFError):
            return 0
        if message is None:
            return 0
        conn = socket.socket(fileno=fds[0])
        status = run_in_place(conn, message, fds[1:], main)
        conn.close()
        try:
            wire.send(pair, {"exit": status})
        except OSError:
            return 0


def warm_gpu() -> bool:
    """Create the CUDA context now, before the first command needs it."""
    with contextlib.suppress(Exception):
        import numpy as np

        from poolcli.engine.core import pool

        pool(np.zeros((1, 1, 2, 2), np.float32), "max", kernel_size=2, device="auto")
    return True


def run_in_place(conn: socket.socket, message: dict, fds: list[int], main: Callable) -> int:
    """Run one command in this process as the client would, then put everything back."""
    saved_fds = [os.dup(fd) for fd in (0, 1, 2)]
    saved_dir = os.open(".", os.O_RDONLY)
    saved = (dict(os.environ), list(sys.argv), (sys.stdin, sys.stdout, sys.stderr))
    handlers = {n: signal.getsignal(n) for n in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    mask = os.umask(0o022)
    logger = logging.getLogger("poolcli")  # --debug turns it on for its command only
    logged = (logger.level, list(logger.handlers))
    threads = None
    try:
        noted = child.hold_stops()
        child.install(message, fds)
        # A vanished client interrupts the command as Ctrl-C would: SIGTERM's early handler
        # would end this process, which serves the next commands too.
        child.watch(conn, on_loss=signal.SIGINT)
        threads = child.torch_threads_from_environment()
        return child.guarded(lambda: child.run_command(main, noted))
    except OSError as error:
        os.write(2, f"poolcli: error: cannot run there ({error.strerror}).\n".encode())
        return 1
    finally:
        child.unwatch()
        if threads is not None:
            from poolcli.engine.threads import set_torch_threads

            set_torch_threads(threads)
        logger.setLevel(logged[0])
        logger.handlers[:] = logged[1]
        for number, handler in handlers.items():
            signal.signal(number, handler)
        for fd, old in zip((0, 1, 2), saved_fds):
            os.dup2(old, fd)
            os.close(old)
        os.fchdir(saved_dir)
        os.close(saved_dir)
        os.umask(mask)
        os.environ.clear()
        os.environ.update(saved[0])
        sys.argv = saved[1]
        sys.stdin, sys.stdout, sys.stderr = saved[2]
        sys.__stdin__, sys.__stdout__, sys.__stderr__ = saved[2]
