"""Which engine path computes a case: a table of what each path can take, and the preferences.

:data:`CAPABILITIES` says, row by row, which cases a path computes exactly; a path takes a
case when one of its rows does. :func:`choose_path` walks :data:`PREFERENCES`, the measured
order of speed (benchmarks/README.md), and takes the first path that can take the case and
whose preference holds. :func:`check_path` refuses a forced path that cannot take the case,
so a kernel never sees a case it was not written for.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from poolcli.engine.counting import COUNTED
from poolcli.engine.separable import SEPARABLE
from poolcli.errors import UsageError
from poolcli.model.reductions import Reduction
from poolcli.model.window import AxisWindow, adaptive_bins

#: Sliding windows with at most this many taps take the ``taps`` path.
TAP_LIMIT = 64
#: Medians of windows without padding and at most this many taps use a selection network
#: (measured on 512²×3, uint8 and float32: the network beats the sorting gather 3-25x from
#: 5×5 to 11×11, and still wins at 13×13; 11×11 keeps it to 1,137 compare-exchanges).
MEDIAN_TAP_LIMIT = 121
#: Medians of 8-bit windows of this many cells or more count instead (``bench_core.py --only
#: sweep``, 512²×3 uint8: counting 41 ms against the network's 42 ms at 9×9, 67 against 89 ms
#: at 11×11, 96 ms against the sorting gather's 3.5 s at 15×15; the network won 7×7, 18
#: against 33 ms).
COUNTING_FROM = 81

PATHS = ("auto", "taps", "separable", "networks", "counting", "torch", "global", "gather")
ALL_REDUCTIONS = frozenset(Reduction)
ALL_DTYPES = frozenset({"integer", "float", "float16 on the CPU"})


class _fact:  # noqa: N801 - used as a decorator, like property
    """A fact of a :class:`Case`, computed the first time a row asks for it (as
    ``functools.cached_property``, without its lock: the choice runs on every call)."""

    def __init__(self, compute: Callable):
        self.compute, self.name = compute, compute.__name__
        self.__doc__ = compute.__doc__

    def __get__(self, case, owner=None):
        if case is None:
            return self
        value = case.__dict__[self.name] = self.compute(case)
        return value


class Case:
    """The facts about one pooling call that decide which paths can compute it.

    ``masked``: some cells are to be left out, as padding is (transparent pixels).
    """

    def __init__(self, x: torch.Tensor, reduction: Reduction, windows, masked: bool = False):
        self.x, self.reduction, self.windows, self.masked = x, reduction, windows, masked

    @_fact
    def adaptive(self) -> bool:
        return self.windows[0].bins is not None

    @_fact
    def windowings(self) -> frozenset[str]:
        """``{"adaptive"}``, ``{"sliding"}``, or ``{"sliding", "global"}`` for one window that
        covers every spatial axis exactly."""
        whole = not self.adaptive and all(
            a.out == 1 and a.kernel == a.size and a.dilation == 1 and a.pad_begin == 0
            for a in self.windows
        )
        if self.adaptive and any(a.bins != adaptive_bins(a.size, a.out) for a in self.windows):
            return frozenset({"bins"})  # fractional windows: only the gather follows any bins
        return _WINDOWINGS[self.adaptive, whole]

    @_fact
    def dims(self) -> int:
        return len(self.windows)

    @_fact
    def batch_axes(self) -> int:
        return self.x.dim() - len(self.windows)

    @_fact
    def kernel(self) -> tuple[int, ...]:
        return tuple(a.kernel for a in self.windows)

    @_fact
    def taps(self) -> int:
        return math.prod(a.kernel for a in self.windows)

    @_fact
    def inside(self) -> bool:
        """Every window lies inside the input (no padding cell in any window)."""
        return not self.adaptive and all(
            a.pad_begin == 0 and (a.out - 1) * a.stride + a.effective_kernel <= a.size
            for a in self.windows
        )

    @_fact
    def symmetric(self) -> bool:
        """Padding is the same at both ends of every axis and at most half the kernel."""
        return all(a.pad_begin == a.pad_end <= a.kernel // 2 for a in self.windows)

    @_fact
    def dilated(self) -> bool:
        return any(a.dilation > 1 for a in self.windows)

    @_fact
    def thin(self) -> bool:
        """A spatial axis is shorter than a sliding kernel."""
        return not self.adaptive and any(a.size < a.kernel for a in self.windows)

    @_fact
    def strided(self) -> bool:
        return all(a.stride > 1 for a in self.windows)

    @_fact
    def dtype(self) -> str:
        if not self.x.dtype.is_floating_point:
            return "integer"
        if self.x.dtype is torch.float16 and self.x.device.type == "cpu":
            return "float16 on the CPU"
        return "float"

    @_fact
    def gradient(self) -> bool:
        """Autograd must send each window's gradient to the one cell its value comes from."""
        return self.x.requires_grad and self.reduction.info.order_based

    @_fact
    def nan(self) -> bool:
        """The input holds NaN (a pass over it, so asked last). The maximum is NaN exactly
        when a cell is (torch propagates NaN): one reduction, without the boolean copy of
        the input that ``isnan().any()`` writes (7 ms against 1.7 ms on 4096² float32)."""
        x = self.x
        return x.dtype.is_floating_point and x.numel() > 0 and bool(torch.isnan(x.amax()))


