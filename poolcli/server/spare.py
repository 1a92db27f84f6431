"""The spare: a child forked ahead of the next command, waiting for it.

Forking the server (a few hundred MiB of imports to map) takes 5 to 10 ms, a sixth of a
small served call. The server therefore forks the child of the next command as soon as the
previous one has started, off the path of any client: when a command arrives, the spare
receives the client's connection, request and standard streams over its own socket pair and
runs it as a freshly forked child would (:func:`poolcli.server.daemon.run_child`). When the
server stops it closes its end of the pair, and a spare still waiting exits.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Callable

from poolcli.client import wire

#: The most descriptors a hand-over carries: the client's connection and its three streams.
HANDED_FDS = 4


class Spare:
    """One child forked ahead, or none (:meth:`take` then answers ``None``)."""

    def __init__(self, close_in_child: Callable[[], None], serve: Callable[..., int]):
        """``close_in_child`` lets go of the server's own descriptors in the forked child;
        ``serve(conn, message, fds)`` runs a command there and returns its exit status."""
        self._close_in_child, self._serve = close_in_child, serve
        self.pid, self._handle = 0, None

    def fork(self) -> None:
        """Fork the spare, unless one waits already."""
        if self.pid:
            return
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        pid = os.fork()
        if pid == 0:
            status = 1
            try:
                ours.close()
                self._close_in_child()
                status = self._wait_and_serve(theirs)
            finally:
                os._exit(status)
        theirs.close()
        self.pid, self._handle = pid, ours

    def take(self, conn: socket.socket, message: dict, fds: list[int]) -> int | None:
        """Hand a command to the spare: its pid (now an ordinary child that runs the
        command), or ``None`` when there is no spare or it is gone."""
        pid, handle = self.pid, self._handle
        self.pid, self._handle = 0, None
        if not pid:
            return None
        try:
            wire.send(handle, message, [conn.fileno(), *fds])
        except OSError:
            self._reap(pid)
            return None
        finally:
            handle.close()
        return pid

    def stop(self) -> None:
        """No more commands: a waiting spare reads the end of its pair and exits."""
        pid, handle = self.pid, self._handle
        self.pid, self._handle = 0, None
        if pid:
            handle.close()
            self._reap(pid)

    def close_in_child(self) -> None:
        """In another forked process: let go of the server's end of the spare's pair, so
        that closing it in the server still reaches the spare."""
        if self._handle is not None:
            self._handle.close()
        self.pid, self._handle = 0, None

    @staticmethod
    def _reap(pid: int) -> None:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)

    def _wait_and_serve(self, handle: socket.socket) -> int:
        try:
            message, fds = wire.receive(handle, HANDED_FDS)
        except (OSError, ValueError, EOFError):
            return 0
        handle.close()
        if message is None or not fds:
            return 0
        conn = socket.socket(fileno=fds[0])
        return self._serve(conn, message, fds[1:])
