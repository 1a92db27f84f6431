"""``write_output`` says what the file holds, not what was computed (float32 pooled from a
16-bit image is written as uint16)."""

import numpy as np
import pytest
from PIL import Image

from poolcli.io import Written, read_input, write_output

RNG = np.random.default_rng(8)


def source(tmp_path, pixels, name, **options):
    path = tmp_path / name
    if name.endswith(".npy"):
        np.save(path, pixels)
    else:
        Image.fromarray(pixels).save(path, **options)
    return read_input(str(path))


CASES = {
    # name: (input pixels, input name, computed result, output name, format, dtype, mode, bits)
    "npy": (np.ones((4, 4)), "a.npy", np.ones((2, 2)), "o.npy", "NPY", "float64", None, 64),
    "gray8": (
        np.zeros((4, 4), np.uint8),
        "a.png",
        np.full((2, 2), 7.5, np.float32),
        "o.png",
        "PNG",
        "uint8",
        "L",
        8,
    ),
    "gray16 averaged": (
        np.full((4, 4), 40000, np.uint16),
        "a.png",
        np.full((2, 2), 40000.5, np.float32),
        "o.png",
        "PNG",
        "uint16",
        "I;16",
        16,
    ),
    "rgb16 from npy": (
        np.ones((4, 4, 3), np.uint16),
        "a.npy",
        np.ones((2, 2, 3), np.float32),
        "o.png",
        "PNG",
        "uint16",
        "RGB;16",
        16,
    ),
    "float tiff": (
        np.ones((4, 4), np.float32),
        "a.tif",
        np.ones((2, 2), np.float64),
        "o.tif",
        "TIFF",
        "float32",
        "F",
        32,
    ),
    "int32 tiff": (
        np.ones((4, 4), np.int32),
        "a.tif",
        np.ones((2, 2), np.float32),
        "o.tif",
        "TIFF",
        "int32",
        "I",
        32,
    ),
    "gray webp": (
        np.zeros((4, 4), np.uint8),
        "a.png",
        np.zeros((2, 2), np.float32),
        "o.webp",
        "WEBP",
        "uint8",
        "RGB",
        8,
    ),
    "rgb gif": (
        RNG.integers(0, 256, (4, 4, 3), dtype=np.uint8),
        "a.png",
        RNG.integers(0, 256, (2, 2, 3)).astype(np.float32),
        "o.gif",
        "GIF",
        "uint8",
        "P",
        8,
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_what_was_written(tmp_path, case):
    pixels, name, result, out, fmt, dtype, mode, bits = CASES[case]
    loaded = source(tmp_path, pixels, name)
    written = write_output(str(tmp_path / out), result, loaded)
    assert isinstance(written, Written) and written.path == str(tmp_path / out)
    assert (written.format, written.dtype, written.mode, written.bits) == (fmt, dtype, mode, bits)
    if fmt not in ("WEBP", "GIF"):  # read back as the values they hold
        assert read_input(written.path).array.dtype == np.dtype(dtype)


def test_a_palette_output_says_so(tmp_path):
    image = Image.fromarray(np.array([[0, 1], [1, 0]], np.uint8), "P")
    image.putpalette(bytes([255, 0, 0, 0, 0, 255]), "RGB")
    image.save(tmp_path / "labels.png")
    loaded = read_input(str(tmp_path / "labels.png"), palette="index")
    written = write_output(str(tmp_path / "o.png"), loaded.array, loaded)
    assert (written.dtype, written.mode, written.bits) == ("uint8", "P", 8)


def test_warnings_come_with_what_was_written(tmp_path):
    written = write_output(str(tmp_path / "o.png"), np.array([[300, -1]], np.int64))
    assert written.warnings == ["2 of 2 values were outside 0..255 and were clipped."]
