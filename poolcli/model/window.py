"""Window arithmetic: parse window options, resolve them per axis, compute output sizes.

Everything here is pure Python (no torch, no numpy), so ``--help``, usage errors and the
report's size arithmetic never pay for importing torch.

Conventions
-----------
Per-axis values are tuples in layout order (D, H, W). A tuple of length 1 applies to every
spatial axis. Padding is a tuple of ``(begin, end)`` pairs, or ``"same"`` / ``"valid"``.

Output size of a sliding window along one axis (torch's rule)::

    effective_kernel = dilation * (kernel - 1) + 1
    out = floor_or_ceil((size + pad_begin + pad_end - effective_kernel) / stride) + 1

With ``ceil_mode`` the division rounds up, but a last window that would start in the
trailing padding (at or after ``size + pad_begin`` in padded coordinates) is dropped.

Adaptive pooling splits an axis of ``size`` cells into ``out`` bins; bin ``i`` covers
``[floor(i * size / out), ceil((i + 1) * size / out))``, as torch's adaptive pools do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from poolcli.errors import UsageError

SPATIAL_LETTERS = "DHW"


Pads = tuple[tuple[int, int], ...]

_NUMBER = re.compile(r"[+-]?\d+")


def _split_axes(text: str) -> list[str]:
    return re.split(r"[x,]", text.strip().lower())


def parse_ints(text: str | int | tuple[int, ...], option: str, minimum: int = 1) -> tuple[int, ...]:
    """Parse ``3``, ``3x2`` or ``3,2`` into a tuple of ints, each at least ``minimum``.

    >>> parse_ints("3x2", "--kernel")
    (3, 2)
    """
    if isinstance(text, int):
        parts: list = [text]
    elif isinstance(text, (tuple, list)):
        parts = list(text)
    elif isinstance(text, str):
        parts = _split_axes(text)
    else:
        raise UsageError(f"{option} expects whole numbers, got {text!r}.", option=option)
    if not parts:
        raise UsageError(f"{option} needs at least one value.", option=option)
    values = []
    for part in parts:
        if isinstance(part, str):
            if not _NUMBER.fullmatch(part.strip()):
                raise UsageError(
                    f"{option} {text!s} is not valid: expected a whole number, or one per "
                    "axis such as 3x2.",
                    option=option,
                )
            part = int(part)
        if isinstance(part, bool) or not isinstance(part, int):
            raise UsageError(f"{option} expects whole numbers, got {text!r}.", option=option)
        if part < minimum:
            word = "positive" if minimum == 1 else f"at least {minimum}"
            raise UsageError(f"{option} must be {word}, got {text}.", option=option)
        values.append(part)
    return tuple(values)


def parse_padding(text: str | int | tuple) -> Pads | str:
    """Parse ``--padding``: ``1``, ``1x2``, ``same``, ``valid`` or per-axis ``begin:end``.

    >>> parse_padding("0:1x1:2")
    ((0, 1), (1, 2))
    >>> parse_padding("same")
    'same'
    """
    if isinstance(text, str) and text.strip().lower() in ("same", "valid"):
        return text.strip().lower()
    if isinstance(text, int) or (
        isinstance(text, (tuple, list)) and all(isinstance(v, int) for v in text)
    ):
        return tuple((v, v) for v in parse_ints(text, "--padding", minimum=0))
    if isinstance(text, (tuple, list)):
        pads = []
        for item in text:
            if isinstance(item, int):
                item = (item, item)
            if not isinstance(item, (tuple, list)) or len(item) != 2:
                raise UsageError(
                    f"--padding {text!r} is not valid: give one number or a (begin, end) pair "
                    "per axis.",
                    option="--padding",
                )
            begin, end = parse_ints(tuple(item), "--padding", minimum=0)
            pads.append((begin, end))
        return tuple(pads)
    pads = []
    for part in _split_axes(str(text)):
        halves = part.split(":")
        if len(halves) > 2:
            raise UsageError(
                f"--padding {text} is not valid: use N, begin:end, same or valid per axis, "
                "such as 1x0:1.",
                option="--padding",
            )
        numbers = None
        if all(_NUMBER.fullmatch(h.strip()) for h in halves):
            if any(int(h) < 0 for h in halves):
                raise UsageError(f"--padding must be at least 0, got {text}.", option="--padding")
            numbers = tuple(int(h) for h in halves)
        if numbers is None:
            raise UsageError(
                f"--padding {text} is not valid: use N, begin:end, same or valid per axis, "
                "such as 1x0:1.",
                option="--padding",
            )
        pads.append((numbers[0], numbers[-1]))
    return tuple(pads)


def format_axes(values: tuple) -> str:
    """``(3, 2)`` -> ``'3x2'``; pairs print as ``begin:end``."""
    return "x".join(f"{v[0]}:{v[1]}" if isinstance(v, tuple) else str(v) for v in values)


@dataclass(frozen=True)
class WindowSpec:
    """The windowing options of one call, as given (before the input's shape is known).

    Exactly one of three modes: sliding windows (``kernel_size``), ``global_pool``, or
    adaptive pooling (``output_size``).
    """

    kernel_size: tuple[int, ...] | None = None
    stride: tuple[int, ...] | None = None
    padding: Pads | str = ((0, 0),)
    dilation: tuple[int, ...] = (1,)
    ceil_mode: bool = False
    count_include_pad: bool = False
    global_pool: bool = False
    output_size: tuple[int, ...] | None = None
    #: Fractional windows (:mod:`poolcli.model.fractional`): ``output_ratio`` or
    #: ``output_size``, and the per-axis samples placing them (None: drawn from the seed).
    fractional: bool = False
    output_ratio: tuple[float, ...] | None = None
    samples: tuple[float, ...] | None = None
    #: Spatial pyramid pooling: the adaptive output sizes concatenated (``--spp 1,2,4``).
    spp: tuple[int, ...] | None = None

    @classmethod
    def make(
        cls,
        kernel_size=None,
        stride=None,
        padding=None,
        dilation=None,
        ceil_mode: bool = False,
        count_include_pad: bool = False,
        global_pool: bool = False,
        output_size=None,
        **variant,
    ) -> WindowSpec:
        """Build and check a spec from ints, tuples or command-line strings.

        ``variant``: ``fractional``, ``output_ratio``, ``samples`` or ``spp`` (see
        :mod:`poolcli.model.variants`)."""
        if any(value not in (None, False) for value in variant.values()):
            from poolcli.model.variants import make_variant

            window = dict(kernel_size=kernel_size, stride=stride, padding=padding)
            window.update(dilation=dilation, ceil_mode=ceil_mode, global_pool=global_pool)
            return make_variant(cls, window, output_size, count_include_pad, **variant)
        sliding = kernel_size is not None
        _check_windowing(sliding, global_pool, output_size)
        if not sliding:
            _check_sliding_only(global_pool, stride, padding, dilation, ceil_mode)
        pads = parse_padding(padding if padding is not None else 0)
        if ceil_mode and pads in ("same", "valid"):
            raise UsageError(
                f"--ceil cannot be combined with --padding {pads}: {pads} fixes the output size.",
                option="--ceil",
            )
        return cls(
            kernel_size=parse_ints(kernel_size, "--kernel") if sliding else None,
            stride=parse_ints(stride, "--stride") if (sliding and stride is not None) else None,
            padding=pads,
            dilation=parse_ints(dilation, "--dilation")
            if (sliding and dilation is not None)
            else (1,),
            ceil_mode=bool(ceil_mode),
            count_include_pad=bool(count_include_pad),
            global_pool=bool(global_pool),
            output_size=parse_ints(output_size, "--output-size")
            if output_size is not None
            else None,
        )

    @property
    def mode(self) -> str:
        if self.fractional:
            return "fractional"
        if self.spp is not None:
            return "spp"
        if self.global_pool:
            return "global"
        if self.output_size is not None:
            return "adaptive"
        return "sliding"


@dataclass(frozen=True)
class AxisWindow:
    """One spatial axis, resolved: where every window starts and how far it reaches.

    For sliding (and global) windows, window ``i`` covers the input cells
    ``i * stride - pad_begin + j * dilation`` for ``j`` in ``range(kernel)``; cells outside
    ``[0, size)`` are padding. For adaptive pooling ``bins[i]`` is ``(start, end)`` and
    ``kernel`` is the longest bin.
    """

    name: str
    size: int
    out: int
    kernel: int
    stride: int = 1
    dilation: int = 1
    pad_begin: int = 0
    pad_end: int = 0
    ceil_mode: bool = False
    bins: tuple[tuple[int, int], ...] | None = field(default=None, repr=False)

    @property
    def effective_kernel(self) -> int:
        return self.dilation * (self.kernel - 1) + 1

    @property
    def padded_size(self) -> int:
        return self.size + self.pad_begin + self.pad_end

    @property
    def extra_end(self) -> int:
        """Cells past the end padding that only ceil mode makes the last window reach."""
        if self.bins is not None:
            return 0
        reach = (self.out - 1) * self.stride + self.effective_kernel
        return max(0, reach - self.padded_size)

    @property
    def dropped_by_ceil(self) -> int:
        """1 when ceil mode's start rule dropped a last window that began in the end padding."""
        if not self.ceil_mode or self.bins is not None:
            return 0
        room = self.padded_size - self.effective_kernel
        return -(-room // self.stride) + 1 - self.out

    @property
    def is_identity(self) -> bool:
        """True when every output cell is exactly one input cell."""
        return self.bins is None and self.kernel == 1 and self.stride == 1 and self.pad_begin == 0

    def cells(self, i: int) -> list[int]:
        """Input indices covered by window ``i`` (negative or >= size: padding)."""
        if self.bins is not None:
            start, end = self.bins[i]
            return list(range(start, end))
        start = i * self.stride - self.pad_begin
        return [start + j * self.dilation for j in range(self.kernel)]

    def formula(self) -> str:
        """The output-size arithmetic with the numbers put in."""
        if self.bins is not None:
            return f"adaptive: {self.size} cells into {self.out} bins"
        if self.kernel == self.size and self.out == 1 and self.pad_begin == self.pad_end == 0:
            if self.dilation == 1:
                return f"global: {self.size} → 1"
        rounding = "ceil" if self.ceil_mode else "floor"
        text = (
            f"{rounding}(({self.size} + {self.pad_begin} + {self.pad_end} − "
            f"{self.effective_kernel}) / {self.stride}) + 1"
        )
        if self.dropped_by_ceil:
            text += f" − {self.dropped_by_ceil}"
        return f"{text} = {self.out}"


def same_padding(size: int, kernel: int, stride: int = 1, dilation: int = 1) -> tuple[int, int]:
    """TensorFlow/ONNX ``SAME_UPPER`` padding: output ``ceil(size / stride)``, extra at the end.

    >>> same_padding(5, 2, 2)
    (0, 1)
    """
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def output_size(
    size: int,
    kernel_size: int,
    stride: int | None = None,
    padding: int | tuple[int, int] = 0,
    dilation: int = 1,
    ceil_mode: bool = False,
) -> int:
    """Number of windows along one axis (torch's rule, with asymmetric padding allowed).

    ``out = floor((size + pad_begin + pad_end - dilation * (kernel_size - 1) - 1) / stride) + 1``;
    with ``ceil_mode`` the division rounds up, unless the last window would then start in the
    end padding. ``stride`` defaults to ``kernel_size``.

    >>> output_size(28, 2)
    14
    >>> output_size(5, 2, 2, ceil_mode=True)
    3
    >>> output_size(6, 3, 2, padding=1, ceil_mode=True)
    4
    """
    stride = kernel_size if stride is None else stride
    begin, end = (padding, padding) if isinstance(padding, int) else padding
    room = size + begin + end - (dilation * (kernel_size - 1) + 1)
    if room < 0:
        raise UsageError(
            f"--kernel {kernel_size} (reaching {dilation * (kernel_size - 1) + 1} cells) is larger "
            f"than the padded input {size + begin + end}.",
            option="--kernel",
        )
    if not ceil_mode:
        return room // stride + 1
    out = -(-room // stride) + 1
    if (out - 1) * stride >= size + begin:
        out -= 1
    return out


def adaptive_bins(size: int, out: int) -> tuple[tuple[int, int], ...]:
    """Bin edges of adaptive pooling: bin ``i`` is ``[floor(i*size/out), ceil((i+1)*size/out))``.

    >>> adaptive_bins(5, 3)
    ((0, 2), (1, 4), (3, 5))
    """
    return tuple(((i * size) // out, -(-((i + 1) * size) // out)) for i in range(out))


def _per_axis(values: tuple, option: str, names: str) -> tuple:
    if len(values) == 1:
        return values * len(names)
    if len(values) != len(names):
        raise UsageError(
            f"{option} {format_axes(values)} has {len(values)} values but the input has "
            f"{len(names)} spatial {'axis' if len(names) == 1 else 'axes'} ({', '.join(names)}).",
            option=option,
        )
    return values


def _check_real_cells(axis: AxisWindow) -> None:
    """Every window must hold at least one input cell; only edge windows can fail."""
    suspects = range(axis.out)
    if axis.out > 64:
        head = -(-axis.pad_begin // axis.stride) + 1
        tail = -(-(axis.pad_end + axis.extra_end) // axis.stride) + 1
        suspects = [*range(min(head, axis.out)), *range(max(axis.out - tail, 0), axis.out)]
    for i in suspects:
        if not any(0 <= c < axis.size for c in axis.cells(i)):
            raise UsageError(
                f"--padding leaves window {i} on axis {axis.name} with only padding cells "
                f"(padding {axis.pad_begin}:{axis.pad_end}, kernel {axis.kernel}, dilation "
                f"{axis.dilation}). Use less padding.",
                option="--padding",
            )


def _check_windowing(sliding: bool, global_pool: bool, output_size) -> None:
    """Exactly one windowing: sliding (--kernel), --global or --output-size."""
    given = sliding + bool(global_pool) + (output_size is not None)
    if given > 1:
        raise UsageError(
            "--kernel, --global and --output-size are different windowings: give only one.",
            option="--kernel",
        )
    if given == 0:
        raise UsageError(
            "No window given: use --kernel K, --global or --output-size O.", option="--kernel"
        )


def _check_sliding_only(global_pool: bool, stride, padding, dilation, ceil_mode) -> None:
    """Refuse the options of sliding windows with --global or --output-size."""
    options = (
        ("--stride", stride),
        ("--padding", padding),
        ("--dilation", dilation),
        ("--ceil", ceil_mode or None),
    )
    given = [name for name, value in options if value is not None]
    if given:
        what = "--global" if global_pool else "--output-size"
        verb = "applies" if len(given) == 1 else "apply"
        raise UsageError(
            f"{', '.join(given)} {verb} only to sliding windows (--kernel), not {what}.",
            option=given[0],
        )


def resolve(
    spec: WindowSpec, spatial_shape: tuple[int, ...], names: str | None = None
) -> tuple[AxisWindow, ...]:
    """Resolve ``spec`` against the spatial sizes of an input: one :class:`AxisWindow` per axis.

    ``names`` are the spatial axis letters (default: the last ``len(spatial_shape)`` of DHW).
    Raises :class:`UsageError` naming the option and axis when the windows do not fit.

    >>> [a.out for a in resolve(WindowSpec.make(kernel_size=2), (4, 5))]
    [2, 2]
    """
    names = names or SPATIAL_LETTERS[-len(spatial_shape) :]
    if spec.mode in ("fractional", "spp"):
        from poolcli.model.variants import resolve_variant

        return resolve_variant(spec, spatial_shape, names)
    if spec.mode == "global":
        return tuple(
            AxisWindow(name=n, size=s, out=1, kernel=s, stride=s)
            for n, s in zip(names, spatial_shape)
        )
    if spec.mode == "adaptive":
        outs = _per_axis(spec.output_size, "--output-size", names)
        axes = []
        for n, s, o in zip(names, spatial_shape, outs):
            bins = adaptive_bins(s, o)
            longest = max(end - start for start, end in bins)
            axes.append(AxisWindow(name=n, size=s, out=o, kernel=longest, bins=bins))
        return tuple(axes)
    return _resolve_sliding(spec, spatial_shape, names)


def _resolve_sliding(spec: WindowSpec, spatial_shape, names: str) -> tuple[AxisWindow, ...]:
    """:func:`resolve` for sliding windows: per-axis values, padding, checks, output sizes."""
    kernels = _per_axis(spec.kernel_size, "--kernel", names)
    strides = _per_axis(spec.stride or spec.kernel_size, "--stride", names)
    dilations = _per_axis(spec.dilation, "--dilation", names)
    if spec.padding in ("same", "valid"):
        pads = tuple(
            same_padding(s, k, st, d) if spec.padding == "same" else (0, 0)
            for s, k, st, d in zip(spatial_shape, kernels, strides, dilations)
        )
    else:
        pads = _per_axis(spec.padding, "--padding", names)

    reach = [d * (k - 1) + 1 for k, d in zip(kernels, dilations)]
    padded = [s + b + e for s, (b, e) in zip(spatial_shape, pads)]
    if any(r > p for r, p in zip(reach, padded)):
        extent = format_axes(tuple(reach)) if reach != list(kernels) else None
        raise UsageError(
            f"--kernel {format_axes(kernels)}"
            + (f" (reaching {extent} with dilation)" if extent else "")
            + f" is larger than the padded input {format_axes(tuple(padded))}.",
            option="--kernel",
        )
    axes = []
    for n, s, k, st, d, pad in zip(names, spatial_shape, kernels, strides, dilations, pads):
        out = output_size(s, k, st, pad, d, spec.ceil_mode)
        axis = AxisWindow(
            name=n,
            size=s,
            out=out,
            kernel=k,
            stride=st,
            dilation=d,
            pad_begin=pad[0],
            pad_end=pad[1],
            ceil_mode=spec.ceil_mode,
        )
        _check_real_cells(axis)
        axes.append(axis)
    return tuple(axes)


def output_shape(spec: WindowSpec, spatial_shape: tuple[int, ...]) -> tuple[int, ...]:
    """Spatial output shape of ``spec`` on an input of ``spatial_shape``."""
    return tuple(axis.out for axis in resolve(spec, spatial_shape))
