"""Which input cell each window's result came from, as the engine computed it.

max, min, median, mode and sampled stochastic pooling take each window's result from one of
its cells. The pictures frame that cell and ``explain`` marks it; both ask here, and this asks
the engine (its own gather, with the same random numbers), so they show the cell the op chose.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from poolcli.model.reductions import Reduction

if TYPE_CHECKING:
    import numpy as np

    from poolcli.model.options import PoolResult


def has_winner(result: PoolResult) -> bool:
    """Whether each window's result is one of its cells, the same one every run.

    max, min, median and mode; stochastic sampling only with a seed (the cells of an unseeded
    run differ from the result shown) and never its expectation.
    """
    if not result.reduction.info.winner:
        return False
    if result.reduction is Reduction.STOCHASTIC:
        return not result.options.expectation and result.options.seed is not None
    return True


def window_winners(array: np.ndarray, result: PoolResult) -> np.ndarray | None:
    """Per window, the kernel tap its result came from, in ``(N, C, *out)``; None without one.

    From :func:`poolcli.engine.ops.window_winners`: row-major over the kernel taps
    (``AxisWindow.cells`` order), ties to the first real cell holding the result. ``array`` is
    the input ``result`` was pooled from.
    """
    if not has_winner(result):
        return None
    from poolcli.engine.indices import gathered_winners

    return gathered_winners(array, result).cpu().numpy()


def result_winners(array: np.ndarray, result: PoolResult, crops=None) -> np.ndarray | None:
    """:func:`window_winners` shaped and laid out like the output (None without winners);
    with ``crops``, those of a block of output cells (:func:`crop_winners`)."""
    taps = window_winners(array, result) if crops is None else crop_winners(array, result, crops)
    if taps is None:
        return None
    letters = result.layout.letters
    spatial = result.layout.spatial
    if "N" in letters and "C" in letters:
        have = "NC" + spatial
    elif "N" in letters or "C" in letters:
        taps, have = taps[0], ("N" if "N" in letters else "C") + spatial
    else:
        taps, have = taps[0, 0], spatial
    return taps.transpose([have.index(c) for c in letters])


def crop_winners(array: np.ndarray, result: PoolResult, crops) -> np.ndarray | None:
    """:func:`window_winners` of a block of output cells only, ``(N, C, *block)``; None
    without winners. ``crops``: per spatial axis ``(first output cell, first input cell,
    the block's AxisWindow)``, the block's windows inside the input. Cheap on a large input:
    the engine pools just the cells the block reads, each sampling drawing the number of its
    place in the whole output (as a block of a batch run does), so the cells are the ones the
    whole pooling took."""
    if not has_winner(result):
        return None
    import dataclasses

    import numpy as np

    from poolcli.engine import ops

    cut = [slice(None)] * np.ndim(array)
    for axis, (_, start, window) in zip(result.layout.spatial_axes, crops):
        cut[axis] = slice(start, start + window.size)
    options = result.options
    mask = options.mask
    if mask is not None and not isinstance(mask, str):
        mask = np.asarray(mask)[tuple(slice(s, s + w.size) for _, s, w in crops)]
    options = dataclasses.replace(
        options,
        mask=mask,
        cell_origin=tuple(first for first, _, _ in crops),
        cell_grid=tuple(axis.out for axis in result.windows),
    )
    taps = ops.window_winners(
        np.asarray(array)[tuple(cut)],
        result.reduction,
        tuple(window for *_, window in crops),
        result.layout,
        options,
        alpha=result.alpha,
        pixels=result.pixels,
    )
    return taps.cpu().numpy()


def gradient_routes(array: np.ndarray, result, channel: int, shown) -> np.ndarray:
    """Which input cells each output cell's gradient reaches: bool ``(*shown, *spatial)`` for
    the top-left ``shown`` output cells of ``channel`` (of the first item), where
    d output / d input is not 0. ``result``: a :class:`poolcli.engine.grad.GradResult` of
    ``array``; each cell's row of the Jacobian is asked of the engine, one cell at a time."""
    import numpy as np

    from poolcli.engine.grad import gradient

    layout = result.layout
    out = np.asarray(result.output)
    routes = None
    for position in np.ndindex(*shown):
        upstream = layout.canonical(np.zeros(out.shape))
        upstream[(0, channel, *position)] = 1.0
        grad = gradient(
            array,
            result.reduction,
            result.spec,
            layout,
            result.options,
            layout.uncanonical(upstream),
            alpha=result.alpha,
        ).grad
        reached = layout.canonical(grad)[0, channel] != 0
        if routes is None:
            routes = np.zeros((*shown, *reached.shape), bool)
        routes[position] = reached
    return routes
