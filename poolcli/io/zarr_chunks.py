"""Zarr chunks read and written straight from and to their files, for speed.

zarr-python reads a box through asyncio and gives every chunk fresh buffers (the file's
bytes, the decoded chunk), then copies it into the box; on an 8192² float32 array that costs
two to three times the decoding itself. For the common layout (a local folder store, no
sharding or transposition, C order, little-endian values, and zstd, gzip, blosc or no
compression) :class:`ChunkFiles` reads each chunk file into a reused buffer, decodes it with
numcodecs (the codec zarr itself calls) into a reused chunk, and copies the part the box
needs, several chunks at once in threads (the codecs release the GIL). Writing a box that
covers whole chunks encodes them the same way, so the files hold the bytes zarr would write;
any other layout, and boxes that cut chunks, go through zarr.
"""

from __future__ import annotations

import itertools
import math
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

_POOL: list[ThreadPoolExecutor] = []
_LOCAL = threading.local()


def _threads() -> ThreadPoolExecutor:
    if not _POOL:
        _POOL.append(ThreadPoolExecutor(os.cpu_count() or 1, thread_name_prefix="poolcli-zarr"))
    return _POOL[0]


class ChunkFiles:
    """Direct access to the chunk files of one Zarr array (see the module notes)."""

    def __init__(self, array, folder: str, decoders: list, encoders: list | None) -> None:
        import numpy as np

        self.shape = tuple(array.shape)
        self.chunks = tuple(array.chunks)
        self.dtype = np.dtype(array.dtype)
        self.fill = array.fill_value
        self.metadata = array.metadata
        self.folder = folder
        self.decoders = decoders
        self.encoders = encoders
        self.write_empty = bool(getattr(array.config, "write_empty_chunks", False))
        # Decoded chunks that the last box cut at its end along the first axis: the next
        # box (blocks go row after row, with their halos) reads them again.
        self.kept: dict[tuple[int, ...], object] = {}
        self.lock = threading.Lock()

    @classmethod
    def of(cls, array) -> ChunkFiles | None:
        """Direct access to ``array``'s chunks, or ``None`` where zarr must do it."""
        import numpy as np
        import zarr

        dtype = np.dtype(array.dtype)
        plain = dtype.kind in "biufc" and dtype.byteorder in "=|<" and sys.byteorder == "little"
        if not plain or array.fill_value is None:
            return None
        if not isinstance(array.store, zarr.storage.LocalStore):
            return None
        codecs = _codecs(array.metadata)
        if codecs is None:
            return None
        folder = os.path.join(str(array.store.root), *filter(None, array.path.split("/")))
        return cls(array, folder, *codecs)

    def _file(self, coords: tuple[int, ...]) -> str:
        key = self.metadata.encode_chunk_key(coords)
        return os.path.join(self.folder, *key.split("/"))

    def read(self, index):
        """The box ``index`` (slices without steps) as a new C-order array."""
        import numpy as np

        bounds = _bounds(index, self.shape)
        out = np.empty(tuple(hi - lo for lo, hi in bounds), self.dtype)
        tasks = list(_chunks_of(bounds, self.chunks))
        with self.lock:
            kept, self.kept = self.kept, {}
        # The chunks this box cuts short at its end are kept for the next one.
        end = bounds[0][1]
        cut = -(-end // self.chunks[0]) - 1 if end % self.chunks[0] and end < self.shape[0] else -1

        def one(coords) -> None:
            self._read_chunk(coords, bounds, out, kept.get(coords), coords[0] == cut)

        if len(tasks) == 1:
            one(tasks[0])
        else:
            list(_threads().map(one, tasks))
        return out

    def _read_chunk(self, coords, bounds, out, chunk, keep: bool) -> None:
        source, target = _overlap(coords, self.chunks, bounds)
        if chunk is None:
            try:
                chunk = self._decoded(self._file(coords))
            except FileNotFoundError:  # never written: the fill value
                out[target] = self.fill
                return
            if keep:
                chunk = chunk.copy()
        out[target] = chunk[source]
        if keep:
            with self.lock:
                self.kept[coords] = chunk

    def _decoded(self, path: str):
        """The chunk in ``path``, decoded into this thread's reused chunk buffer."""
        import numpy as np

        count = math.prod(self.chunks)
        chunk = getattr(_LOCAL, "chunk", None)
        if chunk is None or chunk.dtype != self.dtype or chunk.size != count:
            chunk = _LOCAL.chunk = np.empty(count, self.dtype)
        with open(path, "rb", buffering=0) as f:
            size = os.fstat(f.fileno()).st_size
            if not self.decoders:
                if size != chunk.nbytes or f.readinto(memoryview(chunk).cast("B")) != size:
                    raise OSError(f"{path}: a chunk of {size} bytes, not {chunk.nbytes}.")
                return chunk.reshape(self.chunks)
            raw = getattr(_LOCAL, "raw", None)
            if raw is None or len(raw) < size:
                raw = _LOCAL.raw = bytearray(max(size, 1 << 16))
            view = memoryview(raw)[:size]
            if f.readinto(view) != size:
                raise OSError(f"{path}: the chunk was cut short while it was read.")
        data = view
        for codec in reversed(self.decoders[1:]):
            data = codec.decode(data)
        self.decoders[0].decode(data, out=chunk)
        return chunk.reshape(self.chunks)

    def write(self, index, values) -> bool:
        """Write the box ``index``; ``False`` (nothing written) when it cuts a chunk or the
        codecs are not ones this writes byte for byte as zarr does."""
        bounds = _bounds(index, self.shape)
        aligned = all(
            lo % c == 0 and (hi % c == 0 or hi == n)
            for (lo, hi), c, n in zip(bounds, self.chunks, self.shape)
        )
        if self.encoders is None or not aligned:
            return False
        tasks = list(_chunks_of(bounds, self.chunks))
        list(_threads().map(lambda c: self._write_chunk(c, bounds, values), tasks))
        return True

    def _write_chunk(self, coords, bounds, values) -> None:
        import numpy as np

        source, target = _overlap(coords, self.chunks, bounds)
        piece = values[target]
        if piece.shape != self.chunks:  # an edge chunk is stored whole, padded with the fill
            whole = np.full(self.chunks, self.fill, self.dtype)
            whole[source] = piece
            piece = whole
        piece = np.ascontiguousarray(piece, dtype=self.dtype)
        path = self._file(coords)
        if not self.write_empty and _all_fill(piece, self.fill):
            if os.path.exists(path):
                os.unlink(path)
            return
        data = memoryview(piece.reshape(-1)).cast("B")
        for codec in self.encoders:
            data = codec.encode(data)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)


