"""The pooling pipeline every front end shares: array in, pooled array and its story out.

:func:`run` takes a numpy array (or torch tensor) with its layout, resolves the windows,
applies the alpha rule for RGBA images, calls the engine in :mod:`poolcli.engine.ops` and returns a
:class:`PoolResult` that the report, the JSON document and the writers read.
:func:`pool` is the convenience form for Python users.
"""

from __future__ import annotations

from poolcli.errors import UsageError
from poolcli.model.layout import Layout
from poolcli.model.options import PoolOptions, PoolResult, resolve_layout
from poolcli.model.reductions import Reduction, parse_reduction
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
    options = options or PoolOptions()
    if not isinstance(reduction, Reduction):
        reduction = parse_reduction(reduction)
    if not hasattr(array, "shape"):
        import numpy as np

        array = np.asarray(array)  # a nested list, a number
    if layout is not None and not isinstance(layout, (str, Layout)):
        raise UsageError(f"--layout {layout!r} is not a layout such as HWC.", option="--layout")
    layout, guessed = _layout(tuple(array.shape), layout, options)
    if layout.channel_axis is None and "C" in layout.letters:  # the channels are pooled
        alpha = pixels = False
    alpha = alpha and not options.straight_alpha
    spec = _variant_spec(spec, options, len(layout.spatial))
    windows = resolve(spec, layout.spatial_shape(tuple(array.shape)), layout.spatial)
    output, device, layout = _pool(array, reduction, spec, windows, layout, options, alpha, pixels)
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
    )


def _pool(array, reduction, spec, windows, layout, options, alpha, pixels):
    """The engine's output, its device and its layout (SPP makes the spatial axes one)."""
    from poolcli.engine import ops

    if spec.mode == "spp":
        from poolcli.engine.spp import pool_spp

        return pool_spp(array, reduction, spec, layout, options, alpha, pixels)
    if options.blur:
        from poolcli.engine.blur import pool_blur

        output, device = pool_blur(array, reduction, spec, windows, layout, options, alpha)
        return output, device, layout
    output, device = ops.pool_array(
        array,
        reduction,
        windows,
        layout,
        count_include_pad=spec.count_include_pad,
        options=options,
        alpha=alpha,
        pixels=pixels,
    )
    return output, device, layout


def _layout(shape, layout, options: PoolOptions) -> tuple[Layout, bool]:
    """The layout to pool in, and whether it was guessed (``--pool-axes``: any letters)."""
    from poolcli.model.axes import resolve_axes_layout

    chosen = resolve_axes_layout(shape, layout, options.pool_axes)
    return chosen if chosen is not None else resolve_layout(shape, layout)


def _variant_spec(spec: WindowSpec, options: PoolOptions, dims: int) -> WindowSpec:
    """``spec`` with fractional windows placed (their samples drawn from ``options.seed``)."""
    if not spec.fractional or spec.samples is not None:
        return spec
    import dataclasses

    from poolcli.model.fractional import draw_samples

    return dataclasses.replace(spec, samples=draw_samples(dims, options.seed))


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
    return_indices: bool = False,
    index_style: str = "torch",
    pool_axes: str | None = None,
    blur: int | None = None,
    fractional: bool = False,
    output_ratio=None,
    spp=None,
):
    """Pool a numpy array or torch tensor; the result has the same type and layout.

    ``array`` is laid out as ``layout`` (default: the command line's rule, e.g. ``HW`` for 2-D
    and ``NCHW`` for 4-D). ``reduction`` is ``max``, ``avg``, ``min``, ``sum``, ``lp``,
    ``median``, ``stochastic`` or ``mode``. The window options are those of
    ``torch.nn.functional``; each may be an int, a per-axis tuple or a command-line string
    (``"3x2"``, ``"0:1x1:2"``, ``"same"``). ``global_pool`` takes one window over all spatial
    axes, ``output_size`` pools adaptively. ``norm_type``, ``seed``, ``expectation``,
    ``device`` and ``dtype`` are the command-line options ``--norm-type`` and so on. The
    spatial sizes are pooled; the dtype follows the README's dtype rules. Parameters that do
    not fit the input and inputs that cannot be pooled raise :class:`PoolError`.

    ``pool_axes``, ``blur``, ``fractional``, ``output_ratio``, ``spp``: ``--pool-axes`` and
    so on. ``return_indices`` also returns each output cell's winner, as ``--indices`` with
    ``--index-style index_style`` (:mod:`poolcli.engine.indices`).

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
    spec, options = _call_values(dict(locals()))
    if not return_indices:
        return run(array, reduction, spec, layout, options).output
    from poolcli.engine.indices import check_index_style, winner_indices

    check_index_style(index_style)
    result = run(array, reduction, spec, layout, options)
    return result.output, winner_indices(array, result, index_style)


_WINDOW_KEYS = (
    "kernel_size",
    "stride",
    "padding",
    "dilation",
    "ceil_mode",
    "count_include_pad",
    "global_pool",
    "output_size",
    "fractional",
    "output_ratio",
    "spp",
)
_OPTION_KEYS = ("norm_type", "seed", "expectation", "device", "dtype", "pool_axes", "blur")


def _call_values(given: dict) -> tuple[WindowSpec, PoolOptions]:
    """The :class:`WindowSpec` and :class:`PoolOptions` of :func:`pool`'s keywords."""
    spec = WindowSpec.make(**{key: given[key] for key in _WINDOW_KEYS})
    return spec, PoolOptions(**{key: given[key] for key in _OPTION_KEYS})
