"""The messages between client and server: one ``marshal``-ed dict per packet of a
``SOCK_SEQPACKET`` Unix socket, so a message never arrives in pieces.

``marshal`` is built into the interpreter (no import cost, unlike ``json``); only processes of
the same user ever talk over these sockets (the server checks ``SO_PEERCRED``). The client
imports only C modules here: ``socket`` and ``signal`` would import ``enum`` and ``selectors``,
a third of a served call's own start-up. Their ``send_fds`` and ``recv_fds`` are three lines on
``_socket``, written out below (with ``struct``: ``array`` imports ``collections``).
"""

from __future__ import annotations

import _socket
import marshal
import struct

#: The largest message (256 KiB): a request carries the environment, rarely over a few KiB.
MOST_BYTES = 1 << 18


def send(sock: _socket.socket, message: dict, fds: list[int] | tuple = ()) -> None:
    """Send ``message``, and the open file descriptors ``fds`` with it (``SCM_RIGHTS``)."""
    data = marshal.dumps(message)
    if fds:
        rights = (_socket.SOL_SOCKET, _socket.SCM_RIGHTS, struct.pack(f"{len(fds)}i", *fds))
        sock.sendmsg([data], [rights])
    else:
        sock.sendall(data)


def receive(sock: _socket.socket, most_fds: int = 0) -> tuple[dict | None, list[int]]:
    """The next message and the file descriptors that came with it; ``(None, [])`` when the
    other end has closed the connection."""
    fds: list[int] = []
    if most_fds:
        size = struct.calcsize("i")
        data, ancillary, _, _ = sock.recvmsg(MOST_BYTES, _socket.CMSG_LEN(most_fds * size))
        for level, kind, payload in ancillary:
            if (level, kind) == (_socket.SOL_SOCKET, _socket.SCM_RIGHTS):
                count = len(payload) // size
                fds.extend(struct.unpack(f"{count}i", payload[: count * size]))
    else:
        data = sock.recv(MOST_BYTES)
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
