"""Decoding images with Pillow (plain 8-bit PNGs with libspng): pixels with no bits lost, EXIF
orientation, colour profile."""

from __future__ import annotations

import io
import warnings
from typing import BinaryIO

import numpy as np

from poolcli.errors import PoolError
from poolcli.io.formats import READ_FORMATS, unsupported
from poolcli.io.loaded import ImageInfo, LoadedInput
from poolcli.io.messages import failed, unidentified, warning_text
from poolcli.io.npy import native
from poolcli.io.palette import palette_of
from poolcli.io.png16 import is_png16_colour, read_png16
from poolcli.io.png_codec import decode_plain_png


def read_image(
    f: BinaryIO, path: str, head: bytes, file: str | None, palette: str = "rgb"
) -> LoadedInput:
    """Read the image in ``f`` (at its start; a file or a :class:`StreamReader`);
    ``palette="index"`` reads a palette image's indices (see :func:`read_input`)."""
    from PIL import Image

    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # A file object, not a name: given a name, Pillow 13 memory-maps uncompressed TIFFs
        # and then decodes those with EXIF orientation 5-8 at the rotated size (garbled).
        try:
            im = Image.open(f)
        except PoolError:
            raise
        except Image.DecompressionBombError:
            raise PoolError(
                "is too large to open safely: it has more than "
                f"{2 * Image.MAX_IMAGE_PIXELS} pixels, the limit of Pillow's "
                "decompression-bomb guard.",
                path=path,
            ) from None
        except Image.UnidentifiedImageError:
            raise unidentified(f, head, path) from None
        except Exception as error:
            raise failed(error, head, path) from None
        with im:
            array, info = _decode(im, path, head, f, notes, palette)
    for w in caught:
        if issubclass(w.category, (UserWarning, Image.DecompressionBombWarning)):
            notes.append(warning_text(w.message))
        else:  # not about the file: let it through as usual
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    notes = list(dict.fromkeys(notes))  # Pillow may say the same thing twice
    layout = "HW" if array.ndim == 2 else "HWC"
    return LoadedInput(array, path, "image", layout, info, file, notes)


def stream_limit() -> int | None:
    """How many bytes an image read from a stream may take: those of the largest image
    Pillow's decompression-bomb guard lets through, uncompressed at 8 bytes a pixel (16-bit
    RGBA), with room for metadata. ``None`` where the guard is switched off."""
    from PIL import Image

    if Image.MAX_IMAGE_PIXELS is None:
        return None
    return 2 * Image.MAX_IMAGE_PIXELS * 8 + (64 << 20)


def _decode(im, path, head, f, notes, palette) -> tuple[np.ndarray, ImageInfo]:
    """Pixels and facts of an open Pillow image, with no bits lost."""
    fmt = im.format
    if fmt not in READ_FORMATS:
        raise unsupported(fmt, path)
    try:
        fmt = "JPEG" if fmt == "MPO" else fmt
        return _decode_read(im, fmt, path, head, f, notes, palette == "index")
    except PoolError:
        raise
    except Exception as error:
        raise failed(error, head, path) from None


def _decode_read(im, fmt, path, head, f, notes, indices) -> tuple[np.ndarray, ImageInfo]:
    _count_frames(im, notes)
    icc = _checked_icc(im.info.get("icc_profile"), notes)
    mode = im.mode
    if fmt == "TIFF":
        _check_tiff_depth(im, path)
    if is_png16_colour(head):
        array = read_png16(f, path, head, im.info.get("transparency"))
        array = _orient(array, _orientation(im))
        channels = array.shape[2]
        name = {2: "LA;16", 3: "RGB;16", 4: "RGBA;16"}[channels]
        return array, ImageInfo(name, fmt, 16, channels in (2, 4), icc, channels)
    if fmt == "PNG" and im.mode in ("L", "LA", "RGB", "RGBA"):
        f.seek(0)
        array = decode_plain_png(f.read())  # libspng where nothing but pixels matter
        if array is not None:
            channels = 1 if array.ndim == 2 else array.shape[2]
            return array, ImageInfo(im.mode, fmt, 8, channels in (2, 4), icc, channels)
    im.load()
    im = _transposed(im)
    if indices and im.mode == "P":
        return np.array(im), ImageInfo("P", fmt, 8, False, icc, 1, palette=palette_of(im))
    array, bits, floating, has_alpha = _pixels(im, fmt, notes)
    channels = 1 if array.ndim == 2 else array.shape[2]
    return array, ImageInfo(mode, fmt, bits, has_alpha, icc, channels, floating)


