"""A command served by the warm server: :func:`served` hands the server this process's real
standard streams (``SCM_RIGHTS``), its arguments, working directory, umask and environment,
forwards the stopping signals it receives, and returns the command's exit status.

The terminal's size, whether each stream is a terminal, and colour come with the streams and
the environment: the server's child sees exactly what this process sees.
"""

from __future__ import annotations

import _signal
import _socket
import os
import sys

from poolcli.client import wire
from poolcli.client.place import Place, PlaceError, installation, mode

#: Signals passed on to the command: it stops as it would without a server.
FORWARDED = ("SIGINT", "SIGTERM", "SIGHUP")
SERVER_LOST = (
    "poolcli: error: the poolcli server stopped while running this command; its outputs may "
    "be missing. Run it again (POOLCLI_SERVER=off runs it without the server).\n"
)


def served(argv: list[str]) -> int | None:
    """Run ``poolcli ARGV`` through this user's server: its exit status, or ``None`` when no
    server serves it (``POOLCLI_SERVER=off``, none running, or ``server`` commands) and the
    caller must run it itself."""
    chosen = mode()
    if chosen == "off" or (argv and argv[0] == "server"):
        return None
    try:
        place = Place()
        if not place.check(create=chosen == "auto"):
            return None
    except PlaceError as error:
        if chosen == "auto":
            os.write(2, f"poolcli: error: {error}\n".encode())
            return 1
        return None
    for attempt in range(2):
        sock = connect(place)
        if sock is None and (chosen == "auto" or attempt):
            from poolcli.client.control import start

            sock = connect(place) if start(place) else None
        if sock is None:
            return None
        status = _talk(sock, argv)
        if status is not None:
            return status
        # The server serves another installation or version: it is stopping; start anew.
        from poolcli.client.control import wait_stopped

        wait_stopped(place)
    return None


def connect(place: Place) -> _socket.socket | None:
    """A connection to the server, or ``None`` when none listens (C modules only: see
    :mod:`poolcli.client.wire`)."""
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_SEQPACKET)
    try:
        sock.connect(place.socket)
    except OSError:
        sock.close()
        return None
    return sock


def request(argv: list[str]) -> dict:
    """What the server's child needs to run the command as this process would."""
    mask = os.umask(0o022)
    os.umask(mask)
    streams = []
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        if stream is None:
            streams.append(None)
        else:
            streams.append((stream.encoding, stream.errors, stream.line_buffering))
    return {
        "argv": list(argv),
        "cwd": os.getcwd(),
        "umask": mask,
        "env": dict(os.environ),
        "streams": streams,
        **installation(),
    }


def _standard_fds() -> tuple[list[int], list[int]]:
    """File descriptors 0, 1 and 2, with /dev/null for any that is closed (and which)."""
    fds, closed = [], []
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
            fds.append(fd)
        except OSError:
            closed.append(fd)
            fds.append(os.open(os.devnull, os.O_RDWR))
    return fds, closed


def _talk(sock: _socket.socket, argv: list[str]) -> int | None:
    """Send the request; then wait for the exit status, passing signals on. ``None``: the
    server is stale and is stopping."""
    try:
        message = request(argv)
    except OSError:
        return None  # no working directory: run here, where the error is reported
    fds, closed = _standard_fds()
    message["closed"] = closed
    try:
        wire.send(sock, message, fds)
    except OSError:
        return None
    previous = _forward_signals(sock)
    try:
        while True:
            try:
                answer, _ = wire.receive(sock)
            except (OSError, ValueError, EOFError):
                answer = None
            if answer is None:
                os.write(2, SERVER_LOST.encode())
                return 1
            if "stale" in answer:
                return None
            if "exit" in answer:
                return int(answer["exit"])
    finally:
        for name, handler in previous.items():
            _signal.signal(getattr(_signal, name), handler)
        sock.close()


def _forward_signals(sock: _socket.socket) -> dict:
    def forward(signum, frame):
        try:
            wire.send(sock, {"signal": signum})
        except OSError:
            pass  # the server is gone: the wait says so

    previous = {}
    for name in FORWARDED:
        previous[name] = _signal.signal(getattr(_signal, name), forward)
    return previous
