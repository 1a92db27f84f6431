"""Fractional pooling windows (Graham 2014), as torch's ``fractional_max_pool2d/3d`` places them.

Along an axis of ``size`` cells pooled to ``out`` windows of ``kernel`` cells, one number
``u`` in ``[0, 1)`` places every window::

    alpha = (size - kernel) / (out - 1)
    start[i] = int((i + u) * alpha) - int(u * alpha)     for i < out - 1
    start[out - 1] = size - kernel

computed in float32 as torch does for float32 inputs, so with the same ``u`` (torch's
``_random_samples``) the windows are torch's. The windows are resolved as bins
(:class:`~poolcli.model.window.AxisWindow` with ``bins``), so every reduction, the pictures and
``explain`` treat them as they treat adaptive bins. One ``u`` per axis serves every channel
and batch item of a call (torch draws one per plane): a call has one window grid, which the
pictures can draw; ``--seed`` makes it reproducible.

Pure Python.

>>> fractional_starts(10, 4, 2, 0.5)
(0, 3, 5, 8)
"""

from __future__ import annotations

import random
import struct

from poolcli.errors import UsageError


def _f32(value: float) -> float:
    """``value`` rounded to the nearest float32."""
    return struct.unpack("f", struct.pack("f", value))[0]


def fractional_starts(size: int, out: int, kernel: int, u: float) -> tuple[int, ...]:
    """Where each of ``out`` windows of ``kernel`` cells starts along an axis of ``size``."""
    starts = []
    if out > 1:
        u = _f32(u)
        alpha = _f32(_f32(size - kernel) / _f32(out - 1))
        offset = int(_f32(u * alpha))
        starts = [int(_f32(_f32(i + u) * alpha)) - offset for i in range(out - 1)]
    return tuple([*starts, size - kernel])


def draw_samples(count: int, seed: int | None) -> tuple[float, ...]:
    """One ``u`` in ``[0, 1)`` per axis, from ``seed`` (``None``: a fresh random one)."""
    generator = random.Random(seed)
    return tuple(_f32(generator.random()) % 1.0 for _ in range(count))


def parse_ratio(text, option: str = "--output-ratio") -> tuple[float, ...]:
    """``0.5``, ``0.7x0.5`` or a tuple of floats, each strictly between 0 and 1."""
    parts = list(text) if isinstance(text, (tuple, list)) else [text]
    if isinstance(text, str):
        parts = text.strip().lower().replace(",", "x").split("x")
    values = []
    for part in parts:
        try:
            value = float(part)
        except (TypeError, ValueError):
            value = None
        if value is None or not 0 < value < 1:
            raise UsageError(
                f"{option} {text} is not valid: give a number between 0 and 1 per axis, such "
                "as 0.5 or 0.7x0.5.",
                option=option,
            )
        values.append(value)
    return tuple(values)


def resolve_fractional(spec, spatial_shape: tuple[int, ...], names: str):
    """The :class:`~poolcli.model.window.AxisWindow` of every axis of a fractional ``spec``."""
    from poolcli.model.window import AxisWindow, _per_axis

    kernels = _per_axis(spec.kernel_size or (2,), "--kernel", names)
    if spec.output_size is not None:
        outs = _per_axis(spec.output_size, "--output-size", names)
    else:
        ratios = _per_axis(spec.output_ratio, "--output-ratio", names)
        outs = tuple(int(s * r) for s, r in zip(spatial_shape, ratios))
    samples = spec.samples or (0.5,)
    samples = _per_axis(samples, "--fractional-windows samples", names)
    axes = []
    for name, size, out, kernel, u in zip(names, spatial_shape, outs, kernels, samples):
        if out < 1 or out + kernel - 1 > size:
            raise UsageError(
                f"--fractional-windows: {out} windows of {kernel} cells do not fit axis {name} of "
                f"{size} cells (need output + kernel - 1 <= {size}, and output >= 1).",
                option="--output-size" if spec.output_size is not None else "--output-ratio",
            )
        starts = fractional_starts(size, out, kernel, u)
        bins = tuple((s, s + kernel) for s in starts)
        axes.append(AxisWindow(name=name, size=size, out=out, kernel=kernel, bins=bins))
    return tuple(axes)
