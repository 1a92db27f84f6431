"""Which engine path computes a case: the fastest exact one, or the one a test forces."""

from __future__ import annotations

import math

import torch

from poolcli.engine.convert import is_float
from poolcli.model.reductions import Reduction

#: Sliding windows with at most this many taps take the ``taps`` path (measured: taps beat
#: gather and torch's max up to 8x8; benchmarks/README.md).
TAP_LIMIT = 64
#: Medians of windows without padding and at most this many taps use a selection network.
MEDIAN_TAP_LIMIT = 27


PATHS = ("auto", "taps", "torch", "global", "gather")


def check_path(path, x, reduction, windows, count_include_pad) -> None:
    """A forced path must be able to compute the reduction (tests force every path)."""
    adaptive = windows[0].bins is not None
    possible = {
        "taps": not adaptive
        and reduction in (Reduction.MAX, Reduction.MIN, Reduction.SUM, Reduction.AVG, Reduction.LP)
        or reduction is Reduction.MEDIAN
        and median_taps_can(x, windows),
        "torch": torch_can(x, reduction, windows, count_include_pad),
        "global": not adaptive
        and all(a.out == 1 and a.kernel == a.size and a.dilation == 1 for a in windows)
        and all(a.pad_begin == 0 for a in windows),
        "gather": True,
    }
    if not possible[path]:
        raise ValueError(f"the {path} path cannot compute {reduction} with these windows")


def choose_path(x, reduction, windows, count_include_pad) -> str:
    adaptive = windows[0].bins is not None
    if not adaptive and all(
        a.out == 1 and a.kernel == a.size and a.dilation == 1 and a.pad_begin == 0 for a in windows
    ):
        return "global"
    tap_based = reduction in (
        Reduction.MAX,
        Reduction.MIN,
        Reduction.SUM,
        Reduction.AVG,
        Reduction.LP,
    )
    if reduction is Reduction.STOCHASTIC:
        tap_based = False  # sampling needs whole windows; expectation is routed below
    taps = math.prod(a.kernel for a in windows)
    if not adaptive and tap_based and taps <= TAP_LIMIT:
        strided_avg = reduction is Reduction.AVG and taps > 4 and all(a.stride > 1 for a in windows)
        if strided_avg and torch_can(x, reduction, windows, count_include_pad):
            return "torch"  # measured 1.7-5.6x faster than the taps for strided averages
        return "taps"
    if reduction is Reduction.MEDIAN and median_taps_can(x, windows):
        return "taps"
    if torch_can(x, reduction, windows, count_include_pad):
        return "torch"
    return "gather"


def median_taps_can(x, windows) -> bool:
    """The median network needs windows free of padding, few taps, and no NaN to propagate."""
    inside = all(
        a.bins is None
        and a.pad_begin == 0
        and (a.out - 1) * a.stride + a.effective_kernel <= a.size
        for a in windows
    )
    if not inside or math.prod(a.kernel for a in windows) > MEDIAN_TAP_LIMIT or x.requires_grad:
        return False
    return not (is_float(x.dtype) and bool(x.isnan().any()))


def torch_can(x, reduction, windows, count_include_pad) -> bool:
    """Whether torch's own kernels compute exactly this case."""
    if not is_float(x.dtype) or x.dtype is torch.float16 and x.device.type == "cpu":
        return False
    if len(windows) > 3 or x.dim() - len(windows) > 2:
        return False
    if windows[0].bins is not None:
        return reduction in (Reduction.MAX, Reduction.AVG)
    symmetric = all(a.pad_begin == a.pad_end and a.pad_begin <= a.kernel // 2 for a in windows)
    if reduction is Reduction.MAX:
        return symmetric
    if reduction is Reduction.AVG:
        # torch's avg has no dilation, and its ceil-mode divisor matches poolcli's.
        return symmetric and all(a.dilation == 1 for a in windows)
    return False
