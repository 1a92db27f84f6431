"""A request installed in this process, and the command line run in it.

:func:`install` makes this process look like the client to the command: the client's own
standard streams (passed as file descriptors) become 0, 1 and 2, with the encoding, error
handling and buffering the client's Python chose for them; then its working directory, umask,
environment and arguments. Terminal size, ``isatty`` and colour follow from the streams and the
environment. :func:`watch` passes on the signals the client forwards and stops the command
when the client goes away; :func:`run_command` runs ``poolcli.cli.main`` and returns its exit
status.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import sys
from collections.abc import Callable

from poolcli.client import wire

_WATCHED: socket.socket | None = None


def install(request: dict, fds: list[int]) -> None:
    """Take on the client's streams, directory, umask, environment and arguments."""
    for target, fd in zip((0, 1, 2), fds):
        if fd != target:
            os.dup2(fd, target)
            os.close(fd)
    for fd in request.get("closed", ()):
        os.close(fd)
    os.environ.clear()
    os.environ.update(request["env"])
    os.umask(request["umask"])
    os.chdir(request["cwd"])
    sys.argv = ["poolcli", *request["argv"]]
    names = ("stdin", "stdout", "stderr")
    for fd, (name, facts) in enumerate(zip(names, request["streams"])):
        stream = None
        if facts is not None and fd not in request.get("closed", ()):
            encoding, errors, line_buffering = facts
            stream = open(  # noqa: SIM115 - lives as long as the process
                fd,
                "r" if fd == 0 else "w",
                buffering=1 if line_buffering else -1,
                encoding=encoding,
                errors=errors,
                closefd=False,
            )
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)


#: Variables that set torch's (OpenMP's) thread count, which torch reads once, at import.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


def torch_threads_from_environment() -> int | None:
    """torch's threads as the client's environment asks (``OMP_NUM_THREADS``): torch read
    the server's environment, stripped of those variables, when the server imported it.
    Returns the count before (``None``: left alone)."""
    from poolcli.engine.threads import set_torch_threads

    for name in THREAD_VARIABLES:
        value = os.environ.get(name, "").strip()
        if value.isdigit() and int(value) > 0:
            return set_torch_threads(int(value))
    return None


def watch(conn: socket.socket, on_loss: int = signal.SIGTERM) -> None:
    """Deliver to this process each signal the client forwards, and ``on_loss`` when the
    client goes away (killed, even by SIGKILL: its end of the socket closes).

    The kernel tells this process when the socket has something to read (``O_ASYNC``, SIGIO
    to this pid), so no thread is needed: the command runs in the main thread as it would
    without a server, and receives the same signals.
    """
    global _WATCHED
    _WATCHED = conn

    def on_io(signum, frame):
        while _WATCHED is conn:
            try:
                data = conn.recv(wire.MOST_BYTES, socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data = b""
            if not data:
                unwatch()
                os.kill(os.getpid(), on_loss)
                return
            message, _ = wire.receive_bytes(data)
            if message and isinstance(message.get("signal"), int):
                os.kill(os.getpid(), message["signal"])

    conn.setblocking(True)  # recv(MSG_DONTWAIT) then never waits
    signal.signal(signal.SIGIO, on_io)
    fd = conn.fileno()
    fcntl.fcntl(fd, fcntl.F_SETOWN, os.getpid())
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_ASYNC)
    on_io(signal.SIGIO, None)  # anything that came before


def unwatch() -> None:
    """Stop watching the client's connection."""
    global _WATCHED
    conn, _WATCHED = _WATCHED, None
    signal.signal(signal.SIGIO, signal.SIG_IGN)
    if conn is not None and conn.fileno() >= 0:
        fd = conn.fileno()
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_ASYNC)


def hold_stops() -> list[int]:
    """Until :func:`run_command`, note the stopping signals instead of acting on them (the
    client may forward Ctrl-C before the command has its own handlers); the list fills."""
    noted: list[int] = []
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        signal.signal(getattr(signal, name), lambda signum, frame: noted.append(signum))
    return noted


def run_command(main: Callable[[], None], noted: list[int] = ()) -> int:
    """Run the command line's ``main`` here; its exit status, once its output is flushed.
    A stop ``noted`` before it started ends it at once, as it would have ended the client."""
    if noted:
        os.write(2, b"poolcli: interrupted.\n")
        return 128 + noted[0]
    try:
        main()
        status = 0
    except SystemExit as stop:
        status = _status_of(stop.code)
    except KeyboardInterrupt:
        os.write(2, b"poolcli: interrupted.\n")
        status = 130
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass
    return status


def answer(conn: socket.socket, status: int) -> None:
    """Give the client the command's exit status, its standard streams closed first: all
    its output is written, and a reader of its output sees the end of it."""
    for fd in (0, 1, 2):
        with contextlib.suppress(OSError):
            os.close(fd)
    with contextlib.suppress(OSError):
        wire.send(conn, {"exit": status})


def guarded(body: Callable[[], int]) -> int:
    """``body``'s exit status, or 1 after one line on standard error if it failed (a bug in
    the server: no exception may climb into the server's own code in a forked process)."""
    try:
        return body()
    except BaseException as error:  # noqa: BLE001 - the last line of defence of a fork
        detail = f"{type(error).__name__}: {error}"
        line = (
            f"poolcli: error: the server could not run this command ({detail}). This is a bug "
            "in poolcli; POOLCLI_SERVER=off runs it without the server.\n"
        )
        with contextlib.suppress(OSError):
            os.write(2, line.encode("utf-8", "replace"))
        return 1


def _status_of(code) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1
