"""Output sizes of pooling and convolution stacks, worked out step by step.

This is the calculator behind ``poolcli shape``. It is pure Python (no torch, no numpy): every size
comes from :mod:`poolcli.model.window` (:func:`~poolcli.model.window.resolve`,
:func:`~poolcli.model.window.output_size`, :func:`~poolcli.model.window.same_padding`), the same
arithmetic the engine and the report use, so a shape printed here is the shape poolcli produces.

Step syntax
-----------
A stack is a list of steps, each ``KIND[:ARG,ARG,...]``::

    pool:k=2,s=2,p=same,d=1,ceil   sliding-window pooling (stride defaults to the kernel);
                                   max, avg, min, sum, lp, median, stochastic and mode are
                                   accepted in place of ``pool`` (the size is the same)
    conv:k=5,s=1,p=0,d=1,c=16      convolution, torch's Conv rule (floor; stride defaults to 1);
                                   ``c`` is the number of output channels (optional)
    global                         one window over every axis: each size becomes 1
    adaptive:o=7                   adaptive pooling to a fixed size
    spp:1,2,4                      spatial pyramid pooling: the adaptive pools to 1, 2 and 4
                                   flattened into one axis of sum(n ** dims) cells

Keys: ``k``/``kernel``, ``s``/``stride``, ``p``/``padding`` (``1``, ``same``, ``valid`` or
``begin:end``), ``d``/``dilation``, ``o``/``output`` (adaptive), ``c``/``channels`` (conv),
and the flag ``ceil`` (pooling only). Per-axis values are joined with ``x``
(``k=3x2``, ``p=0:1x1:2``), as on the command line. A first value without a key is the kernel
(``pool:2``, ``conv:5``) or, for ``adaptive``, the output size (``adaptive:7``).

>>> steps = [parse_layer(s) for s in ("conv:k=5", "pool:k=2", "conv:k=5", "pool:k=2")]
>>> [r.output_size for r in stack((28, 28), steps)]
[(24, 24), (12, 12), (8, 8), (4, 4)]
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from poolcli.errors import UsageError
from poolcli.model.reductions import Reduction
from poolcli.model.window import (
    SPATIAL_LETTERS,
    AxisWindow,
    WindowSpec,
    format_axes,
    output_size,
    parse_ints,
    parse_padding,
    resolve,
    same_padding,
)

#: Step kinds that pool with sliding windows (the reduction does not change the size).
POOL_KINDS = ("pool", *(r.value for r in Reduction))
KINDS = (*POOL_KINDS, "conv", "global", "adaptive", "spp")

_KEYS = {
    "k": "kernel",
    "kernel": "kernel",
    "s": "stride",
    "stride": "stride",
    "p": "padding",
    "pad": "padding",
    "padding": "padding",
    "d": "dilation",
    "dilation": "dilation",
    "o": "output",
    "out": "output",
    "output": "output",
    "c": "channels",
    "channels": "channels",
}
_ALLOWED = {
    "pool": ("kernel", "stride", "padding", "dilation", "ceil"),
    "conv": ("kernel", "stride", "padding", "dilation", "channels"),
    "global": (),
    "adaptive": ("output",),
}

STEP_HELP = "pool:k=2,s=2,p=same,d=1,ceil | conv:k=5,s=1,p=0,d=1,c=16 | global | adaptive:o=7"


@dataclass(frozen=True)
class Layer:
    """One layer of a stack, parsed: ``kind`` is ``pool``, ``conv``, ``global`` or ``adaptive``.

    ``text`` is the step as the user wrote it (or a description built from options);
    ``label`` is the kind as written (``max`` for ``max:k=2``).
    """

    kind: str
    text: str
    label: str
    kernel_size: tuple[int, ...] | None = None
    stride: tuple[int, ...] | None = None
    padding: tuple | str | None = None
    dilation: tuple[int, ...] | None = None
    ceil_mode: bool = False
    output_size: tuple[int, ...] | None = None
    channels: int | None = None
    from_options: bool = False

    @classmethod
    def from_spec(cls, spec: WindowSpec) -> Layer:
        """The single pooling step that window options (``-k -s -p -d --ceil``...) describe."""
        if spec.mode == "spp":
            text = "--spp " + ",".join(map(str, spec.spp))
            return cls("spp", text, "spp", output_size=spec.spp, from_options=True)
        if spec.mode == "global":
            return cls("global", "--global", "global", from_options=True)
        if spec.mode == "adaptive":
            text = f"--output-size {format_axes(spec.output_size)}"
            return cls(
                "adaptive", text, "adaptive", output_size=spec.output_size, from_options=True
            )
        parts = [f"-k {format_axes(spec.kernel_size)}"]
        if spec.stride is not None:
            parts.append(f"-s {format_axes(spec.stride)}")
        if spec.padding in ("same", "valid"):
            parts.append(f"-p {spec.padding}")
        elif any(p != (0, 0) for p in spec.padding):
            parts.append(f"-p {format_axes(spec.padding)}")
        if spec.dilation != (1,):
            parts.append(f"-d {format_axes(spec.dilation)}")
        if spec.ceil_mode:
            parts.append("--ceil")
        return cls(
            "pool",
            " ".join(parts),
            "pool",
            kernel_size=spec.kernel_size,
            stride=spec.stride,
            padding=spec.padding,
            dilation=spec.dilation,
            ceil_mode=spec.ceil_mode,
            from_options=True,
        )


@dataclass(frozen=True)
class LayerResult:
    """One step worked out: sizes in and out, and each axis resolved (with its formula)."""

    index: int
    step: Layer
    input_size: tuple[int, ...]
    output_size: tuple[int, ...]
    axes: tuple[AxisWindow, ...]
    channels_in: int | None = None
    channels_out: int | None = None

    @property
    def kind(self) -> str:
        return self.step.kind

    @property
    def formulas(self) -> tuple[str, ...]:
        """Per axis: ``"H: floor((28 + 0 + 0 − 5) / 1) + 1 = 24"``."""
        if self.kind == "spp":
            dims = len(self.input_size)
            terms = " + ".join(f"{n}^{dims}" for n in self.step.output_size)
            return (f"spp: {terms} = {self.output_size[0]} cells per channel",)
        if self.kind == "adaptive":
            return tuple(
                f"{a.name}: {a.formula()}: " + " ".join(f"[{s},{e})" for s, e in a.bins)
                for a in self.axes
            )
        return tuple(f"{axis.name}: {axis.formula()}" for axis in self.axes)

    @property
    def params(self) -> str:
        """The resolved window in words, e.g. ``k=2 s=2 p=0:1 d=1 ceil`` (per axis with x)."""
        if self.kind == "global":
            return "global"
        if self.kind == "spp":
            return "levels=" + ",".join(map(str, self.step.output_size))
        if self.kind == "adaptive":
            return f"o={_compact(self.output_size)}"
        axes = self.axes
        text = (
            f"k={_compact(a.kernel for a in axes)} s={_compact(a.stride for a in axes)} "
            f"p={_compact((a.pad_begin, a.pad_end) for a in axes)} "
            f"d={_compact(a.dilation for a in axes)}"
        )
        if any(a.dilation != 1 for a in axes):
            text += f" (effective k={_compact(a.effective_kernel for a in axes)})"
        if self.step.ceil_mode:
            text += " ceil"
            dropped = sum(a.dropped_by_ceil for a in axes)
            if dropped:
                plural = "s" if dropped > 1 else ""
                text += f" (dropped {dropped} window{plural} starting in the padding)"
        return text


def _compact(values) -> str:
    """Per-axis values as ``2`` when they agree, else ``3x2``; pads ``1`` or ``0:1``."""
    values = tuple((v[0] if v[0] == v[1] else v) if isinstance(v, tuple) else v for v in values)
    return format_axes(values[:1] if len(set(values)) == 1 else values)


def parse_size(text: str | int | tuple[int, ...]) -> tuple[int, ...]:
    """Parse an input size such as ``28x28`` (1 to 3 spatial axes, D, H, W order).

    >>> parse_size("28x28")
    (28, 28)
    """
    size = parse_ints(text, "SIZE")
    if len(size) > len(SPATIAL_LETTERS):
        raise UsageError(
            f"SIZE {format_axes(size)} has {len(size)} axes: poolcli pools 1, 2 or 3 spatial "
            "axes, such as 100, 28x28 or 16x28x28.",
            option="SIZE",
        )
    return size


def _step_error(text: str, message: str, syntax: bool = False) -> UsageError:
    hint = f" Steps look like: {STEP_HELP}." if syntax else ""
    return UsageError(f'step "{text.strip()}": {message}{hint}', option="STEP")


def _ints(text: str, step: str, key: str, minimum: int = 1) -> tuple[int, ...]:
    try:
        return parse_ints(text, key, minimum)
    except UsageError:
        raise _step_error(
            step,
            f"{key}={text} is not valid: use a positive whole number, or one per axis "
            "joined with x, such as 3x2.",
        ) from None


def _padding(text: str, step: str) -> tuple | str:
    try:
        return parse_padding(text)
    except UsageError:
        raise _step_error(
            step,
            f"p={text} is not valid: use N, begin:end, same or valid, per axis joined with x, "
            "such as 1x0:1.",
        ) from None


def parse_layer(text: str) -> Layer:
    """Parse one step of a stack (see the module docstring for the syntax).

    >>> parse_layer("pool:k=2,s=1,p=same").padding
    'same'
    >>> parse_layer("conv:5,c=6").kernel_size, parse_layer("conv:5,c=6").channels
    ((5,), 6)
    """
    raw = text.strip()
    label, colon, rest = raw.partition(":")
    label = label.strip().lower()
    if label not in KINDS:
        raise _step_error(
            text,
            f"unknown kind {label!r}: use pool (or a reduction), conv, global or adaptive.",
            syntax=True,
        )
    kind = "pool" if label in POOL_KINDS else label
    if kind == "spp":
        if not colon:
            raise _step_error(text, "spp steps need levels, such as spp:1,2,4.")
        return Layer(kind, raw, label, output_size=_ints(rest.replace(",", "x"), raw, "levels"))
    values = _step_values(text, label, kind, rest.split(",") if colon else [])

    if kind == "global":
        return Layer(kind, raw, label)
    if kind == "adaptive":
        if "output" not in values:
            raise _step_error(text, "adaptive steps need an output size, such as adaptive:o=7.")
        return Layer(kind, raw, label, output_size=_ints(values["output"], raw, "o"))
    return _windowed_step(text, raw, label, kind, values)


def _step_values(text: str, label: str, kind: str, args: list[str]) -> dict[str, str | bool]:
    """The arguments of a step by name: ``KEY=VALUE``, ``ceil``, or a leading bare value."""
    values: dict[str, str | bool] = {}
    for position, arg in enumerate(a.strip() for a in args):
        if not arg:
            raise _step_error(text, "has an empty argument.", syntax=True)
        if "=" in arg:
            key, _, value = arg.partition("=")
            key, value = key.strip().lower(), value.strip()
            if key not in _KEYS:
                raise _step_error(text, f"unknown key {key!r}.", syntax=True)
            name = _KEYS[key]
            if not value:
                raise _step_error(text, f"{key}= needs a value.", syntax=True)
        elif arg.lower() == "ceil":
            name, value = "ceil", True
        elif position == 0 and kind in ("pool", "conv", "adaptive"):
            name, value = ("output" if kind == "adaptive" else "kernel"), arg
        else:
            raise _step_error(text, f"{arg!r} is not KEY=VALUE.", syntax=True)
        if name not in _ALLOWED[kind]:
            takes = ", ".join(_ALLOWED[kind])
            raise _step_error(
                text, f"{label} steps take no {name}" + (f" (only {takes})." if takes else ".")
            )
        if name in values:
            raise _step_error(text, f"{name} is given twice.")
        values[name] = value
    return values


def _windowed_step(text: str, raw: str, label: str, kind: str, values: dict) -> Layer:
    """A pool or conv step from its arguments: a kernel, and what else was given."""
    if "kernel" not in values:
        raise _step_error(text, f"{label} steps need a kernel, such as {label}:k=2.")
    channels = None
    if "channels" in values:
        channels = _ints(values["channels"], raw, "c")
        if len(channels) != 1:
            raise _step_error(text, "c= is one number: the output channels.")
    step = Layer(
        kind,
        raw,
        label,
        kernel_size=_ints(values["kernel"], raw, "k"),
        stride=_ints(values["stride"], raw, "s") if "stride" in values else None,
        padding=_padding(values["padding"], raw) if "padding" in values else None,
        dilation=_ints(values["dilation"], raw, "d") if "dilation" in values else None,
        ceil_mode=bool(values.get("ceil", False)),
        channels=channels[0] if channels else None,
    )
    if step.ceil_mode and step.padding in ("same", "valid"):
        raise _step_error(text, f"ceil cannot be combined with p={step.padding}.")
    return step


_OPTION_KEYS = (
    ("--kernel", "k"),
    ("--stride", "s"),
    ("--padding", "p"),
    ("--dilation", "d"),
    ("--output-size", "o"),
)


def _reword(message: str) -> str:
    """Option names in spec's messages, as the step keys the user typed."""
    for option, key in _OPTION_KEYS:
        message = re.sub(rf"{option} (?=[0-9])", f"{key}=", message)
        message = message.replace(option, f"the {option[2:].replace('-', ' ')}")
    return message


