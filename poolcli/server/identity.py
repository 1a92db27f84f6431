"""Which installation a server serves, and whether it changed since the server started.

A client and its server must agree on the version, the package directory and the Python
environment (:func:`poolcli.client.place.installation`); the server also takes a fingerprint of
its own files and of the libraries it imported (path, size and modification time of each),
and a request arriving after any of them changed finds the server stale: it stops, and the
client starts a new one.
"""

from __future__ import annotations

import os
import sys

from poolcli.client.place import PACKAGE_DIR, installation

#: Libraries the server imports, whose upgrade makes it stale.
LIBRARIES = ("torch", "numpy", "PIL", "typer", "rich", "pyspng")


def fingerprint() -> tuple:
    """Size and modification time of every file of the package, and of the libraries'
    ``__init__`` files."""
    seen = []
    for folder, dirs, files in os.walk(PACKAGE_DIR):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                seen.append(_stamp(os.path.join(folder, name)))
    for name in LIBRARIES:
        module = sys.modules.get(name)
        if module is not None and getattr(module, "__file__", None):
            seen.append(_stamp(module.__file__))
    return tuple(seen)


def _stamp(path: str) -> tuple:
    try:
        info = os.stat(path)
    except OSError:
        return (path, None)
    return (path, info.st_size, info.st_mtime_ns)


class Identity:
    """This server's installation and fingerprint, taken when it starts."""

    def __init__(self) -> None:
        self.installation = installation()
        self.fingerprint = fingerprint()

    def stale_for(self, message: dict) -> str | None:
        """Why this server must not serve ``message``'s client (``None``: it may)."""
        for key, value in self.installation.items():
            if message.get(key) != value:
                return f"the client's {key} is {message.get(key)!r}, the server's {value!r}"
        if fingerprint() != self.fingerprint:
            return "poolcli's files or libraries changed since the server started"
        return None
