"""8-bit PNG encoding: libspng (``pyspng``) where it is faster, Pillow where it is smaller.

:func:`encode_png` writes L, LA, RGB and RGBA uint8 arrays with no metadata (no ICC profile,
text or gamma: :func:`poolcli.io.write.write_output` sends images that carry a profile, and
palette images, to Pillow). Every encoder here is lossless, so whichever is chosen the file
decodes to the same pixels; only its bytes and the time taken differ.

How ``--png-compression`` maps onto encoders (``ENCODERS``), from ``benchmarks/bench_png.py``
(table in benchmarks/README.md). Each entry is the set of candidates tried; the smallest
output wins. The measurements behind it, relative to Pillow at zlib 6 (the old default):

* Photos: libspng at zlib 1 or 2 is 4-5x faster than Pillow 6 and about 2.5% *smaller*; its
  higher levels are not smaller (within 1% of level 1, level 1 smallest) and as slow as
  Pillow. Pillow at 1-3 is fast but ~18% larger (Pillow filters rows differently there).
* Flat graphics (labels, text, ``--viz`` pictures): libspng 1 is up to 1.16x (1.2x on a tiny
  64x64 RGBA) the size of Pillow 6; libspng 2 up to 1.08x (1.12x on the tiny one); libspng 9
  and Pillow 9 are the smallest (0.8-1.0x), Pillow 9 very slow on big pictures.

So: 0 stores (libspng 0, the fastest); 1 is libspng 1, the fastest that compresses; 2-6 are
libspng 2, the default: several times faster than Pillow 6 on photos and smaller, and within
~1.1x on flat graphics. 7-9 try more candidates, each level a superset of the one before, so
size never grows from 6 to 9 and time never falls: 7 adds libspng 9, 8 libspng 1, 9 Pillow 9.
On photos libspng 1 is 0.2% smaller than libspng 2: the only step where a higher level may
give a (barely) larger file.
"""

from __future__ import annotations

import io

import numpy as np

#: ``--png-compression`` level -> candidates ``(encoder, zlib level)``; the smallest wins.
ENCODERS: dict[int, tuple[tuple[str, int], ...]] = {
    0: (("spng", 0),),
    1: (("spng", 1),),
    2: (("spng", 2),),
    3: (("spng", 2),),
    4: (("spng", 2),),
    5: (("spng", 2),),
    6: (("spng", 2),),
    7: (("spng", 2), ("spng", 9)),
    8: (("spng", 2), ("spng", 9), ("spng", 1)),
    9: (("spng", 2), ("spng", 9), ("spng", 1), ("pillow", 9)),
}

#: How each number of channels is stored (Pillow's mode names).
MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}


def encode_png(pixels: np.ndarray, level: int = 6) -> bytes:
    """PNG bytes of an 8-bit ``HW`` or ``HWC`` (1-4 channels) array at ``--png-compression``
    ``level`` (0 fastest ... 9 smallest), with no metadata."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[..., 0]
    best: bytes | None = None
    for encoder, zlevel in ENCODERS[level]:
        data = _encode(encoder, pixels, zlevel)
        if best is None or len(data) < len(best):
            best = data
    assert best is not None
    return best


def _encode(encoder: str, pixels: np.ndarray, zlevel: int) -> bytes:
    if encoder == "spng" and pixels.size:  # libspng refuses empty images: Pillow explains
        try:
            import pyspng
        except ImportError:  # a dependency, but Pillow writes the same pixels without it
            pass
        else:
            return pyspng.encode(pixels, compress_level=zlevel)
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", compress_level=zlevel)
    return buffer.getvalue()


#: Chunks that cannot change what Pillow reads: a PNG with any other (a profile, gamma, a
#: colour key, EXIF or text that may hold an orientation, animation...) is left to Pillow.
PLAIN_CHUNKS = frozenset({b"IHDR", b"IDAT", b"IEND", b"pHYs", b"tIME"})


def decode_plain_png(data: bytes) -> np.ndarray | None:
    """The pixels of an 8-bit grayscale/RGB PNG with or without alpha and with nothing but
    :data:`PLAIN_CHUNKS`, decoded by libspng (1.2-2x faster than Pillow: see
    benchmarks/README.md): ``HW`` for L, ``HWC`` for LA, RGB and RGBA. ``None`` for any
    other PNG, or when libspng cannot read it (Pillow then reads it, or says why not)."""
    if len(data) < 33 or data[24] != 8 or data[25] not in (0, 2, 4, 6):
        return None
    position = 8
    while position + 8 <= len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        if data[position + 4 : position + 8] not in PLAIN_CHUNKS:
            return None
        position += 12 + length
    try:
        import pyspng

        array = pyspng.load(data)
    except Exception:  # damaged, or no libspng: Pillow's reading says what is wrong
        return None
    channels = {0: 1, 4: 2, 2: 3, 6: 4}[data[25]]
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    shape = (1 if array.ndim == 2 else array.shape[2]) if array.ndim in (2, 3) else 0
    return array if array.dtype == np.uint8 and shape == channels else None
