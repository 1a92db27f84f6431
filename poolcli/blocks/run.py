"""Blockwise pooling: any reduction over any windowing, a block at a time, within a memory
budget, with the same engine and the same results as pooling the whole array at once.

:func:`pool_blockwise` plans the blocks (:mod:`poolcli.model.blocks`), reads each block with
its halo from a lazy source (:mod:`poolcli.io.lazy`), pools it with
:func:`poolcli.engine.ops.pool_array` and writes it to the output (:mod:`poolcli.io.sinks`).
Blocks run here, or as Dask tasks (:mod:`poolcli.blocks.schedule`).
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable
from dataclasses import dataclass

from poolcli.blocks.schedule import check_scheduler, memory_share, run_tasks
from poolcli.errors import PoolError, UsageError
from poolcli.model.blocks import BlockPlan, plan_blocks
from poolcli.model.layout import Layout
from poolcli.model.options import PoolOptions, resolve_layout
from poolcli.model.reductions import Reduction, parse_reduction
from poolcli.model.window import AxisWindow, WindowSpec, resolve

#: The share of ``--max-memory`` left to the engine's own chunking (median, mode, sampling).
ENGINE_SHARE = 4


@dataclass
class Blockwise:
    """What a blockwise pooling did: the output (an array when no path was given, else the
    path), its shape, dtype and layout, the windows and the block plan."""

    output: object
    shape: tuple[int, ...]
    dtype: str
    layout: Layout
    layout_guessed: bool
    windows: tuple[AxisWindow, ...]
    plan: BlockPlan
    source: object
    #: Whether straight alpha was premultiplied for pooling, as the in-memory engine does.
    premultiplied: bool = False


@dataclass(frozen=True)
class BlockJob:
    """Everything a block task needs, sent once to each worker (picklable)."""

    source: object  # a path, or an in-memory array
    layout: str
    reduction: Reduction
    count_include_pad: bool
    options: PoolOptions
    grid: tuple[int, ...]
    #: An image's rules, as the in-memory engine applies them (:func:`poolcli.engine.core.run`):
    #: the last channel is straight alpha, and the C axis holds one pixel.
    alpha: bool = False
    pixels: bool = False


def open_source(source):
    """A :class:`~poolcli.io.lazy.LazyArray` for a path, or the array itself."""
    if isinstance(source, (str, os.PathLike)):
        from poolcli.io.lazy import open_lazy

        return open_lazy(os.fspath(source))
    return source


def pool_blockwise(
    source,
    reduction: Reduction | str,
    spec: WindowSpec,
    output: str | None = None,
    *,
    layout: str | None = None,
    options: PoolOptions | None = None,
    max_memory: int = 512 * 2**20,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    chunks: tuple[int, ...] | None = None,
    zarr_format: int | None = None,
    output_format: str | None = None,
    image: tuple[bool, bool] | None = None,
) -> Blockwise:
    """Pool ``source`` (a path: ``.npy``, ``.zarr``, ``.tif``; or an array) block by block.

    ``max_memory`` (bytes) bounds the blocks (a quarter goes to the engine's own chunking;
    a local ``threads``/``processes`` pool divides it among its tasks).
    With ``output`` the result is written there (``.npy``, ``.zarr``, ``.tif``; or as
    ``output_format``), else returned. ``scheduler``: ``None`` (here), ``threads``,
    ``processes`` or ``tcp://HOST:PORT``; ``progress(done, total)`` after each block.
    ``chunks`` and ``zarr_format`` (default: the input's, pooled) set a Zarr output's.
    ``image``: ``(pixels, alpha)``, an image's rules (default: as the source says; a level
    of a pyramid written as Zarr keeps the rules of the image it came from).

    >>> import numpy as np
    >>> from poolcli.model.window import WindowSpec
    >>> x = np.arange(36.0).reshape(6, 6)
    >>> pool_blockwise(x, "max", WindowSpec.make(kernel_size=2), max_memory=600).output
    array([[ 7.,  9., 11.],
           [19., 21., 23.],
           [31., 33., 35.]])
    """
    reduction = reduction if isinstance(reduction, Reduction) else parse_reduction(reduction)
    data = open_source(source)
    try:
        per_task = max(1, max_memory // memory_share(scheduler))
        given = (layout, options or PoolOptions(), per_task, chunks if output else None, image)
        job, plan, out_shape, out_chunks, guessed = _prepare(
            source, data, reduction, spec, given, output is not None
        )
        fmt = zarr_format or getattr(data, "zarr_format", None) or 3
        # A Zarr output compresses as the Zarr input did (same format), else zarr's default.
        same = fmt == getattr(data, "zarr_format", None)
        codecs = data.extra.get("compressors", "auto") if same else "auto"
        zarr_args = (chunks or out_chunks, fmt, output_format, codecs)
        result = _execute(job, plan, out_shape, output, data, scheduler, progress, zarr_args)
    finally:
        if data is not source and hasattr(data, "close"):
            data.close()
    chosen = Layout.parse(job.layout)
    return Blockwise(
        result[0], out_shape, result[1], chosen, guessed, plan.windows, plan, data, job.alpha
    )


def _prepare(source, data, reduction, spec, given, aligned):
    """The layout, windows, block plan and task description of one blockwise pooling;
    ``given`` is the call's ``(layout, options, max_memory, chunks, image)``."""
    layout, options, max_memory, chunks, image = given
    shape = tuple(data.shape)
    given = layout if layout is not None else getattr(data, "axes", None)
    chosen, guessed = resolve_layout(shape, given)
    windows = resolve(spec, chosen.spatial_shape(shape), chosen.spatial)
    spatial = chosen.spatial_axes
    items = math.prod(n for i, n in enumerate(shape) if i not in spatial)
    engine_share = max(1, max_memory // ENGINE_SHARE)
    out_chunks = _output_chunks(chunks, getattr(data, "chunks", None), chosen, windows)
    align = tuple(out_chunks[i] for i in spatial) if aligned and out_chunks else None
    plan = plan_blocks(
        windows, items, data.dtype.itemsize, max_memory, align=align, engine_share=ENGINE_SHARE
    )
    _check_cut_bins(plan, reduction, data.dtype, max_memory)
    pixels, alpha = image or (getattr(data, "pixels", False), getattr(data, "alpha", False))
    pixels = bool(pixels) and chosen.channel_axis is not None
    job = BlockJob(
        source if isinstance(source, (str, os.PathLike)) else data,
        str(chosen),
        reduction,
        spec.count_include_pad,
        _block_options(options, reduction, engine_share),
        tuple(a.out for a in windows),
        alpha=pixels and bool(alpha) and not options.straight_alpha,
        pixels=pixels,
    )
    out_shape = list(shape)
    for axis, window in zip(spatial, windows):
        out_shape[axis] = window.out
    return job, plan, tuple(out_shape), out_chunks, guessed


def _check_cut_bins(plan: BlockPlan, reduction: Reduction, dtype, max_memory: int) -> None:
    """Adaptive bins cut into blocks are gathered, not pooled by torch's adaptive average: the
    sums would be added in another order, so float averages could differ in the last bit."""
    cut = plan.count > 1 and any(a.bins is not None for a in plan.windows)
    if cut and reduction is Reduction.AVG and dtype.kind == "f":
        from poolcli.model.blocks import format_size

        raise PoolError(
            f"avg with --output-size cannot be cut into blocks and stay identical to pooling "
            f"the whole input; --max-memory {format_size(max_memory)} needs {plan.count} "
            "blocks. Give more --max-memory, or use --kernel and --stride."
        )


def _block_options(options: PoolOptions, reduction: Reduction, engine_share: int) -> PoolOptions:
    """The options every block shares: the engine's share of memory, and one seed for all."""
    changes: dict = {"memory_limit": min(options.memory_limit, engine_share)}
    if reduction is Reduction.STOCHASTIC and options.seed is None and not options.expectation:
        changes["seed"] = int.from_bytes(os.urandom(8), "little")
    return dataclasses.replace(options, **changes)


def _output_chunks(chunks, source_chunks, layout: Layout, windows) -> tuple[int, ...] | None:
    """The output's chunks: as given, else the input's chunks pooled (divided by the stride)."""
    if chunks is not None:
        return tuple(chunks)
    if source_chunks is None:
        return None
    out = list(source_chunks)
    for axis, window in zip(layout.spatial_axes, windows):
        step = window.stride if window.bins is None else max(1, window.size // window.out)
        out[axis] = max(1, source_chunks[axis] // step)
    return tuple(out)


def _execute(job, plan, out_shape, output, data, scheduler, progress, zarr_args):
    """Pool every block of ``plan``; returns ``(output or array, dtype name)``."""
    out_chunks, zarr_format, output_format, compressors = zarr_args
    blocks = list(plan.blocks())
    first_index, first = pool_block(job, blocks[0], data)
    if output is None:
        import numpy as np

        result = np.empty(out_shape, dtype=first.dtype)
        result[first_index] = first

        def keep(found) -> None:
            index, values = found
            result[index] = values

        _run(job, blocks[1:], None, scheduler, progress, keep, len(blocks), data)
        return result, str(first.dtype)
    from poolcli.io.sinks import open_sink

    out_chunks = out_chunks or _default_chunks(out_shape, plan, job)
    sink = open_sink(
        output,
        out_shape,
        first.dtype,
        job.layout,
        chunks=out_chunks,
        scale=_pooled_scale(getattr(data, "scale", None), job, plan),
        zarr_format=zarr_format,
        format=output_format,
        compressors=compressors,
    )
    sink.alpha = job.alpha  # a TIFF says which sample is alpha
    writer = _BlockWriter(sink, plan, job, (out_shape, out_chunks, first.dtype), scheduler)
    try:
        with writer:
            writer.keep((first_index, first))
            _run(
                job, blocks[1:], writer.handle, scheduler, progress, writer.keep, len(blocks), data
            )
        sink.commit()
    except BaseException:
        sink.discard()
        raise
    return output, str(first.dtype)


class _BlockWriter:
    """How blocks reach the output. Each task writes its own block, but a block that cuts
    Zarr chunks makes its writer read, decode and rewrite those chunks whole, and blocks run
    at once would lose each other's cells. So such blocks come back here: run one after
    another, bands of whole rows are gathered into whole rows of chunks and written as such
    (when a row of chunks fits the engine's share of memory); run at once, they are written
    here one after another."""

    def __init__(self, sink, plan: BlockPlan, job: BlockJob, output, scheduler) -> None:
        """``output``: the output's ``(shape, chunks, dtype)``."""
        from poolcli.io.sinks import write_block

        shape, chunks, dtype = output
        self.rows, self.pool = None, None
        self.handle, self.write = sink.handle, lambda found: write_block(sink.handle, *found)
        if sink.kind != "zarr" or not _cuts_chunks(plan, job, chunks):
            return
        self.handle = None
        axis = Layout.parse(job.layout).spatial_axes[0]
        row_bytes = chunks[axis] * math.prod(shape) // max(1, shape[axis]) * dtype.itemsize
        bands = all(n >= w.out for n, w in zip(plan.per_block[1:], plan.windows[1:]))
        if check_scheduler(scheduler) is None and bands and row_bytes <= job.options.memory_limit:
            from concurrent.futures import ThreadPoolExecutor

            from poolcli.blocks.levels import LevelRows

            self.pool = ThreadPoolExecutor(1, thread_name_prefix="poolcli-write")
            self.rows = LevelRows(lambda _: sink, axis, chunks[axis], self.pool)

    def keep(self, found) -> None:
        if self.rows is not None:
            self.rows.add(found[1])
        elif self.handle is None or found[1] is not None:
            self.write(found)

    def __enter__(self):
        return self

    def __exit__(self, kind, *exc) -> None:
        if self.rows is None:
            return
        try:
            if kind is None:
                self.rows.finish()
            elif self.rows.writing is not None:
                self.rows.writing.exception()  # no write may run when the output is discarded
        finally:
            self.pool.shutdown()


def _cuts_chunks(plan: BlockPlan, job: BlockJob, chunks) -> bool:
    """Whether some output chunk takes cells from more than one block."""
    axes = Layout.parse(job.layout).spatial_axes
    return any(
        n < window.out and n % chunks[axis]
        for axis, n, window in zip(axes, plan.per_block, plan.windows)
    )


def _default_chunks(out_shape, plan, job) -> tuple[int, ...]:
    chunks = list(out_shape)
    for axis, n in zip(Layout.parse(job.layout).spatial_axes, plan.per_block):
        chunks[axis] = n
    return tuple(chunks)


def _pooled_scale(scale, job, plan):
    """A pooled axis's physical scale multiplies by its stride (adaptive: size / out)."""
    if scale is None:
        return None
    scale = list(scale)
    for axis, window in zip(Layout.parse(job.layout).spatial_axes, plan.windows):
        factor = window.stride if window.bins is None else window.size / window.out
        scale[axis] = scale[axis] * factor
    return tuple(scale)


def _run(job, blocks, handle, scheduler, progress, keep, total, data):
    if progress is not None:
        progress(1, total)
    done = [1]

    def finished(found) -> None:
        if keep is not None:
            keep(found)
        done[0] += 1
        if progress is not None:
            progress(done[0], total)

    here = None if scheduler not in (None, "sync", "none", "threads") else data
    calls = [(job, block, handle, here) for block in blocks]
    run_tasks(pool_and_write, calls, scheduler, finished)


def pool_and_write(job: BlockJob, block, handle, data=None):
    """One block task: pool it and write it (``handle``), or give it back (no handle).
    ``data``: the opened source (in this process), else opened once per worker process."""
    index, values = pool_block(job, block, data)
    if handle is None:
        return index, values
    from poolcli.io.sinks import write_block

    write_block(handle, index, values)
    return index, None


_SOURCES: dict[str, object] = {}


def pool_block(job: BlockJob, block, data=None):
    """Pool one block: ``(output index, values)``."""
    if data is None:
        data = _source_of(job.source)
    layout = Layout.parse(job.layout)
    read = [slice(None)] * len(layout.letters)
    out = [slice(None)] * len(layout.letters)
    for axis, part in zip(layout.spatial_axes, block):
        read[axis] = slice(*part.read)
        out[axis] = slice(*part.out)
    piece = data.read(tuple(read)) if hasattr(data, "read") else data[tuple(read)]
    return tuple(out), pool_piece(job, block, piece)


def pool_piece(job: BlockJob, block, piece):
    """Pool ``piece``, the input cells ``block`` reads (its read box), as that block."""
    from poolcli.engine import ops

    layout = Layout.parse(job.layout)
    options = dataclasses.replace(
        job.options, cell_origin=tuple(p.out[0] for p in block), cell_grid=job.grid
    )
    try:
        values, _ = ops.pool_array(
            piece,
            job.reduction,
            tuple(p.window for p in block),
            layout,
            count_include_pad=job.count_include_pad,
            options=options,
            alpha=job.alpha,
            pixels=job.pixels,
            path=_path_for(block, job.grid),
        )
    except UsageError as error:
        raise PoolError(str(error)) from None
    return values


def _path_for(block, grid) -> str:
    """Adaptive bins cut into blocks are not torch's own bins for the block: gather them.
    Any other block takes the whole array's path choice (never global pooling of a block)."""
    whole = all(p.out == (0, n) for p, n in zip(block, grid))
    cut_bins = any(p.window.bins is not None for p in block) and not whole
    if cut_bins:
        return "gather"
    from poolcli.engine.ops import BLOCK

    return "auto" if whole else BLOCK


def _source_of(source):
    """The source of a task, opened once per process."""
    if not isinstance(source, (str, os.PathLike)):
        return source
    key = os.fspath(source)
    found = _SOURCES.get(key)
    if found is None:
        found = open_source(key)
        _SOURCES.clear()
        _SOURCES[key] = found
    return found
