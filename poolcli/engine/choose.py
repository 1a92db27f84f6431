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
from dataclasses import dataclass
from functools import cached_property

import torch

from poolcli.errors import UsageError
from poolcli.model.reductions import Reduction
from poolcli.model.window import AxisWindow

#: Sliding windows with at most this many taps take the ``taps`` path.
TAP_LIMIT = 64
#: Medians of windows without padding and at most this many taps use a selection network.
MEDIAN_TAP_LIMIT = 27

PATHS = ("auto", "taps", "torch", "global", "gather")
ALL_REDUCTIONS = frozenset(Reduction)
ALL_DTYPES = frozenset({"integer", "float", "float16 on the CPU"})


@dataclass(frozen=True, eq=False)
class Case:
    """The facts about one pooling call that decide which paths can compute it."""

    x: torch.Tensor
    reduction: Reduction
    windows: Sequence[AxisWindow]
    #: Some cells are to be left out, as padding is (transparent pixels).
    masked: bool = False

    @cached_property
    def windowings(self) -> frozenset[str]:
        """``{"adaptive"}``, ``{"sliding"}``, or ``{"sliding", "global"}`` for one window that
        covers every spatial axis exactly."""
        if self.windows[0].bins is not None:
            return frozenset({"adaptive"})
        whole = all(
            a.out == 1 and a.kernel == a.size and a.dilation == 1 and a.pad_begin == 0
            for a in self.windows
        )
        return frozenset({"sliding", "global"} if whole else {"sliding"})

    @property
    def dims(self) -> int:
        return len(self.windows)

    @property
    def batch_axes(self) -> int:
        return self.x.dim() - len(self.windows)

    @property
    def taps(self) -> int:
        return math.prod(a.kernel for a in self.windows)

    @property
    def inside(self) -> bool:
        """Every window lies inside the input (no padding cell in any window)."""
        return all(
            a.bins is None
            and a.pad_begin == 0
            and (a.out - 1) * a.stride + a.effective_kernel <= a.size
            for a in self.windows
        )

    @property
    def symmetric(self) -> bool:
        """Padding is the same at both ends of every axis and at most half the kernel."""
        return all(a.pad_begin == a.pad_end and a.pad_begin <= a.kernel // 2 for a in self.windows)

    @property
    def dilated(self) -> bool:
        return any(a.dilation > 1 for a in self.windows)

    @property
    def thin(self) -> bool:
        """A spatial axis is shorter than the kernel (its windows reach into the padding)."""
        return self.windows[0].bins is None and any(a.size < a.kernel for a in self.windows)

    @property
    def strided(self) -> bool:
        return all(a.stride > 1 for a in self.windows)

    @property
    def dtype(self) -> str:
        if not self.x.dtype.is_floating_point:
            return "integer"
        if self.x.dtype is torch.float16 and self.x.device.type == "cpu":
            return "float16 on the CPU"
        return "float"

    @property
    def gradient(self) -> bool:
        """Autograd must send each window's gradient to the one cell its value comes from."""
        return self.x.requires_grad and self.reduction.info.order_based

    @cached_property
    def nan(self) -> bool:
        """The input holds NaN (a pass over it, so asked last)."""
        return self.x.dtype.is_floating_point and bool(self.x.isnan().any())


@dataclass(frozen=True)
class Capability:
    """One row of :data:`CAPABILITIES`: the cases ``path`` computes exactly.

    ``padding``: ``"any"``, ``"symmetric"`` (equal at both ends, at most half the kernel) or
    ``"inside"`` (every window inside the input). ``dims``: the numbers of spatial axes it
    takes. ``thin_axes``: whether an axis may be shorter than the kernel. ``nan``: whether
    the input may hold NaN. ``winner_gradient``: whether, under autograd, an order-based
    reduction's gradient goes to the one cell each value comes from. ``masks``: whether it
    can leave out cells a mask hides.
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

    def refusal(self, case: Case) -> tuple[int, str] | None:
        """Why this row cannot take ``case``: ``(how many facts it passed, reason)``, or None."""
        checks: tuple[tuple[Callable[[], bool], str], ...] = (
            (lambda: case.reduction in self.reductions, f"it has no kernel for {case.reduction}"),
            (
                lambda: bool(case.windowings & self.windowings),
                f"it takes only {' or '.join(sorted(self.windowings))} windows",
            ),
            (
                lambda: self.padding != "symmetric" or case.symmetric,
                "torch takes padding only when it is equal at both ends and at most half the "
                "kernel",
            ),
            (lambda: self.padding != "inside" or case.inside, "a window reaches the padding"),
            (lambda: self.dilation or not case.dilated, "it has no dilation"),
            (lambda: case.dtype in self.dtypes, f"it cannot pool {case.dtype} values"),
            (lambda: case.dims in self.dims, f"it has no {case.dims}-D kernel for this"),
            (
                lambda: self.max_batch_axes is None or case.batch_axes <= self.max_batch_axes,
                f"it takes at most {self.max_batch_axes} axes besides the spatial ones",
            ),
            (lambda: self.thin_axes or not case.thin, "an axis is shorter than the kernel"),
            (
                lambda: self.max_taps is None or case.taps <= self.max_taps,
                f"it takes at most {self.max_taps} cells per window",
            ),
            (
                lambda: self.winner_gradient or not case.gradient,
                "its gradient would not go to a single winning cell",
            ),
            (lambda: self.masks or not case.masked, "it cannot leave out masked cells"),
            (lambda: self.nan or not case.nan, "the input holds NaN"),
        )
        for passed, (holds, reason) in enumerate(checks):
            if not holds():
                return passed, reason
        return None


ORDER_BASED = frozenset(r for r in Reduction if r.info.order_based)
TAP_REDUCTIONS = frozenset(
    {Reduction.MAX, Reduction.MIN, Reduction.SUM, Reduction.AVG, Reduction.LP}
)
_TORCH = {"dtypes": frozenset({"float"}), "padding": "symmetric", "max_batch_axes": 2}

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
    Capability("torch", frozenset({Reduction.MAX}), **_TORCH),
    Capability("torch", frozenset({Reduction.AVG}), windowings=frozenset({"adaptive"}), **_TORCH),
    # torch's average has no dilation; its 3-D kernel refuses an axis shorter than the kernel.
    Capability(
        "torch",
        frozenset({Reduction.AVG}),
        windowings=frozenset({"sliding"}),
        dilation=False,
        dims=frozenset({1, 2}),
        **_TORCH,
    ),
    Capability(
        "torch",
        frozenset({Reduction.AVG}),
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
        windowings=frozenset({"sliding", "adaptive", "global"}),
        winner_gradient=True,
        masks=True,
    ),
    Capability(
        "gather",
        ALL_REDUCTIONS - ORDER_BASED,
        windowings=frozenset({"sliding", "adaptive", "global"}),
        winner_gradient=True,
    ),
)


def _always(case: Case) -> bool:
    return True


def _strided_average(case: Case) -> bool:
    return case.reduction is Reduction.AVG and case.taps > 4 and case.strided


def _few_taps(case: Case) -> bool:
    return case.taps <= TAP_LIMIT


#: The order to try the paths in, each with the condition under which it is worth taking
#: (measured: torch's strided averages beat the taps above 4 taps; the taps beat torch and
#: the gather up to ``TAP_LIMIT`` taps).
PREFERENCES: tuple[tuple[str, Callable[[Case], bool]], ...] = (
    ("global", _always),
    ("torch", _strided_average),
    ("taps", _few_taps),
    ("torch", _always),
    ("gather", _always),
)


def can(path: str, case: Case) -> bool:
    """Whether ``path`` computes ``case`` exactly."""
    return any(row.refusal(case) is None for row in CAPABILITIES if row.path == path)


def choose_path(
    x: torch.Tensor, reduction: Reduction, windows: Sequence[AxisWindow], masked: bool = False
) -> str:
    """The fastest path that computes this case exactly."""
    case = Case(x, reduction, windows, masked)
    return next(path for path, worth in PREFERENCES if worth(case) and can(path, case))


def check_path(path: str, x: torch.Tensor, reduction: Reduction, windows, masked=False) -> None:
    """Refuse a forced ``path`` that cannot compute this case (the tests force every path)."""
    if path not in PATHS:
        raise UsageError(f"there is no engine path {path!r}: use one of {', '.join(PATHS)}.")
    case = Case(x, reduction, windows, masked)
    refusals = [row.refusal(case) for row in CAPABILITIES if row.path == path]
    if any(refusal is None for refusal in refusals):
        return
    _, reason = max(refusals)
    raise UsageError(f"the {path} path cannot compute {reduction} here: {reason}.")
