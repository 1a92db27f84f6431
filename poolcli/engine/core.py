"""The pooling pipeline every front end shares: array in, pooled array and its story out.

:func:`run` takes a numpy array (or torch tensor) with its layout, resolves the windows,
applies the alpha rule for RGBA images, calls the engine in :mod:`poolcli.engine.ops` and returns a
:class:`PoolResult` that the report, the JSON document and the writers read.
:func:`pool` is the convenience form for Python users.
"""

from __future__ import annotations

from poolcli.errors import PoolError, UsageError
from poolcli.model.layout import Layout
from poolcli.model.missing import check_data_options
from poolcli.model.options import PoolOptions, PoolResult, resolve_layout
from poolcli.model.reductions import Reduction, default_norm_type, parse_reduction
from poolcli.model.steps import WINDOW_KEYWORDS
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
    check_data_options(reduction, options)
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
    pooled_in = layout
    output, device, layout = _pool(array, reduction, spec, windows, layout, options, alpha, pixels)
    return PoolResult(
        valid_count=_counts(array, spec, windows, layout, options),
        input_layout=pooled_in if layout is not pooled_in else None,
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


def _counts(array, spec, windows, layout, options):
    """``--valid-count``: how many cells each output cell used (None when not asked)."""
    if not options.valid_count:
        return None
    if spec.mode == "spp" or options.blur:
        raise UsageError(
            "--valid-count counts the cells of plain windows, not of --spp or --blur.",
            option="--valid-count",
        )
    from poolcli.engine import ops

    return ops.valid_counts(array, windows, layout, options)


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
    return_indices: bool = False,
    index_style: str = "torch",
    pool_axes: str | None = None,
    blur: int | None = None,
    fractional: bool = False,
    output_ratio=None,
    spp=None,
):
    # The docstring is poolcli.engine.api.POOL_DOC, set below.
    from poolcli.engine.api import as_array, warn_guessed
    from poolcli.model.applies import check_applies
    from poolcli.model.keywords import in_keywords

    given = dict(locals())
    try:
        reduction = parse_reduction(reduction, "reduction")
        array, layout = as_array(array, layout)
        check_applies(reduction, {"count_include_pad": count_include_pad, "dtype": dtype})
        given["norm_type"] = default_norm_type(reduction, norm_type)
        spec, options = _call_values(given)
        result = run(array, reduction, spec, layout, options)
        if return_indices:
            from poolcli.engine.indices import check_index_style, winner_indices

            check_index_style(index_style)
            indices = winner_indices(array, result, index_style)
    except PoolError as error:
        raise in_keywords(error) from None
    if result.layout_guessed:
        warn_guessed(result)
    return (result.output, indices) if return_indices else result.output


def _set_doc() -> None:
    from poolcli.engine.api import POOL_DOC

    pool.__doc__ = POOL_DOC


_set_doc()


_OPTION_KEYS = ("norm_type", "seed", "expectation", "device", "dtype", "pool_axes", "blur")
_DATA_KEYS = ("nodata", "mask", "linear_light", "srgb_max")


def _call_values(given: dict) -> tuple[WindowSpec, PoolOptions]:
    """The :class:`WindowSpec` and :class:`PoolOptions` of :func:`pool`'s keywords."""
    spec = WindowSpec.make(**{key: given[key] for key in WINDOW_KEYWORDS})
    options = {key: given[key] for key in (*_OPTION_KEYS, *_DATA_KEYS)}
    return spec, PoolOptions(**options, nan=str(given["nan"]))