_WINDOWINGS = {
    (True, False): frozenset({"adaptive"}),
    (False, False): frozenset({"sliding"}),
    (False, True): frozenset({"sliding", "global"}),
}


@dataclass(frozen=True)
class Capability:
    """One row of :data:`CAPABILITIES`: the cases ``path`` computes exactly.

    ``padding``: ``"any"``, ``"symmetric"`` (equal at both ends, at most half the kernel) or
    ``"inside"`` (every window inside the input). ``dims``: the numbers of spatial axes it
    takes. ``thin_axes``: whether an axis may be shorter than the kernel. ``nan``: whether
    the input may hold NaN. ``eight_bit``: whether it takes 8-bit integers only.
    ``winner_gradient``: whether, under autograd, an order-based reduction's gradient goes to
    the one cell each value comes from. ``masks``: whether it can leave out cells a mask
    hides.
    """

    path: str
    reductions: frozenset[Reduction]
    windowings: frozenset[str] = frozenset({"sliding", "adaptive"})
    padding: str = "any"
    dilation: bool = True
    dtypes: frozenset[str] = ALL_DTYPES
    dims: frozenset[int] = frozenset({1, 2, 3})
    max_batch_axes: int | None = None
    thin_axes: bool = True
    max_taps: int | None = None
    nan: bool = True
    winner_gradient: bool = False
    masks: bool = False
    #: Whether it takes only 8-bit integers (uint8, int8).
    eight_bit: bool = False
    #: The kernel shapes it has, or None for any.
    kernels: frozenset[tuple[int, ...]] | None = None

    #: The facts this row restricts (it admits the others whatever the case).
    limits: tuple = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        limits = tuple(
            (index, holds, reason)
            for index, (restricts, holds, reason) in enumerate(_FACTS)
            if restricts(self)
        )
        object.__setattr__(self, "limits", limits)

    def takes(self, case: Case) -> bool:
        """Whether this row admits ``case``."""
        for _, holds, _ in self.limits:
            if not holds(self, case):
                return False
        return True

    def refusal(self, case: Case) -> tuple[int, str] | None:
        """Why this row cannot take ``case``: ``(how many facts it passed, reason)``, or None."""
        for passed, holds, reason in self.limits:
            if not holds(self, case):
                return passed, reason(self, case)
        return None


def _words(text: str) -> Callable[[Capability, Case], str]:
    return lambda row, case: text


def _always(row: Capability) -> bool:
    return True


