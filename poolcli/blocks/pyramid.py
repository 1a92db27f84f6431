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
        given = (source, tmp, ome, shapes, chosen, base, reduction, spec, options or PoolOptions())
        done = None
        if scheduler is None:
            done = _write_in_bands(*given, max_memory, progress)
        if done is None:
            done = _write_levels(*given, max_memory, scheduler, progress)
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


def _level_path(tmp: str, ome: bool, source, level: int) -> str:
    return os.path.join(tmp, str(level) if ome else f"{level}{_suffix(source)}")


def _level_chunks(shape, layout: Layout) -> tuple[int, ...]:
    return tuple(
        min(LEVEL_CHUNK, n) if i in layout.spatial_axes else n for i, n in enumerate(shape)
    )


def _write_in_bands(
    source, tmp, ome, shapes, layout, base, reduction, spec, options, max_memory, progress
) -> Pyramid | None:
    """Every level from one pass over the input (:mod:`poolcli.blocks.levels`), or ``None``
    when the windows overlap or a band of whole rows does not fit ``max_memory``."""
    from concurrent.futures import ThreadPoolExecutor

    from poolcli.blocks.levels import band_rows, pool_levels

    first = 0 if ome else 1
    axis = layout.spatial_axes[0]
    chunk = _level_chunks(shapes[0], layout)[axis] if ome else 1
    with open_source(source) as data:
        rows = band_rows(shapes, layout, spec, data.dtype.itemsize, max_memory, chunk)
        if not rows:
            return None
        scales = [tuple(base)]
        for level in range(1, len(shapes)):
            scales.append(_scale(scales[-1], shapes[level - 1], spec, layout))
        if ome:
            import zarr

            zarr.open_group(tmp, mode="w", zarr_format=2)
        with ThreadPoolExecutor(1, thread_name_prefix="poolcli-write") as writer:
            alpha = bool(getattr(data, "alpha", False)) and not options.straight_alpha
            where = (source, tmp, ome, data.scale is not None, alpha, writer)
            outputs = _level_outputs(where, shapes, layout, scales, first)
            try:
                job = (reduction, spec, options, max_memory)
                pool_levels(data, shapes, layout, job, outputs, rows, progress)
                for level in outputs[first:]:
                    level.sink.commit()
            except BaseException:
                for level in outputs[first:]:
                    if level.sink is not None:
                        level.sink.discard()
                raise
    paths = [_level_path(tmp, ome, source, level) for level in range(first, len(shapes))]
    return Pyramid(tmp, layout, paths, list(shapes[first:]), scales[first:] if ome else scales[1:])


def _level_outputs(where, shapes, layout: Layout, scales, first: int) -> list:
    """The :class:`~poolcli.blocks.levels.LevelRows` of each level written (``None`` for
    level 0 of a folder of levels); ``where`` is ``(source, tmp, ome, scaled, alpha,
    writer)``."""
    from poolcli.blocks.levels import LevelRows
    from poolcli.io.sinks import open_sink

    source, tmp, ome, scaled, alpha, writer = where
    axis = layout.spatial_axes[0]
    zarr_levels = ome or _suffix(source) == ".zarr"
    outputs = [None] * len(shapes)
    for level in range(first, len(shapes)):
        chunks = _level_chunks(shapes[level], layout)

        def opener(dtype, level=level, chunks=chunks):
            path = _level_path(tmp, ome, source, level)
            scale = scales[level] if scaled else None
            fmt = "zarr" if ome else None
            sink = open_sink(path, shapes[level], dtype, str(layout), chunks, scale, 2, None, fmt)
            sink.alpha = alpha  # a TIFF level says which sample is alpha
            return sink

        rows = chunks[axis] if zarr_levels else 1
        outputs[level] = LevelRows(opener, axis, rows, writer)
    return outputs


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
    paths, scales = [], [tuple(base)]
    previous = source
    with open_source(source) as data:  # the image's rules hold at every level
        image = (bool(getattr(data, "pixels", False)), bool(getattr(data, "alpha", False)))
    if ome:
        import zarr

        zarr.open_group(tmp, mode="w", zarr_format=2)
    first = 0 if ome else 1
    for level in range(first, len(shapes)):
        path = _level_path(tmp, ome, source, level)
        chunks = _level_chunks(shapes[level], layout)
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
            image=(False, False) if level == 0 else image,  # level 0: the input as it is
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
