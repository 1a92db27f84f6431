"""``.npy`` files: header checks, reading (never unpickled) and writing to a stream."""

from __future__ import annotations

import io
from typing import IO, BinaryIO

import numpy as np

from poolcli.errors import PoolError
from poolcli.io.files import opened
from poolcli.io.loaded import LoadedInput

_ACCEPTED_DTYPES = "bool, integers, float16, float32 or float64"


def _read_npy_header(f: IO[bytes], path: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    """Shape, Fortran order and dtype from a .npy header, without loading anything."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(f)
        if version == (1, 0):
            header = fmt.read_array_header_1_0(f)
        elif version in ((2, 0), (3, 0)):
            # 3.0 only allows UTF-8 in the header (structured field names, refused below).
            header = fmt.read_array_header_2_0(f)
        else:
            raise ValueError(version)
    except Exception:
        raise PoolError("is a corrupt .npy file: its header cannot be read.", path=path) from None
    return header


def _check_npy(shape: tuple[int, ...], dtype: np.dtype, path: str) -> None:
    """Refuse arrays poolcli cannot pool, before any data is touched."""
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
    if 0 in shape:
        raise PoolError(
            f"is an empty array (shape {_shape_text(shape)}); "
            "pooling needs at least one value along every axis.",
            path=path,
        )


def _shape_text(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape)) if len(shape) > 1 else f"({shape[0]},)"


def _check_npy_size(shape, dtype, available: int, path: str) -> int:
    needed = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if available < needed:
        raise PoolError(
            f"is truncated: its header promises {_shape_text(shape)} values of {dtype.name} "
            f"({needed} bytes) but only {available} bytes follow.",
            path=path,
        )
    return needed


def native(array: np.ndarray) -> np.ndarray:
    """``array`` in native byte order (a big-endian file is converted: torch needs that)."""
    if array.dtype.isnative:
        return array
    return array.astype(array.dtype.newbyteorder("="))


def read_npy_file(path: str, file: str, size: int) -> LoadedInput:
    with opened(path) as f:
        shape, _fortran, dtype = _read_npy_header(f, path)
        offset = f.tell()
    _check_npy(shape, dtype, path)
    _check_npy_size(shape, dtype, size - offset, path)
    try:
        # Copy-on-write: pages are read on demand and the array is writable for torch.
        array = np.load(path, mmap_mode="c", allow_pickle=False)
    except Exception:
        raise PoolError("is a corrupt .npy file: its data cannot be read.", path=path) from None
    return LoadedInput(native(array), path, "npy", None, None, file)


def read_npy_bytes(data: bytearray, path: str) -> LoadedInput:
    f = io.BytesIO(data)
    shape, fortran, dtype = _read_npy_header(f, path)
    offset = f.tell()
    _check_npy(shape, dtype, path)
    needed = _check_npy_size(shape, dtype, len(data) - offset, path)
    # A bytearray buffer keeps the array writable (torch.from_numpy warns on read-only data).
    flat = np.frombuffer(data, dtype=dtype, count=needed // dtype.itemsize, offset=offset)
    array = flat.reshape(shape, order="F" if fortran else "C")
    return LoadedInput(native(array), path, "npy", None, None, None)


def write_npy_stream(stream: BinaryIO, array) -> None:
    """Write ``array`` as ``.npy`` bytes to a binary stream (standard output for ``-o -``)."""
    np.lib.format.write_array(stream, np.asanyarray(array), allow_pickle=False)
    stream.flush()
