"""Reading inputs and writing outputs: ``.npy`` files, images and standard streams.

* :func:`read_input` reads a ``.npy`` file (memory-mapped, never unpickled) or an image
  (Pillow) and tells which by the file's content, not its name; ``-`` reads standard input.
* :func:`write_output` writes a ``.npy`` file or an image chosen by the output's suffix;
  :func:`write_npy_stream` writes ``.npy`` bytes to a stream (``-o -``).
* :func:`atomic_write` is the one way poolcli creates files: a temporary file in the same
  folder, renamed over the target only when it is complete.

Every problem a user can fix is raised as :class:`~poolcli.errors.PoolError` naming the file.
This module never imports torch.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import secrets
import stat
import struct
import sys
import warnings
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, BinaryIO

import numpy as np

from poolcli.errors import PoolError

NPY_MAGIC = b"\x93NUMPY"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
STDIN_NAME = "<stdin>"

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
_SIGNATURES = {
    PNG_MAGIC: "PNG",
    b"\xff\xd8\xff": "JPEG",
    b"II*\x00": "TIFF",
    b"MM\x00*": "TIFF",
    b"BM": "BMP",
    b"GIF87a": "GIF",
    b"GIF89a": "GIF",
}

_NOT_READABLE = "is neither a .npy file nor an image poolcli can read."
_ACCEPTED_DTYPES = "bool, integers, float16, float32 or float64"


@dataclass(frozen=True)
class ImageInfo:
    """What an image file held, besides its pixels.

    ``mode`` is Pillow's mode as stored in the file (``"P"``, ``"1"``, ``"I;16"``...; 16-bit
    colour PNGs, which Pillow cannot hold, are ``"LA;16"``, ``"RGB;16"`` or ``"RGBA;16"``).
    ``bits`` is the depth of each value of the array read: 8, 16, or 32 (``floating`` tells a
    32-bit float TIFF from a 32-bit integer one). ``channels`` counts the array's channels
    after conversion (palette images become RGB or RGBA), ``has_alpha`` says the last one is
    straight alpha.
    """

    mode: str
    format: str
    bits: int
    has_alpha: bool
    icc_profile: bytes | None
    channels: int
    floating: bool = False


@dataclass
class LoadedInput:
    """One input, read.

    ``array`` is a numpy array in native byte order (memory-mapped copy-on-write for ``.npy``
    files). ``path`` is the name to show (``"<stdin>"`` for ``-``); ``file`` the absolute path
    of the file read, ``None`` for a stream. ``layout`` is ``"HW"`` or ``"HWC"`` for images and
    ``None`` for arrays (the default-layout rule decides). ``warnings`` are plain sentences
    about things read but not kept (extra frames, a converted colour space...).
    """

    array: np.ndarray
    path: str
    kind: str
    layout: str | None
    image: ImageInfo | None = None
    file: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def has_alpha(self) -> bool:
        """True for an image whose last channel is alpha."""
        return self.image is not None and self.image.has_alpha


# --------------------------------------------------------------------------------------------
# Reading


def read_input(path: str | os.PathLike, stdin: BinaryIO | None = None) -> LoadedInput:
    """Read a ``.npy`` file or an image; ``"-"`` reads all of ``stdin``.

    The content decides how a file is read (a ``.npy`` starts with ``\\x93NUMPY``), so a PNG
    named ``x.npy`` is read as the PNG it is. ``.npy`` files are memory-mapped and never
    unpickled. Images are read with Pillow (PNG, JPEG, TIFF, BMP, WebP, GIF's first frame),
    EXIF orientation applied: grayscale -> ``HW``, colour -> ``HWC``; 8-bit values as uint8,
    16-bit as uint16 (16-bit colour PNGs through pypng, since Pillow would cut them to 8 bits),
    float TIFFs as float32. Palette images become RGB, or RGBA when they have transparency;
    1-bit images become uint8 0/255.

    Parameters
    ----------
    path : str
        A file path, or ``"-"`` for standard input.
    stdin : binary stream, optional
        Read when ``path`` is ``"-"``; default ``sys.stdin.buffer``.

    Returns
    -------
    LoadedInput

    Raises
    ------
    PoolError
        Naming the file, for a missing, empty, damaged or unsupported file.
    """
    path = os.fspath(path)
    if path == "-":
        stream = stdin if stdin is not None else sys.stdin.buffer
        return _read_bytes(bytearray(stream.read()), STDIN_NAME, None)
    info = _stat_input(path)
    if not stat.S_ISREG(info.st_mode):
        # A pipe or a device (e.g. process substitution): no memory map, read it whole.
        with _opened(path) as f:
            return _read_bytes(bytearray(f.read()), path, None)
    if info.st_size == 0:
        raise PoolError("is empty (0 bytes).", path=path)
    with _opened(path) as f:
        head = f.read(64)
    file = os.path.abspath(path)
    if head.startswith(NPY_MAGIC):
        return _read_npy_file(path, file, info.st_size)
    return _read_image(path, file, head, data=None)


def _stat_input(path: str) -> os.stat_result:
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise PoolError("No such file.", path=path) from None
    except PermissionError:
        raise PoolError("Permission denied.", path=path) from None
    except OSError as error:
        raise PoolError(f"cannot be read: {error.strerror}.", path=path) from None
    if stat.S_ISDIR(info.st_mode):
        raise PoolError("is a directory, not a file.", path=path)
    return info


@contextlib.contextmanager
def _opened(path: str) -> Iterator[BinaryIO]:
    try:
        f = open(path, "rb")
    except PermissionError:
        raise PoolError("Permission denied.", path=path) from None
    except OSError as error:
        raise PoolError(f"cannot be read: {error.strerror}.", path=path) from None
    with f:
        yield f


def _read_bytes(data: bytearray, path: str, file: str | None) -> LoadedInput:
    if not data:
        raise PoolError("is empty (0 bytes).", path=path)
    if data.startswith(NPY_MAGIC):
        return _read_npy_bytes(data, path)
    return _read_image(path, file, bytes(data[:64]), data=data)


# .npy ---------------------------------------------------------------------------------------


def _read_npy_header(f: IO[bytes], path: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    """Shape, Fortran order and dtype from a .npy header, without loading anything."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(f)
        if version == (1, 0):
            header = fmt.read_array_header_1_0(f)
        elif version in ((2, 0), (3, 0)):
            # 3.0 only allows UTF-8 in the header (structured field names, refused below).
            header = fmt.read_array_header_2_0(f)
        else:
            raise ValueError(version)
    except Exception:
        raise PoolError("is a corrupt .npy file: its header cannot be read.", path=path) from None
    return header


def _check_npy(shape: tuple[int, ...], dtype: np.dtype, path: str) -> None:
    """Refuse arrays poolcli cannot pool, before any data is touched."""
    kind = dtype.kind
    if dtype.hasobject:
        raise PoolError("holds Python objects; poolcli never unpickles files.", path=path)
    what = {
        "c": f"complex numbers ({dtype.name})",
        "V": "structured records",
        "S": "byte strings",
        "U": "text strings",
        "M": "dates",
        "m": "time spans",
    }.get(kind)
    if kind == "f" and dtype.itemsize not in (2, 4, 8):
        what = f"{dtype.itemsize * 8}-bit floats"
    if what is not None:
        raise PoolError(f"holds {what}; poolcli pools {_ACCEPTED_DTYPES} arrays.", path=path)
    if not shape:
        raise PoolError(
            "holds a single number (a 0-d array); pooling needs at least one axis.", path=path
        )
    if 0 in shape:
        raise PoolError(
            f"is an empty array (shape {_shape_text(shape)}); "
            "pooling needs at least one value along every axis.",
            path=path,
        )


def _shape_text(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape)) if len(shape) > 1 else f"({shape[0]},)"


