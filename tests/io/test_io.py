"""Reading and writing: .npy files, images, standard streams, atomic writes, refusals."""

from __future__ import annotations

import io
import os
import pickle
import struct
import sys
import tempfile
import threading
import time
import zlib
from pathlib import Path

import numpy as np
import png
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image, ImageCms, ImageOps

from poolcli import io as pio
from poolcli.errors import PoolError
from poolcli.io import (
    ImageInfo,
    LoadedInput,
    atomic_write,
    output_format,
    read_input,
    write_npy_stream,
    write_output,
)

SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()

NPY_DTYPES = [
    "bool",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float16",
    "float32",
    "float64",
]


def refused(call, *args, **kwargs) -> PoolError:
    with pytest.raises(PoolError) as info:
        call(*args, **kwargs)
    error = info.value
    # Plain sentences for people: no Python type names, no traceback-speak.
    for word in ("Error", "Exception", "Traceback", "numpy.", "<class", "dtype("):
        assert word not in error.message, error.message
    return error


def save_image(path, pixels, **options) -> str:
    Image.fromarray(pixels).save(path, **options)
    return str(path)


def listing(folder) -> list[str]:
    return sorted(os.listdir(folder))


# -------------------------------------------------------------------- helpers: crafted files


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def _paeth(a, b, c):
    a, b, c = (v.astype(np.int16) for v in (a, b, c))
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c)).astype(np.uint8)


def png16(pixels: np.ndarray, filters=(0, 1, 2, 3, 4), chunks: dict | None = None) -> bytes:
    """A 16-bit PNG of (H, W, C) uint16 pixels, cycling the row filter types given.

    Written here, independently of poolcli's writer, with every PNG filter so that the reader
    is checked against all of them. ``chunks`` are extra chunks placed before IDAT.
    """
    height, width, channels = pixels.shape
    colour_type = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    raw = pixels.astype(">u2").reshape(height, -1).view(np.uint8)
    bpp = 2 * channels
    stream = b""
    above = np.zeros_like(raw[0])
    for y in range(height):
        row = raw[y]
        left = np.concatenate([np.zeros(bpp, np.uint8), row[:-bpp]])
        above_left = np.concatenate([np.zeros(bpp, np.uint8), above[:-bpp]])
        kind = filters[y % len(filters)]
        predicted = {
            0: np.zeros_like(row),
            1: left,
            2: above,
            3: ((left.astype(np.uint16) + above) // 2).astype(np.uint8),
            4: _paeth(left, above, above_left),
        }[kind]
        stream += bytes([kind]) + (row - predicted).astype(np.uint8).tobytes()
        above = row
    ihdr = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    extra = b"".join(_chunk(tag, data) for tag, data in (chunks or {}).items())
    return (
        pio.PNG_MAGIC
        + _chunk(b"IHDR", ihdr)
        + extra
        + _chunk(b"IDAT", zlib.compress(stream))
        + _chunk(b"IEND", b"")
    )


def exif_bytes(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = exif.tobytes()
    return data[6:] if data.startswith(b"Exif\x00\x00") else data


def tiff_rgb16(pixels: np.ndarray) -> bytes:
    """An uncompressed little-endian 16-bit RGB TIFF (Pillow cannot write one)."""
    height, width, _ = pixels.shape
    data = pixels.astype("<u2").tobytes()
    bits_at, data_at = 8, 16
    ifd_at = data_at + len(data)
    tags = [
        (256, 3, 1, width),
        (257, 3, 1, height),
        (258, 3, 3, bits_at),
        (259, 3, 1, 1),
        (262, 3, 1, 2),
        (273, 4, 1, data_at),
        (277, 3, 1, 3),
        (278, 3, 1, height),
        (279, 4, 1, len(data)),
        (284, 3, 1, 1),
    ]
    ifd = struct.pack("<H", len(tags))
    for tag, kind, count, value in tags:
        if kind == 3 and count == 1:
            ifd += struct.pack("<HHIHH", tag, kind, count, value, 0)
        else:
            ifd += struct.pack("<HHII", tag, kind, count, value)
    ifd += struct.pack("<I", 0)
    header = b"II*\x00" + struct.pack("<I", ifd_at)
    return header + struct.pack("<HHH", 16, 16, 16) + b"\x00\x00" + data + ifd


RNG = np.random.default_rng(2024)
RGB16 = RNG.integers(0, 65536, (5, 7, 3), dtype=np.uint16)


# ----------------------------------------------------------------------------- .npy reading


@pytest.mark.parametrize("dtype", NPY_DTYPES)
def test_npy_round_trip_every_dtype(tmp_path, dtype):
    array = (np.arange(-6, 6) * 7).reshape(3, 4).astype(dtype)
    path = str(tmp_path / "a.npy")
    assert write_output(path, array).warnings == []
    loaded = read_input(path)
    assert loaded.kind == "npy" and loaded.layout is None and loaded.image is None
    assert loaded.path == path and loaded.file == os.path.abspath(path)
    assert loaded.array.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(loaded.array, array)


def test_npy_is_read_into_memory_never_mapped(tmp_path):
    path = tmp_path / "a.npy"
    np.save(path, np.arange(6, dtype=np.float32).reshape(2, 3))
    loaded = read_input(str(path))
    assert not isinstance(loaded.array, np.memmap) and loaded.array.base is not None
    assert loaded.array.flags.writeable
    loaded.array[0, 0] = 99  # the array is poolcli's own: the file keeps its value
    assert np.load(path)[0, 0] == 0


def test_loaded_npy_goes_to_torch_without_warnings(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "a.npy"
    np.save(path, np.arange(6, dtype=np.float32))
    stdin = io.BytesIO(path.read_bytes())
    for loaded in (read_input(str(path)), read_input("-", stdin)):
        tensor = torch.from_numpy(loaded.array)  # pytest turns any warning into a failure
        assert tensor.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]


@pytest.mark.parametrize("dtype", [">f4", ">i8", ">u2", ">f8"])
def test_npy_big_endian_becomes_native(tmp_path, dtype):
    array = np.array([[1, 2], [300, 40000]]).astype(dtype)
    path = tmp_path / "be.npy"
    np.save(path, array)
    for loaded in (read_input(str(path)), read_input("-", io.BytesIO(path.read_bytes()))):
        assert loaded.array.dtype.isnative
        assert loaded.array.dtype == array.dtype.newbyteorder("=")
        np.testing.assert_array_equal(loaded.array, array)


def test_npy_fortran_order(tmp_path):
    array = np.asfortranarray(np.arange(12, dtype=np.int16).reshape(3, 4))
    path = tmp_path / "f.npy"
    np.save(path, array)
    np.testing.assert_array_equal(read_input(str(path)).array, array)
    np.testing.assert_array_equal(read_input("-", io.BytesIO(path.read_bytes())).array, array)


def npy_file(tmp_path, array, **options) -> str:
    path = tmp_path / "x.npy"
    np.save(path, array, **options)
    return str(path)


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (
            np.array([1, "a", None], dtype=object),
            "holds Python objects; poolcli never unpickles files.",
        ),
        (
            np.array([1 + 2j, 3j]),
            "holds complex numbers (complex128); poolcli pools bool, integers, "
            "float16, float32 or float64 arrays.",
        ),
        (
            np.zeros(3, dtype=[("a", "<i4"), ("b", "<f4")]),
            "holds structured records; poolcli pools bool, integers, "
            "float16, float32 or float64 arrays.",
        ),
        (
            np.array(["ab", "cd"]),
            "holds text strings; poolcli pools bool, integers, float16, float32 or float64 arrays.",
        ),
        (
            np.array([b"ab"]),
            "holds byte strings; poolcli pools bool, integers, float16, float32 or float64 arrays.",
        ),
        (
            np.array(["2024-01-01"], dtype="datetime64[D]"),
            "holds dates; poolcli pools bool, integers, float16, float32 or float64 arrays.",
        ),
        (
            np.zeros((1, 1), dtype=np.longdouble),
            f"holds {np.dtype(np.longdouble).itemsize * 8}-bit floats; poolcli pools bool, "
            "integers, float16, float32 or float64 arrays.",
        ),
        (
            np.array(5.0),
            "holds a single number (a 0-d array); pooling needs at least one axis.",
        ),
        (
            np.zeros((3, 0), dtype=np.float32),
            "is an empty array (shape 3x0); pooling needs at least one value along every axis.",
        ),
        (
            np.zeros((0,), dtype=np.uint8),
            "is an empty array (shape (0,)); pooling needs at least one value along every axis.",
        ),
    ],
    ids=[
        "object",
        "complex",
        "structured",
        "text",
        "bytes",
        "dates",
        "longdouble",
        "0-d",
        "empty-2d",
        "empty-1d",
    ],
)
def test_npy_refusals(tmp_path, array, message):
    if array.dtype == np.longdouble and array.dtype.itemsize == 8:
        pytest.skip("long double is float64 on this platform")  # not a poolcli feature
    path = npy_file(tmp_path, array, allow_pickle=array.dtype.hasobject)
    error = refused(read_input, path)
    assert (error.path, error.message) == (path, message)
    stdin = io.BytesIO(Path(path).read_bytes())
    error = refused(read_input, "-", stdin)
    assert (error.path, error.message) == ("<stdin>", message)


