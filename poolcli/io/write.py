"""Writing one output, ``.npy`` or an image of the input's depth, chosen by its suffix.

``.npy`` gets the exact array. An image suffix (.png .tif .tiff .jpg .jpeg .bmp .webp .gif)
gets an image of the *input's* depth: an image input's bit depth (8, 16, or 32-bit integer;
a float TIFF gives a float TIFF); for a ``.npy`` input (or no input: the array's own dtype)
uint8, int8 and other integers -> 8-bit, uint16 and int16 -> 16-bit, bool -> 8-bit with
``True`` as 255, floats -> a 32-bit float TIFF only (poolcli does not guess how to scale
floats into integers). Values are rounded half to even and clipped to the depth's range,
with a warning that counts them (NaN becomes 0); they never wrap. Images hold ``HW`` or
``HWC`` arrays with 1 to 4 channels. The input's ICC profile goes to PNG, TIFF, JPEG and
WebP outputs; JPEG is written at quality 95, WebP losslessly. Indices of a palette image
read with ``palette="index"`` are written with its palette (PNG, GIF, BMP, TIFF) or as the
colours they stand for (JPEG, WebP).
"""

from __future__ import annotations

import contextlib
import os
import warnings
from dataclasses import dataclass, field

import numpy as np

from poolcli.errors import PoolError
from poolcli.io.atomic import atomic_write
from poolcli.io.formats import FORMAT_NAMES, output_format
from poolcli.io.loaded import LoadedInput
from poolcli.io.messages import warning_text
from poolcli.io.npy import write_npy
from poolcli.io.palette import PALETTE_FORMATS, as_indices, colours, palette_image
from poolcli.io.png16 import encode_png16


def check_not_input(path: str, source: LoadedInput | None) -> None:
    """Refuse an output ``path`` that is the input file (same path, or the same file linked)."""
    if source is None or source.file is None:
        return
    same = os.path.realpath(path) == os.path.realpath(source.file)
    if not same and os.path.exists(path):
        with contextlib.suppress(OSError):
            same = os.path.samefile(path, source.file)
    if same:
        raise PoolError(
            "is the input file; poolcli never writes over its input. Choose another output name.",
            path=path,
        )


@dataclass
class Written:
    """What :func:`write_output` wrote.

    ``format`` is ``"NPY"`` or the image format (``"PNG"``...); ``dtype`` names the values
    the file holds (``"uint8"``, ``"uint16"``, ``"int32"``, ``"float32"``, or a ``.npy``'s
    own dtype); ``mode`` is how an image stores them, in Pillow's words (``"L"``, ``"RGB"``,
    ``"I;16"``, ``"P"``...; ``"RGB;16"`` for 16-bit colour PNGs, ``None`` for ``.npy``) and
    ``bits`` the depth of each value. ``warnings`` are plain sentences for the user
    (clipped values, a dropped colour profile...).
    """

    path: str
    format: str
    dtype: str
    mode: str | None = None
    bits: int | None = None
    warnings: list[str] = field(default_factory=list)


def write_output(
    path: str,
    array,
    source: LoadedInput | None = None,
    *,
    layout: str | None = None,
    png_compression: int = 6,
    quality: int | None = None,
    normalize: bool = False,
) -> Written:
    """Write ``array`` to ``path`` atomically, as ``.npy`` or an image by the suffix (see the
    module's description for the depth, the colour profile and the palette of images).

    Parameters
    ----------
    path : str
        Output file; never the input file.
    array : numpy.ndarray
        The data to write.
    source : LoadedInput, optional
        The input it was made from: decides the bit depth, the ICC profile and the palette.
    layout : str, optional
        The array's layout, when known; image outputs need ``HW`` or ``HWC``.
    png_compression : int
        zlib level 0-9 of PNG outputs (default 6, as libpng and Pillow).
    quality : int, optional
        1-100 for JPEG and WebP outputs (default: JPEG 95, WebP lossless).
    normalize : bool
        Image outputs: rescale the array's min..max to the image's range (0..255, or
        0..65535 for a 16-bit input image) instead of clipping, or refusing floats.

    Returns
    -------
    Written
        What the file holds, and warnings for the user.

    Raises
    ------
    PoolError
        For an unknown suffix, an array or depth the format cannot hold, the input file as
        output, or a failed write.
    """
    fmt = output_format(path)
    check_not_input(path, source)
    array = np.asarray(array)
    if fmt == "NPY":
        with atomic_write(path) as f:
            write_npy(f, array)
        return Written(path, fmt, array.dtype.name, bits=array.dtype.itemsize * 8)
    save = {"png_compression": png_compression, "quality": quality}
    return _write_image(path, fmt, array, source, layout, save, normalize)


