"""Zarr chunks read and written straight from their files give what zarr-python gives."""

from __future__ import annotations

import os
import shutil

import numcodecs
import numpy as np
import pytest
import zarr
from zarr.codecs import BloscCodec, GzipCodec, ZstdCodec

from poolcli.io.zarr_chunks import ChunkFiles

BOXES = [
    (slice(0, 50), slice(0, 37)),
    (slice(3, 29), slice(5, 36)),
    (slice(16, 32), slice(10, 20)),
    (slice(49, 50), slice(36, 37)),
]


def _make(path, fmt, codec, dtype="f4", fill=0):
    x = (np.random.default_rng(4).random((50, 37)) * 100).astype(dtype)
    x[:16, :10] = fill  # one chunk of fill only: never written
    if fmt == 2:
        compressors = {"zstd": numcodecs.Zstd(level=3), "gzip": numcodecs.GZip(4)}.get(codec)
        compressors = compressors if codec != "blosc" else numcodecs.Blosc()
    else:
        compressors = {"zstd": ZstdCodec(level=1), "gzip": GzipCodec(), "blosc": BloscCodec()}
        compressors = compressors.get(codec)
    z = zarr.create_array(
        str(path),
        shape=x.shape,
        dtype=dtype,
        chunks=(16, 10),
        zarr_format=fmt,
        compressors=compressors,
        fill_value=fill,
    )
    z[:] = x
    return z, x


@pytest.mark.parametrize("codec", ["zstd", "gzip", "blosc", None])
@pytest.mark.parametrize("fmt", [2, 3])
def test_reads_equal_zarr(tmp_path, fmt, codec):
    z, x = _make(tmp_path / "a.zarr", fmt, codec, fill=7)
    direct = ChunkFiles.of(zarr.open_array(str(tmp_path / "a.zarr"), mode="r"))
    assert direct is not None
    for box in BOXES:
        np.testing.assert_array_equal(direct.read(box), x[box])
    assert not os.path.exists(direct._file((0, 0)))  # the fill chunk was read as fill


@pytest.mark.parametrize("codec", ["zstd", "gzip", None])
@pytest.mark.parametrize("fmt", [2, 3])
def test_writes_the_bytes_zarr_writes(tmp_path, fmt, codec):
    z, x = _make(tmp_path / "theirs.zarr", fmt, codec)
    mine, _ = _make(tmp_path / "mine.zarr", fmt, codec)
    for key in list(os.listdir(tmp_path / "mine.zarr")):
        if key.startswith("c") or key[0].isdigit():  # remove the chunks, keep the metadata
            target = tmp_path / "mine.zarr" / key
            if target.is_dir():
                shutil.rmtree(target)
            else:
                target.unlink()
    direct = ChunkFiles.of(zarr.open_array(str(tmp_path / "mine.zarr"), mode="r+"))
    # Whole chunks in two bands, the last one with the edge chunks.
    assert direct.write((slice(0, 32), slice(0, 37)), x[:32])
    assert direct.write((slice(32, 50), slice(0, 37)), x[32:])
    assert not direct.write((slice(3, 20), slice(0, 37)), x[3:20])  # cuts chunks: zarr's job

    def files(root):
        found = {}
        for folder, _, names in os.walk(root):
            for name in names:
                path = os.path.join(folder, name)
                with open(path, "rb") as f:
                    data = f.read()
                if data[:2] == b"\x1f\x8b":  # gzip: all but the time of writing
                    data = data[:4] + data[8:]
                found[os.path.relpath(path, root)] = data
        return found

    assert files(tmp_path / "mine.zarr") == files(tmp_path / "theirs.zarr")
    np.testing.assert_array_equal(zarr.open_array(str(tmp_path / "mine.zarr"))[:], x)


def test_other_layouts_go_through_zarr(tmp_path):
    z = zarr.create_array(
        str(tmp_path / "s.zarr"), shape=(20, 20), dtype="f4", chunks=(5, 5), shards=(10, 10)
    )
    assert ChunkFiles.of(z) is None
    big = zarr.create_array(str(tmp_path / "b.zarr"), shape=(4,), dtype=">f4", zarr_format=2)
    assert ChunkFiles.of(big) is None
    memory = zarr.create_array(zarr.storage.MemoryStore(), shape=(4,), dtype="f4")
    assert ChunkFiles.of(memory) is None


def test_chunks_cut_by_a_box_are_decoded_once(tmp_path, monkeypatch):
    _, x = _make(tmp_path / "a.zarr", 3, "zstd")
    direct = ChunkFiles.of(zarr.open_array(str(tmp_path / "a.zarr"), mode="r"))
    decoded = []
    original = direct._decoded
    monkeypatch.setattr(direct, "_decoded", lambda path: decoded.append(path) or original(path))
    rows = [(0, 10), (9, 21), (20, 37), (36, 50)]  # blocks with a halo row, as blocks come
    for lo, hi in rows:
        np.testing.assert_array_equal(direct.read((slice(lo, hi), slice(0, 37))), x[lo:hi])
    decoded = [path for path in decoded if os.path.exists(path)]  # the fill chunk has none
    assert len(decoded) == len(set(decoded)) == 4 * 4 - 1