def test_object_npy_is_never_unpickled(tmp_path, monkeypatch):
    path = npy_file(tmp_path, np.array([{"a": 1}], dtype=object), allow_pickle=True)

    def boom(*args, **kwargs):
        raise AssertionError("unpickling attempted")

    monkeypatch.setattr(pickle, "load", boom)
    monkeypatch.setattr(pickle, "loads", boom)
    assert refused(read_input, path).message.startswith("holds Python objects")


def test_truncated_npy(tmp_path):
    path = npy_file(tmp_path, np.arange(16, dtype=np.int64).reshape(4, 4))
    data = Path(path).read_bytes()
    with open(path, "wb") as f:
        f.write(data[:-64])
    message = (
        "is truncated: its header promises 4x4 values of int64 (128 bytes) "
        "but only 64 bytes follow."
    )
    assert refused(read_input, path).message == message
    assert refused(read_input, "-", io.BytesIO(data[:-64])).message == message


@pytest.mark.parametrize(
    "data",
    [b"\x93NUMPY", b"\x93NUMPY\x01\x00\x10\x00{'descr': junk}   \n", b"\x93NUMPY\x09\x00abc"],
    ids=["magic-only", "bad-header", "bad-version"],
)
def test_corrupt_npy_header(tmp_path, data):
    path = tmp_path / "x.npy"
    path.write_bytes(data)
    error = refused(read_input, str(path))
    assert error.message == "is a corrupt .npy file: its header cannot be read."


@pytest.mark.parametrize(
    "data",
    [
        pickle.dumps({"weights": [1, 2, 3]}),
        pickle.dumps([1, 2], protocol=0),
        b"hello, world\n",
        bytes(range(256)),
    ],
    ids=["pickle", "pickle-protocol-0", "text", "binary"],
)
def test_neither_npy_nor_image(tmp_path, data):
    path = tmp_path / "x.npy"
    path.write_bytes(data)
    message = "is neither a .npy file nor an image poolcli can read."
    error = refused(read_input, str(path))
    assert (error.path, error.message) == (str(path), message)
    assert refused(read_input, "-", io.BytesIO(data)).message == message


def test_zero_byte_file_and_empty_stdin(tmp_path):
    path = tmp_path / "empty.npy"
    path.write_bytes(b"")
    assert refused(read_input, str(path)).message == "is empty (0 bytes)."
    error = refused(read_input, "-", io.BytesIO(b""))
    assert (error.path, error.message) == ("<stdin>", "is empty (0 bytes).")


def test_missing_file_and_directory(tmp_path):
    missing = str(tmp_path / "nope.npy")
    error = refused(read_input, missing)
    assert (error.path, error.message) == (missing, "No such file.")
    inside_a_file = str(tmp_path / "nope.npy" / "x.png")
    assert refused(read_input, inside_a_file).message == "No such file."
    error = refused(read_input, str(tmp_path))
    assert (error.path, error.message) == (str(tmp_path), "is a directory, not a file.")


@given(
    array=hnp.arrays(
        dtype=st.one_of(
            hnp.boolean_dtypes(),
            hnp.integer_dtypes(endianness="="),
            hnp.unsigned_integer_dtypes(endianness="="),
            hnp.floating_dtypes(endianness="=", sizes=(16, 32, 64)),
        ),
        shape=hnp.array_shapes(min_dims=1, max_dims=5, min_side=1, max_side=6),
    )
)
@settings(max_examples=80, deadline=None)
def test_npy_round_trip_property(array):
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "a.npy")
        assert write_output(path, array).warnings == []
        loaded = read_input(path)
        assert loaded.array.dtype == array.dtype
        np.testing.assert_array_equal(loaded.array, array)  # NaN equals NaN here
        with open(path, "rb") as f:
            piped = read_input("-", f)
        np.testing.assert_array_equal(piped.array, array)
        del loaded  # release the memory map before the folder goes


# --------------------------------------------------------------------------- content sniffing


