"""The messages between client and server: one ``marshal``-ed dict per packet of a
``SOCK_SEQPACKET`` Unix socket, so a message never arrives in pieces.

``marshal`` is built into the interpreter (no import cost, unlike ``json``); only processes of
the same user ever talk over these sockets (the server checks ``SO_PEERCRED``).
"""

from __future__ import annotations

import marshal
import socket

#: The largest message (256 KiB): a request carries the environment, rarely over a few KiB.
MOST_BYTES = 1 << 18


def send(sock: socket.socket, message: dict, fds: list[int] | tuple = ()) -> None:
    """Send ``message``, and the open file descriptors ``fds`` with it (``SCM_RIGHTS``)."""
    data = marshal.dumps(message)
    if fds:
        socket.send_fds(sock, [data], list(fds))
    else:
        sock.sendall(data)


def receive(sock: socket.socket, most_fds: int = 0) -> tuple[dict | None, list[int]]:
    """The next message and the file descriptors that came with it; ``(None, [])`` when the
    other end has closed the connection."""
    if most_fds:
        data, fds, _, _ = socket.recv_fds(sock, MOST_BYTES, most_fds)
    else:
        data, fds = sock.recv(MOST_BYTES), []
    if not data:
        for fd in fds:
            _close(fd)
        return None, []
    message = marshal.loads(data)
    if not isinstance(message, dict):
        raise ValueError("not a poolcli server message")
    return message, fds


def _close(fd: int) -> None:
    import os

    try:
        os.close(fd)
    except OSError:
        pass


def receive_bytes(data: bytes) -> tuple[dict | None, list[int]]:
    """A message already read (as :func:`receive` returns it)."""
    try:
        message = marshal.loads(data)
    except (ValueError, EOFError, TypeError):
        return None, []
    return (message, []) if isinstance(message, dict) else (None, [])
