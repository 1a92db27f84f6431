"""Every level of a pyramid from one pass over the input: each band of rows read once and
pooled level after level while it is in memory.

Pooling level by level reads and decodes every level back from disk, and copies level 0
through the engine. When the windows tile each level exactly (kernel = stride, no padding,
dilation or adaptive bins, so no window crosses a band's edge), a band of input rows whose
height is a multiple of ``stride ** levels`` holds whole windows at every level: level
``n + 1``'s rows come from level ``n``'s band, pooled as blocks (:func:`pool_piece`, the same
engine path and the same float sums as pooling each level whole). Each level's rows are
gathered until they fill whole output chunks, which are written at once.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor

from poolcli.blocks.run import ENGINE_SHARE, BlockJob, _block_options, pool_piece
from poolcli.errors import PoolError
from poolcli.model.blocks import block_axis, plan_blocks
from poolcli.model.layout import Layout
from poolcli.model.window import resolve


def tiled(windows) -> bool:
    """Whether every window of every axis lies inside its own stride-aligned cells."""
    return all(
        w.bins is None
        and w.effective_kernel == w.stride
        and w.pad_begin == w.pad_end == 0
        and w.out == w.size // w.stride
        for w in windows
    )


def band_rows(shapes, layout: Layout, spec, itemsize: int, budget: int, chunk: int) -> int:
    """Input rows per band (a multiple of ``stride ** levels`` and of ``chunk``, the level-0
    output's chunk rows), or 0 when the levels cannot be pooled in bands within ``budget``."""
    levels = [resolve(spec, layout.spatial_shape(s), layout.spatial) for s in shapes[:-1]]
    if not all(tiled(w) for w in levels):
        return 0
    unit = math.lcm(math.prod(w[0].stride for w in levels), chunk)
    items = math.prod(n for i, n in enumerate(shapes[0]) if i not in layout.spatial_axes)
    # A third of the budget each: the band pooled, the next one read and the last written.
    try:
        plan = plan_blocks(levels[0], items, itemsize, budget // 3, engine_share=ENGINE_SHARE)
    except PoolError:
        return 0
    if any(n < w.out for n, w in zip(plan.per_block[1:], levels[0][1:])):
        return 0  # a band must hold whole rows
    size = shapes[0][layout.spatial_axes[0]]
    if plan.per_block[0] >= levels[0][0].out:
        return size  # one band
    return min(plan.per_block[0] * levels[0][0].stride // unit * unit, size)


class LevelRows:
    """One level's output, written in whole chunks of rows as its bands come: each write
    runs in the background while the next band is pooled (one write in flight per level)."""

    def __init__(self, open_sink, axis: int, chunk: int, writer: ThreadPoolExecutor) -> None:
        self.open_sink, self.axis, self.chunk = open_sink, axis, chunk
        self.writer = writer
        self.sink = None
        self.pending = None
        self.writing = None
        self.start = 0  # the first row not written yet

    def add(self, values) -> None:
        import numpy as np

        if self.sink is None:
            self.sink = self.open_sink(values.dtype)
        if self.pending is not None:
            values = np.concatenate([self.pending, values], axis=self.axis)
            self.pending = None
        rows = values.shape[self.axis]
        ready = rows // self.chunk * self.chunk
        if ready:
            self._write(_rows(values, 0, ready, self.axis))
        if ready < rows:
            self.pending = np.array(_rows(values, ready, rows, self.axis))

    def finish(self) -> None:
        """Write the rows left (the last chunk row, cut by the array's end) and wait."""
        if self.pending is not None:
            self._write(self.pending)
            self.pending = None
        self.wait()

    def wait(self) -> None:
        """Wait for the write in flight (its error is raised here)."""
        writing, self.writing = self.writing, None
        if writing is not None:
            writing.result()

    def _write(self, values) -> None:
        from poolcli.io.sinks import write_block

        index = [slice(None)] * values.ndim
        index[self.axis] = slice(self.start, self.start + values.shape[self.axis])
        self.wait()
        self.writing = self.writer.submit(write_block, self.sink.handle, tuple(index), values)
        self.start += values.shape[self.axis]


def _rows(values, start: int, stop: int, axis: int):
    index = [slice(None)] * values.ndim
    index[axis] = slice(start, stop)
    return values[tuple(index)]


def pool_levels(data, shapes, layout: Layout, job, outputs, rows: int, progress=None) -> None:
    """Pool ``data`` (level 0, read in bands of ``rows``) into ``len(shapes) - 1`` levels.
    ``job`` is ``(reduction, spec, options, budget)``; ``outputs[n]`` is the
    :class:`LevelRows` of level ``n`` (``None``: not written)."""
    from poolcli.engine.threads import set_torch_threads

    axis = layout.spatial_axes[0]
    reduction, spec, options, budget = job
    levels = [resolve(spec, layout.spatial_shape(s), layout.spatial) for s in shapes[:-1]]
    jobs = [_job(layout, reduction, spec, options, w, data, budget) for w in levels]

    # Reading and writing (decoding, encoding) run beside the pooling: torch takes one core
    # fewer, so that its threads do not fight them (measured: a third less CPU time).
    old = set_torch_threads(max(1, (os.cpu_count() or 1) - 1))
    try:
        _pool_bands(data, shapes, axis, rows, levels, jobs, outputs, progress)
    finally:
        set_torch_threads(old)


def _pool_bands(data, shapes, axis, rows, levels, jobs, outputs, progress) -> None:
    """Read band after band (the next one while this one is pooled) and pool each."""
    size = shapes[0][axis]
    starts = list(range(0, size, rows))
    written = [level for level in outputs if level is not None]

    def read(start: int):
        index = [slice(None)] * len(shapes[0])
        index[axis] = slice(start, min(size, start + rows))
        index = tuple(index)
        return data.read(index) if hasattr(data, "read") else data[index]

    with ThreadPoolExecutor(1, thread_name_prefix="poolcli-read") as reader:
        coming = reader.submit(read, starts[0])
        try:
            for number, start in enumerate(starts):
                band = coming.result()
                if number + 1 < len(starts):  # read the next band while this one is pooled
                    coming = reader.submit(read, starts[number + 1])
                _pool_band(band, start, levels, jobs, outputs, axis)
                del band
                if progress is not None:
                    for level in range(len(shapes)):
                        progress(level, number + 1, len(starts))
            for level in written:
                level.finish()
        finally:  # no write may still run when the outputs are discarded
            for level in written:
                if level.writing is not None:
                    level.writing.exception()


def _pool_band(band, start: int, levels, jobs, outputs, axis: int) -> None:
    """Level after level from one band whose first row is ``start`` (at level 0)."""
    if outputs[0] is not None:
        outputs[0].add(band)
    for level, (windows, job) in enumerate(zip(levels, jobs)):
        o0 = start // windows[0].stride
        o1 = min(windows[0].out, o0 + band.shape[axis] // windows[0].stride)
        if o1 <= o0:  # the array's last rows, too few for a window
            return
        block = (block_axis(windows[0], o0, o1),) + tuple(
            block_axis(w, 0, w.out) for w in windows[1:]
        )
        band = pool_piece(job, block, _rows(band, 0, block[0].read[1] - block[0].read[0], axis))
        start = o0
        outputs[level + 1].add(band)


def _job(layout, reduction, spec, options, windows, data, budget: int) -> BlockJob:
    """The block job of one level (an image's alpha and pixel rules at every level)."""
    pixels = bool(getattr(data, "pixels", False)) and layout.channel_axis is not None
    return BlockJob(
        None,
        str(layout),
        reduction,
        spec.count_include_pad,
        _block_options(options, reduction, max(1, budget // ENGINE_SHARE)),
        tuple(w.out for w in windows),
        alpha=pixels and bool(getattr(data, "alpha", False)) and not options.straight_alpha,
        pixels=pixels,
    )