def test_png_named_npy_is_read_as_png(tmp_path):
    pixels = np.arange(12, dtype=np.uint8).reshape(3, 4)
    path = save_image(tmp_path / "really_a_png.npy", pixels, format="PNG")
    loaded = read_input(path)
    assert loaded.kind == "image" and loaded.image.format == "PNG"
    np.testing.assert_array_equal(loaded.array, pixels)


def test_npy_named_png_is_read_as_npy(tmp_path):
    array = np.arange(6, dtype=np.int32).reshape(2, 3)
    path = tmp_path / "really_an_npy.png"
    with open(path, "wb") as f:
        np.save(f, array)
    loaded = read_input(str(path))
    assert loaded.kind == "npy"
    np.testing.assert_array_equal(loaded.array, array)


def test_stdin_detects_npy_and_image_by_content(tmp_path):
    array = np.arange(6, dtype=np.uint16).reshape(2, 3)
    buffer = io.BytesIO()
    np.save(buffer, array)
    loaded = read_input("-", io.BytesIO(buffer.getvalue()))
    assert (loaded.kind, loaded.path, loaded.file) == ("npy", "<stdin>", None)
    assert loaded.array.flags.writeable
    np.testing.assert_array_equal(loaded.array, array)

    pixels = np.arange(24, dtype=np.uint8).reshape(2, 4, 3)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    loaded = read_input("-", io.BytesIO(buffer.getvalue()))
    assert (loaded.kind, loaded.path, loaded.layout) == ("image", "<stdin>", "HWC")
    np.testing.assert_array_equal(loaded.array, pixels)


def test_stdin_default_is_sys_stdin_buffer(monkeypatch):
    buffer = io.BytesIO()
    np.save(buffer, np.array([1, 2, 3], dtype=np.int8))

    class FakeStdin:
        def __init__(self, data):
            self.buffer = io.BytesIO(data)

    monkeypatch.setattr("sys.stdin", FakeStdin(buffer.getvalue()))
    assert read_input("-").array.tolist() == [1, 2, 3]


def test_named_pipe_is_read_as_a_stream(tmp_path):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes on this system")
    fifo = str(tmp_path / "pipe")
    os.mkfifo(fifo)
    buffer = io.BytesIO()
    np.save(buffer, np.arange(4, dtype=np.float32))
    # Attach a writer first (a reader must exist for that), as a shell pipeline would.
    keep_open = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    writer = os.open(fifo, os.O_WRONLY)
    os.close(keep_open)

    def feed():
        time.sleep(0.2)  # the reader finds a writer with nothing written yet, and waits
        os.write(writer, buffer.getvalue())
        os.close(writer)

    thread = threading.Thread(target=feed)
    thread.start()
    loaded = read_input(fifo)
    thread.join()
    assert loaded.array.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert (loaded.path, loaded.file) == (fifo, None)


# ------------------------------------------------------------------------------ image reading


@pytest.mark.parametrize("suffix", [".png", ".tif", ".bmp", ".webp", ".gif"])
def test_gray8_round_trip(tmp_path, suffix):
    pixels = np.arange(48, dtype=np.uint8).reshape(6, 8) * 5
    path = save_image(
        tmp_path / f"g{suffix}", pixels, **({"lossless": True} if suffix == ".webp" else {})
    )
    loaded = read_input(path)
    assert loaded.kind == "image"
    if suffix in (".webp", ".gif"):
        # WebP has no grayscale; GIF stores a palette: both come back as RGB, values intact.
        assert loaded.layout == "HWC" and loaded.array.shape == (6, 8, 3)
        np.testing.assert_array_equal(loaded.array[..., 1], pixels)
        return
    assert (loaded.layout, loaded.array.dtype) == ("HW", np.uint8)
    assert loaded.image == ImageInfo("L", loaded.image.format, 8, False, None, 1)
    np.testing.assert_array_equal(loaded.array, pixels)
    out = str(tmp_path / f"out{suffix}")
    assert write_output(out, loaded.array, loaded).warnings == []
    np.testing.assert_array_equal(read_input(out).array, pixels)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_gray16_is_never_truncated(tmp_path, suffix):
    pixels = np.array([[0, 1, 255, 256], [257, 4095, 40000, 65535]], dtype=np.uint16)
    path = save_image(tmp_path / f"g16{suffix}", pixels)
    loaded = read_input(path)
    assert (loaded.layout, loaded.array.dtype, loaded.image.bits) == ("HW", np.uint16, 16)
    assert loaded.image.mode.startswith("I;16")
    np.testing.assert_array_equal(loaded.array, pixels)
    for out_suffix in (".png", ".tif"):
        out = str(tmp_path / f"out{out_suffix}")
        assert write_output(out, loaded.array, loaded).warnings == []
        back = read_input(out)
        assert back.array.dtype == np.uint16
        np.testing.assert_array_equal(back.array, pixels)


@pytest.mark.parametrize(("channels", "mode"), [(2, "LA;16"), (3, "RGB;16"), (4, "RGBA;16")])
def test_png16_colour_read_exactly(tmp_path, channels, mode):
    pixels = RNG.integers(0, 65536, (9, 11, channels), dtype=np.uint16)
    path = tmp_path / "c16.png"
    path.write_bytes(png16(pixels))
    loaded = read_input(str(path))
    assert loaded.array.dtype == np.uint16 and loaded.layout == "HWC"
    assert loaded.image == ImageInfo(mode, "PNG", 16, channels != 3, None, channels)
    np.testing.assert_array_equal(loaded.array, pixels)
    # Independent check: Pillow keeps the high byte of each value.
    if channels != 2:
        with Image.open(path) as im:
            np.testing.assert_array_equal(np.asarray(im), pixels >> 8)
    piped = read_input("-", io.BytesIO(path.read_bytes()))
    np.testing.assert_array_equal(piped.array, pixels)


def test_png16_interlaced_and_colour_key(tmp_path):
    path = tmp_path / "interlaced.png"
    with open(path, "wb") as f:
        writer = png.Writer(11, 9, greyscale=False, bitdepth=16, interlace=True)
        pixels = RNG.integers(0, 65536, (9, 11, 3), dtype=np.uint16)
        writer.write(f, pixels.reshape(9, -1).tolist())
    np.testing.assert_array_equal(read_input(str(path)).array, pixels)

    keyed = RGB16.copy()
    keyed[1, 2] = (1, 2, 3)
    path.write_bytes(png16(keyed, chunks={b"tRNS": struct.pack(">HHH", 1, 2, 3)}))
    loaded = read_input(str(path))
    assert loaded.array.shape == (5, 7, 4) and loaded.has_alpha
    np.testing.assert_array_equal(loaded.array[..., :3], keyed)
    alpha = np.full((5, 7), 65535, np.uint16)
    alpha[1, 2] = 0
    np.testing.assert_array_equal(loaded.array[..., 3], alpha)


