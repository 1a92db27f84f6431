"""Pyramids: N successively pooled levels, each pooled block by block from the one before.

:func:`pyramid` writes an OME-Zarr multiscale image (NGFF 0.4 on Zarr v2: level ``"0"`` is
the input, ``"1"``... the pooled levels, with ``multiscales`` metadata giving the axes and each
level's scale) when the output ends in ``.zarr``, else a folder with one file per pooled
level (``1.npy``, ``2.npy``... or the suffix asked for). Everything is written into a
temporary folder renamed when the last level is done: an interrupted run leaves nothing.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass

from poolcli.blocks.run import open_source, pool_blockwise
from poolcli.errors import PoolError, UsageError
from poolcli.model.layout import Layout
from poolcli.model.options import PoolOptions, resolve_layout
from poolcli.model.reductions import Reduction, parse_reduction
from poolcli.model.window import WindowSpec, resolve

#: Chunk side of every level of an OME-Zarr pyramid (spatial axes).
LEVEL_CHUNK = 256
#: The identity: level 0 copied block by block (max over one cell keeps every dtype).
COPY = WindowSpec.make(kernel_size=1)


@dataclass
class Pyramid:
    """What :func:`pyramid` wrote: the output, and each level's path, shape and scale."""

    output: str
    layout: Layout
    paths: list[str]
    shapes: list[tuple[int, ...]]
    scales: list[tuple[float, ...]]


def level_shapes(shape, layout: Layout, spec: WindowSpec, levels: int) -> list[tuple]:
    """The shape of level 0 (``shape``) and of each pooled level; a level too small for the
    window is a :class:`PoolError` naming it."""
    shapes = [tuple(shape)]
    for level in range(1, levels + 1):
        previous = shapes[-1]
        try:
            windows = resolve(spec, layout.spatial_shape(previous), layout.spatial)
        except UsageError as error:
            raise PoolError(
                f"cannot have {levels} levels: level {level} would pool "
                f"{'x'.join(map(str, previous))} cells ({error.message.rstrip('.')}). "
                "Ask for fewer --levels."
            ) from None
        out = list(previous)
        for axis, window in zip(layout.spatial_axes, windows):
            out[axis] = window.out
        shapes.append(tuple(out))
    return shapes


def pyramid(
    source: str,
    output: str,
    levels: int,
    reduction: Reduction | str = Reduction.AVG,
    spec: WindowSpec | None = None,
    *,
    layout: str | None = None,
    options: PoolOptions | None = None,
    max_memory: int = 512 * 2**20,
    scheduler: str | None = None,
    progress: Callable[[int, int, int], None] | None = None,
) -> Pyramid:
    """Write ``levels`` pooled levels of ``source`` (``.npy``, ``.zarr``, ``.tif``) to
    ``output`` (see the module notes). ``progress(level, done, total)`` after each block."""
    reduction = reduction if isinstance(reduction, Reduction) else parse_reduction(reduction)
    spec = spec or WindowSpec.make(kernel_size=2)
    with open_source(source) as data:
        chosen, _ = resolve_layout(tuple(data.shape), layout or data.axes)
        base = data.scale or (1.0,) * len(data.shape)
        units = data.units
        shape = tuple(data.shape)
    shapes = level_shapes(shape, chosen, spec, levels)
    ome = output.lower().rstrip("/" + os.sep).endswith(".zarr")
    if ome:
        _check_ome_order(chosen, output)
    target = output.rstrip("/" + os.sep)
    from poolcli.io.atomic import temp_name

    tmp = temp_name(os.path.abspath(target))
    os.makedirs(tmp)
    try:
        done = _write_levels(
            source,
            tmp,
            ome,
            shapes,
            chosen,
            base,
            reduction,
            spec,
            options,
            max_memory,
            scheduler,
            progress,
        )
        if ome:
            _write_ome(tmp, chosen, done.scales, units)
        from poolcli.io.zarr_store import replace_tree

        replace_tree(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    done.output = target
    done.paths = [os.path.join(target, os.path.basename(p)) for p in done.paths]
    return done


def _check_ome_order(layout: Layout, output: str) -> None:
    from poolcli.io.zarr_store import ome_order_ok

    if not ome_order_ok(str(layout)):
        raise PoolError(
            f"OME-Zarr orders axes time, channel, then z, y, x; the layout {layout} does "
            "not. Give a folder output instead (-o DIR/), or an input laid out as CHW.",
            path=output,
        )


def _write_levels(
    source,
    tmp,
    ome,
    shapes,
    layout,
    base,
    reduction,
    spec,
    options,
    max_memory,
    scheduler,
    progress,
) -> Pyramid:
    suffix = ".zarr" if ome else _suffix(source)
    paths, scales = [], [tuple(base)]
    previous = source
    if ome:
        import zarr

        zarr.open_group(tmp, mode="w", zarr_format=2)
    first = 0 if ome else 1
    for level in range(first, len(shapes)):
        path = os.path.join(tmp, str(level) if ome else f"{level}{suffix}")
        chunks = tuple(
            min(LEVEL_CHUNK, n) if i in layout.spatial_axes else n
            for i, n in enumerate(shapes[level])
        )
        pool_blockwise(
            previous,
            Reduction.MAX if level == 0 else reduction,
            COPY if level == 0 else spec,
            path,
            layout=str(layout),
            options=options,
            max_memory=max_memory,
            scheduler=scheduler,
            progress=(lambda d, t, lv=level: progress(lv, d, t)) if progress else None,
            chunks=chunks,
            zarr_format=2,
            output_format="zarr" if ome else None,
        )
        if level > 0:
            scales.append(_scale(scales[-1], shapes[level - 1], spec, layout))
        paths.append(path)
        previous = path
    return Pyramid(tmp, layout, paths, list(shapes[first:]), scales[first:] if ome else scales[1:])


def _scale(scale, before, spec: WindowSpec, layout: Layout) -> tuple[float, ...]:
    """A pooled axis's scale multiplies by the stride (adaptive bins: by size / out)."""
    out = list(scale)
    windows = resolve(spec, layout.spatial_shape(before), layout.spatial)
    for axis, window in zip(layout.spatial_axes, windows):
        step = window.stride if window.bins is None else window.size / window.out
        out[axis] = scale[axis] * step
    return tuple(out)


def _suffix(source: str) -> str:
    low = str(source).lower().rstrip("/" + os.sep)
    for suffix in (".zarr", ".tiff", ".tif", ".npy"):
        if low.endswith(suffix):
            return ".tif" if suffix == ".tiff" else suffix
    return ".npy"


def _write_ome(folder: str, layout: Layout, scales, units) -> None:
    import zarr

    from poolcli.io.zarr_store import ome_metadata

    name = os.path.basename(folder)
    group = zarr.open_group(folder, mode="r+", zarr_format=2)
    group.attrs.update(ome_metadata(str(layout), scales, units, name=name))
