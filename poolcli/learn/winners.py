"""Which input cell each window's result came from, as the engine computed it.

max, min, median, mode and sampled stochastic pooling take each window's result from one of
its cells. The pictures frame that cell and ``explain`` marks it; both ask here, and this asks
the engine (its own gather, with the same random numbers), so they show the cell the op chose.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from poolcli.model.options import PoolResult


def result_winners(array: np.ndarray, result: PoolResult) -> np.ndarray:
    """Per window, the kernel tap its result came from, shaped and laid out like the output.

    From :func:`poolcli.engine.ops.window_winners` (the engine's own gather, same random
    numbers), which answers in ``(N, C, *out)``; this puts the axes back in the result's layout.
    """
    from poolcli.engine import ops

    taps = ops.window_winners(
        array, result.reduction, result.windows, result.layout, result.options
    )
    taps = taps.cpu().numpy()
    letters = result.layout.letters
    spatial = result.layout.spatial
    if "N" in letters and "C" in letters:
        have = "NC" + spatial
    elif "N" in letters or "C" in letters:
        taps, have = taps[0], ("N" if "N" in letters else "C") + spatial
    else:
        taps, have = taps[0, 0], spatial
    return taps.transpose([have.index(c) for c in letters])