#: The facts a row of the table checks, in order (NaN last: it reads the whole input): whether
#: a row restricts the fact at all, whether it admits the case, and the reason it gives if not.
_FACTS: tuple[tuple[Callable, Callable, Callable], ...] = (
    (
        _always,
        lambda row, case: case.reduction in row.reductions,
        lambda row, case: f"it has no kernel for {case.reduction}",
    ),
    (
        _always,
        lambda row, case: bool(case.windowings & row.windowings),
        lambda row, case: f"it takes only {' or '.join(sorted(row.windowings))} windows",
    ),
    (
        lambda row: row.padding == "symmetric",
        lambda row, case: case.symmetric,
        _words("torch takes padding only when equal at both ends and at most half the kernel"),
    ),
    (
        lambda row: row.padding == "inside",
        lambda row, case: case.inside,
        _words("a window reaches the padding"),
    ),
    (
        lambda row: not row.dilation,
        lambda row, case: not case.dilated,
        _words("it has no dilation"),
    ),
    (
        lambda row: row.dtypes != ALL_DTYPES,
        lambda row, case: case.dtype in row.dtypes,
        lambda row, case: f"it cannot pool {case.dtype} values",
    ),
    (
        lambda row: row.dims != frozenset({1, 2, 3}),
        lambda row, case: case.dims in row.dims,
        lambda row, case: f"it has no {case.dims}-D kernel for this",
    ),
    (
        lambda row: row.max_batch_axes is not None,
        lambda row, case: case.batch_axes <= row.max_batch_axes,
        lambda row, case: f"it takes at most {row.max_batch_axes} axes besides the spatial ones",
    ),
    (
        lambda row: not row.thin_axes,
        lambda row, case: not case.thin,
        _words("an axis is shorter than the kernel"),
    ),
    (
        lambda row: row.eight_bit,
        lambda row, case: case.x.dtype in COUNTED,
        _words("it counts 8-bit integers only"),
    ),
    (
        lambda row: row.max_taps is not None,
        lambda row, case: case.taps <= row.max_taps,
        lambda row, case: f"it takes at most {row.max_taps} cells per window",
    ),
    (
        lambda row: row.kernels is not None,
        lambda row, case: case.kernel in row.kernels,
        lambda row, case: f"it has no kernel of shape {'x'.join(map(str, case.kernel))}",
    ),
    (
        lambda row: not row.winner_gradient,
        lambda row, case: not case.gradient,
        _words("its gradient would not go to a single winning cell"),
    ),
    (
        lambda row: not row.masks,
        lambda row, case: not case.masked,
        _words("it cannot leave out masked cells"),
    ),
    (lambda row: not row.nan, lambda row, case: not case.nan, _words("the input holds NaN")),
)


ORDER_BASED = frozenset(r for r in Reduction if r.info.order_based)
TAP_REDUCTIONS = frozenset(
    {Reduction.MAX, Reduction.MIN, Reduction.SUM, Reduction.AVG, Reduction.LP, Reduction.GEM}
)
_TORCH = {"dtypes": frozenset({"float"}), "padding": "symmetric", "max_batch_axes": 2}
#: gem is the mean of x^p (poolcli.engine.missing): it goes wherever the mean goes.
_MEANS = frozenset({Reduction.AVG, Reduction.GEM})

#: What each path computes exactly. A path takes a case when any of its rows does.
CAPABILITIES: tuple[Capability, ...] = (
    Capability("global", ALL_REDUCTIONS, windowings=frozenset({"global"})),
    Capability("taps", TAP_REDUCTIONS, windowings=frozenset({"sliding"})),
    # The median's selection network compares real cells only and cannot propagate NaN.
    Capability(
        "taps",
        frozenset({Reduction.MEDIAN}),
        windowings=frozenset({"sliding"}),
        padding="inside",
        max_taps=MEDIAN_TAP_LIMIT,
        nan=False,
    ),
    # One axis at a time: the taps' method per axis, exact for max/min and integer sums.
    Capability("separable", SEPARABLE, windowings=frozenset({"sliding"})),
    # Sorting networks shared between neighbouring windows: min/max only, so no NaN.
    Capability(
        "networks",
        frozenset({Reduction.MEDIAN}),
        windowings=frozenset({"sliding"}),
        padding="inside",
        kernels=frozenset({(3,), (3, 3)}),
        nan=False,
    ),
    # Eight counts of the window's cells below a threshold: comparisons only, any window.
    Capability(
        "counting",
        frozenset({Reduction.MEDIAN}),
        windowings=frozenset({"sliding"}),
        padding="inside",
        eight_bit=True,
    ),
    Capability("torch", frozenset({Reduction.MAX}), **_TORCH),
    Capability("torch", _MEANS, windowings=frozenset({"adaptive"}), **_TORCH),
    # torch's average has no dilation; its 3-D kernel refuses an axis shorter than the kernel.
    Capability(
        "torch",
        _MEANS,
        windowings=frozenset({"sliding"}),
        dilation=False,
        dims=frozenset({1, 2}),
        **_TORCH,
    ),
    Capability(
        "torch",
        _MEANS,
        windowings=frozenset({"sliding"}),
        dilation=False,
        dims=frozenset({3}),
        thin_axes=False,
        **_TORCH,
    ),
    # The order-based kernels leave out masked cells as they leave out padding.
    Capability(
        "gather",
        ORDER_BASED,
        windowings=frozenset({"sliding", "adaptive", "global", "bins"}),
        winner_gradient=True,
        masks=True,
    ),
    Capability(
        "gather",
        ALL_REDUCTIONS - ORDER_BASED,
        windowings=frozenset({"sliding", "adaptive", "global", "bins"}),
        winner_gradient=True,
    ),
)


