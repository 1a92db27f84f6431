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
    try:
        _check_complete(series, path)
        alpha = _alpha_of(series.pages[0], axes, data.dtype, path)
    except PoolError:
        tif.close()
        raise
    return LazyArray(
        data,
        path,
        "tiff",
        chunks=tuple(data.chunks),
        axes=letters,
        scale=_ome_scale(tif, letters),
        pixels="S" in axes,
        alpha=alpha is not None,
        premultiplied=alpha == "associated",
        extra={"file": tif, "store": store},
    )


def _check_complete(series, path: str) -> None:
    """A file cut short fails here, from its headers: every strip or tile its pages name
    must lie inside the file (compressed ones too)."""
    size = os.path.getsize(path)
    end = 0
    for page in series.pages:
        if page is None:
            continue
        ends = [o + n for o, n in zip(page.dataoffsets, page.databytecounts) if n]
        end = max(end, *ends) if ends else end
    if end > size:
        raise PoolError(
            f"is cut short: its pages' data end at byte {end}, but the file has {size} bytes.",
            path=path,
        )


#: TIFF's ExtraSamples values for alpha, and the photometric interpretations that carry it.
_ALPHA_SAMPLES = {1: "associated", 2: "unassociated"}
_GREY_OR_RGB = (1, 2)


def _alpha_of(page, axes: str, dtype, path: str) -> str | None:
    """``associated`` (premultiplied), ``unassociated`` or ``None``: what the last sample of
    an image's pixels is, as Pillow reads it (so that blocks follow the image's alpha rule)."""
    extra = tuple(int(e) for e in (getattr(page, "extrasamples", None) or ()))
    photometric = int(getattr(page, "photometric", -1) or -1)
    if "S" not in axes or not extra or photometric not in _GREY_OR_RGB:
        return None
    kind = _ALPHA_SAMPLES.get(extra[-1])
    if kind == "associated" and dtype.kind != "u":
        raise PoolError(
            f"holds premultiplied alpha in {dtype} samples, which poolcli cannot turn into "
            "straight alpha; save it with straight (unassociated) alpha.",
            path=path,
        )
    return kind


def straight_colour(values, channel_axis: int):
    """Premultiplied colour made straight as Pillow does (``colour * max // alpha``, clipped;
    full alpha is left as it is, and so is alpha 0 but in RGBA, where Pillow makes it black)."""
    import numpy as np

    top = np.iinfo(values.dtype).max
    alpha = np.take(values, [-1], axis=channel_axis).astype(np.int64)
    colour = np.take(values, range(values.shape[channel_axis] - 1), axis=channel_axis)
    partial = (alpha > 0) & (alpha < top)
    divided = np.minimum(colour.astype(np.int64) * top // np.where(partial, alpha, 1), top)
    colour = np.where(partial, divided, colour).astype(values.dtype)
    if colour.shape[channel_axis] == 3:
        colour = np.where(alpha > 0, colour, 0).astype(values.dtype)
    return np.concatenate([colour, np.take(values, [-1], axis=channel_axis)], axis=channel_axis)


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


def _photometric(samples: int, alpha: bool) -> dict:
    """How a TIFF names its samples per pixel: RGB for 3 or 4 (the 4th, and the 2nd of
    grey, straight alpha when ``alpha``, else unspecified), grey otherwise."""
    colour = samples in (3, 4)
    extra = samples - (3 if colour else 1)
    kinds = {"photometric": "rgb" if colour else "minisblack"}
    if samples and extra > 0:
        kinds["planarconfig"] = "contig"
        last = "unassalpha" if alpha and extra == 1 else "unspecified"
        kinds["extrasamples"] = ["unspecified"] * (extra - 1) + [last]
    return kinds


def write_tiff(path: str, data, layout: str, scale=None, tile=(256, 256), alpha=False) -> None:
    """Write ``data`` (a numpy array or memory map) as a tiled (Big)TIFF with OME axes;
    ``alpha``: the last of an image's channels is straight alpha."""
    tifffile = need("tifffile", f"{path}: writing TIFF")
    tmp = temp_name(os.path.abspath(path))
    axes = "".join(_TIFF_AXES[c] for c in layout)
    if layout.endswith("C") and "H" in layout and layout[-2] == "W":
        axes = axes[:-1] + "S"  # an image's channels: samples per pixel
        if data.shape[-1] == 1:  # one sample per pixel: a grey image (TIFF has no other)
            data, axes = data[..., 0], axes[:-1]
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
            **_photometric(data.shape[-1] if axes.endswith("S") else 0, alpha),
        )
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
