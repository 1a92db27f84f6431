"""Gradients of a pooling op with respect to its input, and unpooling to the winning cells.

:func:`gradient` runs the pooling engine (:func:`poolcli.engine.ops.pool_tensor`) on a tensor that
requires grad and asks torch autograd for ``d(sum(upstream * output)) / d(input)``: the same
engine as every pooling command, never a second implementation. :func:`unpool` puts each
output value back on the cell of its window that it came from (as ``F.max_unpool`` does with
max pooling's indices), using :func:`poolcli.engine.ops.window_winners`.

What each reduction sends back (``GRADIENT_RULES``; overlapping windows add up everywhere):

* ``max`` / ``min``: each upstream value goes to its window's largest (smallest) cell, as in
  the seeds' formula ``dL/dx = dL/dy where x = y, else 0``. Tied cells do not share it: the
  first of them in window order gets all of it, as with torch's ``max_pool`` (the same cell
  :func:`unpool` and the pictures mark as the winner).
* ``avg``: ``1/|R|`` of the upstream value to each cell of the window, where ``|R|`` counts
  the real cells, plus the padding when ``count_include_pad`` is set (padding itself receives
  nothing). ``sum``: the whole upstream value to every real cell. A corner cell of a 3x3
  mean with padding 1 is in four windows, of 4, 6, 6 and 9 real cells:

  >>> x = np.arange(16).reshape(4, 4)
  >>> gradient(x, "avg", WindowSpec.make(kernel_size=3, stride=1, padding=1)).grad[0]
  array([0.69444444, 0.97222222, 0.97222222, 0.69444444])

* ``lp``: ``sign(x) |x|^(p-1) / y^(p-1)`` times the upstream value; undefined (NaN) for a
  window whose cells are all 0.
* ``median`` and ``mode``: the whole upstream value to the one cell the result is taken
  from (for mode, a cell holding the most frequent value).
* ``stochastic``: sampling sends it to the sampled cell; ``expectation`` (``Σx²/Σx``) gives
  ``(2 x Σx − Σx²) / (Σx)²``, and 0 for an all-zero window.

Gradients are computed in float64 (float32 on Apple's MPS, which has no float64), whatever
the input's dtype, so that ``1/|R|`` is shown as exactly as possible.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from poolcli.engine.core import run
from poolcli.errors import PoolError, UsageError
from poolcli.model.layout import Layout
from poolcli.model.options import PoolOptions, PoolResult, resolve_layout
from poolcli.model.reductions import Reduction
from poolcli.model.window import AxisWindow, WindowSpec, format_axes, resolve

if TYPE_CHECKING:
    import torch

#: What the gradient of each reduction is, in words (for the report and the docs).
GRADIENT_RULES: dict[Reduction, str] = {
    Reduction.MAX: "each upstream value goes to its window's largest cell (of tied cells, the "
    "first in window order, as torch's max_pool)",
    Reduction.MIN: "each upstream value goes to its window's smallest cell (of tied cells, the "
    "first in window order)",
    Reduction.AVG: "each upstream value is spread evenly, 1/|R| to every cell the mean counts "
    "(padding receives nothing)",
    Reduction.SUM: "each upstream value goes whole to every real cell of its window",
    Reduction.LP: "each cell gets sign(x)·|x|^(p−1)/y^(p−1) times the upstream value "
    "(NaN where a window is all 0)",
    Reduction.MEDIAN: "each upstream value goes to one cell holding the window's median, the "
    "cell the result is taken from",
    Reduction.MODE: "each upstream value goes to one cell holding the window's most frequent "
    "value, the cell the result is taken from",
    Reduction.STOCHASTIC: "each upstream value goes to the cell sampled for its window",
    Reduction.GEM: "each cell gets x^(p−1)/(|R|·y^(p−1)) times the upstream value, the "
    "derivative of (mean x^p)^(1/p)",
}
EXPECTATION_RULE = (
    "each cell gets (2x·Σx − Σx²)/(Σx)² times the upstream value (the derivative of Σx²/Σx; "
    "0 in an all-zero window)"
)


def _path(reduction: Reduction, options: PoolOptions) -> str:
    # The order-based reductions, whose gradient goes to chosen cells, take the engine's gather
    # path on every windowing, so that where the gradient lands never depends on the input's
    # shape: there max and min send it to the first winning cell (the engine routes them so
    # under autograd too), and median and mode to the cell their value is gathered from. (The
    # global path's mode, a unique count, has no gradient at all.)
    sampling = reduction is Reduction.STOCHASTIC and not options.expectation
    return "gather" if reduction.info.order_based or sampling else "auto"


@dataclass
class GradResult:
    """The gradient of one pooling call.

    ``grad`` has the input's shape and layout; ``output`` and ``upstream`` the output's.
    All three are float64 (float32 on MPS).
    """

    input_shape: tuple[int, ...]
    input_dtype: str
    output: np.ndarray
    upstream: np.ndarray
    upstream_given: bool
    grad: np.ndarray
    layout: Layout
    layout_guessed: bool
    reduction: Reduction
    spec: WindowSpec
    windows: tuple[AxisWindow, ...]
    options: PoolOptions
    device: str
    #: The last channel was an image's alpha, as for :class:`poolcli.model.options.PoolResult`;
    #: the gradient does not pool whole pixels.
    alpha: bool = False
    pixels: bool = False

    @property
    def rule(self) -> str:
        """What the gradient of this reduction is, in words."""
        if self.reduction is Reduction.STOCHASTIC and self.options.expectation:
            return EXPECTATION_RULE
        return GRADIENT_RULES[self.reduction]

    @property
    def undefined(self) -> int:
        """How many gradient values are NaN (lp at all-zero windows, NaN inputs)."""
        return int(np.isnan(self.grad).sum())


def _compute_dtype(device: torch.device) -> torch.dtype:
    import torch

    return torch.float32 if device.type == "mps" else torch.float64


def gradient(
    array,
    reduction: Reduction | str,
    spec: WindowSpec,
    layout: str | Layout | None = None,
    options: PoolOptions | None = None,
    upstream=None,
    *,
    alpha: bool = False,
) -> GradResult:
    """Gradient of a pooling op with respect to its input, by torch autograd on the engine.

    ``array`` (numpy), ``reduction``, ``spec``, ``layout`` and ``options`` are as for
    :func:`poolcli.engine.core.run`, except that ``options.dtype`` is ignored (gradients are
    float64). ``upstream`` is ``dL/d(output)``, shaped like the output (default: ones).
    ``alpha``: the last channel is an image's straight alpha, treated exactly as
    :func:`poolcli.engine.core.run` treats it. Raises :class:`UsageError` when ``upstream``
    does not have the output's shape or the windows do not fit, :class:`PoolError` for inputs
    the reduction cannot pool.

    >>> x = np.array([[1, 3, 2, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]])
    >>> gradient(x, "max", WindowSpec.make(kernel_size=2)).grad
    array([[0., 0., 0., 0.],
           [0., 1., 0., 1.],
           [0., 0., 0., 0.],
           [0., 1., 0., 1.]])
    """
    import torch

    from poolcli.engine import devices

    options = dataclasses.replace(options or PoolOptions(), dtype=None)
    reduction = Reduction(reduction)
    shape = tuple(np.shape(array))
    layout, guessed = resolve_layout(shape, layout)
    windows = resolve(spec, layout.spatial_shape(shape), layout.spatial)
    device = devices.torch_device(options.device)
    x = torch.from_numpy(np.array(array, dtype=np.float64, copy=True))
    x = x.to(device=device, dtype=_compute_dtype(device)).requires_grad_()
    y = differentiable_pool(
        x, reduction, windows, layout, spec.count_include_pad, options, alpha=alpha
    )
    up = torch.ones_like(y) if upstream is None else _upstream_tensor(upstream, y)
    y.backward(up)
    return GradResult(
        input_shape=shape,
        input_dtype=str(np.asarray(array).dtype),
        output=y.detach().cpu().numpy(),
        upstream=up.cpu().numpy(),
        upstream_given=upstream is not None,
        grad=x.grad.cpu().numpy(),
        layout=layout,
        layout_guessed=guessed,
        reduction=reduction,
        spec=spec,
        windows=windows,
        options=options,
        device=str(device),
        alpha=alpha and not options.straight_alpha,
    )


def differentiable_pool(
    x: torch.Tensor,
    reduction: Reduction,
    windows: tuple[AxisWindow, ...],
    layout: Layout,
    count_include_pad: bool,
    options: PoolOptions,
    *,
    alpha: bool = False,
) -> torch.Tensor:
    """The engine call :func:`gradient` differentiates (also what the tests gradcheck).

    The same :func:`poolcli.engine.ops.pool_tensor` as every command. The reductions whose gradient
    goes to chosen cells (max, min, median, mode, stochastic sampling) take the gather path on
    every windowing, so that ties are split the same way whatever the input's shape.
    """
    from poolcli.engine import ops

    path = _path(reduction, options)
    alpha = alpha and not options.straight_alpha
    return ops.pool_tensor(
        x, reduction, windows, layout, count_include_pad, options, path, alpha=alpha
    )


def _upstream_tensor(upstream, y: torch.Tensor) -> torch.Tensor:
    import torch

    values = np.asarray(upstream)
    if values.dtype.kind not in "biuf":
        raise UsageError(
            f"--upstream holds values of type {values.dtype}; give numbers, one per output cell.",
            option="--upstream",
        )
    if tuple(values.shape) != tuple(y.shape):
        raise PoolError(
            f"--upstream has shape {format_axes(values.shape)} but the pooled output has shape "
            f"{format_axes(tuple(y.shape))}: give one value per output cell, in the input's "
            "layout."
        )
    return torch.from_numpy(np.array(values, dtype=np.float64)).to(y.device, y.dtype)


# --------------------------------------------------------------------------------------------
# Unpooling


@dataclass
class UnpoolResult:
    """Each output value put back on its window's winning cell; zeros everywhere else.

    ``kept`` has the input's shape, layout and dtype (as ``F.max_unpool`` would give for max
    pooling); ``wins`` counts, per input cell, the windows it won (0: pooling dropped it).
    ``pooled`` is the pooling result that was unpooled.
    """

    kept: np.ndarray
    wins: np.ndarray
    pooled: PoolResult

    @property
    def kept_cells(self) -> int:
        return int(np.count_nonzero(self.wins))


def _cell_tables(windows: tuple[AxisWindow, ...]) -> list[np.ndarray]:
    """Per axis, (out, kernel): the input index of every window tap, -1 for padding."""
    tables = []
    for axis in windows:
        table = np.full((axis.out, axis.kernel), -1, dtype=np.int64)
        for i in range(axis.out):
            for j, cell in enumerate(axis.cells(i)):
                if 0 <= cell < axis.size:
                    table[i, j] = cell
        tables.append(table)
    return tables


def _winning_cells(winners: np.ndarray, windows: tuple[AxisWindow, ...]):
    """Canonical input index of every window's winning tap, and which windows have one (a
    winning tap in the padding has none)."""
    taps = np.unravel_index(winners, tuple(w.kernel for w in windows))
    grid = np.indices(winners.shape, sparse=True)
    coords = [table[grid[2 + a], taps[a]] for a, table in enumerate(_cell_tables(windows))]
    real = np.logical_and.reduce([c >= 0 for c in coords])
    index = (
        *(np.broadcast_to(g, winners.shape)[real] for g in grid[:2]),
        *(c[real] for c in coords),
    )
    return index, real


def unpool(
    array,
    reduction: Reduction | str,
    spec: WindowSpec,
    layout: str | Layout | None = None,
    options: PoolOptions | None = None,
    *,
    alpha: bool = False,
) -> UnpoolResult:
    """Pool ``array``, then put every output value back on the cell it was taken from.

    For max pooling this is ``F.max_unpool`` with the pooling's indices: the input where a
    cell won its window, 0 elsewhere. Works for every reduction whose result is one input
    cell (max, min, median, mode, stochastic sampling); ties go to the cell
    :func:`poolcli.engine.ops.window_winners` names (the first one for max, min and mode).

    Examples
    --------
    >>> x = np.array([[1, 3, 2, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]])
    >>> unpool(x, "max", WindowSpec.make(kernel_size=2)).kept
    array([[ 0,  0,  0,  0],
           [ 0,  6,  0,  8],
           [ 0,  0,  0,  0],
           [ 0, 14,  0, 16]])
    """
    from poolcli.engine import ops

    reduction = Reduction(reduction)
    options = options or PoolOptions()
    if not reduction.info.winner or (reduction is Reduction.STOCHASTIC and options.expectation):
        raise UsageError(
            f"--unpool needs a reduction whose result is one input cell (max, min, median, mode "
            f"or sampled stochastic), not {reduction}"
            + (" --expectation" if reduction is Reduction.STOCHASTIC else "")
            + ".",
            option="--unpool",
        )
    if reduction is Reduction.STOCHASTIC and options.seed is None:
        # The pooling and the winners must draw the same samples.
        options = dataclasses.replace(options, seed=int(np.random.SeedSequence().entropy % 2**63))
    pooled = run(array, reduction, spec, layout, options, alpha=alpha)
    layout = pooled.layout
    alpha = alpha and not options.straight_alpha
    winners = ops.window_winners(array, reduction, pooled.windows, layout, options, alpha=alpha)
    winners = winners.cpu().numpy()
    output = layout.canonical(np.asarray(pooled.output))
    index, real = _winning_cells(winners, pooled.windows)
    source = layout.canonical(np.asarray(array))
    kept = np.zeros(source.shape, dtype=np.asarray(array).dtype)
    wins = np.zeros(source.shape, dtype=np.int64)
    kept[index] = output[real]
    np.add.at(wins, index, 1)
    return UnpoolResult(
        kept=np.ascontiguousarray(layout.uncanonical(kept)),
        wins=np.ascontiguousarray(layout.uncanonical(wins)),
        pooled=pooled,
    )
