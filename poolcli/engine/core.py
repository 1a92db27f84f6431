"""The pooling pipeline every front end shares: array in, pooled array and its story out.

:func:`run` takes a numpy array (or torch tensor) with its layout, resolves the windows,
applies the alpha rule for RGBA images, calls the engine in :mod:`poolcli.engine.ops` and returns a
:class:`PoolResult` that the report, the JSON document and the writers read.
:func:`pool` is the convenience form for Python users.
"""

from __future__ import annotations

from poolcli.errors import LayoutGuessWarning, NotAnArrayError, PoolError, UsageError
from poolcli.model.layout import Layout, guess_warning
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
    # The docstring (parameters, examples) is set below as pool.__doc__: the function's
    # length stays within the modules' limit.
    from poolcli.model.applies import check_applies
    from poolcli.model.keywords import in_keywords

    try:
        reduction = parse_reduction(reduction, "reduction")
        array, layout = as_array(array, layout)
        check_applies(reduction, {"count_include_pad": count_include_pad, "dtype": dtype})
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
        data = {"nan": str(nan), "nodata": nodata, "mask": mask}
        data.update(linear_light=linear_light, srgb_max=srgb_max)
        p = default_norm_type(reduction, norm_type)
        options = PoolOptions(p, seed, expectation, device, dtype, **data)
        result = run(array, reduction, spec, layout, options)
    except PoolError as error:
        raise in_keywords(error) from None
    if result.layout_guessed:
        _warn_guessed(result)
    return result.output


pool.__doc__ = """Pool an array over sliding, global or adaptive windows; the result has its type.

Parameters
----------
array : numpy.ndarray, torch.Tensor, PIL.Image.Image or nested list of numbers
    The input, laid out as ``layout``. A PIL image is read as ``HWC`` (``HW`` for
    grayscale), as the command line reads image files; a list becomes a numpy array.
reduction : str
    ``max``, ``avg``, ``min``, ``sum``, ``lp``, ``median``, ``stochastic``, ``mode`` or
    ``gem``.
kernel_size, stride, padding, dilation : int, tuple or str, optional
    As in ``torch.nn.functional``: an int, a per-axis tuple in layout order (D, H, W), or
    a command-line string (``"3x2"``; padding also ``"0:1x1:2"``, ``"same"``,
    ``"valid"``). ``stride`` defaults to ``kernel_size``.
ceil_mode : bool
    Round the number of windows up (torch's rule).
count_include_pad : bool
    avg only: count padded cells in the divisor (default no, as ONNX and TensorFlow).
global_pool : bool
    One window over all spatial axes.
output_size : int, tuple or str, optional
    Adaptive pooling to this spatial size (torch's bin rule).
layout : str, optional
    Axes of ``array`` from ``N C D H W`` (``"NHWC"``...). Default: guessed from the shape
    (``HW``; 3-D ``HWC`` or ``CHW``; 4-D ``NCHW``; 5-D ``NCDHW``), with a
    :class:`~poolcli.errors.LayoutGuessWarning` for 3-D and 4-D arrays.
norm_type : float, optional
    lp and gem only: the p of (Σ|x|^p)^(1/p) (default 2) or of (mean xᵖ)^(1/p) (default 3).
seed : int, optional
    stochastic only: the seed of the sampling.
expectation : bool
    stochastic only: the expected value Σx²/Σx instead of a sample.
device : str
    ``cpu``, ``cuda``, ``mps`` or ``auto``.
dtype : str, optional
    avg, sum, lp and stochastic: the compute precision (``float32``, ``float64``...);
    integer inputs to avg, lp and stochastic come out in it.
nan : str
    ``"propagate"`` (default) or ``"omit"``: leave NaN cells out, as padding is.
nodata : float, optional
    Leave cells equal to this value out; a window of only nodata gives it.
mask : array, optional
    An array of the spatial shape, nonzero = use; zero cells are left out.
linear_light : bool
    avg, gem and stochastic: average sRGB values in linear light, with ``srgb_max`` the
    value of white (an image's bit depth gives it on the command line).
srgb_max : float, optional
    The value of sRGB white for ``linear_light``.

Returns
-------
numpy.ndarray or torch.Tensor
    The pooled array, in ``array``'s layout; only the spatial sizes change.

Raises
------
UsageError
    A parameter that is wrong whatever the input, named by its keyword
    (``kernel_size must be positive, got 0.``); an option that does not apply to the
    reduction (``count_include_pad`` with ``max``).
PoolError
    Parameters that do not fit this input.
TypeError
    ``array`` is not an array, tensor, image or list of numbers (a
    :class:`~poolcli.errors.NotAnArrayError`, also a PoolError).

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
>>> pool([[1, 2], [3, 4]], "sum", global_pool=True)
array([[10]])
"""


def _warn_guessed(result: PoolResult) -> None:
    import warnings

    from poolcli.model.keywords import keyword_text

    text = guess_warning(result.input_shape, result.layout, always=True)
    if text is not None:
        warnings.warn(LayoutGuessWarning(keyword_text(text)), stacklevel=3)


def as_array(array, layout: str | None):
    """``array`` as something :func:`run` pools, with the layout a PIL image implies.

    A numpy array or torch tensor is used as it is; a PIL image becomes ``HWC`` (``HW``)
    pixels, a palette image its colours; a list or number goes through ``numpy.asarray``.
    Anything else is a TypeError.
    """
    if hasattr(array, "shape") and hasattr(array, "dtype"):
        return array, layout
    import numpy as np

    if hasattr(array, "getbands"):  # a PIL image
        if array.mode in ("P", "PA"):
            array = array.convert("RGBA" if "transparency" in array.info else "RGB")
        pixels = np.asarray(array)
        return pixels, layout or ("HW" if pixels.ndim == 2 else "HWC")
    what = type(array).__name__
    try:
        converted = np.asarray(array)
    except (TypeError, ValueError):
        converted = None
    if converted is None or converted.dtype.kind not in "biuf":
        raise NotAnArrayError(
            "array must be a numpy array, a torch tensor, a PIL image or a nested list of "
            f"numbers (rows of equal length); got {what}."
        )
    return converted, layout
