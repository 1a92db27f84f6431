"""How much each op's output changes when its input is shifted by a few cells or slightly noised.

The seeds say pooling makes a network robust to small translations; :func:`measure` checks
that claim on a given input, with the real ops (:func:`poolcli.engine.core.run`).

Shifts
    A shift of ``s`` cells along a spatial axis compares the op on the input without its last
    ``s`` cells with the op on the input without its first ``s`` cells: the same content, moved
    by ``s`` cells, both cropped to the overlap. Nothing wraps around or is made up at the
    edges (rolling would carry the far edge round and count the seam as a change), so every
    difference comes from the shift. Both crops have the same size, so they are pooled with
    the same windows and compared output cell by output cell.
Noise
    Gaussian noise with ``sigma = noise × range``, where ``range`` is the input's
    ``max − min`` (finite values), drawn by ``numpy.random.default_rng(seed)``. Values stay in
    the input's domain: integer inputs are rounded and clipped to their type's range, and
    inputs without negative values are clipped at 0 (stochastic pooling needs them so).

For each op and perturbation (:class:`Change`):

* ``unchanged`` — the share of output cells that are exactly equal (NaN equal to NaN);
* ``mean_change`` / ``max_change`` — ``|a − b|`` averaged over the output cells / the largest,
  divided by the input's range (by 1 for a constant input), cells with NaN left out.

The same measures on the perturbed input itself (op ``None``, shown as "input") are the
baseline that pooling should improve on.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from poolcli.engine.core import run
from poolcli.errors import PoolError, UsageError
from poolcli.model.layout import Layout
from poolcli.model.options import PoolOptions, resolve_layout
from poolcli.model.reductions import Reduction
from poolcli.model.window import AxisWindow, WindowSpec, resolve

DEFAULT_SHIFTS = (1, 2, 3)
DEFAULT_NOISE = 0.01
EDGE_RULE = (
    "shifted inputs are cropped to the overlap (the input without its last s cells against "
    "the input without its first s cells); nothing wraps around"
)


@dataclass(frozen=True)
class Perturbation:
    """A shift of ``amount`` cells along ``axis``, or noise with sigma ``amount × range``."""

    kind: str
    amount: float
    axis: str | None = None

    @property
    def label(self) -> str:
        """``"shift 1 W"`` or ``"noise 1%"``."""
        if self.kind == "shift":
            return f"shift {int(self.amount)} {self.axis}"
        return f"noise {self.amount * 100:g}%"


@dataclass(frozen=True)
class Change:
    """How one op's output changed under one perturbation (``op`` None: the input itself)."""

    op: Reduction | None
    perturbation: Perturbation
    unchanged: float
    mean_change: float
    max_change: float
    cells: int


@dataclass
class InvarianceResult:
    """Every op under every perturbation, plus the input's own change as a baseline."""

    ops: tuple[Reduction, ...]
    changes: list[Change]
    perturbations: list[Perturbation]
    input_range: float
    sigma: float
    layout: Layout
    layout_guessed: bool
    windows: tuple[AxisWindow, ...]
    seed: int
    spec: WindowSpec | None = None

    def for_op(self, op: Reduction | None) -> list[Change]:
        return [c for c in self.changes if c.op == op]


def input_range(array) -> float:
    """``max − min`` of the finite values (0 when there are none).

    >>> input_range(np.array([3, 7, 5])), input_range(np.array([np.nan, 2.0]))
    (4.0, 0.0)
    """
    values = np.asarray(array, dtype=np.float64)
    finite = values[np.isfinite(values)]
    return float(finite.max() - finite.min()) if finite.size else 0.0


def shifted_pair(array, axis: int, shift: int) -> tuple[np.ndarray, np.ndarray]:
    """The input without its last ``shift`` cells along ``axis``, and without its first.

    >>> shifted_pair(np.arange(5), 0, 2)
    (array([0, 1, 2]), array([2, 3, 4]))
    """
    array = np.asarray(array)
    size = array.shape[axis]
    return (
        np.take(array, np.arange(0, size - shift), axis=axis),
        np.take(array, np.arange(shift, size), axis=axis),
    )


