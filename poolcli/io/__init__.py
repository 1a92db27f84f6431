"""Reading inputs and writing outputs: ``.npy`` files, images and standard streams.

* :func:`read_input` reads a ``.npy`` file (into memory, never unpickled) or an image
  (Pillow) and tells which by the file's content, not its name; ``-`` reads standard input.
* :func:`write_output` writes a ``.npy`` file or an image chosen by the output's suffix;
  :func:`write_npy_stream` writes ``.npy`` bytes to a stream (``-o -``).
* :mod:`poolcli.io.lazy` opens arrays to read a box at a time (``.npy`` with plain reads at
  the box's offsets, Zarr, TIFF) and :mod:`poolcli.io.sinks` writes outputs a box at a time,
  for pooling bigger than memory; zarr and tifffile are imported only there.
* :func:`atomic_write` is the one way poolcli creates files: a temporary file in the same
  folder, renamed over the target only when it is complete.

Every problem a user can fix is raised as :class:`~poolcli.errors.PoolError` naming the file.
This package never imports torch, and importing it loads nothing heavy: the names below come
from their modules on first use, so that ``poolcli.io.guard``, ``poolcli.io.atomic`` and
``poolcli.io.formats`` stay free of numpy and Pillow.
"""

from __future__ import annotations

import importlib

#: Public name -> the module of this package that defines it.
_HOMES = {
    "TEMP_MARK": "atomic",
    "atomic_write": "atomic",
    "clean_stale_temps": "atomic",
    "pid_alive": "atomic",
    "temp_name": "atomic",
    "IMAGE_SUFFIXES": "formats",
    "NPY_MAGIC": "formats",
    "OUTPUT_SUFFIXES": "formats",
    "PNG_MAGIC": "formats",
    "READ_FORMATS": "formats",
    "output_format": "formats",
    "ImageInfo": "loaded",
    "LoadedInput": "loaded",
    "Palette": "loaded",
    "write_npy_stream": "npy",
    "STDIN_NAME": "read",
    "read_input": "read",
    "check_not_input": "write",
    "write_output": "write",
    "Written": "write",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str):
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])
