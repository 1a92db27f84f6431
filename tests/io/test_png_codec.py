"""8-bit PNGs through libspng or Pillow (io/png_codec.py): the same pixels whatever is chosen."""

from __future__ import annotations

import io
import sys
import zlib

import numpy as np
import png
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image, ImageCms, ImageOps

from poolcli.io import read_input, write_output
from poolcli.io.png_codec import ENCODERS, MODES, decode_plain_png, encode_png


def _pillow_pixels(data: bytes) -> tuple[str, np.ndarray]:
    with Image.open(io.BytesIO(data)) as im:
        assert im.format == "PNG"
        return im.mode, np.array(im)


def _pypng_pixels(data: bytes, shape) -> np.ndarray:
    width, height, rows, info = png.Reader(bytes=data).read()
    assert info["bitdepth"] == 8 and not info.get("palette")
    return np.vstack([np.asarray(row, np.uint8) for row in rows]).reshape(shape)


@st.composite
def images(draw):
    height, width = draw(st.integers(1, 24)), draw(st.integers(1, 24))
    channels = draw(st.sampled_from([None, 1, 2, 3, 4]))
    shape = (height, width) if channels is None else (height, width, channels)
    if draw(st.booleans()):  # noise
        return draw(hnp.arrays(np.uint8, shape))
    # flat graphics: a few values in runs
    values = draw(st.lists(st.integers(0, 255), min_size=1, max_size=4))
    picks = draw(hnp.arrays(np.uint8, shape, elements=st.integers(0, len(values) - 1)))
    return np.asarray(values, np.uint8)[picks]


@settings(max_examples=120, deadline=None)
@given(images(), st.integers(0, 9))
def test_every_level_gives_the_same_pixels_as_pillow(array, level):
    data = encode_png(array, level)
    mode, pixels = _pillow_pixels(data)
    reference_mode, reference = _pillow_pixels(_pillow_png(array, level))
    assert (mode, pixels.dtype) == (reference_mode, reference.dtype)
    expected = array[..., 0] if array.ndim == 3 and array.shape[2] == 1 else array
    assert mode == MODES[1 if expected.ndim == 2 else expected.shape[2]]
    np.testing.assert_array_equal(pixels, expected)
    np.testing.assert_array_equal(reference, expected)
    np.testing.assert_array_equal(_pypng_pixels(data, expected.shape), expected)


def _pillow_png(array: np.ndarray, level: int) -> bytes:
    squeezed = array[..., 0] if array.ndim == 3 and array.shape[2] == 1 else array
    buffer = io.BytesIO()
    Image.fromarray(squeezed).save(buffer, format="PNG", compress_level=level)
    return buffer.getvalue()


@settings(max_examples=40, deadline=None)
@given(images())
def test_levels_above_the_default_are_never_larger(array):
    sizes = [len(encode_png(array, level)) for level in range(6, 10)]
    assert sizes == sorted(sizes, reverse=True)


def test_each_level_from_six_tries_what_the_one_before_did():
    for level in range(6, 9):
        assert set(ENCODERS[level]) <= set(ENCODERS[level + 1])


def test_without_libspng_pillow_writes_the_same_pixels(monkeypatch):
    array = np.arange(5 * 7 * 3, dtype=np.uint8).reshape(5, 7, 3)
    monkeypatch.setitem(sys.modules, "pyspng", None)  # import fails
    data = encode_png(array, 6)
    np.testing.assert_array_equal(_pillow_pixels(data)[1], array)


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_write_output_round_trips_through_read_input(tmp_path, channels):
    rng = np.random.default_rng(channels)
    array = rng.integers(0, 256, (9, 11, channels), dtype=np.uint8)
    out = str(tmp_path / "o.png")
    written = write_output(out, array)
    assert (written.format, written.mode, written.bits) == ("PNG", MODES[channels], 8)
    expected = array[..., 0] if channels == 1 else array
    np.testing.assert_array_equal(read_input(out).array, expected)


def test_an_icc_profile_is_still_carried(tmp_path):
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    source_path = tmp_path / "in.png"
    Image.new("RGB", (4, 4), (10, 20, 30)).save(source_path, icc_profile=icc)
    source = read_input(str(source_path))
    out = tmp_path / "o.png"
    write_output(str(out), source.array, source)
    with Image.open(out) as im:
        assert im.info.get("icc_profile") == icc
        np.testing.assert_array_equal(np.array(im), source.array)


def _pillow_read(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.array(ImageOps.exif_transpose(im))


@settings(max_examples=80, deadline=None)
@given(images(), st.integers(0, 9), st.sampled_from(["ours", "pillow"]))
def test_reading_plain_pngs_gives_pillows_pixels(tmp_path_factory, array, level, writer):
    data = encode_png(array, level) if writer == "ours" else _pillow_png(array, level)
    path = tmp_path_factory.mktemp("png") / "in.png"
    path.write_bytes(data)
    loaded = read_input(str(path))
    expected = _pillow_read(data)
    assert loaded.array.dtype == expected.dtype
    np.testing.assert_array_equal(loaded.array, expected)
    assert decode_plain_png(data) is not None  # these are read by libspng
    with open(path, "rb") as f:  # and from a stream alike
        np.testing.assert_array_equal(read_input("-", io.BytesIO(f.read())).array, expected)


def _chunk(tag: bytes, body: bytes) -> bytes:
    return len(body).to_bytes(4, "big") + tag + body + zlib.crc32(tag + body).to_bytes(4, "big")


def _with_chunk(data: bytes, tag: bytes, body: bytes, after_idat: bool = False) -> bytes:
    """``data`` with one more chunk, after IHDR (or just before IEND)."""
    at = len(data) - 12 if after_idat else 33
    return data[:at] + _chunk(tag, body) + data[at:]


def _exif(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


@pytest.mark.parametrize(
    "tag, body, after_idat",
    [
        (b"eXIf", _exif(6), False),
        (b"eXIf", _exif(8), True),  # Pillow finds it only when it reads the pixels
        (b"gAMA", (45455).to_bytes(4, "big"), False),
        (b"sRGB", b"\x00", False),
        (b"tRNS", b"\x00\x05", False),
        (b"tEXt", b"Comment\x00hello", False),
    ],
)
def test_pngs_with_more_than_pixels_are_read_by_pillow(tmp_path, tag, body, after_idat):
    array = np.arange(3 * 5, dtype=np.uint8).reshape(3, 5) * 9
    data = _with_chunk(encode_png(array, 6), tag, body, after_idat)
    assert decode_plain_png(data) is None
    path = tmp_path / "in.png"
    path.write_bytes(data)
    loaded = read_input(str(path))
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        reference = ImageOps.exif_transpose(im)
        if "transparency" in im.info:
            reference = reference.convert("LA")
        expected = np.array(reference)
    np.testing.assert_array_equal(loaded.array, expected)
    if tag == b"eXIf":
        assert loaded.array.shape == (5, 3)  # turned


def test_a_damaged_plain_png_is_left_to_pillow(tmp_path):
    data = bytearray(encode_png(np.full((4, 4), 7, np.uint8), 6))
    data[-20] ^= 0xFF  # inside the IDAT: its checksum no longer matches
    assert decode_plain_png(bytes(data)) is None
