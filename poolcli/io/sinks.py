"""Outputs written block by block: ``.npy``, Zarr and TIFF, each complete or absent.

:func:`open_sink` creates the output under a temporary name next to the target; blocks are
written by :func:`write_block`, in this process or another (a Dask worker reopens the
temporary output by its name); :meth:`Sink.commit` renames it into place and
:meth:`Sink.discard` removes it (an interrupted run leaves nothing behind).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from poolcli.errors import PoolError
from poolcli.io.atomic import temp_name
from poolcli.io.lazy import lazy_format

_OPEN: dict[tuple[str, str], object] = {}


@dataclass
class Sink:
    """Where blocks go: ``kind`` (``npy`` or ``zarr``) at the temporary path ``tmp``; a TIFF
    is gathered in a temporary ``.npy`` and written when committed."""

    path: str
    kind: str
    tmp: str
    layout: str
    scale: tuple[float, ...] | None = None
    target: str = "npy"
    #: A TIFF output's last channel is an image's straight alpha.
    alpha: bool = False

    @property
    def handle(self) -> tuple[str, str]:
        return (self.kind, self.tmp)

    def commit(self) -> None:
        _OPEN.pop(self.handle, None)
        if self.target == "tiff":
            import numpy as np

            from poolcli.io.tiff import write_tiff

            data = np.load(self.tmp, mmap_mode="r")
            try:
                write_tiff(self.path, data, self.layout, self.scale, alpha=self.alpha)
            finally:
                del data
                os.unlink(self.tmp)
            return
        if self.kind == "zarr":
            from poolcli.io.zarr_store import replace_tree

            replace_tree(self.tmp, self.path)
            return
        os.replace(self.tmp, self.path)

    def discard(self) -> None:
        import shutil

        _OPEN.pop(self.handle, None)
        if os.path.isdir(self.tmp):
            shutil.rmtree(self.tmp, ignore_errors=True)
        elif os.path.exists(self.tmp):
            os.unlink(self.tmp)


def open_sink(
    path: str,
    shape: tuple[int, ...],
    dtype,
    layout: str,
    chunks: tuple[int, ...] | None = None,
    scale=None,
    zarr_format: int = 3,
    attributes: dict | None = None,
    format: str | None = None,
    compressors="auto",
) -> Sink:
    """Create the output ``path`` (``format``, by default by its suffix: ``.zarr``, ``.tif``,
    else ``.npy``); a Zarr output's ``compressors`` as zarr takes them (``"auto"``: its
    default)."""
    target = format or lazy_format(path) or "npy"
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise PoolError(f"cannot be written: the folder {folder} does not exist.", path=path)
    if target == "zarr":
        from poolcli.io.lazy import need

        zarr = need("zarr", f"{path}: writing Zarr")
        tmp = temp_name(os.path.abspath(path.rstrip("/" + os.sep)))
        chunks = tuple(max(1, min(c, s)) for c, s in zip(chunks or shape, shape))
        attrs = dict(attributes or {})
        zarr.create_array(
            tmp,
            shape=shape,
            dtype=dtype,
            chunks=chunks,
            zarr_format=zarr_format,
            attributes=attrs,
            compressors=compressors,
        )
        return Sink(path, "zarr", tmp, layout, scale, target)
    tmp = temp_name(os.path.abspath(path))
    if target == "tiff":
        tmp = tmp[: -len(os.path.splitext(tmp)[1])] + ".npy"
    try:
        _create_npy(tmp, shape, dtype)
    except OSError as error:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise PoolError(f"cannot be written: {error.strerror}.", path=path) from None
    return Sink(path, "npy", tmp, layout, scale, target)


def _create_npy(tmp: str, shape, dtype) -> None:
    """An empty C-order ``.npy`` of ``shape``: the header, and the data's length as a hole
    (nothing mapped, nothing held in memory)."""
    import math

    import numpy as np

    dtype = np.dtype(dtype)
    header = {
        "descr": np.lib.format.dtype_to_descr(dtype),
        "fortran_order": False,
        "shape": tuple(shape),
    }
    with open(tmp, "xb") as f:
        try:
            np.lib.format.write_array_header_1_0(f, header)
        except ValueError:  # a header over 64 KiB needs format 2.0
            f.seek(0)
            np.lib.format.write_array_header_2_0(f, header)
        f.truncate(f.tell() + math.prod(shape) * dtype.itemsize)


def write_block(handle: tuple[str, str], index, values) -> None:
    """Write ``values`` at ``index`` of the temporary output ``handle`` (a Zarr output stays
    open in each process; a ``.npy`` is written with plain writes, never memory-mapped)."""
    kind, tmp = handle
    if kind == "zarr":
        opened = _OPEN.get(handle)
        if opened is None:
            import zarr

            from poolcli.io.zarr_chunks import ChunkFiles

            out = zarr.open_array(tmp, mode="r+")
            opened = (out, ChunkFiles.of(out))
            _OPEN.clear()  # one output open at a time per process
            _OPEN[handle] = opened
        out, direct = opened
        if direct is None or not direct.write(index, values):
            out[index] = values
        return
    _write_npy_box(tmp, index, values)


def _write_npy_box(tmp: str, index, values) -> None:
    """Write a box of a C-order ``.npy`` with plain writes at its runs' offsets."""
    import numpy as np

    from poolcli.io.lazy import _full_index, runs
    from poolcli.io.npy import read_npy_header

    with open(tmp, "r+b", buffering=0) as f:
        shape, _, dtype, offset = read_npy_header(f, tmp)
        values = np.ascontiguousarray(values, dtype=dtype)
        flat = values.reshape(-1)
        size = dtype.itemsize
        done = 0
        for first, count, _ in runs(tuple(shape), _full_index(index, len(shape))):
            os.pwrite(
                f.fileno(), memoryview(flat[done : done + count]).cast("B"), offset + first * size
            )
            done += count
