"""``poolcli server start|status|stop``, from the client's side: start the server as a
background process (``python -m poolcli.server``), ask it how it is, ask it to stop."""

from __future__ import annotations

import os
import sys
import time

from poolcli.client import wire
from poolcli.client.place import Place, installation

#: How long ``start`` waits for a new server to listen (it imports torch first).
START_SECONDS = 120.0
#: How long ``stop`` waits for the server to end.
STOP_SECONDS = 30.0
#: ``--idle-timeout``'s default: a server with nothing to do for this long exits.
IDLE_TIMEOUT = 15 * 60


def ask(place: Place, message: dict) -> dict | None:
    """Send a control message; the server's answer, or ``None`` when none listens."""
    from poolcli.client.call import connect

    sock = connect(place)
    if sock is None:
        return None
    try:
        wire.send(sock, {**message, **installation()})
        answer, _ = wire.receive(sock)
        return answer
    except (OSError, ValueError, EOFError):
        return None
    finally:
        sock.close()


def status(place: Place) -> dict | None:
    """The running server's facts (pid, log, idle timeout...), or ``None``."""
    answer = ask(place, {"control": "status"})
    if answer is None or "stale" in answer:
        return None
    return answer


def start(place: Place, idle_timeout: float = IDLE_TIMEOUT) -> dict | None:
    """Start the server unless one runs; its status once it listens (``None``: it failed to
    start, and its log says why)."""
    import subprocess

    place.check(create=True)
    running = status(place)
    if running is not None:
        return running
    wait_stopped(place)  # a stale server still finishing its commands
    with open(place.log, "ab") as log:
        os.chmod(place.log, 0o600)
        process = subprocess.Popen(
            [sys.executable, "-m", "poolcli.server", "--idle-timeout", str(idle_timeout)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            cwd="/",
            start_new_session=True,
            env={**os.environ, "POOLCLI_SERVER_DIR": place.folder},
        )
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        running = status(place)
        if running is not None:
            return running
        if process.poll() is not None and not lock_held(place):
            return None  # it failed (its log says why), and no other server started
        time.sleep(0.02)
    return None


def stop(place: Place) -> int | None:
    """Ask the server to stop and wait until it has; its pid, or ``None`` when none ran."""
    answer = ask(place, {"control": "stop"})
    if answer is None:
        return None
    wait_stopped(place)
    return answer.get("pid")


def wait_stopped(place: Place) -> None:
    """Wait (a while at most) until the server holding ``place``'s lock has ended."""
    deadline = time.monotonic() + STOP_SECONDS
    while time.monotonic() < deadline and lock_held(place):
        time.sleep(0.02)


def lock_held(place: Place) -> bool:
    """Whether a server holds ``place``'s lock (runs, or still finishes its commands)."""
    import fcntl

    try:
        fd = os.open(place.lock, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except OSError:
        return True
    finally:
        os.close(fd)
