"""The server process: imports everything once, then forks one child per command.

Why forking is safe here: until it forks, this process only imports modules, listens on its
socket and answers control messages. It never runs a torch op, so torch's thread pools (OpenMP,
intra-op) and allocator do not exist yet, and it never touches CUDA, so there is no GPU context
to inherit; it starts no thread of its own. The one foreign thread is OpenBLAS's pool, started
by numpy's import, and OpenBLAS stops and restarts it around ``fork`` itself
(``pthread_atfork``). Each child therefore starts as a fresh poolcli process would, minus the
imports, and sets torch's threads from the client's environment when its command first uses
torch. GPU commands go to the one resident worker instead (:mod:`poolcli.server.resident`):
a CUDA context cannot cross a fork. The compiled kernels are warmed at start the same way, out
of this process: a separate process (fork and exec, :mod:`poolcli.server.kernels`) compiles
them into the on-disk cache, so nothing of the compiler runs here either; then a second
resident worker loads them and runs, while it is free, the commands on large input files.

Every connection is checked: the peer's uid (``SO_PEERCRED``) must be this user's, and the
socket lives in a directory only this user can enter (:mod:`poolcli.client.place`). There is
no network socket. The server exits after ``--idle-timeout`` seconds without a command
(default 15 minutes), on ``poolcli server stop``, on SIGTERM or SIGHUP, and when a client of
another version or installation, or a change to poolcli's files, makes it stale.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import selectors
import signal
import socket
import struct
import sys
import time
from collections.abc import Callable

from poolcli.client import wire
from poolcli.client.control import IDLE_TIMEOUT
from poolcli.client.place import PACKAGE_DIR, Place, PlaceError
from poolcli.server import child, kernels
from poolcli.server.identity import Identity
from poolcli.server.resident import (
    Resident,
    device_commands,
    gpu_present,
    wants_resident,
    warm_gpu,
)
from poolcli.server.spare import Spare


def log(text: str) -> None:
    """One line in the server's log (its standard error)."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.write(f"{stamp} poolcli server [{os.getpid()}]: {text}\n")
        sys.stderr.flush()


#: Modules that commands import on first use (measured: ``sys.modules`` after a command).
LATER_IMPORTS = (
    "PIL.ImageOps",
    "PIL.ImageChops",
    "PIL.ImageSequence",
    "typer._click.decorators",
    "multiprocessing.popen_fork",
    "multiprocessing.connection",
    "numpy.ma",
    "pyspng",
)


def warm_up() -> Callable[[], None]:
    """Import what commands use (Typer, rich, numpy, Pillow, torch and poolcli's modules), without
    running anything; the command line's entry point."""
    import importlib
    import pkgutil

    from poolcli.cli import main
    from poolcli.cli.app import build_ahead

    skip = ("poolcli.server", "poolcli.client", "poolcli.batch.forkserver_preload")
    for info in pkgutil.walk_packages([PACKAGE_DIR], "poolcli."):
        if not info.name.startswith(skip) and not info.name.endswith("__main__"):
            importlib.import_module(info.name)
    for name in LATER_IMPORTS:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    from PIL import Image
    from rich.cells import cell_len

    Image.init()  # every image plugin, which Pillow imports on the first open otherwise
    cell_len("×→")  # loads rich's table of character widths for this Unicode version
    build_ahead()
    return main