def test_png16_colour_written_exactly_with_icc(tmp_path):
    source = read_input_png16(tmp_path, RGB16, icc=SRGB)
    assert source.image.icc_profile == SRGB
    out = str(tmp_path / "out.png")
    assert write_output(out, source.array, source).warnings == []
    back = read_input(out)
    assert back.image.mode == "RGB;16" and back.image.icc_profile == SRGB
    np.testing.assert_array_equal(back.array, RGB16)
    # And with alpha, read by pypng itself.
    rgba = np.concatenate([RGB16, RGB16[..., :1]], axis=2)
    assert write_output(out, rgba, source).warnings == []
    width, height, rows, meta = png.Reader(bytes=Path(out).read_bytes()).read()
    assert (meta["bitdepth"], meta["alpha"], meta["planes"]) == (16, True, 4)
    np.testing.assert_array_equal(np.array([list(r) for r in rows]).reshape(5, 7, 4), rgba)


def read_input_png16(tmp_path, pixels, icc=None, orientation=None) -> LoadedInput:
    chunks = {}
    if icc:
        chunks[b"iCCP"] = b"sRGB\x00\x00" + zlib.compress(icc)
    if orientation:
        chunks[b"eXIf"] = exif_bytes(orientation)
    path = tmp_path / "in16.png"
    path.write_bytes(png16(pixels, chunks=chunks))
    return read_input(str(path))


def test_16bit_colour_tiff_is_refused_not_truncated(tmp_path):
    path = tmp_path / "rgb16.tif"
    path.write_bytes(tiff_rgb16(RGB16))
    with Image.open(path) as im:
        assert im.mode == "RGB"  # what Pillow would silently make of it
    error = refused(read_input, str(path))
    assert error.message == (
        "is a 16-bit colour TIFF, which Pillow can only read cut to 8 bits; "
        "save it as a 16-bit PNG or a .npy file instead."
    )


def test_16bit_colour_output_needs_png(tmp_path):
    source = read_input_png16(tmp_path, RGB16)
    error = refused(write_output, str(tmp_path / "o.tif"), RGB16, source)
    assert error.message == "TIFF cannot hold a 16-bit RGB image; write it as .png or .npy."
    assert listing(tmp_path) == ["in16.png"]


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "LA"])
@pytest.mark.parametrize("suffix", [".png", ".tif", ".webp"])
def test_colour_8bit_round_trip(tmp_path, mode, suffix):
    channels = len(mode)
    pixels = RNG.integers(0, 256, (6, 5, channels), dtype=np.uint8)
    options = {"lossless": True, "exact": True} if suffix == ".webp" else {}
    path = save_image(tmp_path / f"in{suffix}", pixels, **options)
    loaded = read_input(path)
    want_channels = 4 if (suffix == ".webp" and mode == "LA") else channels
    assert loaded.layout == "HWC" and loaded.array.shape == (6, 5, want_channels)
    assert loaded.has_alpha == ("A" in mode)
    if want_channels == channels:
        np.testing.assert_array_equal(loaded.array, pixels)
    out = str(tmp_path / f"out{suffix}")
    notes = write_output(out, loaded.array, loaded).warnings
    assert notes == []
    np.testing.assert_array_equal(read_input(out).array, loaded.array)


def test_palette_becomes_rgb_or_rgba(tmp_path):
    palette = [0, 0, 0, 255, 0, 0, 0, 255, 0, 10, 20, 30]
    indices = np.array([[0, 1], [2, 3]], dtype=np.uint8)
    image = Image.new("P", (2, 2))
    image.putpalette(palette)
    image.putdata(indices.ravel().tolist())
    rgb = np.array([[[0, 0, 0], [255, 0, 0]], [[0, 255, 0], [10, 20, 30]]], dtype=np.uint8)

    image.save(tmp_path / "p.png")
    loaded = read_input(str(tmp_path / "p.png"))
    assert (loaded.image.mode, loaded.image.channels, loaded.has_alpha) == ("P", 3, False)
    np.testing.assert_array_equal(loaded.array, rgb)

    image.save(tmp_path / "pt.png", transparency=1)
    loaded = read_input(str(tmp_path / "pt.png"))
    assert (loaded.image.mode, loaded.image.channels, loaded.has_alpha) == ("P", 4, True)
    np.testing.assert_array_equal(loaded.array[..., :3], rgb)
    np.testing.assert_array_equal(loaded.array[..., 3], [[255, 0], [255, 255]])


def test_gray_with_colour_key_gets_alpha(tmp_path):
    pixels = np.array([[0, 7], [7, 200]], dtype=np.uint8)
    path = save_image(tmp_path / "k.png", pixels, transparency=7)
    loaded = read_input(path)
    assert loaded.has_alpha and loaded.array.shape == (2, 2, 2)
    np.testing.assert_array_equal(loaded.array[..., 1], [[255, 0], [0, 255]])


def test_gif_first_frame_and_frame_warning(tmp_path):
    frames = [Image.fromarray(np.full((4, 6), value, np.uint8)) for value in (10, 200, 90)]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    loaded = read_input(str(path))
    assert loaded.image.format == "GIF"
    assert loaded.warnings == ["it has 3 frames; only the first was read."]
    np.testing.assert_array_equal(loaded.array, np.full((4, 6, 3), 10, np.uint8))


def test_cmyk_jpeg_is_converted_with_a_note(tmp_path):
    path = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (4, 3), (0, 255, 255, 0)).save(path, quality=95)
    loaded = read_input(str(path))
    assert (loaded.image.mode, loaded.array.shape) == ("CMYK", (3, 4, 3))
    assert loaded.warnings == ["its CMYK colours were converted to RGB."]
    assert loaded.array[..., 0].min() > 240 and loaded.array[..., 1:].max() < 15


def test_one_bit_becomes_uint8_0_255(tmp_path):
    bits = np.array([[True, False, True], [False, False, True]])
    path = tmp_path / "mask.png"
    Image.fromarray(bits).save(path)
    loaded = read_input(str(path))
    assert (loaded.image.mode, loaded.image.bits, loaded.array.dtype) == ("1", 8, np.uint8)
    np.testing.assert_array_equal(loaded.array, bits * 255)


