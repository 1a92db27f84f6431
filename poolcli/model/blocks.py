"""Cutting one pooling into blocks that fit a memory budget: pure arithmetic, no arrays.

A block is a box of output cells; it needs the input cells its windows reach (its *read*
box, the block's stride-aligned cells plus a halo of ``dilation * (kernel - 1) + 1 - stride``
cells). Each block is pooled on its own with windows resolved for its read box
(:class:`BlockAxis.window`): padding and ceil mode's extra cells appear only in the blocks that
touch the array's true edges, so every output cell sees exactly the cells it would see in
the whole array.

Along one axis, output cells ``[o0, o1)`` of a sliding window read input cells::

    first = o0 * stride - pad_begin
    reach = (o1 - 1) * stride - pad_begin + dilation * (kernel - 1) + 1
    read  = [max(first, 0), min(reach, size))

and the block's own padding is what lies outside the input: ``max(-first, 0)`` cells before,
and up to ``pad_end`` cells after (cells past the end padding are ceil mode's, never counted).
Adaptive bins are cut the same way: bins ``[o0, o1)`` read ``[bins[o0][0], bins[o1 - 1][1])``.

>>> from poolcli.model.window import WindowSpec, resolve
>>> (axis,) = resolve(WindowSpec.make(kernel_size=3, stride=2, padding=1), (10,))
>>> [(b.out, b.read) for b in plan_axis(axis, 2)]
[((0, 2), (0, 4)), ((2, 4), (3, 8)), ((4, 5), (7, 10))]
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass

from poolcli.errors import PoolError, UsageError
from poolcli.model.window import AxisWindow

_UNITS = {"": 1, "b": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgt]?)(i?)b?", re.IGNORECASE)


def parse_size(text: str | int) -> int:
    """Bytes in a size such as ``512MiB``, ``4GiB``, ``1.5GB`` or ``1000000``.

    >>> parse_size("512MiB"), parse_size("4GiB"), parse_size("2k")
    (536870912, 4294967296, 2000)
    """
    if isinstance(text, int) and not isinstance(text, bool):
        value = text
    else:
        match = _SIZE.fullmatch(str(text).strip())
        if not match:
            raise UsageError(
                f"--max-memory {text} is not a size: give bytes with a unit, such as 512MiB or "
                "4GiB.",
                option="--max-memory",
            )
        number, unit, binary = match.groups()
        scale = 1024 ** "kmgt".index(unit.lower()) * 1024 if unit and binary else None
        value = int(float(number) * (scale or _UNITS[unit.lower()]))
    if value < 1:
        raise UsageError(f"--max-memory must be positive, got {text}.", option="--max-memory")
    return value


def format_size(value: int) -> str:
    """``536870912`` -> ``512 MiB``."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:g} {unit}" if unit == "B" else f"{value:.3g} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class BlockAxis:
    """One axis of one block: output cells ``out``, input cells ``read`` and the windows
    resolved for that read box."""

    out: tuple[int, int]
    read: tuple[int, int]
    window: AxisWindow


def plan_axis(axis: AxisWindow, per_block: int) -> list[BlockAxis]:
    """The blocks of ``per_block`` output cells along ``axis`` (the last one may be shorter)."""
    blocks = []
    for o0 in range(0, axis.out, per_block):
        o1 = min(axis.out, o0 + per_block)
        blocks.append(block_axis(axis, o0, o1))
    return blocks


def block_axis(axis: AxisWindow, o0: int, o1: int) -> BlockAxis:
    """Output cells ``[o0, o1)`` of ``axis`` as a block (see the module notes)."""
    if axis.bins is not None:
        lo, hi = axis.bins[o0][0], axis.bins[o1 - 1][1]
        bins = tuple((a - lo, b - lo) for a, b in axis.bins[o0:o1])
        window = dataclasses.replace(axis, size=hi - lo, out=o1 - o0, bins=bins)
        return BlockAxis((o0, o1), (lo, hi), window)
    first = o0 * axis.stride - axis.pad_begin
    reach = (o1 - 1) * axis.stride - axis.pad_begin + axis.effective_kernel
    lo, hi = max(first, 0), min(reach, axis.size)
    window = dataclasses.replace(
        axis,
        size=hi - lo,
        out=o1 - o0,
        pad_begin=lo - first,
        pad_end=min(max(reach - axis.size, 0), axis.pad_end),
    )
    return BlockAxis((o0, o1), (lo, hi), window)