class Daemon:
    """The server: its socket, its children, and the resident workers (GPU commands; large
    inputs through the loaded compiled kernels)."""

    def __init__(self, place: Place, lock_fd: int, idle_timeout: float, main: Callable):
        self.place, self.lock_fd, self.idle_timeout, self.main = place, lock_fd, idle_timeout, main
        self.identity = Identity()
        self.selector = selectors.DefaultSelector()
        self.children: dict[int, tuple[int, socket.socket]] = {}  # pidfd -> (pid, connection)
        self.listener = _listen(place.socket)
        self.socket_inode = os.stat(place.socket).st_ino
        self.selector.register(self.listener, selectors.EVENT_READ, self._accept)
        self.wake_r, wake_w = socket.socketpair()
        for end in (self.wake_r, wake_w):
            end.setblocking(False)
        self._wake_w = wake_w
        signal.set_wakeup_fd(wake_w.fileno(), warn_on_full_buffer=False)
        self.selector.register(self.wake_r, selectors.EVENT_READ, self._woken)
        self.stop_asked = False
        for name in ("SIGTERM", "SIGHUP"):
            signal.signal(getattr(signal, name), self._ask_stop)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        self.commands = device_commands()
        self.gpu = gpu_present()
        self.resident = Resident(self.selector, self._close_in_child, main, warm_gpu)
        self.kernel_worker = Resident(
            self.selector, self._close_in_child, main, kernels.warm_worker
        )
        self.pid = os.getpid()
        self.spare = Spare(self._close_in_child, self._run_here)
        self.warming, self.warming_fd = kernels.start_warm_up(log_fd=2), -1
        if self.warming is not None:
            self.warming_fd = os.pidfd_open(self.warming.pid)
            self.selector.register(self.warming_fd, selectors.EVENT_READ, self._warmed)
            log(f"warming the compiled kernels in process {self.warming.pid}")
        self.last_active = time.monotonic()
        self.started = time.time()
        self.listening = True
        self.served = 0
        self.spare.fork()

    def run(self) -> None:
        """Serve until stopped, stale or idle, then wait for the commands still running."""
        log(f"listening on {self.place.socket} (GPU: {'yes' if self.gpu else 'no'})")
        while self.listening or self._busy():
            busy = self._busy()
            timeout = None if busy or not self.listening else self._idle_left()
            events = self.selector.select(timeout)
            for key, _ in events:
                key.data(key)
            if self.stop_asked and self.listening:
                log("stopping: asked by a signal")
                self.stop_listening(keep_lock=True)
            idle = not self._busy() and self._idle_left() <= 0
            if self.listening and idle:
                log(f"stopping: idle for {self.idle_timeout:g} s")
                self.stop_listening(keep_lock=True)
        self.resident.stop()
        self.kernel_worker.stop()
        self._stop_warming()
        log("stopped")

    def _busy(self) -> int:
        return len(self.children) + self.resident.busy() + self.kernel_worker.busy()

    def _warmed(self, key) -> None:
        self.selector.unregister(self.warming_fd)
        os.close(self.warming_fd)
        self.warming_fd = -1
        code = self.warming.wait()
        log("compiled kernels warmed" if code == 0 else "compiled kernels not warmed (eager only)")
        self.warming = None
        if code == 0 and self.listening:
            self.kernel_worker.start()
            log(f"loading the compiled kernels in the kernel worker {self.kernel_worker.pid}")

    def _stop_warming(self) -> None:
        if self.warming is not None:
            self.warming.terminate()
            self.warming.wait()
            self.warming = None

    def _idle_left(self) -> float:
        return max(0.0, self.last_active + self.idle_timeout - time.monotonic())

    def _ask_stop(self, signum, frame) -> None:
        self.stop_asked = True

    def _woken(self, key) -> None:
        with contextlib.suppress(OSError):
            self.wake_r.recv(4096)

    def stop_listening(self, keep_lock: bool) -> None:
        """Take no more commands; with ``keep_lock`` false, let a new server start at once
        (this one still finishes the commands it runs)."""
        if self.listening:
            self.listening = False
            self.spare.stop()
            self.selector.unregister(self.listener)
            self.listener.close()
            with contextlib.suppress(OSError):
                if os.stat(self.place.socket).st_ino == self.socket_inode:
                    os.unlink(self.place.socket)
        if not keep_lock and self.lock_fd >= 0:
            os.close(self.lock_fd)
            self.lock_fd = -1

    def _accept(self, key) -> None:
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        if peer_uid(conn) != os.getuid():
            log("refused a connection from another user")
            conn.close()
            return
        conn.settimeout(5.0)  # a request arrives at once with its connection
        try:
            message, fds = wire.receive(conn, 3)
        except (OSError, ValueError, EOFError):
            message, fds = None, []
        if message is None:
            conn.close()
            return
        self._dispatch(conn, message, fds)

    def _dispatch(self, conn: socket.socket, message: dict, fds: list[int]) -> None:
        if message.get("control") == "stop":
            self._answer(conn, {"pid": os.getpid()})
            log("stopping: asked by poolcli server stop")
            self.stop_listening(keep_lock=True)
            return
        stale = self.identity.stale_for(message)
        if stale is not None:
            _close_all(fds)
            self._answer(conn, {"stale": stale})
            log(f"stopping: stale ({stale})")
            self.stop_listening(keep_lock=False)
        elif message.get("control") == "status":
            self._answer(conn, self.facts())
        else:
            self._serve(conn, message, fds)

    def _serve(self, conn: socket.socket, message: dict, fds: list[int]) -> None:
        """A command (control messages do not count as activity for the idle timeout)."""
        self.last_active = time.monotonic()
        self.served += 1
        worker = self.kernel_worker
        if wants_resident(message["argv"], self.gpu, self.commands):
            self.resident.submit(conn, message, fds)
        elif worker.ready and not worker.busy() and kernels.wants(message, self.commands):
            worker.submit(conn, message, fds)
        else:
            self._fork(conn, message, fds)

    def facts(self) -> dict:
        """What ``poolcli server status`` shows."""
        return {
            "pid": os.getpid(),
            "socket": self.place.socket,
            "log": self.place.log,
            "idle_timeout": self.idle_timeout,
            "started": self.started,
            "running": self._busy(),
            "kernel_worker": self.kernel_worker.ready,
            "served": self.served,
            "gpu": self.gpu,
            "version": self.identity.installation["version"],
        }

    @staticmethod
    def _answer(conn: socket.socket, message: dict) -> None:
        with contextlib.suppress(OSError):
            wire.send(conn, message)
        conn.close()

    def _fork(self, conn: socket.socket, message: dict, fds: list[int]) -> None:
        pid = self.spare.take(conn, message, fds)
        if pid is None:
            pid = os.fork()
            if pid == 0:
                status = 1
                try:
                    self._close_in_child(keep=conn)
                    status = self._run_here(conn, message, fds)
                finally:
                    os._exit(status)
        _close_all(fds)
        pidfd = os.pidfd_open(pid)
        self.children[pidfd] = (pid, conn)
        self.selector.register(pidfd, selectors.EVENT_READ, self._child_ended)
        if self.listening:
            self.spare.fork()  # while this command runs: the next one finds it ready

    def _run_here(self, conn: socket.socket, message: dict, fds: list[int]) -> int:
        """In a forked child: run the command, then answer its exit status before this
        process's own exit (unmapping the server's memory takes milliseconds more)."""
        status = child.guarded(lambda: run_child(conn, message, fds, self.main, self.pid))
        if os.getppid() == self.pid:  # else the server died: the client must hear of it
            child.answer(conn, status)
        return status

    def _child_ended(self, key) -> None:
        pidfd = key.fd
        self.selector.unregister(pidfd)
        pid, conn = self.children.pop(pidfd)
        os.close(pidfd)
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        self._answer(conn, {"exit": code if code >= 0 else 128 - code})
        self.last_active = time.monotonic()

    def _close_in_child(self, keep: socket.socket | None = None) -> None:
        """In a forked process: let go of everything that is the server's."""
        signal.set_wakeup_fd(-1)
        for name in ("SIGTERM", "SIGHUP", "SIGINT"):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
        self.selector.close()
        for sock in (self.listener, self.wake_r, self._wake_w):
            sock.close()
        for pidfd, (_, conn) in self.children.items():
            os.close(pidfd)
            if conn is not keep:
                conn.close()
        self.resident.close_in_child()
        self.kernel_worker.close_in_child()
        self.spare.close_in_child()
        if self.warming_fd >= 0:
            os.close(self.warming_fd)
        self.warming = None  # the server's process, never waited for here
        if self.lock_fd >= 0:
            os.close(self.lock_fd)