def test_float_tiff(tmp_path):
    pixels = np.array([[-1.5, 0.25, 1e-7], [3.4e38, np.nan, 2.0]], dtype=np.float32)
    path = save_image(tmp_path / "f.tif", pixels)
    loaded = read_input(path)
    assert loaded.array.dtype == np.float32 and loaded.layout == "HW"
    assert (loaded.image.mode, loaded.image.bits, loaded.image.floating) == ("F", 32, True)
    np.testing.assert_array_equal(loaded.array, pixels)
    out = str(tmp_path / "out.tif")
    assert write_output(out, loaded.array, loaded).warnings == []
    np.testing.assert_array_equal(read_input(out).array, pixels)
    error = refused(write_output, str(tmp_path / "out.png"), loaded.array, loaded)
    assert (
        error.message == "PNG cannot hold a 32-bit float grayscale image; write it as .tif or "
        ".npy, or add --normalize to rescale its min..max to 0..255."
    )


def test_int32_tiff(tmp_path):
    pixels = np.array([[-(2**31), 0], [70000, 2**31 - 1]], dtype=np.int32)
    path = save_image(tmp_path / "i.tif", pixels)
    loaded = read_input(path)
    assert (loaded.array.dtype, loaded.image.bits, loaded.image.floating) == (np.int32, 32, False)
    np.testing.assert_array_equal(loaded.array, pixels)
    out = str(tmp_path / "out.tif")
    notes = write_output(out, np.array([[-1e10, 0.5], [1.5, 3e9]]), loaded).warnings
    assert notes == ["2 of 4 values were outside -2147483648..2147483647 and were clipped."]
    np.testing.assert_array_equal(read_input(out).array, [[-(2**31), 0], [2, 2**31 - 1]])


# ----------------------------------------------------------------------------- orientation