def _per_axis(step: Layer, values: tuple | str | None, key: str, names: str) -> tuple | str | None:
    if values is None or isinstance(values, str) or len(values) == len(names):
        return values
    if step.from_options:
        return values  # resolve() words the error as for the pooling commands
    if len(values) == 1:
        return values * len(names)
    raise UsageError(
        f"{key}={format_axes(values)} has {len(values)} values but the input has "
        f"{len(names)} spatial {'axis' if len(names) == 1 else 'axes'} ({', '.join(names)}).",
        option=f"--{key}",
    )


def _conv_axes(step: Layer, size: tuple[int, ...], names: str) -> tuple[AxisWindow, ...]:
    kernels = _per_axis(step, step.kernel_size, "k", names)
    strides = _per_axis(step, step.stride or (1,), "s", names)
    dilations = _per_axis(step, step.dilation or (1,), "d", names)
    padding = step.padding if step.padding is not None else ((0, 0),)
    if padding in ("same", "valid"):
        pads = tuple(
            same_padding(s, k, st, d) if padding == "same" else (0, 0)
            for s, k, st, d in zip(size, kernels, strides, dilations, strict=True)
        )
    else:
        pads = _per_axis(step, padding, "p", names)
    axes = []
    for name, s, k, st, d, pad in zip(names, size, kernels, strides, dilations, pads, strict=True):
        out = output_size(s, k, st, pad, d, ceil_mode=False)
        axes.append(
            AxisWindow(
                name=name,
                size=s,
                out=out,
                kernel=k,
                stride=st,
                dilation=d,
                pad_begin=pad[0],
                pad_end=pad[1],
            )
        )
    return tuple(axes)


