"""TIFF, BigTIFF and OME-TIFF in pieces, through tifffile.

Reading opens the first series as a Zarr store over the file's tiles and strips, so that a
slice reads only the tiles it touches; a multi-page stack reads as ``DHW``. Axes come from
tifffile's series axes (``YX``, ``ZYX``, ``YXS``...), and OME-TIFF's physical sizes give the
scale. Writing goes through a temporary file renamed when complete; files over 2 GiB are
BigTIFF, and the axes and scale are written as OME metadata.
"""

from __future__ import annotations

import os

from poolcli.errors import PoolError
from poolcli.io.atomic import temp_name
from poolcli.io.lazy import TIFF_LETTERS, LazyArray, need

_OME_SIZES = {"D": "PhysicalSizeZ", "H": "PhysicalSizeY", "W": "PhysicalSizeX"}
_TIFF_AXES = {"N": "T", "C": "C", "D": "Z", "H": "Y", "W": "X"}


def open_tiff(path: str) -> LazyArray:
    tifffile = need("tifffile", f"{path}: reading TIFF")
    zarr = need("zarr", f"{path}: reading TIFF in pieces")
    try:
        tif = tifffile.TiffFile(path)
        series = tif.series[0]
        axes = series.axes
        store = series.aszarr()
        data = zarr.open_array(store, mode="r")
    except Exception as error:
        raise PoolError(f"cannot be read as TIFF: {error}.", path=path) from None
    letters = "".join(TIFF_LETTERS.get(a, "N") for a in axes)
    if letters.endswith("C") and axes.endswith("S") and "H" in letters:
        pass  # samples per pixel: an image's channels, last (HWC)
    scale = _ome_scale(tif, letters)
    return LazyArray(
        data,
        path,
        "tiff",
        chunks=tuple(data.chunks),
        axes=letters,
        scale=scale,
        extra={"file": tif, "store": store},
    )


def _ome_scale(tif, letters: str) -> tuple[float, ...] | None:
    if not tif.is_ome:
        return None
    import xml.etree.ElementTree as ElementTree

    try:
        root = ElementTree.fromstring(tif.ome_metadata)
        pixels = next(e for e in root.iter() if e.tag.endswith("Pixels"))
    except Exception:
        return None
    return tuple(float(pixels.get(_OME_SIZES.get(c, ""), 1.0)) for c in letters)


def write_tiff(path: str, data, layout: str, scale=None, tile=(256, 256)) -> None:
    """Write ``data`` (a numpy array or memory map) as a tiled (Big)TIFF with OME axes."""
    tifffile = need("tifffile", f"{path}: writing TIFF")
    tmp = temp_name(os.path.abspath(path))
    axes = "".join(_TIFF_AXES[c] for c in layout)
    if layout.endswith("C") and "H" in layout and layout[-2] == "W":
        axes = axes[:-1] + "S"  # an image's channels: samples per pixel
    metadata = {"axes": axes}
    for letter, value in zip(layout, scale or ()):
        if letter in _OME_SIZES:
            metadata[_OME_SIZES[letter]] = float(value)
    spatial = [data.shape[i] for i, c in enumerate(layout) if c in "HW"]
    tiled = len(spatial) == 2 and min(spatial) >= 16
    tile = tuple(min(t, s) // 16 * 16 for t, s in zip(tile, spatial)) if tiled else None
    nbytes = data.size * data.dtype.itemsize
    try:
        tifffile.imwrite(
            tmp,
            data,
            ome=True,
            metadata=metadata,
            tile=tile,
            bigtiff=nbytes > 2**31,
            photometric="minisblack" if not axes.endswith("S") else None,
        )
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