BASE = np.arange(6 * 4 * 3, dtype=np.uint8).reshape(6, 4, 3)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied(tmp_path, orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "o.png"
    Image.fromarray(BASE).save(path, exif=exif)
    with Image.open(path) as im:
        want = np.asarray(ImageOps.exif_transpose(im))
    loaded = read_input(str(path))
    np.testing.assert_array_equal(loaded.array, want)
    # The 16-bit colour path orients the same way (and keeps every bit).
    wide = BASE.astype(np.uint16) * 257 + 1
    loaded16 = read_input_png16(tmp_path, wide, orientation=orientation)
    np.testing.assert_array_equal(loaded16.array, want.astype(np.uint16) * 257 + 1)


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_tiff_orientation_from_a_file(tmp_path, orientation, dtype):
    # Pillow orients TIFFs itself while loading; a memory-mapped load used to garble 5-8.
    exif = Image.Exif()
    exif[0x0112] = orientation
    pixels = np.arange(1, 13, dtype=dtype).reshape(3, 4)
    Image.fromarray(pixels.astype(np.uint8)).save(tmp_path / "o.png", exif=exif)
    with Image.open(tmp_path / "o.png") as im:
        want = np.asarray(ImageOps.exif_transpose(im)).astype(dtype)
    Image.fromarray(pixels).save(tmp_path / "o.tif", exif=exif)
    np.testing.assert_array_equal(read_input(str(tmp_path / "o.tif")).array, want)


def test_exif_orientation_6_rotates_clockwise(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6
    pixels = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.uint16) * 1000
    path = tmp_path / "r.tif"
    Image.fromarray(pixels).save(path, exif=exif)
    np.testing.assert_array_equal(
        read_input(str(path)).array, [[4000, 1000], [5000, 2000], [6000, 3000]]
    )


def test_jpeg_orientation_and_shape(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 8
    pixels = np.zeros((16, 32, 3), np.uint8)
    pixels[:, :16] = 250
    path = tmp_path / "photo.jpg"
    Image.fromarray(pixels).save(path, exif=exif, quality=95)
    loaded = read_input(str(path))
    assert loaded.image.format == "JPEG" and loaded.array.shape == (32, 16, 3)
    # Rotated 90 degrees counter-clockwise: the bright left half ends at the bottom.
    assert loaded.array[24:, :, 0].min() > 200 and loaded.array[:8, :, 0].max() < 50


# --------------------------------------------------------------------------- damaged images


def test_truncated_png(tmp_path):
    path = save_image(tmp_path / "t.png", RNG.integers(0, 256, (40, 40), dtype=np.uint8))
    data = Path(path).read_bytes()
    for cut in (len(data) // 2, 20, 9):
        with open(path, "wb") as f:
            f.write(data[:cut])
        error = refused(read_input, path)
        assert error.message == "looks like a PNG image but is truncated or corrupt."
        error = refused(read_input, "-", io.BytesIO(data[:cut]))
        assert error.message == "looks like a PNG image but is truncated or corrupt."


def test_corrupt_png_data(tmp_path):
    path = save_image(tmp_path / "c.png", RNG.integers(0, 256, (40, 40), dtype=np.uint8))
    data = bytearray(Path(path).read_bytes())
    data[60:80] = b"\xff" * 20  # inside IDAT: CRC and zlib stream both broken
    with open(path, "wb") as f:
        f.write(data)
    assert (
        refused(read_input, path).message == "looks like a PNG image but is truncated or corrupt."
    )


def test_truncated_png16_colour(tmp_path):
    data = png16(RGB16)
    path = tmp_path / "t16.png"
    path.write_bytes(data[: len(data) - 30])
    error = refused(read_input, str(path))
    assert error.message == "looks like a PNG image but is truncated or corrupt."


def test_png16_colour_without_its_decoder_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyspng", None)  # as if not installed
    path = tmp_path / "c16.png"
    path.write_bytes(png16(RGB16))
    assert refused(read_input, str(path)).message == (
        "is a 16-bit colour PNG; reading it without losing bits needs the pyspng-seunglab "
        "package (pip install pyspng-seunglab)."
    )


def test_png16_colour_arrays_are_contiguous(tmp_path):
    path = tmp_path / "c16.png"
    path.write_bytes(png16(RGB16))
    array = read_input(str(path)).array
    assert array.shape == RGB16.shape and array.flags.c_contiguous


@pytest.mark.parametrize("suffix", [".jpg", ".gif", ".bmp", ".tif", ".webp"])
def test_truncated_other_formats(tmp_path, suffix):
    path = save_image(tmp_path / f"t{suffix}", RNG.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    data = Path(path).read_bytes()
    with open(path, "wb") as f:
        f.write(data[: len(data) // 3])
    name = {".jpg": "JPEG", ".gif": "GIF", ".bmp": "BMP", ".tif": "TIFF", ".webp": "WebP"}[suffix]
    error = refused(read_input, path)
    assert error.message == f"looks like a {name} image but is truncated or corrupt."


def test_unsupported_image_format(tmp_path):
    path = save_image(tmp_path / "x.ppm", np.zeros((2, 2, 3), np.uint8))
    message = "is a PPM image; poolcli reads PNG, JPEG, TIFF, BMP, WebP and GIF images."
    assert refused(read_input, path).message == message
    assert refused(read_input, "-", io.BytesIO(Path(path).read_bytes())).message == message


def test_bigtiff_is_read(tmp_path):
    pixels = np.arange(12, dtype=np.uint8).reshape(3, 4)
    path = tmp_path / "big.tif"
    Image.fromarray(pixels).save(path, big_tiff=True)
    assert path.read_bytes()[:4] == b"II+\x00"
    for loaded in (read_input(str(path)), read_input("-", io.BytesIO(path.read_bytes()))):
        np.testing.assert_array_equal(loaded.array, pixels)


def huge_png(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        pio.PNG_MAGIC
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(b"\x00"))
        + _chunk(b"IEND", b"")
    )


def test_decompression_bomb_is_refused(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(huge_png(40000, 40000))  # 1.6 gigapixels declared in 60 bytes
    error = refused(read_input, str(path))
    assert error.message == (
        f"is too large to open safely: it has more than {2 * Image.MAX_IMAGE_PIXELS} pixels, "
        "the limit of Pillow's decompression-bomb guard."
    )


def test_decompression_bomb_warning_becomes_a_note(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    path = save_image(tmp_path / "big.png", np.zeros((12, 12), np.uint8))  # 144 > 100
    loaded = read_input(path)
    assert loaded.array.shape == (12, 12)
    assert loaded.warnings == [
        "it has more than 100 pixels, the warning limit of Pillow's decompression-bomb guard; "
        "it was read anyway."
    ]
    path = save_image(tmp_path / "bigger.png", np.zeros((15, 15), np.uint8))  # 225 > 2 * 100
    assert refused(read_input, path).message.startswith("is too large to open safely")


# -------------------------------------------------------------------------------- ICC


@pytest.mark.parametrize("suffix", [".png", ".tif", ".jpg", ".webp"])
def test_icc_profile_is_carried(tmp_path, suffix):
    path = save_image(tmp_path / "in.png", BASE, icc_profile=SRGB)
    source = read_input(path)
    assert source.image.icc_profile == SRGB
    out = str(tmp_path / f"out{suffix}")
    assert write_output(out, source.array, source).warnings == []
    with Image.open(out) as im:
        assert im.info.get("icc_profile") == SRGB


def test_icc_profile_dropped_with_a_note(tmp_path):
    source = read_input(save_image(tmp_path / "in.png", BASE, icc_profile=SRGB))
    notes = write_output(str(tmp_path / "out.bmp"), source.array, source).warnings
    assert notes == ["BMP cannot carry the input's ICC colour profile; it was left out."]


# ------------------------------------------------------------------------ writing: values


def gray8_source(tmp_path) -> LoadedInput:
    return read_input(save_image(tmp_path / "src.png", np.zeros((2, 3), np.uint8)))


def test_rounding_half_to_even_and_clipping(tmp_path):
    source = gray8_source(tmp_path)
    values = np.array([[0.5, 1.5, 2.5, 3.5, 254.5, 255.5], [-0.5, -0.6, 100.49, 7.0, 1e9, -np.inf]])
    out = str(tmp_path / "o.png")
    notes = write_output(out, values, source).warnings
    assert notes == ["4 of 12 values were outside 0..255 and were clipped."]
    np.testing.assert_array_equal(
        read_input(out).array, [[0, 2, 2, 4, 254, 255], [0, 0, 100, 7, 255, 0]]
    )


def test_integers_are_clipped_never_wrapped(tmp_path):
    source = gray8_source(tmp_path)
    out = str(tmp_path / "o.png")
    sums = np.array([[256, 511, -1], [255, 0, 1000]], dtype=np.int64)
    assert write_output(out, sums, source).warnings == [
        "4 of 6 values were outside 0..255 and were clipped."
    ]
    np.testing.assert_array_equal(read_input(out).array, [[255, 255, 0], [255, 0, 255]])

    source16 = read_input(save_image(tmp_path / "s16.png", np.zeros((2, 2), np.uint16)))
    wide = np.array([[65536.0, 65535.5], [-3, 40000.5]])
    notes = write_output(out, wide, source16).warnings
    assert notes == ["3 of 4 values were outside 0..65535 and were clipped."]
    back = read_input(out)
    assert back.array.dtype == np.uint16
    np.testing.assert_array_equal(back.array, [[65535, 65535], [0, 40000]])


def test_nan_is_written_as_zero_with_a_note(tmp_path):
    source = gray8_source(tmp_path)
    out = str(tmp_path / "o.png")
    notes = write_output(out, np.array([[np.nan, 3.0], [np.nan, 4.4]], np.float32), source).warnings
    assert notes == ["2 NaN values were written as 0."]
    np.testing.assert_array_equal(read_input(out).array, [[0, 3], [0, 4]])


def test_averaged_rgba_keeps_8_bits(tmp_path):
    source = read_input(save_image(tmp_path / "a.png", np.zeros((2, 2, 4), np.uint8)))
    out = str(tmp_path / "o.png")
    assert write_output(out, np.full((1, 1, 4), 127.5, np.float32), source).warnings == []
    back = read_input(out)
    assert back.has_alpha and back.array.tolist() == [[[128, 128, 128, 128]]]


# -------------------------------------------------------------------- writing: npy -> image


def npy_source(tmp_path, array) -> LoadedInput:
    return read_input(npy_file(tmp_path, array))


def test_uint8_npy_to_png_as_is(tmp_path):
    array = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    out = str(tmp_path / "o.png")
    assert write_output(out, array, npy_source(tmp_path, array)).warnings == []
    back = read_input(out)
    assert back.image.bits == 8
    np.testing.assert_array_equal(back.array, array)


def test_uint16_npy_to_16bit_png(tmp_path):
    array = np.array([[0, 300], [40000, 65535]], dtype=np.uint16)
    out = str(tmp_path / "o.png")
    assert write_output(out, array, npy_source(tmp_path, array)).warnings == []
    back = read_input(out)
    assert back.image.bits == 16
    np.testing.assert_array_equal(back.array, array)


def test_int64_npy_to_8bit_png(tmp_path):
    array = np.array([[6, 8], [14, 16]], dtype=np.int64)  # max pool of sample_data/seed_4x4.npy
    out = str(tmp_path / "o.png")
    assert write_output(out, array, npy_source(tmp_path, array)).warnings == []
    back = read_input(out)
    assert back.image.bits == 8
    np.testing.assert_array_equal(back.array, array)
    # An averaged int64 input: float values on the same scale, rounded half to even.
    averaged = np.array([[3.75, 5.5], [11.5, 13.5]])
    assert write_output(out, averaged, npy_source(tmp_path, array)).warnings == []
    np.testing.assert_array_equal(read_input(out).array, [[4, 6], [12, 14]])


def test_bool_npy_to_png_scales_to_255(tmp_path):
    mask = np.array([[True, False], [False, True]])
    source = npy_source(tmp_path, mask)
    out = str(tmp_path / "o.png")
    assert write_output(out, mask, source).warnings == []
    np.testing.assert_array_equal(read_input(out).array, [[255, 0], [0, 255]])
    assert write_output(out, np.array([[0.5, 0.25]], np.float32), source).warnings == []
    np.testing.assert_array_equal(read_input(out).array, [[128, 64]])  # 127.5 -> 128, 63.75 -> 64


def test_float_npy_only_to_tiff(tmp_path):
    array = np.array([[0.1, 0.2], [0.3, 0.4]], dtype=np.float32)
    source = npy_source(tmp_path, array)
    error = refused(write_output, str(tmp_path / "o.png"), array, source)
    assert (
        error.message == "PNG cannot hold a 32-bit float grayscale image; write it as .tif or "
        ".npy, or add --normalize to rescale its min..max to 0..255."
    )
    out = str(tmp_path / "o.tif")
    assert write_output(out, array, source).warnings == []
    np.testing.assert_array_equal(read_input(out).array, array)
    precise = np.array([[0.1, 1 / 3]])
    assert write_output(out, precise, npy_source(tmp_path, precise)).warnings == [
        "the float64 values were stored as 32-bit floats, and some changed; "
        "write .npy to keep them exactly."
    ]
    assert (
        write_output(out, np.array([[0.5, 2.0]]), None).warnings == []
    )  # exact in float32: no note


def test_no_source_uses_the_arrays_dtype(tmp_path):
    out = str(tmp_path / "o.png")
    assert write_output(out, np.array([[1, 2]], np.uint16)).warnings == []
    assert read_input(out).array.dtype == np.uint16
    assert write_output(out, np.array([[1, 2]], np.int32)).warnings == []
    assert read_input(out).array.dtype == np.uint8


@pytest.mark.parametrize(
    ("shape", "layout", "shown"),
    [
        ((8, 16, 16), None, "8x16x16"),
        ((2, 3, 4, 4), None, "2x3x4x4"),
        ((16,), None, "16"),
        ((3, 4, 3), "CHW", "3x4x3 (CHW)"),
        ((4, 4), "HW", None),
        ((4, 4, 3), "HWC", None),
    ],
)
def test_image_outputs_need_hw_or_hwc(tmp_path, shape, layout, shown):
    array = np.zeros(shape, np.uint8)
    out = str(tmp_path / "o.png")
    if shown is None:
        assert write_output(out, array, layout=layout).warnings == []
        return
    error = refused(write_output, out, array, layout=layout)
    assert error.message == (
        f"cannot be written as an image: the output has shape {shown}, and images hold "
        "HW or HWC arrays with 1 to 4 channels. Write it as .npy instead."
    )
    assert not os.path.exists(out)


def test_single_channel_hwc_is_written_as_gray(tmp_path):
    out = str(tmp_path / "o.png")
    assert write_output(out, np.arange(6, dtype=np.uint8).reshape(2, 3, 1)).warnings == []
    back = read_input(out)
    assert back.image.mode == "L" and back.array.shape == (2, 3)


@pytest.mark.parametrize(
    ("suffix", "pixels", "message"),
    [
        (
            ".jpg",
            np.zeros((2, 2, 4), np.uint8),
            "JPEG cannot hold an 8-bit RGBA image; write it as .png, .tif, .webp or .npy.",
        ),
        (
            ".bmp",
            np.zeros((2, 2, 2), np.uint8),
            "BMP cannot hold an 8-bit grayscale+alpha image; "
            "write it as .png, .tif, .webp or .npy.",
        ),
        (
            ".gif",
            np.zeros((2, 2, 4), np.uint8),
            "GIF cannot hold an 8-bit RGBA image; write it as .png, .tif, .webp or .npy.",
        ),
        (
            ".jpg",
            np.zeros((2, 2), np.uint16),
            "JPEG cannot hold a 16-bit grayscale image; write it as .png, .tif or .npy.",
        ),
        (
            ".webp",
            np.zeros((2, 2), np.uint16),
            "WebP cannot hold a 16-bit grayscale image; write it as .png, .tif or .npy.",
        ),
    ],
)
def test_formats_refuse_what_they_cannot_hold(tmp_path, suffix, pixels, message):
    out = str(tmp_path / f"o{suffix}")
    assert refused(write_output, out, pixels).message == message
    assert listing(tmp_path) == []


def test_lossy_or_limited_formats_say_so(tmp_path):
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert write_output(str(tmp_path / "g.webp"), gray).warnings == [
        "WebP has no grayscale images; it was stored as RGB."
    ]
    np.testing.assert_array_equal(read_input(str(tmp_path / "g.webp")).array[..., 2], gray)
    gray_alpha = np.stack([gray, 255 - gray], axis=-1)
    assert write_output(str(tmp_path / "ga.webp"), gray_alpha).warnings == [
        "WebP has no grayscale images; it was stored as RGBA."
    ]
    few = np.array([[[1, 2, 3], [4, 5, 6]]], np.uint8)
    assert write_output(str(tmp_path / "few.gif"), few).warnings == []
    np.testing.assert_array_equal(read_input(str(tmp_path / "few.gif")).array, few)
    many = RNG.integers(0, 256, (20, 20, 3), dtype=np.uint8)
    notes = write_output(str(tmp_path / "many.gif"), many).warnings
    assert notes == ["GIF holds at most 256 colours; the 400 colours were reduced."]
    jpeg = str(tmp_path / "p.jpg")
    assert write_output(jpeg, np.full((8, 8, 3), 100, np.uint8)).warnings == []
    assert abs(int(read_input(jpeg).array.mean()) - 100) <= 1


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (
            "out.xyz",
            "has the unknown suffix .xyz; "
            "use one of .npy, .png, .tif, .tiff, .jpg, .jpeg, .bmp, .webp, .gif.",
        ),
        (
            "out",
            "has no suffix; use one of .npy, .png, .tif, .tiff, .jpg, .jpeg, .bmp, .webp, .gif.",
        ),
    ],
)
def test_unknown_suffix(tmp_path, name, message):
    out = str(tmp_path / name)
    error = refused(write_output, out, np.zeros((2, 2), np.uint8))
    assert (error.path, error.message) == (out, message)


def test_output_format_is_case_insensitive():
    assert output_format("X.TIFF") == "TIFF"
    assert output_format("dir.png/x.JPEG") == "JPEG"


# ------------------------------------------------------------------- writing: safety


def test_input_is_never_overwritten(tmp_path):
    path = tmp_path / "in.npy"
    np.save(path, np.arange(4))
    before = path.read_bytes()
    source = read_input(str(path))
    message = "is the input file; poolcli never writes over its input. Choose another output name."
    for target in (str(path), str(tmp_path / "." / "in.npy"), os.path.relpath(path)):
        error = refused(write_output, target, np.zeros(2), source)
        assert (error.path, error.message) == (target, message)
    os.link(path, tmp_path / "hard.npy")
    os.symlink(path, tmp_path / "soft.npy")
    for other in ("hard.npy", "soft.npy"):
        assert refused(write_output, str(tmp_path / other), np.zeros(2), source).message == message
    assert path.read_bytes() == before
    # Another file, and an input read from stdin, are fine.
    assert write_output(str(tmp_path / "out.npy"), np.zeros(2), source).warnings == []
    piped = read_input("-", io.BytesIO(before))
    assert write_output(str(tmp_path / "out2.npy"), np.zeros(2), piped).warnings == []


def test_image_failure_leaves_no_file_and_no_temp(tmp_path, monkeypatch):
    def half_written(self, fp, *args, **kwargs):
        fp.write(b"\x89PNG partial")
        raise OSError("encoder exploded")

    monkeypatch.setattr(Image.Image, "save", half_written)
    out = str(tmp_path / "o.png")
    with pytest.raises(PoolError) as error:
        write_output(out, np.zeros((2, 2), np.uint8))
    assert (error.value.path, error.value.message) == (
        out,
        "could not be written: encoder exploded.",  # the output's problem, not the input's
    )
    assert listing(tmp_path) == []


def test_failure_keeps_an_existing_output(tmp_path, monkeypatch):
    out = tmp_path / "o.npy"
    out.write_bytes(b"old contents")

    def half_written(fp, array, **kwargs):
        fp.write(b"\x93NUMPY partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(np.lib.format, "write_array", half_written)
    with pytest.raises(KeyboardInterrupt):
        write_output(str(out), np.zeros(3))
    assert listing(tmp_path) == ["o.npy"]
    assert out.read_bytes() == b"old contents"


def test_atomic_write_success_and_permissions(tmp_path):
    out = tmp_path / "o.bin"
    with atomic_write(str(out)) as f:
        f.write(b"abc")
        assert not out.exists()  # nothing visible until the block ends
    assert out.read_bytes() == b"abc" and listing(tmp_path) == ["o.bin"]
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask


def test_atomic_write_disk_error_becomes_a_message(tmp_path):
    out = str(tmp_path / "o.bin")
    with pytest.raises(PoolError) as info, atomic_write(out) as f:
        f.write(b"a")
        raise OSError(28, "No space left on device")
    assert (info.value.path, info.value.message) == (out, "no space left on device.")
    assert listing(tmp_path) == []


def test_atomic_write_refusals(tmp_path):
    error = refused(write_output, str(tmp_path), np.zeros(2))  # suffix check comes first
    assert error.message.startswith("has no suffix")
    folder = tmp_path / "d.npy"
    folder.mkdir()
    error = refused(write_output, str(folder), np.zeros(2))
    assert error.message == "is a directory; give a file name for the output."
    missing = tmp_path / "no" / "such" / "o.npy"
    error = refused(write_output, str(missing), np.zeros(2))
    assert error.message == f"cannot be written: the folder {missing.parent} does not exist."
    error = refused(write_output, os.path.join("no-such-folder", "o.png"), np.zeros((2, 2)))
    assert error.message.startswith("PNG cannot hold")  # what it is comes before where
    error = refused(write_output, os.path.join("no-such-folder", "o.npy"), np.zeros(2))
    assert error.message == "cannot be written: the folder no-such-folder does not exist."


def test_write_npy_stream():
    array = np.arange(12, dtype=">i4").reshape(3, 4)
    stream = io.BytesIO()
    write_npy_stream(stream, array)
    stream.seek(0)
    back = read_input("-", stream)
    np.testing.assert_array_equal(back.array, array)


def test_write_npy_stream_to_a_real_file(tmp_path):
    with open(tmp_path / "s.npy", "wb") as f:
        write_npy_stream(f, np.arange(5, dtype=np.float16))
    np.testing.assert_array_equal(np.load(tmp_path / "s.npy"), np.arange(5, dtype=np.float16))


# -------------------------------------------------------------------------- sample data

SAMPLES = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "sample_data")


@pytest.mark.parametrize(
    ("name", "shape", "dtype", "alpha"),
    [
        ("seed_4x4.npy", (4, 4), "int64", False),
        ("seed001_4x4.npy", (4, 4), "int64", False),
        ("seed003_4x4.npy", (4, 4), "int64", False),
        ("gradient.png", (64, 64), "uint8", False),
        ("checkerboard.png", (64, 64), "uint8", False),
        ("gray16.png", (48, 64), "uint16", False),
        ("rgba.png", (64, 64, 4), "uint8", True),
        ("labels.png", (48, 48), "uint8", False),
        ("photo.png", (192, 256, 3), "uint8", False),
        ("features.npy", (8, 16, 16), "float32", False),
        ("signal.npy", (256,), "float32", False),
        ("volume.npy", (16, 24, 24), "float32", False),
    ],
)
def test_sample_data(name, shape, dtype, alpha):
    loaded = read_input(os.path.join(SAMPLES, name))
    assert loaded.array.shape == shape and loaded.array.dtype == np.dtype(dtype)
    assert loaded.has_alpha == alpha and loaded.warnings == []


def test_sample_data_values():
    seed = read_input(os.path.join(SAMPLES, "seed_4x4.npy")).array
    assert seed.tolist() == [[1, 3, 2, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]]
    gray16 = read_input(os.path.join(SAMPLES, "gray16.png")).array
    assert (gray16.min(), gray16.max()) == (0, 65535) and np.any(gray16 % 256)
    alpha = read_input(os.path.join(SAMPLES, "rgba.png")).array[..., 3]
    assert {0, 255} <= set(np.unique(alpha).tolist()) and np.unique(alpha).size > 10
    assert set(np.unique(read_input(os.path.join(SAMPLES, "labels.png")).array)) == {0, 1, 2, 3, 4}
    total = sum(
        os.path.getsize(os.path.join(SAMPLES, n))
        for n in os.listdir(SAMPLES)
        if n.endswith((".npy", ".png"))
    )
    assert total <= 1_000_000
