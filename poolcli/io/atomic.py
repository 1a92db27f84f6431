"""Creating files atomically: a temporary name next to the target, renamed when complete.

Pure Python: importing it loads neither numpy nor Pillow.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Iterator
from typing import BinaryIO

from poolcli.errors import PoolError

_O_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation


#: In the names of temporary files: ``.NAME.poolcli-tmp-PID-XXXXXXXX.SUFFIX`` (see temp_name).
TEMP_MARK = ".poolcli-tmp-"
_TEMP_NAME = re.compile(r"^\..*\.poolcli-tmp-(\d+)-[0-9a-f]{8}")


def temp_name(path: str) -> str:
    """A fresh temporary name next to ``path``: ``.NAME.poolcli-tmp-PID-XXXXXXXX.SUFFIX``.

    Hidden, never mistaken for an output, and naming its process, so that
    :func:`clean_stale_temps` can tell the leftovers of a killed run from files being written.
    """
    folder, base = os.path.split(path)
    suffix = os.path.splitext(base)[1]
    token = secrets.token_hex(4)
    return os.path.join(folder, f".{base[:100]}{TEMP_MARK}{os.getpid()}-{token}{suffix}")


def clean_stale_temps(folder: str) -> list[str]:
    """Delete temporary files of killed poolcli processes in ``folder``; returns the names
    removed. Files of processes still running are left alone."""
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP_NAME.match(entry.name)
        if not match or _pid_alive(int(match.group(1))):
            continue
        with contextlib.suppress(OSError):
            if entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
                removed.append(entry.name)
    return removed


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    # A killed process that nobody reaped (a container without an init) still answers kill().
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


@contextlib.contextmanager
def atomic_write(path: str, *, fsync: bool = False) -> Iterator[BinaryIO]:
    """Open a temporary file next to ``path`` for writing; rename it over ``path`` on success.

    On any exception in the ``with`` block (Ctrl-C included) the temporary file is removed and
    ``path`` is left as it was, so an output file is either complete or absent. The new file
    gets the usual permissions (0666 less the umask). ``fsync=True`` also flushes the data to
    the disk before the rename, so that a power cut cannot leave an empty file; it is off by
    default because it costs about as much as writing a large array.

    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> with atomic_write(os.path.join(folder, "out.bin")) as f:
    ...     _ = f.write(b"done")
    >>> os.listdir(folder)
    ['out.bin']
    >>> import shutil; shutil.rmtree(folder)

    Raises
    ------
    PoolError
        When ``path`` is a directory, its folder does not exist, or writing fails (a full
        disk, no permission).
    """
    if os.path.isdir(path):
        raise PoolError("is a directory; give a file name for the output.", path=path)
    target = os.path.abspath(path)
    fd = None
    try:
        for _ in range(100):  # a random name is taken only if another write races this one
            tmp = temp_name(target)
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_BINARY, 0o666)
                break
            except FileExistsError:
                continue
    except FileNotFoundError:
        shown = os.path.dirname(path) or "."
        raise PoolError(
            f"cannot be written: the folder {shown} does not exist.", path=path
        ) from None
    except OSError as error:
        raise PoolError(f"cannot be written: {error.strerror}.", path=path) from None
    if fd is None:
        raise PoolError("cannot be written: no free temporary file name.", path=path)
    f = os.fdopen(fd, "wb")
    try:
        yield f
        f.flush()
        if fsync:
            os.fsync(f.fileno())
        f.close()
        os.replace(tmp, path)
    except BaseException as error:
        f.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(error, OSError) and error.errno is not None:
            raise PoolError(f"could not be written: {error.strerror}.", path=path) from None
        raise
