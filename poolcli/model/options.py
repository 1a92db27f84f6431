"""The values a pooling call is made of and gives back: options and the result's story.

Pure Python: the result holds an array, but nothing here imports numpy or torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

from poolcli.errors import UsageError
from poolcli.model.layout import Layout, default_layout
from poolcli.model.reductions import Reduction
from poolcli.model.window import AxisWindow, WindowSpec

if TYPE_CHECKING:
    import numpy as np

DEFAULT_MEMORY_LIMIT = 512 * 2**20


class NanRule(str, Enum):
    """What ``--nan`` does with NaN cells."""

    PROPAGATE = "propagate"
    OMIT = "omit"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class PoolOptions:
    """Options of a reduction that are not about the windows.

    ``dtype`` is the compute precision for avg, lp and stochastic (``None``: float32, or
    float64 for float64 inputs); integer inputs to those reductions come out in it.
    ``memory_limit`` bounds the extra memory of median, mode and stochastic (bytes).

    Data-aware pooling (:mod:`poolcli.engine.missing`): ``nan`` (``omit`` leaves NaN cells
    out), ``nodata`` (cells equal to it are left out; a window with none left gives it),
    ``mask`` (an array of the input's spatial shape, nonzero = use; the command line gives a
    file name, read per input), ``valid_count`` (a ``.npy`` file to write how many cells each
    output cell used), ``linear_light`` (decode sRGB values from 0 to ``srgb_max`` to linear
    light before averaging, encode after).
    """

    norm_type: float = 2.0
    seed: int | None = None
    expectation: bool = False
    device: str = "cpu"
    dtype: str | None = None
    straight_alpha: bool = False
    memory_limit: int = DEFAULT_MEMORY_LIMIT
    nan: str = "propagate"
    nodata: float | None = None
    mask: Any = field(default=None, compare=False, repr=False)
    valid_count: str | None = None
    linear_light: bool = False
    srgb_max: float | None = None
    #: Layout letters to pool over instead of D, H, W (:mod:`poolcli.model.axes`).
    pool_axes: str | None = None
    #: max: BlurPool's binomial filter size (3 or 5), or None (:mod:`poolcli.engine.blur`).
    blur: int | None = None
    #: Stochastic sampling draws one number per output cell from the seed and the cell's place
    #: in the whole output; a block of a larger output says where it starts in it (spatial
    #: offsets) and the whole output's spatial shape. Empty: this output is the whole.
    cell_origin: tuple[int, ...] = ()
    cell_grid: tuple[int, ...] = ()


@dataclass
class PoolResult:
    """An input pooled: the output array and everything the report says about it.

    ``output`` is a numpy array for numpy input and a tensor (on ``device``) for tensor input.
    """

    output: np.ndarray
    input_shape: tuple[int, ...]
    input_dtype: str
    layout: Layout
    layout_guessed: bool
    reduction: Reduction
    spec: WindowSpec
    windows: tuple[AxisWindow, ...]
    options: PoolOptions
    device: str
    premultiplied: bool = False
    input_stats: dict[str, Any] = field(default_factory=dict)
    #: The rules the engine applied (see :func:`poolcli.engine.core.run`): the last channel
    #: was an image's alpha (transparent cells lent no colour), and the C axis one pixel.
    alpha: bool = False
    pixels: bool = False
    #: Per output cell, how many input cells it used (``PoolOptions.valid_count``), or None.
    valid_count: Any = None
    #: The input's layout when the output's differs (``--spp`` joins the spatial axes).
    input_layout: Layout | None = None


def resolve_layout(shape: tuple[int, ...], layout: str | Layout | None) -> tuple[Layout, bool]:
    """The layout to use and whether it was guessed (no ``layout`` given)."""
    if layout is None:
        return default_layout(shape), True
    if isinstance(layout, str):
        layout = Layout.parse(layout)
    if len(layout.letters) != len(shape):
        raise UsageError(
            f"--layout {layout} names {len(layout.letters)} axes but the array has "
            f"{len(shape)} (shape {'x'.join(map(str, shape))}).",
            option="--layout",
        )
    return layout, False


def check_norm_type(norm_type) -> None:
    """Refuse a p for lp that is not a positive, finite number (``--norm-type``)."""
    import math
    import numbers

    number = isinstance(norm_type, numbers.Real) and not isinstance(norm_type, bool)
    if not (number and math.isfinite(norm_type) and norm_type > 0):
        shown = f"{norm_type:g}" if number else repr(norm_type)
        raise UsageError(
            f"--norm-type must be a positive number, got {shown}.", option="--norm-type"
        )