def noised(array, sigma: float, seed: int) -> np.ndarray:
    """``array`` plus Gaussian noise of ``sigma``, kept in the input's dtype and domain."""
    array = np.asarray(array)
    noise = np.random.default_rng(seed).standard_normal(array.shape) * sigma
    values = array.astype(np.float64) + noise
    kind = array.dtype.kind
    if kind == "b":
        return np.clip(np.rint(values), 0, 1).astype(bool)
    if kind in "iu":
        info = np.iinfo(array.dtype)
        return np.clip(np.rint(values), info.min, info.max).astype(array.dtype)
    if not (array < 0).any():
        values = np.maximum(values, 0)
    return values.astype(array.dtype)


def change(a, b, scale: float) -> tuple[float, float, float, int]:
    """(share of equal cells, mean |a − b| / scale, max |a − b| / scale, cells).

    >>> change(np.array([1.0, 2.0, 4.0]), np.array([1.0, 3.0, 4.0]), 2.0)
    (0.6666666666666666, 0.16666666666666666, 0.5, 3)
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.size == 0:
        return 1.0, 0.0, 0.0, 0
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    diff = np.abs(a - b)
    diff = diff[~np.isnan(diff)]
    scale = scale if scale > 0 else 1.0
    mean = float(diff.mean()) / scale if diff.size else 0.0
    top = float(diff.max()) / scale if diff.size else 0.0
    return float(same.mean()), mean, top, int(a.size)


def check_noise(noise: float) -> None:
    """Refuse a negative or non-finite ``--noise``."""
    if not (math.isfinite(noise) and noise >= 0):
        raise UsageError(f"--noise must be 0 or more, got {noise:g}.", option="--noise")


def _pool(array, op, spec, layout, options, alpha, shift: Perturbation | None):
    try:
        return run(array, op, spec, layout, options, alpha=alpha).output
    except UsageError as error:
        if shift is None:
            raise
        raise PoolError(
            f"--shifts {int(shift.amount)}: the input cropped by {int(shift.amount)} cells "
            f"along {shift.axis} no longer fits the window ({error.message}) Use smaller "
            "shifts."
        ) from None
    except PoolError as error:
        raise PoolError(f"{op}: {error.message}", error.path) from None


def _op_changes(op, pairs, spec, layout, options, alpha, scale) -> list[Change]:
    """How ``op``'s output changes under each perturbation of ``pairs``."""
    changes = []
    if op is not Reduction.MAX and options.blur:
        options = dataclasses.replace(options, blur=None)  # --blur is max's (BlurPool)
    for p, a, b in pairs:
        shift = p if p.kind == "shift" else None
        out_a = _pool(a, op, spec, layout, options, alpha, shift)
        out_b = _pool(b, op, spec, layout, options, alpha, shift)
        changes.append(Change(op, p, *change(out_a, out_b, scale)))
    return changes


def _perturbed_pairs(array, layout: Layout, shifts, noise: float, sigma: float, seed: int):
    """(perturbation, before, after) for every shift along every spatial axis, then noise."""
    pairs: list[tuple[Perturbation, np.ndarray, np.ndarray]] = []
    for shift in shifts:
        for name, axis in zip(layout.spatial, layout.spatial_axes):
            if shift >= array.shape[axis]:
                raise PoolError(
                    f"--shifts {shift} is not smaller than the input along {name} "
                    f"({array.shape[axis]} cells)."
                )
            pairs.append((Perturbation("shift", shift, name), *shifted_pair(array, axis, shift)))
    if noise > 0:
        pairs.append((Perturbation("noise", noise), array, noised(array, sigma, seed)))
    return pairs


