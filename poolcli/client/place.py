"""Where this user's server for this installation listens, and the checks that make it safe.

The socket lives in a directory only this user can enter: ``$XDG_RUNTIME_DIR/poolcli``, or
``poolcli-UID`` under the temporary directory (``$TMPDIR``, else ``/tmp``); ``POOLCLI_SERVER_DIR``
names another. The directory must be a real directory (not a link), owned by this user, with no
access for anyone else; poolcli refuses to use any other. Each installation (the poolcli package
directory and the Python environment) has its own server there::

    server-KEY.sock   the socket        server-KEY.log   the server's log
    server-KEY.lock   held by the running server, so that only one runs
"""

from __future__ import annotations

import os
import stat
import sys

from poolcli.version import __version__

#: ``POOLCLI_SERVER``: ``off`` never uses a server, ``auto`` starts one on first use; anything
#: else (unset, ``on``) uses one when it runs.
MODE_VARIABLE = "POOLCLI_SERVER"
DIR_VARIABLE = "POOLCLI_SERVER_DIR"
#: The package this module belongs to: the installation a server serves.
PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class PlaceError(Exception):
    """The server's directory is not safe to use (one sentence for the user)."""


def mode() -> str:
    """``off``, ``auto`` or ``on``, from ``POOLCLI_SERVER``."""
    value = os.environ.get(MODE_VARIABLE, "").strip().lower()
    return value if value in ("off", "auto") else "on"


def installation() -> dict:
    """What a server must share with its client: the version, the package and the Python
    environment it runs in (the server also checks that no file of the package changed)."""
    return {"version": __version__, "package": PACKAGE_DIR, "prefix": sys.prefix}


def _key() -> str:
    import zlib

    text = f"{PACKAGE_DIR}\0{sys.prefix}".encode("utf-8", "surrogateescape")
    return f"{zlib.crc32(text):08x}"


def runtime_dir() -> str:
    """The directory the server's socket lives in (not created, not checked)."""
    named = os.environ.get(DIR_VARIABLE)
    if named:
        return os.path.abspath(named)
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isabs(runtime) and os.path.isdir(runtime):
        return os.path.join(runtime, "poolcli")
    temp = os.environ.get("TMPDIR") or "/tmp"
    return os.path.join(temp, f"poolcli-{os.getuid()}")


class Place:
    """The files of this installation's server in ``folder``."""

    def __init__(self, folder: str | None = None):
        self.folder = folder or runtime_dir()
        stem = os.path.join(self.folder, f"server-{_key()}")
        self.socket = stem + ".sock"
        self.log = stem + ".log"
        self.lock = stem + ".lock"

    def check(self, create: bool = False) -> bool:
        """Whether the directory exists and is private to this user (made so with
        ``create``); :class:`PlaceError` when it exists but anyone else could use it."""
        if create:
            try:
                os.mkdir(self.folder, 0o700)
            except FileExistsError:
                pass
            except OSError as error:
                raise PlaceError(f"cannot create {self.folder} ({error.strerror}).") from None
        try:
            info = os.lstat(self.folder)
        except FileNotFoundError:
            return False
        if not stat.S_ISDIR(info.st_mode):
            raise PlaceError(f"{self.folder} is not a directory; poolcli will not use it.")
        if info.st_uid != os.getuid() or info.st_mode & 0o077:
            raise PlaceError(
                f"{self.folder} must belong to you and be private (mode 700), but its owner "
                f"is uid {info.st_uid} and its mode {stat.S_IMODE(info.st_mode):o}; poolcli "
                "will not use a server there. Remove it, or set POOLCLI_SERVER=off."
            )
        return True
