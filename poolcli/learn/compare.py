"""Several reductions over the same windows, side by side: per-op statistics and differences.

:func:`compare` pools one input with each reduction through :func:`poolcli.engine.core.run` (the
same call as ``poolcli max``, ``poolcli avg``...) and summarises the outputs:

* per op: min, max, mean and standard deviation of its output (NaN left out and counted);
* per pair of ops: the mean and the largest ``|a - b|`` over the output cells, in float64
  (cells where either output is NaN are left out).

All ops share the windows, so all outputs have the same shape and are compared cell by cell.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from poolcli.engine.core import run
from poolcli.errors import PoolError, UsageError
from poolcli.model.layout import Layout
from poolcli.model.options import PoolOptions, PoolResult
from poolcli.model.reductions import Reduction
from poolcli.model.window import WindowSpec

#: The ops ``poolcli compare`` uses when ``--ops`` is not given.
DEFAULT_OPS = (Reduction.MAX, Reduction.AVG, Reduction.MIN, Reduction.MEDIAN, Reduction.LP)


def parse_ops(text: str | None, default=DEFAULT_OPS) -> tuple[Reduction, ...]:
    """``"max,avg"`` -> ``(Reduction.MAX, Reduction.AVG)``; ``"all"`` -> every reduction.

    Repeated names count once; an unknown name is a usage error naming ``--ops``.

    >>> [str(r) for r in parse_ops("max, avg,max")]
    ['max', 'avg']
    """
    if text is None:
        return tuple(default)
    names = [part.strip().lower() for part in text.split(",") if part.strip()]
    if names == ["all"]:
        return tuple(Reduction)
    known = [r.value for r in Reduction]
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        if not names:
            what = "names no reduction"
        else:
            what = f"{', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not a reduction"
        raise UsageError(
            f"--ops {text}: {what}; use a comma-separated list of {', '.join(known)}, or all.",
            option="--ops",
        )
    return tuple(dict.fromkeys(Reduction(n) for n in names))


@dataclass(frozen=True)
class OutputStats:
    """Statistics of one op's output, in float64; NaN values are left out and counted."""

    op: Reduction
    min: float
    max: float
    mean: float
    std: float
    nan: int


@dataclass(frozen=True)
class PairDifference:
    """How far two ops' outputs are apart, cell by cell (cells with NaN in either left out)."""

    a: Reduction
    b: Reduction
    mean_abs: float
    max_abs: float


@dataclass
class Comparison:
    """The outputs of every op, their statistics and their pairwise differences."""

    results: dict[Reduction, PoolResult]
    stats: list[OutputStats]
    pairs: list[PairDifference]

    @property
    def ops(self) -> tuple[Reduction, ...]:
        return tuple(self.results)

    @property
    def first(self) -> PoolResult:
        return next(iter(self.results.values()))


def output_stats(op: Reduction, output) -> OutputStats:
    """min / max / mean / std of ``output`` (float64, NaN ignored; NaN when all are NaN).

    >>> s = output_stats(Reduction.MAX, np.array([[6, 8], [14, 16]]))
    >>> s.min, s.max, s.mean, round(s.std, 4), s.nan
    (6.0, 16.0, 11.0, 4.1231, 0)
    """
    values = np.asarray(output, dtype=np.float64).reshape(-1)
    missing = np.isnan(values)
    values = values[~missing]
    if values.size == 0:
        nan = math.nan
        return OutputStats(op, nan, nan, nan, nan, int(missing.sum()))
    finite = values[np.isfinite(values)]
    std = float(finite.std()) if finite.size == values.size else math.nan
    return OutputStats(
        op,
        float(values.min()),
        float(values.max()),
        float(values.mean()),
        std,
        int(missing.sum()),
    )


def pair_difference(a: Reduction, b: Reduction, out_a, out_b) -> PairDifference:
    """Mean and largest ``|out_a - out_b|`` over the cells where both are numbers.

    >>> pair_difference(Reduction.MAX, Reduction.MIN, np.array([3, 5]), np.array([1, 5]))
    PairDifference(a=<Reduction.MAX: 'max'>, b=<Reduction.MIN: 'min'>, mean_abs=1.0, max_abs=2.0)
    """
    diff = np.abs(np.asarray(out_a, dtype=np.float64) - np.asarray(out_b, dtype=np.float64))
    diff = diff[~np.isnan(diff)]
    if diff.size == 0:
        return PairDifference(a, b, math.nan, math.nan)
    return PairDifference(a, b, float(diff.mean()), float(diff.max()))


def compare(
    array,
    ops: tuple[Reduction | str, ...],
    spec: WindowSpec,
    layout: str | Layout | None = None,
    options: PoolOptions | None = None,
    *,
    alpha: bool = False,
) -> Comparison:
    """Pool ``array`` with each op in ``ops`` over the same windows and compare the outputs.

    Parameters
    ----------
    array : numpy.ndarray
        The input, laid out as ``layout`` (default: the command line's rule).
    ops : sequence of Reduction or str
        The reductions, in the order to report them.
    spec, layout, options, alpha
        As for :func:`poolcli.engine.core.run`; ``options`` apply to the ops they concern
        (``norm_type`` to lp, ``seed`` and ``expectation`` to stochastic).

    Returns
    -------
    Comparison

    Raises
    ------
    PoolError
        When one op cannot pool the input (stochastic pooling of negative values); the
        message names the op.

    Examples
    --------
    >>> x = np.array([[1, 3, 2, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]])
    >>> c = compare(x, ("max", "avg"), WindowSpec.make(kernel_size=2))
    >>> c.pairs[0].mean_abs, c.pairs[0].max_abs
    (2.5, 2.75)
    """
    options = options or PoolOptions()
    results: dict[Reduction, PoolResult] = {}
    for op in ops:
        op = Reduction(op)
        try:
            results[op] = run(array, op, spec, layout, options, alpha=alpha)
        except UsageError:
            raise
        except PoolError as error:
            raise PoolError(f"{op}: {error.message}", error.path) from None
    stats = [output_stats(op, r.output) for op, r in results.items()]
    pairs = [
        pair_difference(a, b, results[a].output, results[b].output)
        for a, b in itertools.combinations(results, 2)
    ]
    return Comparison(results=results, stats=stats, pairs=pairs)
