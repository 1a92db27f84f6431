"""Reading one input, a file or standard input, as the ``.npy`` or image its content is."""

from __future__ import annotations

import os
import stat
import sys
from typing import BinaryIO

from poolcli.errors import PoolError
from poolcli.io.files import opened, stat_input
from poolcli.io.formats import NPY_MAGIC
from poolcli.io.image import read_image
from poolcli.io.loaded import LoadedInput
from poolcli.io.npy import read_npy_bytes, read_npy_file

STDIN_NAME = "<stdin>"


def read_input(path: str | os.PathLike, stdin: BinaryIO | None = None) -> LoadedInput:
    """Read a ``.npy`` file or an image; ``"-"`` reads all of ``stdin``.

    The content decides how a file is read (a ``.npy`` starts with ``\\x93NUMPY``), so a PNG
    named ``x.npy`` is read as the PNG it is. ``.npy`` files are memory-mapped and never
    unpickled. Images are read with Pillow (PNG, JPEG, TIFF, BMP, WebP, GIF's first frame),
    EXIF orientation applied: grayscale -> ``HW``, colour -> ``HWC``; 8-bit values as uint8,
    16-bit as uint16 (16-bit colour PNGs through pypng, since Pillow would cut them to 8 bits),
    float TIFFs as float32. Palette images become RGB, or RGBA when they have transparency;
    1-bit images become uint8 0/255.

    Parameters
    ----------
    path : str
        A file path, or ``"-"`` for standard input.
    stdin : binary stream, optional
        Read when ``path`` is ``"-"``; default ``sys.stdin.buffer``.

    Returns
    -------
    LoadedInput

    Raises
    ------
    PoolError
        Naming the file, for a missing, empty, damaged or unsupported file.
    """
    path = os.fspath(path)
    if path == "-":
        stream = stdin if stdin is not None else sys.stdin.buffer
        return _read_bytes(bytearray(stream.read()), STDIN_NAME, None)
    info = stat_input(path)
    if not stat.S_ISREG(info.st_mode):
        # A pipe or a device (e.g. process substitution): no memory map, read it whole.
        with opened(path) as f:
            return _read_bytes(bytearray(f.read()), path, None)
    if info.st_size == 0:
        raise PoolError("is empty (0 bytes).", path=path)
    with opened(path) as f:
        head = f.read(64)
    file = os.path.abspath(path)
    if head.startswith(NPY_MAGIC):
        return read_npy_file(path, file, info.st_size)
    return read_image(path, file, head, data=None)


def _read_bytes(data: bytearray, path: str, file: str | None) -> LoadedInput:
    if not data:
        raise PoolError("is empty (0 bytes).", path=path)
    if data.startswith(NPY_MAGIC):
        return read_npy_bytes(data, path)
    return read_image(path, file, bytes(data[:64]), data=data)
