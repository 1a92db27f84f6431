"""What Pillow says about an image, in poolcli's words: its errors become refusals that say
what is wrong, its warnings plain sentences (the command line puts the file's name first)."""

from __future__ import annotations

import re
import warnings
from typing import BinaryIO

from poolcli.errors import PoolError
from poolcli.io.formats import damaged, signature_format, unreadable

#: Pillow's warnings about damaged metadata -> what the user is told (the pixels still load).
_WARNINGS = [
    (
        re.compile(r"Truncated File Read|Corrupt EXIF data"),
        "part of its metadata (EXIF or TIFF tags) is cut short; it was ignored.",
    ),
    (
        re.compile(r"Possibly corrupt EXIF data.*Skipping tag (\d+)"),
        r"its tag \1 is damaged (corrupt EXIF or TIFF data); it was ignored.",
    ),
    (
        re.compile(r"Tag data larger than file\. Skipping tag (\d+)"),
        r"its tag \1 claims more data than the file holds; it was ignored.",
    ),
    (re.compile(r"Tag offset too large"), "a tag points past any file; it was ignored."),
    (
        re.compile(r"Metadata Warning, tag (\d+) had too many entries"),
        r"its tag \1 has more values than it may; the first was used.",
    ),
]


def warning_text(message) -> str:
    """A warning Pillow gave while reading an image, as a sentence for the user."""
    from PIL import Image

    if isinstance(message, Image.DecompressionBombWarning):
        return (
            f"it has more than {Image.MAX_IMAGE_PIXELS} pixels, the warning limit of Pillow's "
            "decompression-bomb guard; it was read anyway."
        )
    text = str(message).strip()
    for pattern, sentence in _WARNINGS:
        match = pattern.search(text)
        if match:
            return match.expand(sentence)
    return f"Pillow warned: {text.rstrip('.')}."


def failed(error: Exception, head: bytes, path: str) -> PoolError:
    """Why Pillow could not open or decode an image whose signature it carries."""
    text = str(error)
    if isinstance(error, ValueError) and ("MAX_TEXT_CHUNK" in text or "MAX_TEXT_MEMORY" in text):
        return PoolError(
            "holds compressed metadata (a colour profile or text) that expands past Pillow's "
            "safety limit, as a decompression bomb does; it was not read.",
            path=path,
        )
    if isinstance(error, MemoryError):
        return PoolError("is too large to read into memory.", path=path)
    return damaged(head, path)


def unidentified(f: BinaryIO, head: bytes, path: str) -> PoolError:
    """Why Pillow did not recognise an image: a compression it cannot decode, or damage."""
    if signature_format(head) == "TIFF":
        compression = _tiff_compression(f)
        if compression is not None:
            return PoolError(
                f"is a TIFF image compressed with a method Pillow cannot decode (number "
                f"{compression}); save it uncompressed or with LZW, Deflate or JPEG "
                "compression.",
                path=path,
            )
    return unreadable(head, path)


def _tiff_compression(f: BinaryIO) -> int | None:
    """The compression number of the first image of a TIFF, when Pillow knows no decoder for
    it; ``None`` when it does, or when the directory cannot be read."""
    from PIL import TiffImagePlugin

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            f.seek(0)
            header = f.read(8)
            if header[2] == 43:  # BigTIFF: the first directory's offset takes 8 bytes more
                header += f.read(8)
            directory = TiffImagePlugin.ImageFileDirectory_v2(header)
            f.seek(directory.next)
            directory.load(f)
            compression = directory.get(TiffImagePlugin.COMPRESSION, 1)
    except Exception:
        return None
    return None if compression in TiffImagePlugin.COMPRESSION_INFO else compression
