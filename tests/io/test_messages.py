"""What poolcli says about odd images and archives: what is wrong, in its own words."""

import io
import struct
import warnings
import zlib

import numpy as np
import pytest
from PIL import Image, ImageCms

from poolcli.errors import PoolError
from poolcli.io import read_input, write_output

SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
UNSUPPORTED = "; poolcli reads PNG, JPEG, TIFF, BMP, WebP and GIF images."


def chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def gray_png(*extra: tuple[bytes, bytes], after_pixels=()) -> bytes:
    """A 2x2 8-bit grayscale PNG with the chunks ``extra`` before its pixels."""
    ihdr = struct.pack(">IIBBBBB", 2, 2, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\0\x01\x02\0\x03\x04")
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + b"".join(chunk(t, d) for t, d in extra)
        + chunk(b"IDAT", pixels)
        + b"".join(chunk(t, d) for t, d in after_pixels)
        + chunk(b"IEND", b"")
    )


def read_both(tmp_path, data: bytes, name="x.png"):
    """``read_input`` of ``data`` as a file and from standard input."""
    path = tmp_path / name
    path.write_bytes(data)
    return read_input(str(path)), read_input("-", io.BytesIO(data))


def refusals(tmp_path, data: bytes, name="x.png") -> list[str]:
    path = tmp_path / name
    path.write_bytes(data)
    messages = []
    for args in ((str(path),), ("-", io.BytesIO(data))):
        with pytest.raises(PoolError) as error:
            read_input(*args)
        messages.append(error.value.message)
    return messages


# ---------------------------------------------------------------------------- colour profiles


def test_a_damaged_icc_profile_is_dropped_with_a_warning(tmp_path):
    garbage = b"\x00\x00\x01\x00 not a colour profile at all" * 4
    data = gray_png((b"iCCP", b"broken\0\0" + zlib.compress(garbage)))
    for loaded in read_both(tmp_path, data):
        assert loaded.image.icc_profile is None
        assert loaded.warnings == ["its ICC colour profile is damaged; it was ignored."]
        out = tmp_path / "out.png"
        assert write_output(str(out), loaded.array, loaded).warnings == []
        with Image.open(out) as written:
            assert "icc_profile" not in written.info


def test_a_valid_icc_profile_is_kept(tmp_path):
    data = gray_png((b"iCCP", b"sRGB\0\0" + zlib.compress(SRGB)))
    for loaded in read_both(tmp_path, data):
        assert loaded.image.icc_profile == SRGB and loaded.warnings == []


# ------------------------------------------------------------------ decompression bombs, TIFF


BOMB = zlib.compress(bytes(50 << 20), 9)  # 50 MiB of zeros in about 50 KiB
BOMB_MESSAGE = (
    "holds compressed metadata (a colour profile or text) that expands past Pillow's safety "
    "limit, as a decompression bomb does; it was not read."
)


@pytest.mark.parametrize(
    "chunks",
    [
        {"extra": [(b"iCCP", b"bomb\0\0" + BOMB)]},
        {"extra": [(b"zTXt", b"Comment\0\0" + BOMB)]},
        {"after_pixels": [(b"zTXt", b"Comment\0\0" + BOMB)]},
    ],
    ids=["iCCP", "zTXt", "zTXt-after-pixels"],
)
def test_a_zlib_bomb_in_metadata_is_named(tmp_path, chunks):
    data = gray_png(*chunks.get("extra", ()), after_pixels=chunks.get("after_pixels", ()))
    assert refusals(tmp_path, data) == [BOMB_MESSAGE, BOMB_MESSAGE]


def tiff_with_compression(number: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.arange(16, dtype=np.uint8).reshape(4, 4)).save(buffer, format="TIFF")
    data = bytearray(buffer.getvalue())
    at = struct.unpack("<I", data[4:8])[0]
    for entry in range(struct.unpack("<H", data[at : at + 2])[0]):
        place = at + 2 + 12 * entry
        if struct.unpack("<H", data[place : place + 2])[0] == 259:
            data[place + 8 : place + 10] = struct.pack("<H", number)
    return bytes(data)


def test_an_unknown_tiff_compression_is_named(tmp_path):
    message = (
        "is a TIFF image compressed with a method Pillow cannot decode (number 34999); "
        "save it uncompressed or with LZW, Deflate or JPEG compression."
    )
    assert refusals(tmp_path, tiff_with_compression(34999), "x.tif") == [message, message]


def test_a_known_tiff_compression_still_reads(tmp_path):
    for loaded in read_both(tmp_path, tiff_with_compression(1), "x.tif"):
        assert loaded.array.tolist() == np.arange(16).reshape(4, 4).tolist()


# ------------------------------------------------------------------------- Pillow's warnings


def tiff_with_a_cut_short_second_directory() -> bytes:
    """A valid one-frame TIFF whose 'next directory' points at 12 bytes of a cut-off one."""
    buffer = io.BytesIO()
    Image.fromarray(np.arange(16, dtype=np.uint8).reshape(4, 4)).save(buffer, format="TIFF")
    data = bytearray(buffer.getvalue())
    at = struct.unpack("<I", data[4:8])[0]
    count = struct.unpack("<H", data[at : at + 2])[0]
    data[at + 2 + 12 * count : at + 6 + 12 * count] = struct.pack("<I", len(data))
    return bytes(data + struct.pack("<H", 3) + bytes(10))


def test_pillow_warnings_become_plain_sentences(tmp_path):
    for loaded in read_both(tmp_path, tiff_with_a_cut_short_second_directory(), "x.tif"):
        assert loaded.array.tolist() == np.arange(16).reshape(4, 4).tolist()
        assert loaded.warnings == [
            "what follows its first frame is damaged; only the first frame was read.",
            "part of its metadata (EXIF or TIFF tags) is cut short; it was ignored.",
        ]


def test_a_warning_while_saving_becomes_a_note(tmp_path, monkeypatch):
    real = Image.Image.save

    def save(self, *args, **kwargs):
        warnings.warn("Couldn't allocate palette entry for transparency", stacklevel=1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", save)
    notes = write_output(str(tmp_path / "x.gif"), np.zeros((2, 2), np.uint8)).warnings
    assert notes == ["Pillow warned: Couldn't allocate palette entry for transparency."]


# ------------------------------------------------------------------ other formats, archives


def test_unsupported_formats_take_the_right_article(tmp_path):
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(buffer, format="ICO")
    message = "is an ICO image" + UNSUPPORTED
    assert refusals(tmp_path, buffer.getvalue(), "x.ico") == [message, message]


def test_a_npz_says_how_to_take_an_array_out(tmp_path):
    path = tmp_path / "arrays.npz"
    np.savez(path, weights=np.ones(3), bias=np.zeros(2))
    with pytest.raises(PoolError) as error:
        read_input(str(path))
    assert error.value.message == (
        "is a .npz archive of 2 arrays (weights, bias); poolcli reads one array, from a .npy "
        'file. Take one out with numpy: python -c "import numpy as np; '
        f"np.save('weights.npy', np.load('{path}')['weights'])\""
    )
    with pytest.raises(PoolError) as error:
        read_input("-", io.BytesIO(path.read_bytes()))
    assert error.value.message.startswith("is a zip archive (a .npz?); poolcli reads one array")
