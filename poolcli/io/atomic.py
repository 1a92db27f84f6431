"""Creating files atomically: a temporary name next to the target, renamed when complete.

Pure Python: importing it loads neither numpy nor Pillow.
"""

from __future__ import annotations

import contextlib
import errno
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


def clean_stale_temps(folder: str, root: str | None = None) -> list[str]:
    """Delete temporary files of killed poolcli processes in ``folder``; returns the names
    removed. Files of processes still running are left alone.

    Symbolic links are never followed: a ``folder`` that is a link, or is reached through one
    below ``root`` (an output folder it lies in), is left alone, and so are links in it.
    """
    if not _reached_without_links(folder, root):
        return []
    try:
        fd = os.open(folder, os.O_RDONLY | _O_DIRECTORY | _O_NOFOLLOW)
    except OSError:
        return []
    try:
        # Names relative to the open folder: a link swapped in meanwhile changes nothing.
        listing = os.scandir(fd) if _BY_FD else os.scandir(folder)
        with listing:
            stale = [e.name for e in listing if _is_stale(e)]
        removed = []
        for name in stale:
            with contextlib.suppress(OSError):
                if _BY_FD:
                    os.unlink(name, dir_fd=fd)
                else:
                    os.unlink(os.path.join(folder, name))
                removed.append(name)
        return removed
    finally:
        os.close(fd)


_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_BY_FD = os.scandir in os.supports_fd and os.unlink in os.supports_dir_fd


def _is_stale(entry: os.DirEntry) -> bool:
    match = _TEMP_NAME.match(entry.name)
    if not match or pid_alive(int(match.group(1))):
        return False
    try:
        return entry.is_file(follow_symlinks=False)
    except OSError:
        return False


def _reached_without_links(folder: str, root: str | None) -> bool:
    """Whether no folder from below ``root`` (or ``folder`` alone) down to ``folder`` is a
    symbolic link; ``False`` when ``folder`` is not below ``root``."""
    folder = os.path.abspath(folder)
    top = os.path.abspath(root) if root is not None else os.path.dirname(folder)
    rel = os.path.relpath(folder, top)
    if rel == os.pardir or rel.startswith(os.pardir + os.sep):
        return False
    path = top
    for part in rel.split(os.sep):
        path = os.path.join(path, part)
        if part != os.curdir and os.path.islink(path):
            return False
    return True


def pid_alive(pid: int) -> bool:
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
    ``path`` is left as it was, so an output file is either complete or absent, even on a full
    disk, where closing the temporary file fails too. The new file gets the usual permissions
    (0666 less the umask). ``fsync=True`` also flushes the data to the disk before the rename,
    so that a power cut cannot leave an empty file; it is off by default because it costs
    about as much as writing a large array.

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
    fd, tmp = _create_temp(path)
    f = os.fdopen(fd, "wb")
    try:
        yield f
        f.flush()
        if fsync:
            os.fsync(f.fileno())
        f.close()
        os.replace(tmp, path)
    except BaseException as error:
        # Closing flushes what is buffered, which fails again on a full disk; the file is
        # closed all the same, and removed whatever close() said.
        with contextlib.suppress(OSError):
            f.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(error, OSError):
            raise write_error(error, path) from None
        raise


def _create_temp(path: str) -> tuple[int, str]:
    """A new temporary file next to ``path``: its descriptor and name."""
    if os.path.isdir(path):
        raise PoolError("is a directory; give a file name for the output.", path=path)
    target = os.path.abspath(path)
    try:
        for _ in range(100):  # a random name is taken only if another write races this one
            tmp = temp_name(target)
            try:
                flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_BINARY
                return os.open(tmp, flags, 0o666), tmp
            except FileExistsError:
                continue
    except FileNotFoundError:
        shown = os.path.dirname(path) or "."
        raise PoolError(
            f"cannot be written: the folder {shown} does not exist.", path=path
        ) from None
    except OSError as error:
        if error.errno in _NO_SPACE:
            raise write_error(error, path) from None
        raise PoolError(f"cannot be written: {error.strerror}.", path=path) from None
    raise PoolError("cannot be written: no free temporary file name.", path=path)


_NO_SPACE = {errno.ENOSPC: "no space left on device."}
if hasattr(errno, "EDQUOT"):
    _NO_SPACE[errno.EDQUOT] = "disk quota exceeded."


def write_error(error: OSError, path: str) -> PoolError:
    """What a failed write of ``path`` (an output, or "standard output") says."""
    if error.errno in _NO_SPACE:
        return PoolError(_NO_SPACE[error.errno], path=path)
    reason = error.strerror or str(error) or type(error).__name__
    return PoolError(f"could not be written: {reason.rstrip('.')}.", path=path)
