"""The pooling pipeline every front end shares: array in, pooled array and its story out.

:func:`run` takes a numpy array (or torch tensor) with its layout, resolves the windows,
applies the alpha rule for RGBA images, calls the engine in :mod:`poolcli.engine.ops` and returns a
:class:`PoolResult` that the report, the JSON document and the writers read.
:func:`pool` is the convenience form for Python users.
"""

from __future__ import annotations

from poolcli.errors import UsageError
from poolcli.model.layout import Layout
from poolcli.model.missing import check_data_options
from poolcli.model.options import PoolOptions, PoolResult, resolve_layout
from poolcli.model.reductions import Reduction, default_norm_type, parse_reduction
from poolcli.model.window import WindowSpec, resolve


def run(
    array,
    reduction: Reduction | str,
    spec: WindowSpec,
    layout: str | Layout | None = None,
    options: PoolOptions | None = None,
    *,
    alpha: bool = False,
    pixels: bool = False,
) -> PoolResult:
    """Pool ``array`` and describe the result.

    ``alpha`` says that the last channel is an image's straight alpha: unless
    ``options.straight_alpha``, a transparent cell then lends no colour (the averaging
    reductions weight colour by alpha, the others take colour from visible cells only).
    ``pixels`` says that the C axis holds the channels of one pixel (an image): mode then
    picks the most frequent whole pixel (ties: the smallest, comparing channels in order)
    instead of each channel's own mode.
    """
    from poolcli.engine import ops

    options = options or PoolOptions()
    if not isinstance(reduction, Reduction):
        reduction = parse_reduction(reduction)
    check_data_options(reduction, options)
    if not hasattr(array, "shape"):
        import numpy as np

        array = np.asarray(array)  # a nested list, a number
    if layout is not None and not isinstance(layout, (str, Layout)):
        raise UsageError(f"--layout {layout!r} is not a layout such as HWC.", option="--layout")
    layout, guessed = resolve_layout(tuple(array.shape), layout)
    windows = resolve(spec, layout.spatial_shape(tuple(array.shape)), layout.spatial)
    alpha = alpha and not options.straight_alpha
    rules = {"options": options, "alpha": alpha, "pixels": pixels}
    pad = spec.count_include_pad
    output, device = ops.pool_array(
        array, reduction, windows, layout, count_include_pad=pad, **rules
    )
    counts = ops.valid_counts(array, windows, layout, options) if options.valid_count else None
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
        premultiplied=alpha and reduction.info.weights_by_alpha,
        alpha=alpha,
        pixels=pixels,
        valid_count=counts,
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
    norm_type: float | None = None,
    seed: int | None = None,
    expectation: bool = False,
    device: str = "cpu",
    dtype: str | None = None,
    nan: str = "propagate",
    nodata: float | None = None,
    mask=None,
    linear_light: bool = False,
    srgb_max: float | None = None,
):
    """Pool a numpy array or torch tensor; the result has the same type and layout.

    ``array`` is laid out as ``layout`` (default: the command line's rule, e.g. ``HW`` for 2-D
    and ``NCHW`` for 4-D). ``reduction`` is ``max``, ``avg``, ``min``, ``sum``, ``lp``,
    ``median``, ``stochastic``, ``mode`` or ``gem``. The window options are those of
    ``torch.nn.functional``; each may be an int, a per-axis tuple or a command-line string
    (``"3x2"``, ``"0:1x1:2"``, ``"same"``). ``global_pool`` takes one window over all spatial
    axes, ``output_size`` pools adaptively. ``norm_type``, ``seed``, ``expectation``,
    ``device`` and ``dtype`` are the command-line options ``--norm-type`` and so on
    (``norm_type`` defaults to 2 for lp, 3 for gem). ``nan="omit"``, ``nodata=V`` and
    ``mask`` (an array of the spatial shape, nonzero = use) leave cells out as padding is;
    ``linear_light`` with ``srgb_max`` averages sRGB values in linear light. The
    spatial sizes are pooled; the dtype follows the README's dtype rules. Parameters that do
    not fit the input and inputs that cannot be pooled raise :class:`PoolError`.

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
    window = dict(kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation)
    window.update(ceil_mode=ceil_mode, count_include_pad=count_include_pad)
    spec = WindowSpec.make(**window, global_pool=global_pool, output_size=output_size)
    if not isinstance(reduction, Reduction):
        reduction = parse_reduction(reduction)
    data = {"nan": str(nan), "nodata": nodata, "mask": mask}
    data.update(linear_light=linear_light, srgb_max=srgb_max)
    p = default_norm_type(reduction, norm_type)
    options = PoolOptions(p, seed, expectation, device, dtype, **data)
    return run(array, reduction, spec, layout, options).output
