"""What :func:`poolcli.pool` documents and accepts: its docstring, and any array-like as
an array (PIL images, lists), with the layout warning a guess deserves."""

from __future__ import annotations

from poolcli.errors import LayoutGuessWarning, NotAnArrayError
from poolcli.model.layout import guess_warning
from poolcli.model.options import PoolResult

POOL_DOC = """Pool an array over sliding, global or adaptive windows; the result has its type.

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
return_indices : bool
    Also return each output cell's winner (max, min, median, mode, seeded stochastic), as
    ``--indices`` counts with ``--index-style index_style`` (``torch``, ``onnx``,
    ``onnx-col``); the result is then ``(pooled, indices)``.
pool_axes : str, optional
    Layout letters to pool over instead of D, H, W (``"T"`` in ``"TCHW"``; ``"C"``: maxout).
blur : int, optional
    max only: BlurPool, the stride-1 maxima blurred by a binomial filter of 3 or 5 taps.
fractional, output_ratio : optional
    Fractional windows (Graham 2014) to ``output_size`` or ``output_ratio``, placed by
    ``seed``.
spp : int or tuple, optional
    Spatial pyramid pooling: the adaptive pools of these sizes, one vector per channel.

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


def warn_guessed(result: PoolResult) -> None:
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
