"""Reading one input, a file or standard input, as the ``.npy`` or image its content is."""

from __future__ import annotations

import io
import os
import sys
import warnings
import zipfile
from typing import BinaryIO

from poolcli.errors import PoolError
from poolcli.io.files import StreamReader, open_input
from poolcli.io.formats import NOT_READABLE, NPY_MAGIC, signature_format, unsupported
from poolcli.io.image import read_image, stream_limit
from poolcli.io.loaded import LoadedInput
from poolcli.io.npy import read_npy

STDIN_NAME = "<stdin>"
#: Bytes enough to tell every format poolcli reads by its signature.
_HEAD = 64


def read_input(
    path: str | os.PathLike, stdin: BinaryIO | None = None, *, palette: str = "rgb"
) -> LoadedInput:
    """Read a ``.npy`` file or an image; ``"-"`` reads ``stdin``.

    The content decides how a file is read (a ``.npy`` starts with ``\\x93NUMPY``), so a PNG
    named ``x.npy`` is read as the PNG it is. ``.npy`` files are read into memory (never
    memory-mapped, never unpickled), no further than their header promises. Images are read
    with Pillow (PNG, JPEG, TIFF, BMP, WebP, GIF's first frame), EXIF orientation applied:
    grayscale -> ``HW``, colour -> ``HWC``; 8-bit values as uint8, 16-bit as uint16 (16-bit
    colour PNGs through libspng, since Pillow would cut them to 8 bits), float TIFFs as float32.
    Palette images become RGB, or RGBA when they have transparency, unless ``palette`` is
    ``"index"``: then their indices are read (``HW``, uint8) and ``image.palette`` holds
    their colours, which :func:`~poolcli.io.write_output` writes back (pooling labels with
    ``mode`` keeps them whole). 1-bit images become uint8 0/255.

    Only regular files, pipes and standard input are read: devices and sockets are refused,
    and so is a named pipe that nobody writes to. A stream is refused after its first bytes
    unless they start a ``.npy`` or an image poolcli reads.

    Parameters
    ----------
    path : str
        A file path, or ``"-"`` for standard input.
    stdin : binary stream, optional
        Read when ``path`` is ``"-"``; default ``sys.stdin.buffer``.
    palette : {"rgb", "index"}
        How palette images are read: as their colours (default) or as their indices.

    Returns
    -------
    LoadedInput

    Raises
    ------
    PoolError
        Naming the file, for a missing, empty, damaged or unsupported file.
    """
    if palette not in ("rgb", "index"):
        raise ValueError(f"palette must be 'rgb' or 'index', not {palette!r}")
    path = os.fspath(path)
    if path == "-":
        raw = stdin if stdin is not None else sys.stdin.buffer
        with StreamReader(raw, STDIN_NAME) as stream:
            return _read(stream, STDIN_NAME, None, None, palette)
    with open_input(path) as opened:
        return _read(opened.f, path, opened.size, opened.file, palette)


def _read(f: BinaryIO, name: str, size: int | None, file: str | None, palette: str) -> LoadedInput:
    """Read what ``f`` holds; ``size`` and ``file`` are ``None`` for a stream."""
    head = f.read(_HEAD)
    f.seek(0)
    if not head:
        raise PoolError("is empty (0 bytes).", path=name)
    if head.startswith(NPY_MAGIC):
        return read_npy(f, name, size, file)
    if signature_format(head) is None:
        raise _not_readable(f, head, name, size)
    if isinstance(f, StreamReader):
        f.limit = stream_limit()
    return read_image(f, name, head, file, palette)


def _not_readable(f: BinaryIO, head: bytes, name: str, size: int | None) -> PoolError:
    """Why ``f``, neither a .npy nor an image poolcli reads, is refused, as precisely as can
    be told from a file, or from the first bytes of a stream."""
    if head.startswith(b"PK\x03\x04"):
        return _archive(f, name, size)
    sample = f if size is not None else io.BytesIO(f.head(1 << 16))
    fmt = _pillow_format(sample)
    return PoolError(NOT_READABLE, path=name) if fmt is None else unsupported(fmt, name)


def _pillow_format(f: BinaryIO) -> str | None:
    """The format Pillow recognises in ``f``, reading its header only."""
    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with Image.open(f) as im:
                return im.format
        except Exception:
            return None


def _archive(f: BinaryIO, name: str, size: int | None) -> PoolError:
    """A zip archive, most likely a .npz: how to take one array out of it."""
    arrays: list[str] = []
    if size is not None:  # a stream is not read on to its end for the listing
        try:
            with zipfile.ZipFile(f) as archive:
                arrays = [n[:-4] for n in archive.namelist() if n.endswith(".npy")]
        except (zipfile.BadZipFile, OSError, ValueError):
            arrays = []
    what = "a zip archive (a .npz?)"
    if arrays:
        listed = ", ".join(arrays[:5]) + (", ..." if len(arrays) > 5 else "")
        what = f"a .npz archive of {len(arrays)} array{'s' * (len(arrays) > 1)} ({listed})"
    archive = name if size is not None else "FILE.npz"
    key = arrays[0] if arrays else "NAME"
    return PoolError(
        f"is {what}; poolcli reads one array, from a .npy file. Take one out with numpy: "
        f"python -c \"import numpy as np; np.save('{key}.npy', np.load('{archive}')['{key}'])\"",
        path=name,
    )
