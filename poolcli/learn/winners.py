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
    from poolcli.engine import ops

    taps = ops.window_winners(
        array,
        result.reduction,
        result.windows,
        result.layout,
        result.options,
        alpha=result.alpha,
        pixels=result.pixels,
    )
    return taps.cpu().numpy()


def result_winners(array: np.ndarray, result: PoolResult) -> np.ndarray | None:
    """:func:`window_winners` shaped and laid out like the output (None without winners)."""
    taps = window_winners(array, result)
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
