"""What each reduction is: one row of :data:`REDUCTIONS` per reduction.

Every layer asks this table instead of keeping its own sets of reductions: the engine for
fill values, dtypes and winners, the pictures and ``explain`` for what to frame, ``grad`` for
where a gradient goes, the command line for help text and the reduction's own options.
Adding a reduction is one row here plus its kernel in the engine.

>>> Reduction("median").info.order_based
True
>>> [str(r) for r in Reduction if r.info.weights_by_alpha]
['avg', 'sum', 'lp', 'stochastic', 'gem']
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Reduction(str, Enum):
    """What each window is reduced to."""

    MAX = "max"
    AVG = "avg"
    MIN = "min"
    SUM = "sum"
    LP = "lp"
    MEDIAN = "median"
    STOCHASTIC = "stochastic"
    MODE = "mode"
    GEM = "gem"

    def __str__(self) -> str:
        return self.value

    @property
    def info(self) -> ReductionInfo:
        """This reduction's row of :data:`REDUCTIONS`."""
        return REDUCTIONS[self]


class OutputDType(str, Enum):
    """How a reduction's output dtype follows its input's."""

    #: Exactly the input dtype: the result is one of the window's values.
    INPUT = "input"
    #: Floating inputs keep their dtype; integer inputs give the compute dtype (``--dtype``).
    FLOAT = "float"
    #: Floating inputs keep their dtype; integer inputs are promoted to int64 (never wraps).
    WIDE_INT = "wide-int"


@dataclass(frozen=True)
class ReductionInfo:
    """The facts about one reduction that code outside its kernel needs.

    ``order_based``: the result depends only on the order of the values (max, min, median,
    mode), so integers are compared as they are and padding is filled with a value that
    cannot win. ``winner``: the result is one input cell (order-based reductions, and
    stochastic when it samples), which pictures frame and gradients and unpooling go to.
    ``weights_by_alpha``: the result mixes cell values, so RGBA colour is weighted by alpha.
    ``fill``: the value padded cells hold in the engine's gather (``low`` cannot win a
    maximum, ``high`` cannot win a minimum, ``none`` where padding is masked out).
    ``options``: the reduction's own command-line options beyond the window.
    ``labels``: the result depends only on which values are equal (mode), so label maps
    pool as labels: palette images keep their indices, colour images compare whole pixels.
    ``divides_by_count``: the result divides by the number of cells (avg), which is what
    ``count_include_pad`` changes.
    """

    summary: str
    order_based: bool
    winner: bool
    weights_by_alpha: bool
    output_dtype: OutputDType
    fill: str = "none"
    labels: bool = False
    divides_by_count: bool = False
    options: tuple[str, ...] = ()
    examples: tuple[str, ...] = ()

    @property
    def computes_in_dtype(self) -> bool:
        """Whether a compute dtype means anything: the result is not one of the input's values
        (max, min, median and mode keep the input dtype, as ``numpy.amax`` and ``torch.amax``
        take no dtype)."""
        return self.output_dtype is not OutputDType.INPUT


