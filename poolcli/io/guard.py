"""The one check every file poolcli writes passes first: never an input, never written twice.

A call registers its inputs, then claims each file it will write (the output, the picture of
``--viz``, ...) before writing anything. A claim fails when the file is one of the inputs
(the same path, through a symbolic link or a hard link) or when another file of the same call
already claimed it. The caller words the refusal: it knows which options named the files.

>>> guard = WriteGuard()
>>> guard.add_input("photo.png")
>>> guard.claim("out.png", "-o") is None
True
>>> guard.claim("./photo.png", "--viz").role
'input'
>>> guard.claim("out.png", "--viz").role
'-o'
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Claim:
    """A file a call reads or writes: its path as given, its role (``input``, ``-o``,
    ``--viz``...) and whatever the caller attached to tell files apart (a batch task)."""

    path: str
    role: str
    owner: object = None


def _keys(path: str) -> list[object]:
    """What identifies ``path``'s file: its resolved path, and its inode when it exists."""
    keys: list[object] = [os.path.normcase(os.path.realpath(path))]
    with contextlib.suppress(OSError, ValueError):
        info = os.stat(path)
        keys.append((info.st_dev, info.st_ino))
    return keys


class WriteGuard:
    """The files of one call, so that no file it writes is an input or written twice."""

    def __init__(self) -> None:
        self._files: dict[object, Claim] = {}

    def add_input(self, path: str, owner: object = None) -> None:
        """Register an input file (``-`` and missing files are fine: they match nothing)."""
        for key in _keys(path):
            self._files.setdefault(key, Claim(path, "input", owner))

    def claim(self, path: str, role: str, owner: object = None) -> Claim | None:
        """Claim ``path`` for writing; returns ``None``, or the earlier claim it clashes with
        (an input, or a file another role or owner of this call writes)."""
        keys = _keys(path)
        for key in keys:
            earlier = self._files.get(key)
            if earlier is not None and (earlier.role, earlier.owner) != (role, owner):
                return earlier
        for key in keys:
            self._files[key] = Claim(path, role, owner)
        return None