def _write_image(path, fmt, array, source, layout, save, normalize=False) -> Written:
    image = source.image if source is not None else None
    icc = image.icc_profile if image is not None else None
    notes: list[str] = []
    if image is not None and image.palette is not None and array.ndim == 2:
        indices = as_indices(array, image.palette, notes)
        if indices is not None and fmt in PALETTE_FORMATS:
            picture, options = palette_image(indices, image.palette, fmt, notes)
            _save_pillow(path, fmt, picture, icc, notes, options, **save)
            return Written(path, fmt, "uint8", "P", 8, notes)
        if indices is not None:
            array, layout = colours(indices, image.palette), None
    channels = _image_channels(array, layout, path)
    depth, scale = _target_depth(array, source)
    if normalize and array.dtype.kind in "iuf":
        depth = 16 if depth == 16 else 8
        array = _normalized(array, depth, notes)
    _check_format_holds(fmt, depth, channels, path)
    pixels = _to_pixels(array, depth, scale, notes)
    if channels == 1 and pixels.ndim == 3:
        pixels = pixels[..., 0]
    bits = pixels.dtype.itemsize * 8
    if depth == 16 and channels > 1:
        encoded = encode_png16(pixels, icc, save["png_compression"])
        with atomic_write(path) as f:
            f.write(encoded)
        mode = {2: "LA;16", 3: "RGB;16", 4: "RGBA;16"}[channels]
        return Written(path, fmt, pixels.dtype.name, mode, bits, notes)
    picture, options = _pillow_image(fmt, pixels, channels, notes)
    _save_pillow(path, fmt, picture, icc, notes, options, **save)
    mode = picture.mode
    if fmt == "WEBP" and channels <= 2:
        mode = ("RGB", "RGBA")[channels - 1]
    elif fmt == "GIF" and channels == 3:
        mode = "P"  # Pillow quantises colour images for GIF
    return Written(path, fmt, pixels.dtype.name, mode, bits, notes)


def _normalized(array: np.ndarray, depth: int, notes: list[str]) -> np.ndarray:
    """``array``'s finite min..max stretched over 0..255 (or 0..65535), for ``--normalize``."""
    finite = array[np.isfinite(array)]
    high = 255 if depth == 8 else 65535
    if finite.size == 0:
        return np.zeros_like(array, dtype=np.float64)
    low, top = float(finite.min()), float(finite.max())
    scale = high / (top - low) if top > low else 0.0
    notes.append(f"values {low:.6g}..{top:.6g} were rescaled to 0..{high} (--normalize).")
    return np.clip((array.astype(np.float64) - low) * scale, 0, high)


def _image_channels(array: np.ndarray, layout: str | None, path: str) -> int:
    shape = "x".join(map(str, array.shape))
    fits = array.ndim == 2 or (array.ndim == 3 and 1 <= array.shape[2] <= 4)
    if layout is not None:
        fits = fits and str(layout).upper() == ("HW" if array.ndim == 2 else "HWC")
    if not fits:
        where = f" ({layout})" if layout else ""
        raise PoolError(
            f"cannot be written as an image: the output has shape {shape}{where}, and images "
            "hold HW or HWC arrays with 1 to 4 channels. Write it as .npy instead.",
            path=path,
        )
    return 1 if array.ndim == 2 else array.shape[2]


def _target_depth(array: np.ndarray, source: LoadedInput | None) -> tuple[int | str, bool]:
    """(depth, scale): depth 8, 16, 32 (int32) or "float"; scale: bool data 0..1 -> 0..255."""
    if source is not None and source.image is not None:
        if source.image.floating:
            return "float", False
        return source.image.bits, False
    dtype = source.array.dtype if source is not None else array.dtype
    if dtype.kind == "f":
        return "float", False
    if dtype.kind == "b":
        return 8, True
    if dtype in (np.dtype(np.uint16), np.dtype(np.int16)):
        return 16, False
    return 8, False