def _codecs(metadata) -> tuple[list, list | None] | None:
    """``(decoders, encoders)``: numcodecs codecs, first applied first when encoding
    (``encoders`` is ``None`` when only reading is direct); ``None``: zarr must do it."""
    if metadata.zarr_format == 2:
        if metadata.order != "C" or metadata.filters:
            return None
        compressor = metadata.compressor
        return ([compressor], [compressor]) if compressor is not None else ([], [])
    from zarr.codecs import BloscCodec, BytesCodec, GzipCodec, ZstdCodec

    first, *rest = metadata.codecs
    if not isinstance(first, BytesCodec) or str(getattr(first.endian, "value", "little")) != (
        "little"
    ):
        return None
    import numcodecs

    decoders, encoders = [], []
    for codec in rest:
        if isinstance(codec, ZstdCodec):
            made = numcodecs.Zstd(level=codec.level, checksum=codec.checksum)
        elif isinstance(codec, GzipCodec):
            made = numcodecs.GZip(level=codec.level)
        elif isinstance(codec, BloscCodec):
            decoders.append(numcodecs.Blosc())
            encoders = None
            continue
        else:
            return None
        decoders.append(made)
        if encoders is not None:
            encoders.append(made)
    return decoders, encoders


def _bounds(index, shape) -> list[tuple[int, int]]:
    from poolcli.io.lazy import _full_index

    return [s.indices(n)[:2] for s, n in zip(_full_index(index, len(shape)), shape)]


def _chunks_of(bounds, chunks):
    """The grid coordinates of every chunk the box ``bounds`` touches."""
    ranges = [range(lo // c, -(-hi // c)) for (lo, hi), c in zip(bounds, chunks)]
    return itertools.product(*ranges)


def _overlap(coords, chunks, bounds) -> tuple[tuple[slice, ...], tuple[slice, ...]]:
    """Where chunk ``coords`` meets the box: its slices in the chunk, and in the box."""
    source, target = [], []
    for i, c, (lo, hi) in zip(coords, chunks, bounds):
        start, stop = max(i * c, lo), min((i + 1) * c, hi)
        source.append(slice(start - i * c, stop - i * c))
        target.append(slice(start - lo, stop - lo))
    return tuple(source), tuple(target)


def _all_fill(piece, fill) -> bool:
    import numpy as np

    first = piece.flat[0]
    if not (first == fill or (first != first and fill != fill)):  # NaN fill: NaN != NaN
        return False  # the common case, told by one cell
    return bool(
        np.array_equal(
            piece, np.broadcast_to(fill, piece.shape), equal_nan=piece.dtype.kind in "fc"
        )
    )
