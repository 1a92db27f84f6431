"""``.npy`` files: header checks, reading (never unpickled) and writing to a stream."""

from __future__ import annotations

import io
import math
from typing import BinaryIO

import numpy as np

from poolcli.errors import PoolError
from poolcli.io.atomic import write_error
from poolcli.io.files import StreamReader, read_exactly
from poolcli.io.formats import NPY_MAGIC
from poolcli.io.loaded import LoadedInput

_ACCEPTED_DTYPES = "bool, integers, float16, float32 or float64"
#: numpy's own limit on a header's length (it refuses longer ones as unsafe to parse).
_MAX_HEADER = 10_000
_CORRUPT_HEADER = "is a corrupt .npy file: its header cannot be read."


def read_npy(f: BinaryIO, path: str, size: int | None, file: str | None) -> LoadedInput:
    """Read a ``.npy`` from ``f`` (at its start) into memory, reading only what its header
    promises. ``size`` is the file's length, ``None`` for a stream."""
    shape, fortran, dtype, offset = read_npy_header(f, path)
    needed = check_npy(shape, dtype, path)
    if size is not None and size - offset < needed:
        raise _truncated(shape, dtype, needed, size - offset, path)
    try:
        # Owned, writable memory: torch.from_numpy warns on read-only data, and a memory map
        # would crash on a file cut short while in use.
        flat = np.empty(needed, dtype=np.uint8)
    except (MemoryError, ValueError):
        raise PoolError(
            f"is too large to read into memory: its header promises {needed} bytes.", path=path
        ) from None
    view = memoryview(flat)
    got = f.read_rest_into(view) if isinstance(f, StreamReader) else read_exactly(f, view)
    if got < needed:
        raise _truncated(shape, dtype, needed, got, path, changed=size is not None)
    array = flat.view(dtype).reshape(shape, order="F" if fortran else "C")
    return LoadedInput(native(array, in_place=True), path, "npy", None, None, file)


def read_npy_header(f: BinaryIO, path: str) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """Shape, Fortran order, dtype and data offset of a .npy, reading its header only."""
    magic = f.read(8)
    major = magic[6] if len(magic) == 8 and magic.startswith(NPY_MAGIC) else None
    length_size = {1: 2, 2: 4, 3: 4}.get(major)
    if length_size is None:
        raise PoolError(_CORRUPT_HEADER, path=path)
    length_bytes = f.read(length_size)
    length = int.from_bytes(length_bytes, "little")
    if len(length_bytes) < length_size or length > _MAX_HEADER:
        raise PoolError(_CORRUPT_HEADER, path=path)
    header = f.read(length)
    fmt = np.lib.format
    try:
        if len(header) < length:
            raise ValueError("short header")
        buffer = io.BytesIO(magic + length_bytes + header)
        version = fmt.read_magic(buffer)
        # 3.0 only allows UTF-8 in the header (structured field names, refused later).
        parse = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
        shape, fortran, dtype = parse(buffer)
    except Exception:
        raise PoolError(_CORRUPT_HEADER, path=path) from None
    return shape, fortran, dtype, 8 + length_size + length


def check_npy(shape: tuple[int, ...], dtype: np.dtype, path: str) -> int:
    """Refuse arrays poolcli cannot pool, before any data is read; returns the data's size in
    bytes, which the header promises."""
    kind = dtype.kind
    if dtype.hasobject:
        raise PoolError("holds Python objects; poolcli never unpickles files.", path=path)
    what = {
        "c": f"complex numbers ({dtype.name})",
        "V": "structured records",
        "S": "byte strings",
        "U": "text strings",
        "M": "dates",
        "m": "time spans",
    }.get(kind)
    if kind == "f" and dtype.itemsize not in (2, 4, 8):
        what = f"{dtype.itemsize * 8}-bit floats"
    if what is not None:
        raise PoolError(f"holds {what}; poolcli pools {_ACCEPTED_DTYPES} arrays.", path=path)
    if not shape:
        raise PoolError(
            "holds a single number (a 0-d array); pooling needs at least one axis.", path=path
        )
    if any(n < 0 for n in shape):
        raise PoolError(
            f"is a corrupt .npy file: its header gives the shape {_shape_text(shape)}, "
            "with a negative length.",
            path=path,
        )
    if 0 in shape:
        raise PoolError(
            f"is an empty array (shape {_shape_text(shape)}); "
            "pooling needs at least one value along every axis.",
            path=path,
        )
    needed = math.prod(shape) * dtype.itemsize  # Python integers: no overflow
    if needed > np.iinfo(np.intp).max:
        raise PoolError(
            f"is a corrupt .npy file: its header promises {_shape_text(shape)} values of "
            f"{dtype.name} ({needed} bytes), more than any array can hold.",
            path=path,
        )
    return needed


def _shape_text(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape)) if len(shape) > 1 else f"({shape[0]},)"


def _truncated(shape, dtype, needed: int, available: int, path: str, changed=False):
    if changed:
        return PoolError(
            f"was cut short while being read: its header promises {needed} bytes of data but "
            f"only {available} could be read. Did another program change it?",
            path=path,
        )
    return PoolError(
        f"is truncated: its header promises {_shape_text(shape)} values of {dtype.name} "
        f"({needed} bytes) but only {available} bytes follow.",
        path=path,
    )


def native(array: np.ndarray, in_place: bool = False) -> np.ndarray:
    """``array`` in native byte order (a big-endian file is converted: torch needs that).
    ``in_place`` swaps the bytes of ``array``'s own memory instead of copying it."""
    if array.dtype.isnative:
        return array
    swapped = array.dtype.newbyteorder("=")
    if in_place:
        return array.byteswap(inplace=True).view(swapped)
    return array.astype(swapped)


def write_npy(f: BinaryIO, array) -> None:
    """Write ``array`` as ``.npy`` bytes to ``f``, so that a failure keeps its reason: given
    a real file, numpy writes through a fast path whose failure says only "N requested and M
    written", not why (a full disk)."""
    np.lib.format.write_array(_PlainWriter(f), np.asanyarray(array), allow_pickle=False)


class _PlainWriter:
    """A binary stream as an object with only ``write()``."""

    def __init__(self, f: BinaryIO):
        self.write = f.write


def write_npy_stream(stream: BinaryIO, array, name: str = "standard output") -> None:
    """Write ``array`` as ``.npy`` bytes to a binary stream (standard output for ``-o -``).

    A failed write is a :class:`PoolError` naming ``name`` (``standard output: no space left
    on device.``), except a broken pipe, which the caller may want to end quietly.
    """
    try:
        write_npy(stream, array)
        stream.flush()
    except BrokenPipeError:
        raise
    except OSError as error:
        raise write_error(error, name) from None