def _pool_axes(step: Layer, size: tuple[int, ...], names: str) -> tuple[AxisWindow, ...]:
    if step.kind == "global":
        spec = WindowSpec.make(global_pool=True)
    elif step.kind == "spp":
        spec = WindowSpec.make(spp=step.output_size)
    elif step.kind == "adaptive":
        spec = WindowSpec.make(output_size=_per_axis(step, step.output_size, "o", names))
    else:
        spec = WindowSpec.make(
            kernel_size=_per_axis(step, step.kernel_size, "k", names),
            stride=_per_axis(step, step.stride, "s", names),
            padding=_per_axis(step, step.padding, "p", names),
            dilation=_per_axis(step, step.dilation, "d", names),
            ceil_mode=step.ceil_mode,
        )
    return resolve(spec, size, names)


def run_step(
    step: Layer, size: tuple[int, ...], index: int = 1, channels: int | None = None
) -> LayerResult:
    """Apply one step to an input of spatial ``size``; raise :class:`UsageError` naming it."""
    names = SPATIAL_LETTERS[-len(size) :]
    try:
        make_axes = _conv_axes if step.kind == "conv" else _pool_axes
        axes = make_axes(step, size, names)
        if step.kind == "spp":
            from poolcli.model.variants import spp_length

            out = (spp_length(step.output_size, len(size)),)
            channels_out = step.channels if step.channels is not None else channels
            return LayerResult(index, step, size, out, axes, channels, channels_out)
    except UsageError as error:
        if error.option == "STEP" or step.from_options:
            raise
        raise UsageError(
            f'step {index} "{step.text}" does not fit its input {format_axes(size)}: '
            f"{_reword(error.message)}",
            option="STEP",
        ) from None
    out = tuple(axis.out for axis in axes)
    channels_out = step.channels if step.channels is not None else channels
    return LayerResult(index, step, size, out, axes, channels, channels_out)


def stack(
    size: tuple[int, ...], steps: list[Layer], channels: int | None = None
) -> list[LayerResult]:
    """Run ``steps`` one after the other from an input of spatial ``size``.

    ``channels`` is the input's channel count, if known; conv steps with ``c=`` change it.

    >>> [r.output_size for r in stack((5,), [parse_layer("pool:k=2,ceil")])]
    [(3,)]
    """
    results = []
    for index, step in enumerate(steps, start=1):
        result = run_step(step, size, index, channels)
        results.append(result)
        size, channels = result.output_size, result.channels_out
    return results


def flat_size(size: tuple[int, ...], channels: int | None) -> int:
    """Number of values after flattening (``C*D*H*W``), as a fully connected layer sees it."""
    total = channels if channels is not None else 1
    for s in size:
        total *= s
    return total


_STEP_RE = re.compile(r"^[a-z]+(:.*)?$", re.IGNORECASE)


def looks_like_step(text: str) -> bool:
    """True for ``pool:k=2``, ``conv:5`` or ``global`` (as opposed to a size like ``28x28``)."""
    return bool(_STEP_RE.match(text.strip()))