def run_child(conn, message: dict, fds: list[int], main: Callable, parent: int) -> int:
    """A forked child's life: the client's request installed, the command run; its status."""
    from poolcli.batch.workers import allow_fork, die_with_parent

    die_with_parent()
    if os.getppid() != parent:
        return 1  # the server died before the kernel could be asked to say so
    noted = child.hold_stops()
    try:
        child.install(message, fds)
    except OSError as error:
        os.write(2, f"poolcli: error: cannot run there ({error.strerror}).\n".encode())
        return 1
    child.watch(conn)
    child.torch_threads_from_environment()
    allow_fork()  # batch workers fork from here: no torch op has run, so they start warm
    status = child.run_command(main, noted)
    child.unwatch()
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        signal.signal(getattr(signal, name), signal.SIG_IGN)  # done: nothing left to stop
    # What a normal exit must still do here: multiprocessing's clean-up (a batch's workers
    # and resource tracker). The other exit handlers belong to the imports (torch's run for
    # about 0.1 s) and have nothing of this command to clean up.
    from multiprocessing import util

    util._exit_function()
    return status


def peer_uid(conn: socket.socket) -> int:
    """The uid of the process at the other end of a Unix socket (``SO_PEERCRED``)."""
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", creds)[1]


def _listen(path: str) -> socket.socket:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)  # left by a server that died: the lock says none runs
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    old = os.umask(0o177)
    try:
        listener.bind(path)
    finally:
        os.umask(old)
    listener.listen(64)
    listener.setblocking(False)
    return listener


def _close_all(fds: list[int]) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


def _lock(place: Place) -> int | None:
    fd = os.open(place.lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def main(argv: list[str] | None = None) -> None:
    """``python -m poolcli.server [--idle-timeout SECONDS]``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m poolcli.server")
    parser.add_argument("--idle-timeout", type=float, default=IDLE_TIMEOUT)
    options = parser.parse_args(argv)
    place = Place()
    try:
        place.check(create=True)
    except PlaceError as error:
        sys.exit(f"poolcli server: {error}")
    lock_fd = _lock(place)
    if lock_fd is None:
        log("another server already runs for this installation")
        return
    for name in child.THREAD_VARIABLES:
        os.environ.pop(name, None)  # torch reads them at import: each command sets its own
    started = time.monotonic()
    entry = warm_up()
    daemon = Daemon(place, lock_fd, options.idle_timeout, entry)
    log(f"ready in {time.monotonic() - started:.2f} s; log: {place.log}")
    daemon.run()