_CAN_HOLD = {
    "PNG": {(8, 1), (8, 2), (8, 3), (8, 4), (16, 1), (16, 2), (16, 3), (16, 4)},
    "TIFF": {(8, 1), (8, 2), (8, 3), (8, 4), (16, 1), (32, 1), ("float", 1)},
    "JPEG": {(8, 1), (8, 3)},
    "BMP": {(8, 1), (8, 3)},
    "WEBP": {(8, 1), (8, 2), (8, 3), (8, 4)},
    "GIF": {(8, 1), (8, 3)},
}
_SUFFIX_OF = {
    "PNG": ".png",
    "TIFF": ".tif",
    "JPEG": ".jpg",
    "BMP": ".bmp",
    "WEBP": ".webp",
    "GIF": ".gif",
}


def _check_format_holds(fmt: str, depth, channels: int, path: str) -> None:
    if (depth, channels) in _CAN_HOLD[fmt]:
        return
    kind = {1: "grayscale", 2: "grayscale+alpha", 3: "RGB", 4: "RGBA"}[channels]
    bits = {8: "8-bit", 16: "16-bit", 32: "32-bit integer", "float": "32-bit float"}[depth]
    article = "an" if bits.startswith("8") else "a"
    others = [_SUFFIX_OF[f] for f, held in _CAN_HOLD.items() if (depth, channels) in held]
    others.append(".npy")
    choice = ", ".join(others[:-1]) + " or " + others[-1] if len(others) > 1 else others[0]
    name = FORMAT_NAMES[fmt]
    rescale = ", or add --normalize to rescale its min..max to 0..255" if depth == "float" else ""
    raise PoolError(
        f"{name} cannot hold {article} {bits} {kind} image; write it as {choice}{rescale}.",
        path=path,
    )


def _to_pixels(array: np.ndarray, depth, scale: bool, notes: list[str]) -> np.ndarray:
    """Round half to even and clip into the depth's range, counting what was clipped."""
    if depth == "float":
        pixels = array.astype(np.float32)
        nan_ok = array.dtype.kind == "f"
        if not np.array_equal(pixels, array, equal_nan=nan_ok):
            notes.append(
                f"the {array.dtype.name} values were stored as 32-bit floats, "
                "and some changed; write .npy to keep them exactly."
            )
        return pixels
    low, high, dtype = {
        8: (0, 255, np.uint8),
        16: (0, 65535, np.uint16),
        32: (-(2**31), 2**31 - 1, np.int32),
    }[depth]
    values = array
    if scale:
        values = values.astype(np.float64) * 255
    if values.dtype.kind == "b":
        values = values.astype(np.uint8)
    if values.dtype.kind == "f":
        values = np.rint(values)
        nan = np.isnan(values)
        if nan.any():
            notes.append(f"{int(nan.sum())} NaN values were written as 0.")
            values[nan] = 0
    outside = int(np.count_nonzero((values < low) | (values > high)))
    if outside:
        notes.append(
            f"{outside} of {values.size} values were outside {low}..{high} and were clipped."
        )
        values = np.clip(values, low, high)
    return values.astype(dtype)


def _pillow_image(fmt, pixels, channels: int, notes: list[str]):
    """(Pillow image, save options) of ``pixels`` for ``fmt``, saying what it changes."""
    from PIL import Image

    options: dict = {}
    if fmt == "WEBP":
        options.update(lossless=True, exact=True)
        if channels <= 2:
            stored = "RGB" if channels == 1 else "RGBA"
            notes.append(f"WebP has no grayscale images; it was stored as {stored}.")
    if fmt == "GIF" and channels == 3:
        count = np.unique(pixels.reshape(-1, 3), axis=0).shape[0]
        if count > 256:
            notes.append(f"GIF holds at most 256 colours; the {count} colours were reduced.")
    return Image.fromarray(np.ascontiguousarray(pixels)), options


def _save_pillow(path, fmt, image, icc, notes, options, png_compression=6, quality=None) -> None:
    """Save a Pillow image atomically, with the input's ICC profile where ``fmt`` holds one."""
    options = dict(options)
    if fmt == "PNG":
        options["compress_level"] = png_compression
    if fmt == "JPEG":
        options["quality"] = 95 if quality is None else quality
    if fmt == "WEBP" and quality is not None:
        options.update(lossless=False, quality=quality)
    if icc:
        if fmt in ("PNG", "TIFF", "JPEG", "WEBP"):
            options["icc_profile"] = icc
        else:
            notes.append(
                f"{FORMAT_NAMES[fmt]} cannot carry the input's ICC colour profile; it was left out."
            )
    with warnings.catch_warnings(record=True) as caught, atomic_write(path) as f:
        warnings.simplefilter("always")
        image.save(f, format=fmt, **options)
    notes += [warning_text(w.message) for w in caught]