def _count_frames(im, notes: list[str]) -> None:
    """Say when frames after the first are left out (or cannot even be counted)."""
    try:
        frames = getattr(im, "n_frames", 1)
    except PoolError:
        raise
    except Exception:
        notes.append("what follows its first frame is damaged; only the first frame was read.")
        im.seek(0)
        return
    if frames > 1:
        notes.append(f"it has {frames} frames; only the first was read.")


def _checked_icc(icc: bytes | None, notes: list[str]) -> bytes | None:
    """The image's ICC profile when it is one (outputs carry it), else ``None``."""
    if not icc:
        return None
    try:
        from PIL import ImageCms
    except ImportError:  # Pillow built without littlecms: carried unchecked
        return icc
    try:
        ImageCms.ImageCmsProfile(io.BytesIO(icc))
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        notes.append("its ICC colour profile is damaged; it was ignored.")
        return None
    return icc


def _transposed(im):
    from PIL import ImageOps

    # In place: otherwise Pillow copies every image that needs no turning (0.5 ms at 512²).
    ImageOps.exif_transpose(im, in_place=True)
    return im


def _check_tiff_depth(im, path: str) -> None:
    """Refuse TIFFs that Pillow would read with fewer bits than they hold."""
    bits = im.tag_v2.get(258, (1,))
    bits = max(bits) if isinstance(bits, tuple) else bits
    if im.mode in ("L", "LA", "RGB", "RGBA", "CMYK", "P", "YCbCr", "LAB") and bits > 8:
        raise PoolError(
            f"is a {bits}-bit colour TIFF, which Pillow can only read cut to 8 bits; "
            "save it as a 16-bit PNG or a .npy file instead.",
            path=path,
        )
    if im.mode == "F" and bits > 32:
        raise PoolError(
            f"is a {bits}-bit float TIFF, which Pillow can only read as 32-bit floats; "
            "save it as a .npy file instead.",
            path=path,
        )


def _pixels(im, fmt: str, notes: list[str]) -> tuple[np.ndarray, int, bool, bool]:
    """(array, bits, floating, has_alpha) of a loaded Pillow image."""
    mode = im.mode
    transparency = "transparency" in im.info
    if mode.startswith("I;16"):
        if transparency:
            notes.append("its transparent colour key was ignored (16-bit grayscale).")
        return native(np.array(im)), 16, False, False
    if mode == "I":
        array = np.array(im)
        if fmt == "PNG":  # Pillow's older 32-bit mode for 16-bit grayscale PNGs
            return array.astype(np.uint16), 16, False, False
        return native(array).astype(np.int32, copy=False), 32, False, False
    if mode == "F":
        return native(np.array(im)).astype(np.float32, copy=False), 32, True, False
    target = {
        "1": "L",
        "L": "LA" if transparency else "L",
        "LA": "LA",
        "La": "LA",
        "P": "RGBA" if transparency else "RGB",
        "PA": "RGBA",
        "RGB": "RGBA" if transparency else "RGB",
        "RGBA": "RGBA",
        "RGBa": "RGBA",
        "RGBX": "RGB",
    }.get(mode)
    if target is None:
        target = "RGBA" if "A" in im.getbands() else "RGB"
        notes.append(f"its {mode} colours were converted to {target}.")
    if target != mode:
        im = im.convert(target)
    return np.array(im), 8, False, target in ("LA", "RGBA")


def _orientation(im) -> int:
    try:
        return int(im.getexif().get(0x0112, 1))
    except Exception:
        return 1


def _orient(array: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation to an (H, W, ...) array, as ``ImageOps.exif_transpose`` does."""
    ops = {
        2: lambda a: a[:, ::-1],  # FLIP_LEFT_RIGHT
        3: lambda a: a[::-1, ::-1],  # ROTATE_180
        4: lambda a: a[::-1],  # FLIP_TOP_BOTTOM
        5: lambda a: a.swapaxes(0, 1),  # TRANSPOSE
        6: lambda a: np.rot90(a, -1),  # ROTATE_270 (counter-clockwise)
        7: lambda a: a[::-1, ::-1].swapaxes(0, 1),  # TRANSVERSE
        8: lambda a: np.rot90(a, 1),  # ROTATE_90
    }
    op = ops.get(orientation)
    return np.ascontiguousarray(op(array)) if op else array
