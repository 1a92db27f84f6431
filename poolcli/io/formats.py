"""What poolcli reads and writes: magic numbers, image signatures and output suffixes.

Pure Python: importing it loads neither numpy nor Pillow.
"""

from __future__ import annotations

import os

from poolcli.errors import PoolError

NPY_MAGIC = b"\x93NUMPY"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


#: Image formats poolcli reads (Pillow's names). MPO is how Pillow names many camera JPEGs.
READ_FORMATS = ("PNG", "JPEG", "MPO", "TIFF", "BMP", "WEBP", "GIF")
#: Output suffix -> Pillow format.
IMAGE_SUFFIXES = {
    ".png": "PNG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".bmp": "BMP",
    ".webp": "WEBP",
    ".gif": "GIF",
}
OUTPUT_SUFFIXES = (".npy", *IMAGE_SUFFIXES)

# Signatures of the image formats poolcli reads, to tell "a damaged PNG" from "not an image".
SIGNATURES = {
    PNG_MAGIC: "PNG",
    b"\xff\xd8\xff": "JPEG",
    b"II*\x00": "TIFF",
    b"MM\x00*": "TIFF",
    b"II+\x00": "TIFF",  # BigTIFF
    b"MM\x00+": "TIFF",
    b"BM": "BMP",
    b"GIF87a": "GIF",
    b"GIF89a": "GIF",
}


#: Files that make a folder a Zarr store (v2 array or group, v3 node).
ZARR_MARKS = (".zarray", ".zgroup", "zarr.json")


def is_zarr_store(path: str) -> bool:
    """Whether ``path`` is a Zarr store: a folder named ``.zarr`` or holding Zarr metadata.
    A batch takes it as one input, never as a folder of inputs."""
    if not os.path.isdir(path):
        return False
    if str(path).lower().rstrip("/" + os.sep).endswith(".zarr"):
        return True
    return any(os.path.exists(os.path.join(path, mark)) for mark in ZARR_MARKS)


NOT_READABLE = "is neither a .npy file nor an image poolcli can read."


def signature_format(head: bytes) -> str | None:
    for magic, name in SIGNATURES.items():
        if head.startswith(magic):
            return name
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return None


def unreadable(head: bytes, path: str) -> PoolError:
    if signature_format(head):
        return damaged(head, path)
    return PoolError(NOT_READABLE, path=path)


def unsupported(fmt: str, path: str) -> PoolError:
    """The refusal of an image in a format poolcli does not read (``fmt``: Pillow's name)."""
    article = "an" if fmt[:1] in "AEIOU" else "a"
    return PoolError(
        f"is {article} {fmt} image; poolcli reads PNG, JPEG, TIFF, BMP, WebP and GIF images.",
        path=path,
    )


def damaged(head: bytes, path: str) -> PoolError:
    name = signature_format(head)
    what = f"a {FORMAT_NAMES.get(name, name)} image" if name else "an image"
    return PoolError(f"looks like {what} but is truncated or corrupt.", path=path)


FORMAT_NAMES = {
    "PNG": "PNG",
    "TIFF": "TIFF",
    "JPEG": "JPEG",
    "BMP": "BMP",
    "WEBP": "WebP",
    "GIF": "GIF",
}


def output_format(path: str) -> str:
    """``"NPY"`` or the Pillow format name that ``path``'s suffix asks for.

    >>> output_format("out.PNG"), output_format("a.b.npy")
    ('PNG', 'NPY')
    """
    suffix = os.path.splitext(path)[1].lower()
    if suffix == ".npy":
        return "NPY"
    if suffix in IMAGE_SUFFIXES:
        return IMAGE_SUFFIXES[suffix]
    said = f"has the unknown suffix {suffix}" if suffix else "has no suffix"
    raise PoolError(f"{said}; use one of {', '.join(OUTPUT_SUFFIXES)}.", path=path)
