"""The pooling pipeline every front end shares: array in, pooled array and its story out.

:func:`run` takes a numpy array (or torch tensor) with its layout, resolves the windows,
applies the alpha rule for RGBA images, calls the engine in :mod:`poolcli.engine.ops` and returns a
:class:`PoolResult` that the report, the JSON document and the writers read.
:func:`pool` is the convenience form for Python users.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from poolcli.errors import UsageError
from poolcli.model.layout import Layout, default_layout
from poolcli.model.reductions import Reduction
from poolcli.model.window import AxisWindow, WindowSpec, resolve

if TYPE_CHECKING:
    import numpy as np

DEFAULT_MEMORY_LIMIT = 512 * 2**20


@dataclass(frozen=True)
class PoolOptions:
    """Options of a reduction that are not about the windows.

    ``dtype`` is the compute precision for avg, lp and stochastic (``None``: float32, or
    float64 for float64 inputs); integer inputs to those reductions come out in it.
    ``memory_limit`` bounds the extra memory of median, mode and stochastic (bytes).
    """

    norm_type: float = 2.0
    seed: int | None = None
    expectation: bool = False
    device: str = "cpu"
    dtype: str | None = None
    straight_alpha: bool = False
    memory_limit: int = DEFAULT_MEMORY_LIMIT


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


def run(
    array,
    reduction: Reduction | str,
    spec: WindowSpec,
    layout: str | Layout | None = None,
    options: PoolOptions | None = None,
    *,
    alpha: bool = False,
) -> PoolResult:
    """Pool ``array`` and describe the result.

    ``alpha`` says that the last channel is an image's straight alpha: the averaging
    reductions then weight colour by it (premultiply, pool, divide) unless
    ``options.straight_alpha``.
    """
    from poolcli.engine import ops

    options = options or PoolOptions()
    reduction = Reduction(reduction)
    layout, guessed = resolve_layout(tuple(array.shape), layout)
    windows = resolve(spec, layout.spatial_shape(tuple(array.shape)), layout.spatial)
    premultiply = alpha and reduction.info.weights_by_alpha and not options.straight_alpha
    output, device = ops.pool_array(
        array,
        reduction,
        windows,
        layout,
        count_include_pad=spec.count_include_pad,
        options=options,
        premultiplied_alpha=premultiply,
    )
    return PoolResult(
        output=output,
        input_shape=tuple(array.shape),
        input_dtype=str(array.dtype),
        layout=layout,
        layout_guessed=guessed,
        reduction=reduction,
        spec=spec,
        windows=windows,
        options=options,
        device=device,
        premultiplied=premultiply,
    )


def pool(
    array,
    reduction: Reduction | str,
    kernel_size=None,
    stride=None,
    padding=None,
    dilation=None,
    ceil_mode: bool = False,
    count_include_pad: bool = False,
    global_pool: bool = False,
    output_size=None,
    layout: str | None = None,
    norm_type: float = 2.0,
    seed: int | None = None,
    expectation: bool = False,
    device: str = "cpu",
    dtype: str | None = None,
):
    """Pool a numpy array or torch tensor; the result has the same type and layout.

    Parameters
    ----------
    array : numpy.ndarray or torch.Tensor
        Input laid out as ``layout`` (default: the same rule as the command line, e.g.
        ``HW`` for 2-D and ``NCHW`` for 4-D).
    reduction : str
        ``max``, ``avg``, ``min``, ``sum``, ``lp``, ``median``, ``stochastic`` or ``mode``.
    kernel_size, stride, padding, dilation, ceil_mode, count_include_pad
        Sliding windows, as in ``torch.nn.functional``; each may be an int, a per-axis
        tuple or a command-line string (``"3x2"``, ``"0:1x1:2"``, ``"same"``).
    global_pool, output_size
        One window over all spatial axes, or adaptive pooling to ``output_size``.
    norm_type, seed, expectation, device, dtype
        As the command-line options ``--norm-type``, ``--seed``, ``--expectation``,
        ``--device`` and ``--dtype``.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        Same layout, spatial sizes pooled; dtype as the README's dtype rules say.

    Raises
    ------
    PoolError
        For parameters that do not fit the input, and inputs that cannot be pooled.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1, 3, 2, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]])
    >>> pool(x, "avg", kernel_size=2)
    array([[ 3.75,  5.25],
           [11.5 , 13.5 ]], dtype=float32)
    >>> pool(x, "max", kernel_size=3, stride=1, padding="same")
    array([[ 6,  7,  8,  8],
           [10, 11, 12, 12],
           [14, 15, 16, 16],
           [14, 15, 16, 16]])
    """
    spec = WindowSpec.make(
        kernel_size=kernel_size,
        stride=stride,
        padding=padding,
        dilation=dilation,
        ceil_mode=ceil_mode,
        count_include_pad=count_include_pad,
        global_pool=global_pool,
        output_size=output_size,
    )
    options = PoolOptions(
        norm_type=norm_type, seed=seed, expectation=expectation, device=device, dtype=dtype
    )
    return run(array, reduction, spec, layout, options).output