def _any_case(case: Case) -> bool:
    return True


def _strided_average(case: Case) -> bool:
    return case.reduction is Reduction.AVG and case.taps > 4 and case.strided


def _separable_pays(case: Case) -> bool:
    """Per axis beats per tap on integers and on float windows over 9 taps. On small float
    windows the intermediate result costs as much memory traffic as it saves (2x2 s2 max
    of 8192² float32: 150 ms against the taps' 100 ms), and float sums of small windows stay
    in the taps' order of addition, which the recorded outputs follow (benchmarks/README.md)."""
    if case.x.requires_grad:
        return False  # under autograd the taps add out of place; these passes add in place
    return case.dtype == "integer" or case.taps > 9


def _counting_pays(case: Case) -> bool:
    return case.taps >= COUNTING_FROM


def _few_taps(case: Case) -> bool:
    if case.reduction is Reduction.MEDIAN:
        return True  # its row stops at MEDIAN_TAP_LIMIT, up to which the network wins
    return case.taps <= TAP_LIMIT


#: The order to try the paths in, each with the condition under which it is worth taking
#: (measured: the 3x3 median network beats the median-of-9 network 2x; torch's strided
#: averages beat the taps above 4 taps; the separable passes beat the taps on integers and
#: on float windows over 9 taps; the taps beat torch and the gather up to ``TAP_LIMIT`` taps).
PREFERENCES: tuple[tuple[str, Callable[[Case], bool]], ...] = (
    ("global", _any_case),
    ("networks", _any_case),
    ("counting", _counting_pays),
    ("torch", _strided_average),
    ("separable", _separable_pays),
    ("taps", _few_taps),
    ("torch", _any_case),
    ("gather", _any_case),
)


#: The rows of each path.
ROWS: dict[str, tuple[Capability, ...]] = {
    path: tuple(row for row in CAPABILITIES if row.path == path) for path in PATHS
}


def can(path: str, case: Case) -> bool:
    """Whether ``path`` computes ``case`` exactly."""
    return any(row.takes(case) for row in ROWS[path])


def choose_path(
    x: torch.Tensor,
    reduction: Reduction,
    windows: Sequence[AxisWindow],
    masked: bool = False,
    whole: bool = True,
) -> str:
    """The fastest path that computes this case exactly.

    ``whole=False``: ``x`` is one block of a larger array (blockwise pooling). A block that
    happens to be one window is not taken as global pooling, so that it adds its cells in
    the order the whole array's path does and the results stay identical to the last bit.
    """
    case = Case(x, reduction, windows, masked)
    return next(
        path
        for path, worth in PREFERENCES
        if (whole or path != "global") and worth(case) and can(path, case)
    )


def check_path(path: str, x: torch.Tensor, reduction: Reduction, windows, masked=False) -> None:
    """Refuse a forced ``path`` that cannot compute this case (the tests force every path)."""
    if path not in PATHS:
        raise UsageError(f"there is no engine path {path!r}: use one of {', '.join(PATHS)}.")
    case = Case(x, reduction, windows, masked)
    refusals = [row.refusal(case) for row in ROWS[path]]
    if any(refusal is None for refusal in refusals):
        return
    _, reason = max(refusals)
    raise UsageError(f"the {path} path cannot compute {reduction} here: {reason}.")
