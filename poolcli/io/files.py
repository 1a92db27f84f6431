"""Opening what poolcli reads, so that no input can block it, crash it or be read without end.

* Only regular files, pipes and standard input are read. Devices (``/dev/zero``), sockets
  and the like are refused before they are opened, links to them too.
* Opening never waits: a named pipe is opened without blocking, and one that nobody writes
  to is refused at once instead of waiting for a writer forever.
* Nothing is memory-mapped: a file cut short by another program while it is being read
  fails with a message instead of killing poolcli with SIGBUS.
* A pipe or standard input is read through :class:`StreamReader`, which keeps what it read
  (Pillow seeks back over headers) and refuses to read past a limit.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from poolcli.errors import PoolError

#: Largest single read; smaller reads keep Ctrl-C responsive on slow pipes.
READ_CHUNK = 1 << 24

_SPECIAL = {
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


@dataclass
class Opened:
    """An input opened for reading: ``size`` and ``file`` (its absolute path) for a regular
    file, ``None`` for a stream (a pipe), which is read through a :class:`StreamReader`."""

    f: BinaryIO
    size: int | None
    file: str | None


def stat_input(path: str) -> os.stat_result:
    """``os.stat(path)`` (links followed), refusing what poolcli cannot read as a file."""
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise PoolError("No such file.", path=path) from None
    except PermissionError:
        raise PoolError("Permission denied.", path=path) from None
    except OSError as error:
        raise PoolError(f"cannot be read: {error.strerror}.", path=path) from None
    kind = stat.S_IFMT(info.st_mode)
    if kind == stat.S_IFDIR:
        raise PoolError("is a directory, not a file.", path=path)
    if kind not in (stat.S_IFREG, stat.S_IFIFO):
        what = _SPECIAL.get(kind, "a special file")
        raise PoolError(
            f"is {what}, not a regular file; poolcli reads files, pipes and standard input.",
            path=path,
        )
    return info


@contextlib.contextmanager
def open_input(path: str) -> Iterator[Opened]:
    """Open ``path`` for reading without ever blocking; closed on leaving the block."""
    stat_input(path)
    try:
        # O_NONBLOCK: opening a named pipe (or a file swapped for one) must not wait.
        fd = os.open(path, os.O_RDONLY | _O_NONBLOCK | _O_BINARY)
    except PermissionError:
        raise PoolError("Permission denied.", path=path) from None
    except OSError as error:
        raise PoolError(f"cannot be read: {error.strerror}.", path=path) from None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(fd)
        if stat.S_ISREG(info.st_mode):
            os.set_blocking(fd, True)
            yield Opened(f, info.st_size, os.path.abspath(path))
        elif stat.S_ISFIFO(info.st_mode):
            yield Opened(StreamReader(f, path, _first_bytes_of_pipe(fd, path)), None, None)
        else:  # replaced by something else since it was checked
            stat_input(path)
            raise PoolError("changed while being opened.", path=path)


_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_O_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation


def _first_bytes_of_pipe(fd: int, path: str) -> bytes:
    """What a named pipe holds already; refuses one that has no writer (it would never end)."""
    try:
        first = os.read(fd, 1 << 16)
    except BlockingIOError:  # a writer is there, with nothing written yet: wait for it
        first = None
    if first == b"":
        raise PoolError(
            "is a named pipe that nobody writes to; start the program that writes to it first.",
            path=path,
        )
    os.set_blocking(fd, True)
    return first or b""


def read_exactly(f: BinaryIO, view: memoryview) -> int:
    """Fill ``view`` from ``f``; returns the bytes read, fewer only where ``f`` ended."""
    done = 0
    total = len(view)
    while done < total:
        count = f.readinto(view[done : done + min(READ_CHUNK, total - done)])
        if not count:
            break
        done += count
    return done


class LimitReached(PoolError):
    """A stream went on past what its content can need."""


class StreamReader(io.RawIOBase):
    """A byte stream (standard input, a pipe) seen as a seekable file, read only as far as
    asked, never past ``limit`` bytes (``None``: no limit).

    What is read is kept, so that Pillow can seek back over a header. :meth:`read_rest_into`
    reads what follows straight into the caller's buffer (a ``.npy``'s data, whose size its
    header gives), keeping nothing. Closing the reader leaves the stream open.
    """

    def __init__(self, raw: BinaryIO, name: str, first: bytes = b"", limit: int | None = None):
        self._raw = raw
        self._name = name
        self._kept = bytearray(first)
        self._pos = 0
        self._ended = False
        self.limit = limit

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_END:
            self._keep(None)
            offset += len(self._kept)
        elif whence == io.SEEK_CUR:
            offset += self._pos
        self._pos = max(0, offset)
        return self._pos

    def head(self, size: int) -> bytes:
        """The first ``size`` bytes (fewer if the stream is shorter), position unchanged."""
        self._keep(size)
        return bytes(self._kept[:size])

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        self._keep(self._pos + len(view))
        count = max(0, min(len(view), len(self._kept) - self._pos))
        with memoryview(self._kept) as kept:
            view[:count] = kept[self._pos : self._pos + count]
        self._pos += count
        return count

    def read_rest_into(self, view: memoryview) -> int:
        """Fill ``view`` with what follows the position; returns the bytes read, fewer only
        where the stream ended. Afterwards the reader is spent."""
        kept = self._kept[self._pos : self._pos + len(view)]
        view[: len(kept)] = kept
        self._kept = bytearray()
        self._ended = True
        return len(kept) + read_exactly(self._raw, view[len(kept) :])

    def _keep(self, end: int | None) -> None:
        """Read from the stream until ``end`` bytes are kept (all, for ``None``)."""
        while not self._ended and (end is None or len(self._kept) < end):
            want = READ_CHUNK if end is None else min(end - len(self._kept), READ_CHUNK)
            if self.limit is not None:
                # At the limit, one byte more tells a stream that ends there from a longer one.
                want = max(1, min(want, self.limit - len(self._kept)))
            chunk = self._raw.read(want)
            if chunk and self.limit is not None and len(self._kept) >= self.limit:
                raise LimitReached(
                    f"goes on past {self.limit} bytes, more than its content can need; "
                    "it was not read further.",
                    path=self._name,
                )
            self._ended = not chunk
            self._kept += chunk