REDUCTIONS: dict[Reduction, ReductionInfo] = {
    Reduction.MAX: ReductionInfo(
        summary="Take the maximum of each window; NaN wins, as in torch.",
        order_based=True,
        winner=True,
        weights_by_alpha=False,
        output_dtype=OutputDType.INPUT,
        fill="low",
        options=("blur",),
        examples=(
            "poolcli max photo.png -k 2 -o half.png",
            "poolcli max x.npy -k 3 -s 1 -p same --layout CHW",
            "poolcli max photos/ -r -k 2 -o small/ --then avg -k 2",
        ),
    ),
    Reduction.AVG: ReductionInfo(
        summary="Take the mean of each window; padded cells count only with --count-include-pad.",
        order_based=False,
        winner=False,
        weights_by_alpha=True,
        output_dtype=OutputDType.FLOAT,
        divides_by_count=True,
        examples=(
            "poolcli avg x.npy -k 2",
            "poolcli avg photo.png --output-size 64x64 -o thumb.png",
        ),
    ),
    Reduction.MIN: ReductionInfo(
        summary="Take the minimum of each window.",
        order_based=True,
        winner=True,
        weights_by_alpha=False,
        output_dtype=OutputDType.INPUT,
        fill="high",
        examples=(
            "poolcli min x.npy -k 2",
            "poolcli min mask.png -k 3 -s 1 -p same -o eroded.png",
        ),
    ),
    Reduction.SUM: ReductionInfo(
        summary="Sum each window; integer inputs give int64, so sums never wrap around.",
        order_based=False,
        winner=False,
        weights_by_alpha=True,
        output_dtype=OutputDType.WIDE_INT,
        examples=(
            "poolcli sum counts.npy -k 4",
            "poolcli sum x.npy --global --json",
        ),
    ),
    Reduction.LP: ReductionInfo(
        summary="Take the Lp norm (Σ|x|^p)^(1/p) of each window, with p from --norm-type "
        "(default 2).",
        order_based=False,
        winner=False,
        weights_by_alpha=True,
        output_dtype=OutputDType.FLOAT,
        options=("norm_type",),
        examples=(
            "poolcli lp x.npy -k 2",
            "poolcli lp x.npy -k 3 -s 2 --norm-type 3",
        ),
    ),
    Reduction.MEDIAN: ReductionInfo(
        summary="Take the median of each window (the lower one for an even count, as "
        "torch.median).",
        order_based=True,
        winner=True,
        weights_by_alpha=False,
        output_dtype=OutputDType.INPUT,
        examples=(
            "poolcli median noisy.png -k 3 -s 1 -p same -o clean.png",
            "poolcli median x.npy -k 2",
        ),
    ),
    Reduction.STOCHASTIC: ReductionInfo(
        summary="Pick one cell per window with probability x/Σx (Zeiler & Fergus); inputs must "
        "be ≥ 0.",
        order_based=False,
        winner=True,
        weights_by_alpha=True,
        output_dtype=OutputDType.FLOAT,
        options=("seed", "expectation"),
        examples=(
            "poolcli stochastic x.npy -k 2 --seed 0",
            "poolcli stochastic x.npy -k 2 --expectation",
        ),
    ),
    Reduction.MODE: ReductionInfo(
        summary="Take the most frequent value of each window (ties: the smallest), for label maps.",
        order_based=True,
        winner=True,
        weights_by_alpha=False,
        output_dtype=OutputDType.INPUT,
        labels=True,
        examples=(
            "poolcli mode labels.png -k 4 -o labels_small.png",
            "poolcli mode mask.npy -k 2 --json",
        ),
    ),
    # Data-aware pooling
    Reduction.GEM: ReductionInfo(
        summary="Take the generalized mean (mean x^p)^(1/p) of each window (GeM), with p from "
        "--norm-type (default 3); inputs must be ≥ 0.",
        order_based=False,
        winner=False,
        weights_by_alpha=True,
        output_dtype=OutputDType.FLOAT,
        options=("norm_type",),
        examples=(
            "poolcli gem features.npy --global --layout CHW",
            "poolcli gem x.npy -k 2 --norm-type 4",
        ),
    ),
}

#: The default ``--norm-type`` of each reduction that takes one.
NORM_TYPE_DEFAULTS = {Reduction.LP: 2.0, Reduction.GEM: 3.0}


def default_norm_type(reduction: Reduction, given: float | None) -> float:
    """``given``, or the reduction's default p (3 for gem, as the GeM papers; else 2)."""
    if given is not None:
        return given
    return NORM_TYPE_DEFAULTS.get(Reduction(reduction), 2.0)


def parse_reduction(name: Reduction | str, option: str = "--op") -> Reduction:
    """``name`` as a :class:`Reduction`; an unknown name is a UsageError listing the known ones."""
    from poolcli.errors import UsageError

    try:
        return Reduction(str(name).strip().lower())
    except ValueError:
        known = ", ".join(r.value for r in Reduction)
        message = f"{option} {name} is not a reduction: use one of {known}."
        raise UsageError(message, option=option) from None