def measure(
    array,
    ops: tuple[Reduction | str, ...],
    spec: WindowSpec,
    layout: str | Layout | None = None,
    options: PoolOptions | None = None,
    *,
    shifts: tuple[int, ...] = DEFAULT_SHIFTS,
    noise: float = DEFAULT_NOISE,
    seed: int = 0,
    alpha: bool = False,
) -> InvarianceResult:
    """Measure how each op's output changes under small shifts and noise.

    ``array`` is laid out as ``layout`` (default: the command line's rule); ``spec``,
    ``options`` and ``alpha`` are as for :func:`poolcli.engine.core.run`. Stochastic sampling
    uses ``options.seed``, or ``seed`` when that is None, so an unchanged window samples the
    same cell. Each of ``shifts`` (in cells) is tried along every spatial axis; ``noise`` is a
    sigma as a fraction of the input's range (0 leaves the noise test out), seeded with
    ``seed``.

    A bright cell that stays inside its 2x2 window when shifted leaves max pooling unchanged:

    >>> x = np.zeros((4, 4)); x[1, 1] = 1
    >>> r = measure(x, ("max", "avg"), WindowSpec.make(kernel_size=2), shifts=(1,), noise=0)
    >>> [(c.perturbation.label, c.unchanged) for c in r.for_op(Reduction.MAX)]
    [('shift 1 H', 1.0), ('shift 1 W', 1.0)]
    """
    options = options or PoolOptions()
    if options.seed is None:
        options = dataclasses.replace(options, seed=seed)
    check_noise(noise)
    ops = tuple(Reduction(op) for op in ops)
    array = np.asarray(array)
    layout, guessed = resolve_layout(array.shape, layout)
    windows = resolve(spec, layout.spatial_shape(array.shape), layout.spatial)
    scale = input_range(array)
    sigma = noise * scale

    pairs = _perturbed_pairs(array, layout, shifts, noise, sigma, seed)
    changes = [Change(None, p, *change(a, b, scale)) for p, a, b in pairs]
    for op in ops:
        changes += _op_changes(op, pairs, spec, layout, options, alpha, scale)
    return InvarianceResult(
        ops=ops,
        changes=changes,
        perturbations=[p for p, _, _ in pairs],
        input_range=scale,
        sigma=sigma,
        layout=layout,
        layout_guessed=guessed,
        windows=windows,
        seed=seed,
        spec=spec,
    )


@dataclass(frozen=True)
class ShiftExample:
    """One op's output before and after one shift: what the ``invariance`` picture shows
    under its charts. ``before`` pools the input without its last ``s`` cells along the
    shift's axis, ``after`` the input without its first ``s`` (see :data:`EDGE_RULE`)."""

    op: Reduction
    shift: Perturbation
    before: np.ndarray
    after: np.ndarray


def shift_example(
    array, result: InvarianceResult, options: PoolOptions | None = None, *, alpha: bool = False
) -> ShiftExample | None:
    """The first op of ``result`` under its smallest shift along the last spatial axis,
    pooled as :func:`measure` pooled it (None without ops or such a shift)."""
    axis_name = result.layout.spatial[-1]
    shifts = [p for p in result.perturbations if p.kind == "shift" and p.axis == axis_name]
    if not shifts or not result.ops or result.spec is None:
        return None
    shift = min(shifts, key=lambda p: p.amount)
    op = result.ops[0]
    options = options or PoolOptions()
    if options.seed is None:
        options = dataclasses.replace(options, seed=result.seed)
    if op is not Reduction.MAX and options.blur:
        options = dataclasses.replace(options, blur=None)
    a, b = shifted_pair(np.asarray(array), result.layout.spatial_axes[-1], int(shift.amount))
    spec, layout = result.spec, result.layout
    before = _pool(a, op, spec, layout, options, alpha, shift)
    after = _pool(b, op, spec, layout, options, alpha, shift)
    return ShiftExample(op, shift, np.asarray(before), np.asarray(after))
