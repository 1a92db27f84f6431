"""Opening the files poolcli reads, with the messages of a path that cannot be read."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from typing import BinaryIO

from poolcli.errors import PoolError


def stat_input(path: str) -> os.stat_result:
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise PoolError("No such file.", path=path) from None
    except PermissionError:
        raise PoolError("Permission denied.", path=path) from None
    except OSError as error:
        raise PoolError(f"cannot be read: {error.strerror}.", path=path) from None
    if stat.S_ISDIR(info.st_mode):
        raise PoolError("is a directory, not a file.", path=path)
    return info


@contextlib.contextmanager
def opened(path: str) -> Iterator[BinaryIO]:
    try:
        f = open(path, "rb")
    except PermissionError:
        raise PoolError("Permission denied.", path=path) from None
    except OSError as error:
        raise PoolError(f"cannot be read: {error.strerror}.", path=path) from None
    with f:
        yield f