@dataclass(frozen=True)
class BlockPlan:
    """How one pooling is cut: ``per_block`` output cells per spatial axis, and the cost."""

    windows: tuple[AxisWindow, ...]
    per_block: tuple[int, ...]
    block_bytes: int

    def axes(self) -> list[list[BlockAxis]]:
        return [plan_axis(a, n) for a, n in zip(self.windows, self.per_block)]

    @property
    def count(self) -> int:
        return math.prod(-(-a.out // n) for a, n in zip(self.windows, self.per_block))

    def blocks(self):
        """Every block, as a tuple of one :class:`BlockAxis` per spatial axis, row-major."""
        import itertools

        return itertools.product(*self.axes())


#: Working bytes per input cell beyond the cell itself (torch's copy in the compute dtype and
#: the engine's temporaries), and per output cell.
PER_INPUT_CELL = 16
PER_OUTPUT_CELL = 16


def block_cost(windows, per_block, items: int, itemsize: int) -> int:
    """Bytes a block of ``per_block`` output cells per axis needs at most (its largest block)."""
    cells_in = 1
    cells_out = 1
    for axis, n in zip(windows, per_block):
        n = min(n, axis.out)
        if axis.bins is not None:
            reach = max(b[1] - a[0] for a, b in zip(axis.bins, axis.bins[n - 1 :]))
        else:
            reach = (n - 1) * axis.stride + axis.effective_kernel
        cells_in *= min(reach, axis.size)
        cells_out *= n
    return items * (cells_in * (itemsize + PER_INPUT_CELL) + cells_out * PER_OUTPUT_CELL)


def plan_blocks(
    windows: tuple[AxisWindow, ...],
    items: int,
    itemsize: int,
    budget: int,
    align: tuple[int, ...] | None = None,
    engine_share: int | None = None,
) -> BlockPlan:
    """The largest blocks within ``budget`` bytes: whole along the last axes, cut along the
    first ones first (rows of a row-major array stay whole). ``items`` is the number of cells
    along the non-spatial axes, ``itemsize`` the input's bytes per cell; ``align`` (output
    cells per axis, e.g. an output chunk) makes blocks whole multiples of it where they can;
    ``1 / engine_share`` of the budget is kept for the engine's own chunking.

    Raises :class:`PoolError` when even one window per block does not fit.

    >>> from poolcli.model.window import WindowSpec, resolve
    >>> windows = resolve(WindowSpec.make(kernel_size=2), (1000, 1000))
    >>> plan_blocks(windows, 1, 4, 10**6).per_block
    (20, 500)
    """
    align = align or (1,) * len(windows)
    kept = budget // engine_share if engine_share else 0

    def fits(values) -> bool:
        return block_cost(windows, values, items, itemsize) <= budget - kept

    # Blocks of whole output chunks when rows of chunks do not fit (a block that cuts a chunk
    # makes its writer read, decode and rewrite the whole chunk), else the widest rows.
    per_block = _cut(windows, align, fits, tiles=True)
    whole = all(n % c == 0 or n >= w.out for n, c, w in zip(per_block, align, windows))
    if not (whole and fits(per_block)):
        per_block = _cut(windows, align, fits, tiles=False)
    if not fits(per_block):
        need = block_cost(windows, per_block, items, itemsize)
        if engine_share:
            need = need * engine_share // (engine_share - 1) + engine_share
        raise PoolError(
            f"--max-memory {format_size(budget)} is too small: one window with its halo "
            f"needs {format_size(need)} here. Give at least --max-memory {_round_up(need)}."
        )
    # Even out the cut axis so the last block is not a sliver.
    for axis, a in enumerate(windows):
        n = per_block[axis]
        if n < a.out and align[axis] <= 1:
            per_block[axis] = -(-a.out // -(-a.out // n))
    cost = block_cost(windows, per_block, items, itemsize)
    return BlockPlan(tuple(windows), tuple(per_block), cost)


def _cut(windows, align, fits, tiles: bool) -> list[int]:
    """Output cells per block: each axis in turn, first to last, cut to the most that
    ``fits`` (rounded down to whole ``align`` chunks where it holds one). With ``tiles``, an
    axis that cannot hold its rows of chunks keeps one chunk and the next axes are cut."""
    per_block = [a.out for a in windows]
    for axis in range(len(windows)):
        if fits(per_block):
            break
        lo, hi = 1, per_block[axis]
        while lo < hi:
            mid = (lo + hi + 1) // 2
            per_block[axis] = mid
            lo, hi = (mid, hi) if fits(per_block) else (lo, mid - 1)
        if align[axis] > 1 and lo >= align[axis]:
            lo -= lo % align[axis]
        elif tiles and align[axis] > 1 and axis + 1 < len(windows):
            lo = min(align[axis], windows[axis].out)
        per_block[axis] = lo
    return per_block


def _round_up(need: int) -> str:
    if need < 2**20:
        return f"{-(-need // 1024)}KiB"
    return f"{-(-need // 2**20)}MiB"