def _check_npy_size(shape, dtype, available: int, path: str) -> int:
    needed = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if available < needed:
        raise PoolError(
            f"is truncated: its header promises {_shape_text(shape)} values of {dtype.name} "
            f"({needed} bytes) but only {available} bytes follow.",
            path=path,
        )
    return needed


def _native(array: np.ndarray) -> np.ndarray:
    """``array`` in native byte order (a big-endian file is converted: torch needs that)."""
    if array.dtype.isnative:
        return array
    return array.astype(array.dtype.newbyteorder("="))


def _read_npy_file(path: str, file: str, size: int) -> LoadedInput:
    with _opened(path) as f:
        shape, _fortran, dtype = _read_npy_header(f, path)
        offset = f.tell()
    _check_npy(shape, dtype, path)
    _check_npy_size(shape, dtype, size - offset, path)
    try:
        # Copy-on-write: pages are read on demand and the array is writable for torch.
        array = np.load(path, mmap_mode="c", allow_pickle=False)
    except Exception:
        raise PoolError("is a corrupt .npy file: its data cannot be read.", path=path) from None
    return LoadedInput(_native(array), path, "npy", None, None, file)


def _read_npy_bytes(data: bytearray, path: str) -> LoadedInput:
    f = io.BytesIO(data)
    shape, fortran, dtype = _read_npy_header(f, path)
    offset = f.tell()
    _check_npy(shape, dtype, path)
    needed = _check_npy_size(shape, dtype, len(data) - offset, path)
    # A bytearray buffer keeps the array writable (torch.from_numpy warns on read-only data).
    flat = np.frombuffer(data, dtype=dtype, count=needed // dtype.itemsize, offset=offset)
    array = flat.reshape(shape, order="F" if fortran else "C")
    return LoadedInput(_native(array), path, "npy", None, None, None)


# images -------------------------------------------------------------------------------------


def _signature_format(head: bytes) -> str | None:
    for magic, name in _SIGNATURES.items():
        if head.startswith(magic):
            return name
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return None


def _is_png16_colour(head: bytes) -> bool:
    """16-bit PNG with colour or alpha: the IHDR says bit depth 16 and colour type 2, 4 or 6."""
    return (
        len(head) >= 26
        and head.startswith(PNG_MAGIC)
        and head[12:16] == b"IHDR"
        and head[24] == 16
        and head[25] in (2, 4, 6)
    )


def _read_image(path: str, file: str | None, head: bytes, data: bytearray | None) -> LoadedInput:
    from PIL import Image

    notes: list[str] = []
    with contextlib.ExitStack() as stack:
        # A file object, not a name: given a name, Pillow 13 memory-maps uncompressed TIFFs
        # and then decodes those with EXIF orientation 5-8 at the rotated size (garbled).
        fp = stack.enter_context(_opened(path)) if data is None else io.BytesIO(data)
        caught = stack.enter_context(warnings.catch_warnings(record=True))
        warnings.simplefilter("always")
        try:
            im = Image.open(fp)
        except Image.DecompressionBombError:
            raise PoolError(
                "is too large to open safely: it has more than "
                f"{2 * Image.MAX_IMAGE_PIXELS} pixels, the limit of Pillow's "
                "decompression-bomb guard.",
                path=path,
            ) from None
        except Image.UnidentifiedImageError:
            raise _unreadable(head, path) from None
        except Exception:
            raise _damaged(head, path) from None
        with im:
            array, info = _decode(im, path, head, data, file, notes)
    for w in caught:
        if issubclass(w.category, (UserWarning, Image.DecompressionBombWarning)):
            notes.append(_warning_text(w.message))
        else:  # not about the file: let it through as usual
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    layout = "HW" if array.ndim == 2 else "HWC"
    return LoadedInput(array, path, "image", layout, info, file, notes)


def _unreadable(head: bytes, path: str) -> PoolError:
    if _signature_format(head):
        return _damaged(head, path)
    return PoolError(_NOT_READABLE, path=path)


def _damaged(head: bytes, path: str) -> PoolError:
    name = _signature_format(head)
    what = f"a {_FORMAT_NAMES.get(name, name)} image" if name else "an image"
    return PoolError(f"looks like {what} but is truncated or corrupt.", path=path)


def _warning_text(message) -> str:
    from PIL import Image

    if isinstance(message, Image.DecompressionBombWarning):
        return (
            f"it has more than {Image.MAX_IMAGE_PIXELS} pixels, the warning limit of Pillow's "
            "decompression-bomb guard; it was read anyway."
        )
    text = str(message).strip()
    return text if text.endswith(".") else text + "."


def _decode(im, path, head, data, file, notes) -> tuple[np.ndarray, ImageInfo]:
    """Pixels and facts of an open Pillow image, with no bits lost."""
    fmt = im.format
    if fmt not in READ_FORMATS:
        raise PoolError(
            f"is a {fmt} image; poolcli reads PNG, JPEG, TIFF, BMP, WebP and GIF images.",
            path=path,
        )
    fmt = "JPEG" if fmt == "MPO" else fmt
    frames = getattr(im, "n_frames", 1)
    if frames > 1:
        notes.append(f"it has {frames} frames; only the first was read.")
    icc = im.info.get("icc_profile") or None
    mode = im.mode
    if fmt == "TIFF":
        _check_tiff_depth(im, path)
    if _is_png16_colour(head):
        array = _read_png16(data if data is not None else file, path, head)
        orientation = _orientation(im)
        array = _orient(array, orientation)
        channels = array.shape[2]
        name = {2: "LA;16", 3: "RGB;16", 4: "RGBA;16"}[channels]
        info = ImageInfo(name, fmt, 16, channels in (2, 4), icc, channels)
        return array, info
    try:
        im.load()
        im = _transposed(im)
        array, bits, floating, has_alpha = _pixels(im, fmt, notes)
    except PoolError:
        raise
    except MemoryError:
        raise PoolError("is too large to read into memory.", path=path) from None
    except Exception:
        raise _damaged(head, path) from None
    channels = 1 if array.ndim == 2 else array.shape[2]
    return array, ImageInfo(mode, fmt, bits, has_alpha, icc, channels, floating)


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
        return _native(np.array(im)), 16, False, False
    if mode == "I":
        array = np.array(im)
        if fmt == "PNG":  # Pillow's older 32-bit mode for 16-bit grayscale PNGs
            return array.astype(np.uint16), 16, False, False
        return _native(array).astype(np.int32, copy=False), 32, False, False
    if mode == "F":
        return _native(np.array(im)).astype(np.float32, copy=False), 32, True, False
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


def _read_png16(source, path: str, head: bytes) -> np.ndarray:
    """A 16-bit colour PNG, exactly: (H, W, C) uint16, C = 2 (LA), 3 (RGB) or 4 (RGBA).

    A tRNS colour key on an RGB image becomes an alpha channel (0 where the colour matches).
    """
    try:
        import png  # pypng: Pillow has no 16-bit colour modes and would drop the low byte.
    except ImportError:
        raise PoolError(
            "is a 16-bit colour PNG; reading it without losing bits needs the pypng package "
            "(pip install pypng).",
            path=path,
        ) from None

    try:
        with contextlib.ExitStack() as stack:
            if isinstance(source, (bytes, bytearray)):
                reader = png.Reader(bytes=bytes(source))
            else:
                reader = png.Reader(file=stack.enter_context(open(source, "rb")))
            width, height, rows, meta = reader.read()
            planes = meta["planes"]
            array = np.empty((height, width * planes), dtype=np.uint16)
            for y, row in enumerate(rows):
                array[y] = row
    except MemoryError:
        raise PoolError("is too large to read into memory.", path=path) from None
    except Exception:
        raise _damaged(head, path) from None
    array = array.reshape(height, width, planes)
    key = meta.get("transparent")
    if planes == 3 and key is not None:
        alpha = np.where((array == np.asarray(key, np.uint16)).all(axis=2), 0, 65535)
        array = np.concatenate([array, alpha.astype(np.uint16)[..., None]], axis=2)
    return array


# --------------------------------------------------------------------------------------------
# Writing


_O_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation


#: In the names of temporary files: ``.NAME.poolcli-tmp-PID-XXXXXXXX.SUFFIX`` (see temp_name).
TEMP_MARK = ".poolcli-tmp-"
_TEMP_NAME = re.compile(r"^\..*\.poolcli-tmp-(\d+)-[0-9a-f]{8}")


def temp_name(path: str) -> str:
    """A fresh temporary name next to ``path``: ``.NAME.poolcli-tmp-PID-XXXXXXXX.SUFFIX``.

    Hidden, never mistaken for an output, and naming its process, so that
    :func:`clean_stale_temps` can tell the leftovers of a killed run from files being written.
    """
    folder, base = os.path.split(path)
    suffix = os.path.splitext(base)[1]
    token = secrets.token_hex(4)
    return os.path.join(folder, f".{base[:100]}{TEMP_MARK}{os.getpid()}-{token}{suffix}")


def clean_stale_temps(folder: str) -> list[str]:
    """Delete temporary files of killed poolcli processes in ``folder``; returns the names
    removed. Files of processes still running are left alone."""
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP_NAME.match(entry.name)
        if not match or _pid_alive(int(match.group(1))):
            continue
        with contextlib.suppress(OSError):
            if entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
                removed.append(entry.name)
    return removed


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    # A killed process that nobody reaped (a container without an init) still answers kill().
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


@contextlib.contextmanager
def atomic_write(path: str, *, fsync: bool = False) -> Iterator[BinaryIO]:
    """Open a temporary file next to ``path`` for writing; rename it over ``path`` on success.

    On any exception in the ``with`` block (Ctrl-C included) the temporary file is removed and
    ``path`` is left as it was, so an output file is either complete or absent. The new file
    gets the usual permissions (0666 less the umask). ``fsync=True`` also flushes the data to
    the disk before the rename, so that a power cut cannot leave an empty file; it is off by
    default because it costs about as much as writing a large array.

    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> with atomic_write(os.path.join(folder, "out.bin")) as f:
    ...     _ = f.write(b"done")
    >>> os.listdir(folder)
    ['out.bin']
    >>> import shutil; shutil.rmtree(folder)

    Raises
    ------
    PoolError
        When ``path`` is a directory, its folder does not exist, or writing fails (a full
        disk, no permission).
    """
    if os.path.isdir(path):
        raise PoolError("is a directory; give a file name for the output.", path=path)
    target = os.path.abspath(path)
    fd = None
    try:
        for _ in range(100):  # a random name is taken only if another write races this one
            tmp = temp_name(target)
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_BINARY, 0o666)
                break
            except FileExistsError:
                continue
    except FileNotFoundError:
        shown = os.path.dirname(path) or "."
        raise PoolError(
            f"cannot be written: the folder {shown} does not exist.", path=path
        ) from None
    except OSError as error:
        raise PoolError(f"cannot be written: {error.strerror}.", path=path) from None
    if fd is None:
        raise PoolError("cannot be written: no free temporary file name.", path=path)
    f = os.fdopen(fd, "wb")
    try:
        yield f
        f.flush()
        if fsync:
            os.fsync(f.fileno())
        f.close()
        os.replace(tmp, path)
    except BaseException as error:
        f.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(error, OSError) and error.errno is not None:
            raise PoolError(f"could not be written: {error.strerror}.", path=path) from None
        raise


