"""16-bit colour PNGs, which Pillow can neither read nor write without losing bits."""

from __future__ import annotations

import struct
import zlib
from typing import BinaryIO

import numpy as np

from poolcli.errors import PoolError
from poolcli.io.formats import PNG_MAGIC, damaged


def is_png16_colour(head: bytes) -> bool:
    """16-bit PNG with colour or alpha: the IHDR says bit depth 16 and colour type 2, 4 or 6."""
    return (
        len(head) >= 26
        and head.startswith(PNG_MAGIC)
        and head[12:16] == b"IHDR"
        and head[24] == 16
        and head[25] in (2, 4, 6)
    )


def read_png16(f: BinaryIO, path: str, head: bytes, key=None) -> np.ndarray:
    """A 16-bit colour PNG, exactly: (H, W, C) uint16, C = 2 (LA), 3 (RGB) or 4 (RGBA).

    ``key``, the tRNS colour key of an RGB image (Pillow's ``info["transparency"]``),
    becomes an alpha channel: 0 where the colour matches, else 65535.
    """
    try:
        import pyspng  # libspng: Pillow has no 16-bit colour modes and would drop the low byte
    except ImportError:
        raise PoolError(
            "is a 16-bit colour PNG; reading it without losing bits needs the pyspng-seunglab "
            "package (pip install pyspng-seunglab).",
            path=path,
        ) from None
    try:
        f.seek(0)
        array = pyspng.load(f.read())
    except PoolError:
        raise
    except MemoryError:
        raise PoolError("is too large to read into memory.", path=path) from None
    except Exception:
        raise damaged(head, path) from None
    channels = {2: 3, 4: 2, 6: 4}[head[25]]  # by the IHDR's colour type
    if channels == 3 and key is not None:  # libspng gives RGB as RGBA: the alpha is ours
        array[..., 3] = np.where(
            (array[..., :3] == np.asarray(key, np.uint16)).all(axis=2), 0, 65535
        )
        return array
    return np.ascontiguousarray(array[..., :channels])


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def encode_png16(pixels: np.ndarray, icc: bytes | None, level: int = 6) -> bytes:
    """A 16-bit PNG of an (H, W, C) uint16 array, C = 2, 3 or 4 (Pillow cannot write these)."""
    height, width, channels = pixels.shape
    colour_type = {2: 4, 3: 2, 4: 6}[channels]
    data = np.ascontiguousarray(pixels, dtype=">u2").reshape(height, -1).view(np.uint8)
    # Filter type 0 (none) before every row.
    rows = np.concatenate([np.zeros((height, 1), np.uint8), data], axis=1)
    ihdr = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    chunks = [_png_chunk(b"IHDR", ihdr)]
    if icc:
        chunks.append(_png_chunk(b"iCCP", b"ICC profile\x00\x00" + zlib.compress(icc)))
    chunks.append(_png_chunk(b"IDAT", zlib.compress(rows.tobytes(), level)))
    chunks.append(_png_chunk(b"IEND", b""))
    return PNG_MAGIC + b"".join(chunks)
