"""The windowings beyond sliding, global and adaptive: fractional windows and SPP.

* ``--fractional-windows`` (with ``--output-size`` or ``--output-ratio``, ``--kernel`` default 2,
  ``--seed``): Graham's fractional pooling, windows at pseudo-random positions
  (:mod:`poolcli.model.fractional`). A windowing, not a reduction: every reduction can pool
  over fractional windows (torch has only max), as over adaptive bins.
* ``--spp 1,2,4``: spatial pyramid pooling (He et al., SPPNet): the adaptive pools to each
  size, flattened per channel and concatenated, so the spatial axes become one axis of
  ``sum(n ** dims)`` cells. Also a windowing: any reduction pools each level.

Both are one more mode of :class:`~poolcli.model.window.WindowSpec`, exclusive with the
others. Pure Python.
"""

from __future__ import annotations

from poolcli.errors import UsageError
from poolcli.model.window import adaptive_bins, parse_ints


def make_variant(
    cls,
    window: dict,
    output_size,
    count_include_pad: bool,
    fractional: bool = False,
    output_ratio=None,
    samples=None,
    spp=None,
):
    """A fractional or SPP :class:`~poolcli.model.window.WindowSpec` (see the module)."""
    if spp is not None:
        given = [name for name, value in _window_options(window, output_size) if value]
        if fractional or output_ratio is not None or given:
            other = "--fractional-windows" if fractional or output_ratio is not None else given[0]
            raise UsageError(
                f"--spp is a windowing of its own: it does not go with {other}.", option="--spp"
            )
        return cls(spp=parse_ints(spp, "--spp"), count_include_pad=bool(count_include_pad))
    from poolcli.model.fractional import parse_ratio

    given = [name for name, value in _window_options(window, None) if value and name != "--kernel"]
    if given:
        raise UsageError(
            f"{given[0]} does not go with --fractional-windows: its windows take only --kernel, "
            "--output-size or --output-ratio, and --seed.",
            option=given[0],
        )
    if (output_size is None) == (output_ratio is None):
        raise UsageError(
            "--fractional-windows needs exactly one of --output-size and --output-ratio.",
            option="--fractional-windows",
        )
    kernel = window["kernel_size"]
    return cls(
        kernel_size=parse_ints(kernel, "--kernel") if kernel is not None else (2,),
        output_size=parse_ints(output_size, "--output-size") if output_size is not None else None,
        fractional=True,
        output_ratio=parse_ratio(output_ratio) if output_ratio is not None else None,
        samples=tuple(float(u) for u in samples) if samples is not None else None,
        count_include_pad=bool(count_include_pad),
    )


def _window_options(window: dict, output_size):
    return (
        ("--kernel", window["kernel_size"] is not None),
        ("--stride", window["stride"] is not None),
        ("--padding", window["padding"] is not None),
        ("--dilation", window["dilation"] is not None),
        ("--ceil", bool(window["ceil_mode"])),
        ("--global", bool(window["global_pool"])),
        ("--output-size", output_size is not None),
    )


def resolve_variant(spec, spatial_shape: tuple[int, ...], names: str):
    """Windows of a fractional spec; for SPP, those of its finest level."""
    from poolcli.model.window import AxisWindow

    if spec.fractional:
        from poolcli.model.fractional import resolve_fractional

        return resolve_fractional(spec, spatial_shape, names)
    finest = max(spec.spp)
    return tuple(
        spp_level(finest, size, name, AxisWindow) for size, name in zip(spatial_shape, names)
    )


def spp_level(out: int, size: int, name: str, axis_window):
    """One axis of one SPP level: adaptive bins of ``size`` cells into ``out``."""
    if out > size:
        raise UsageError(f"--spp {out} is larger than axis {name} of {size} cells.", option="--spp")
    bins = adaptive_bins(size, out)
    longest = max(end - start for start, end in bins)
    return axis_window(name=name, size=size, out=out, kernel=longest, bins=bins)


def spp_length(levels: tuple[int, ...], dims: int) -> int:
    """Cells per channel of an SPP output: ``sum(n ** dims)``.

    >>> spp_length((1, 2, 4), 2)
    21
    """
    return sum(n**dims for n in levels)