def write_npy_stream(stream: BinaryIO, array) -> None:
    """Write ``array`` as ``.npy`` bytes to a binary stream (standard output for ``-o -``)."""
    np.lib.format.write_array(stream, np.asanyarray(array), allow_pickle=False)
    stream.flush()


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


def write_output(
    path: str,
    array,
    source: LoadedInput | None = None,
    *,
    layout: str | None = None,
    png_compression: int = 6,
) -> list[str]:
    """Write ``array`` to ``path`` atomically, as ``.npy`` or an image by the suffix.

    ``.npy`` gets the exact array. An image suffix (.png .tif .tiff .jpg .jpeg .bmp .webp
    .gif) gets an image of the *input's* depth:

    * an image input: its bit depth (8 or 16, or 32-bit integer); a float TIFF input gives a
      float TIFF;
    * a ``.npy`` input (or no ``source``: the array's own dtype): uint8, int8 and other
      integers -> 8-bit; uint16 and int16 -> 16-bit; bool -> 8-bit with ``True`` as 255
      (the value scale 0..1 maps to 0..255, so an averaged mask keeps its meaning); floating
      arrays -> a 32-bit float TIFF only (poolcli does not guess how to scale floats into
      integers: use .tif or .npy, or convert the input to integers first).

    Values are rounded half to even and clipped to the depth's range, with a warning that
    counts the clipped values (NaN becomes 0, also with a warning); they never wrap. The
    array must be ``HW`` or ``HWC`` with 1 to 4 channels (``layout``, when given, must say
    so). The input's ICC profile is carried to PNG, TIFF, JPEG and WebP outputs. JPEG is
    written at quality 95 and WebP losslessly.

    Parameters
    ----------
    path : str
        Output file; never the input file.
    array : numpy.ndarray
        The data to write.
    source : LoadedInput, optional
        The input it was made from: decides the bit depth and the ICC profile.
    layout : str, optional
        The array's layout, when known; image outputs need ``HW`` or ``HWC``.
    png_compression : int
        zlib level 0-9 of PNG outputs (default 6, as libpng and Pillow).

    Returns
    -------
    list of str
        Warnings for the user (clipped values, a dropped colour profile...).

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
            np.lib.format.write_array(f, array, allow_pickle=False)
        return []
    channels = _image_channels(array, layout, path)
    depth, scale = _target_depth(array, source)
    _check_format_holds(fmt, depth, channels, path)
    notes: list[str] = []
    pixels = _to_pixels(array, depth, scale, notes)
    if channels == 1 and pixels.ndim == 3:
        pixels = pixels[..., 0]
    icc = source.image.icc_profile if source is not None and source.image is not None else None
    if depth == 16 and channels > 1:
        encoded = _encode_png16(pixels, icc, png_compression)
        with atomic_write(path) as f:
            f.write(encoded)
        return notes
    _save_pillow(path, fmt, pixels, channels, icc, notes, png_compression)
    return notes


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


_FORMAT_NAMES = {
    "PNG": "PNG",
    "TIFF": "TIFF",
    "JPEG": "JPEG",
    "BMP": "BMP",
    "WEBP": "WebP",
    "GIF": "GIF",
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
    name = _FORMAT_NAMES[fmt]
    raise PoolError(
        f"{name} cannot hold {article} {bits} {kind} image; write it as {choice}.", path=path
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


def _save_pillow(path, fmt, pixels, channels, icc, notes, png_compression=6) -> None:
    from PIL import Image

    image = Image.fromarray(np.ascontiguousarray(pixels))
    options: dict = {"compress_level": png_compression} if fmt == "PNG" else {}
    if fmt == "JPEG":
        options["quality"] = 95
    if fmt == "WEBP":
        options.update(lossless=True, exact=True)
        if channels <= 2:
            stored = "RGB" if channels == 1 else "RGBA"
            notes.append(f"WebP has no grayscale images; it was stored as {stored}.")
    if fmt == "GIF" and channels == 3:
        colours = np.unique(pixels.reshape(-1, 3), axis=0).shape[0]
        if colours > 256:
            notes.append(f"GIF holds at most 256 colours; the {colours} colours were reduced.")
    if icc:
        if fmt in ("PNG", "TIFF", "JPEG", "WEBP"):
            options["icc_profile"] = icc
        else:
            notes.append(
                f"{_FORMAT_NAMES[fmt]} cannot carry the input's ICC colour profile; "
                "it was left out."
            )
    with atomic_write(path) as f:
        image.save(f, format=fmt, **options)


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def _encode_png16(pixels: np.ndarray, icc: bytes | None, level: int = 6) -> bytes:
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
