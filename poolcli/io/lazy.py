"""Arrays read a piece at a time: ``.npy`` (memory-mapped after its header is checked), Zarr
(v2 and v3, OME-Zarr images) and TIFF/BigTIFF/OME-TIFF (tiles and pages read on demand).

:func:`open_lazy` gives a :class:`LazyArray`: shape, dtype, chunks, and for OME formats the
axes (as layout letters) and the physical scale per axis. Slicing it reads only that part.
Only the blockwise path (``--max-memory``, ``pyramid``) memory-maps ``.npy`` files; a
``.npy`` is never unpickled. dask, zarr and tifffile are imported only here, on first use.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from poolcli.errors import PoolError

ZARR_SUFFIXES = (".zarr",)
TIFF_SUFFIXES = (".tif", ".tiff", ".ome.tif", ".ome.tiff", ".btf", ".tf8")
#: OME axis names -> layout letters (time and other batch axes become N).
OME_LETTERS = {"t": "N", "c": "C", "z": "D", "y": "H", "x": "W"}
#: tifffile's axis codes -> layout letters; pages of a stack (I, Q) are depth.
TIFF_LETTERS = {"T": "N", "C": "C", "S": "C", "Z": "D", "I": "D", "Q": "D", "Y": "H", "X": "W"}


def missing_extra(what: str, module: str) -> PoolError:
    return PoolError(
        f"{what} needs the {module} package, which is not installed. Install poolcli's "
        "'blocks' extra: pip install 'poolcli[blocks]'."
    )


def need(module: str, what: str):
    """Import ``module`` (zarr, tifffile, dask...) or say which extra to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise missing_extra(what, module) from None


def lazy_format(path: str) -> str | None:
    """``npy``, ``zarr``, ``tiff`` by the name of ``path``, or ``None``."""
    low = str(path).lower().rstrip("/" + os.sep)
    if low.endswith(ZARR_SUFFIXES):
        return "zarr"
    if low.endswith(TIFF_SUFFIXES):
        return "tiff"
    if low.endswith(".npy"):
        return "npy"
    return None


@dataclass
class LazyArray:
    """An array on disk: ``data[index]`` reads that part as a numpy array."""

    data: Any
    path: str
    format: str
    chunks: tuple[int, ...] | None = None
    #: Layout letters the file names (OME-Zarr axes, TIFF axes), or None.
    axes: str | None = None
    #: Physical size of one cell along each axis (OME), or None.
    scale: tuple[float, ...] | None = None
    units: tuple[str | None, ...] | None = None
    zarr_format: int | None = None
    #: An image's pixels (a TIFF with samples per pixel): the last channel is straight alpha
    #: (``alpha``), held premultiplied in the file (``premultiplied``, undone when read).
    pixels: bool = False
    alpha: bool = False
    premultiplied: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape)

    @property
    def dtype(self):
        import numpy as np

        return np.dtype(self.data.dtype)

    def close(self) -> None:
        """Close the file behind the array (a TIFF stays open while it is read)."""
        opened = self.extra.pop("file", None)
        if opened is not None:
            opened.close()

    def __enter__(self) -> LazyArray:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def read(self, index) -> Any:
        import numpy as np

        direct = self.extra.get("chunk_files")  # Zarr chunks read straight from their files
        values = direct.read(index) if direct else np.ascontiguousarray(self.data[index])
        if self.premultiplied:
            from poolcli.io.tiff import straight_colour

            values = straight_colour(values, self.axes.index("C"))
        return values


def open_lazy(path: str) -> LazyArray:
    """Open ``path`` for reading in pieces (by its name: ``.zarr``, ``.tif``..., else ``.npy``)."""
    fmt = lazy_format(path) or "npy"
    if not os.path.exists(path):
        raise PoolError("No such file.", path=path)  # as read_input says it
    if os.path.isdir(path):
        from poolcli.io.formats import ZARR_MARKS

        if not any(os.path.exists(os.path.join(path, m)) for m in ZARR_MARKS):
            raise PoolError("is a folder, not a Zarr array.", path=path)
        fmt = "zarr"
    if fmt == "zarr":
        from poolcli.io.zarr_store import open_zarr

        return open_zarr(path)
    if fmt == "tiff":
        from poolcli.io.tiff import open_tiff

        return open_tiff(path)
    return open_npy(path)


def open_npy(path: str) -> LazyArray:
    """A ``.npy`` memory-mapped read-only, once its header is checked (never unpickled)."""

    from poolcli.io.npy import check_npy, read_npy_header

    with open(path, "rb") as f:
        shape, fortran, dtype, offset = read_npy_header(f, path)
    needed = check_npy(shape, dtype, path)
    if os.path.getsize(path) - offset < needed:
        raise PoolError(f"is cut short: its header promises {needed} bytes of data.", path=path)
    return LazyArray(NpyFile(path, shape, dtype, offset, fortran), path, "npy")


def runs(shape: tuple[int, ...], index: tuple[slice, ...]):
    """The contiguous runs of a box of a C-order array: ``(first element, count, prefix)``
    for each, where ``prefix`` indexes the run's row of the box (the axes before the last
    axis the box cuts)."""
    import itertools
    import math

    bounds = [s.indices(n)[:2] for s, n in zip(index, shape)]
    cut = max((i for i, (lo, hi) in enumerate(bounds) if (lo, hi) != (0, shape[i])), default=0)
    strides = [math.prod(shape[i + 1 :]) for i in range(len(shape))]
    count = (bounds[cut][1] - bounds[cut][0]) * strides[cut]
    for prefix in itertools.product(*(range(lo, hi) for lo, hi in bounds[:cut])):
        first = sum(p * st for p, st in zip(prefix, strides)) + bounds[cut][0] * strides[cut]
        yield first, count, tuple(p - lo for p, (lo, _) in zip(prefix, bounds))


class NpyFile:
    """A ``.npy``'s data read a box at a time with plain reads (never memory-mapped: a file
    cut short while it is read fails with a message, not a crash)."""

    def __init__(self, path, shape, dtype, offset, fortran=False):
        self.path, self.shape, self.dtype = path, tuple(shape), dtype
        self.offset, self.fortran = offset, fortran

    def __getitem__(self, index):
        import numpy as np

        index = _full_index(index, len(self.shape))
        if self.fortran:  # a Fortran array is the C array of the reversed shape, transposed
            flipped = NpyFile(self.path, self.shape[::-1], self.dtype, self.offset)
            return flipped[index[::-1]].T
        box = tuple(len(range(*s.indices(n))) for s, n in zip(index, self.shape))
        out = np.empty(box, dtype=self.dtype)
        rows = out.reshape(-1) if out.ndim else out
        size = self.dtype.itemsize
        with open(self.path, "rb", buffering=0) as f:
            done = 0
            for first, count, _ in runs(self.shape, index):
                want = count * size
                got = os.preadv(
                    f.fileno(),
                    [memoryview(rows[done : done + count]).cast("B")],
                    self.offset + first * size,
                )
                if got < want:
                    raise PoolError("was cut short while it was being read.", path=self.path)
                done += count
        return out


def _full_index(index, ndim: int) -> tuple[slice, ...]:
    if index is Ellipsis:
        return (slice(None),) * ndim
    index = tuple(index) if isinstance(index, tuple) else (index,)
    if any(not isinstance(s, slice) or s.step not in (None, 1) for s in index):
        raise TypeError("NpyFile reads boxes: give one slice per axis, without steps.")
    return index + (slice(None),) * (ndim - len(index))
