"""Zarr arrays (format v2 and v3) and OME-Zarr images, in and out, through zarr-python.

An input ``.zarr`` is an array, or a group holding OME-NGFF ``multiscales`` (its first
dataset is read, with the axes and scale its metadata gives). Outputs are written into a
temporary folder next to the target and renamed when complete, so an interrupted run leaves
no partial ``.zarr``.
"""

from __future__ import annotations

import os
import shutil

from poolcli.errors import PoolError
from poolcli.io.lazy import OME_LETTERS, LazyArray, need

#: Layout letters -> OME axis names and types.
OME_AXES = {
    "N": ("t", "time"),
    "C": ("c", "channel"),
    "D": ("z", "space"),
    "H": ("y", "space"),
    "W": ("x", "space"),
}


def open_zarr(path: str) -> LazyArray:
    """Open a Zarr array, or an OME-Zarr image's first (finest) level."""
    zarr = need("zarr", f"{path}: reading Zarr")
    try:
        node = zarr.open(path, mode="r")
    except Exception as error:
        raise PoolError(f"cannot be read as Zarr: {error}.", path=path) from None
    axes = scale = units = None
    if not hasattr(node, "shape"):
        ome = node.attrs.get("ome", node.attrs)
        multiscales = ome.get("multiscales")
        if not multiscales:
            raise PoolError("is a Zarr group without an array or OME multiscales.", path=path)
        first = multiscales[0]
        dataset = first["datasets"][0]
        axes, units = _axes_of(first.get("axes"))
        scale = _scale_of(dataset)
        node = node[dataset["path"]]
    fmt = node.metadata.zarr_format
    from poolcli.io.zarr_chunks import ChunkFiles

    return LazyArray(
        node,
        path,
        "zarr",
        chunks=tuple(node.chunks),
        axes=axes,
        scale=scale,
        units=units,
        zarr_format=fmt,
        extra={"chunk_files": ChunkFiles.of(node), "compressors": tuple(node.compressors)},
    )


def _axes_of(axes) -> tuple[str | None, tuple | None]:
    if not axes:
        return None, None
    names = [a["name"] if isinstance(a, dict) else a for a in axes]
    letters = "".join(OME_LETTERS.get(str(n).lower(), "N") for n in names)
    units = tuple(a.get("unit") if isinstance(a, dict) else None for a in axes)
    return letters, units


def _scale_of(dataset) -> tuple[float, ...] | None:
    for transform in dataset.get("coordinateTransformations", ()):
        if transform.get("type") == "scale":
            return tuple(float(v) for v in transform["scale"])
    return None


def replace_tree(tmp: str, path: str) -> None:
    """Move the finished folder ``tmp`` to ``path``, replacing what was there."""
    if os.path.lexists(path):
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)
    os.replace(tmp, path)


def ome_metadata(layout: str, scales: list[tuple[float, ...]], units=None, name="image") -> dict:
    """NGFF 0.4 ``multiscales`` for levels ``"0"``, ``"1"``... with these per-axis scales."""
    axes = []
    for i, letter in enumerate(layout):
        axis_name, kind = OME_AXES[letter]
        axis = {"name": axis_name, "type": kind}
        unit = units[i] if units else None
        if unit and kind == "space":
            axis["unit"] = unit
        axes.append(axis)
    datasets = [
        {
            "path": str(level),
            "coordinateTransformations": [{"type": "scale", "scale": [float(s) for s in scale]}],
        }
        for level, scale in enumerate(scales)
    ]
    return {"multiscales": [{"version": "0.4", "name": name, "axes": axes, "datasets": datasets}]}


def ome_order_ok(layout: str) -> bool:
    """NGFF orders axes time, channel, then space (z, y, x)."""
    order = "NCDHW"
    positions = [order.index(c) for c in layout]
    return positions == sorted(positions) and layout.count("N") <= 1
