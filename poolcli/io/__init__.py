"""Reading inputs and writing outputs: ``.npy`` files, images and standard streams.

* :func:`read_input` reads a ``.npy`` file (memory-mapped, never unpickled) or an image
  (Pillow) and tells which by the file's content, not its name; ``-`` reads standard input.
* :func:`write_output` writes a ``.npy`` file or an image chosen by the output's suffix;
  :func:`write_npy_stream` writes ``.npy`` bytes to a stream (``-o -``).
* :func:`atomic_write` is the one way poolcli creates files: a temporary file in the same
  folder, renamed over the target only when it is complete.

Every problem a user can fix is raised as :class:`~poolcli.errors.PoolError` naming the file.
This module never imports torch.
"""

from __future__ import annotations

from poolcli.io.atomic import _TEMP_NAME as _TEMP_NAME
from poolcli.io.atomic import TEMP_MARK, atomic_write, clean_stale_temps, temp_name
from poolcli.io.formats import (
    IMAGE_SUFFIXES,
    NPY_MAGIC,
    OUTPUT_SUFFIXES,
    PNG_MAGIC,
    READ_FORMATS,
    output_format,
)
from poolcli.io.loaded import ImageInfo, LoadedInput
from poolcli.io.npy import write_npy_stream
from poolcli.io.read import STDIN_NAME, read_input
from poolcli.io.write import check_not_input, write_output

__all__ = [
    "IMAGE_SUFFIXES",
    "NPY_MAGIC",
    "OUTPUT_SUFFIXES",
    "PNG_MAGIC",
    "READ_FORMATS",
    "STDIN_NAME",
    "TEMP_MARK",
    "ImageInfo",
    "LoadedInput",
    "atomic_write",
    "check_not_input",
    "clean_stale_temps",
    "output_format",
    "read_input",
    "temp_name",
    "write_npy_stream",
    "write_output",
]
