"""Chained pooling ops: several reductions applied one after another in one process.

A chain is a list of :class:`Step` (a reduction, its :class:`~poolcli.model.window.WindowSpec` and
its :class:`~poolcli.model.options.PoolOptions`); :func:`poolcli.engine.chain.run_chain` applies
the steps in order to one array, the output of a step being the input of the next.

* :func:`make_step` builds a step from Python values (the keyword names of :func:`poolcli.pool`).
* :func:`parse_step` builds one from the command-line words of a reduction, e.g.
  ``"avg -k 2 -s 1 --count-include-pad"``.
* :func:`split_then` cuts an argument list at ``--then`` markers
  (``max x.png -k 2 --then avg -k 2 -o out.png``) into the first command and the later steps.

For RGBA images the averaging reductions weight colour by alpha in every step (the pooled
alpha stays the last channel, straight), unless that step has ``straight_alpha``.

Pure Python at import time: torch loads only when a chain runs.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from poolcli.errors import UsageError
from poolcli.model.applies import check_applies
from poolcli.model.flag import Flag
from poolcli.model.flags import STEP_FLAGS
from poolcli.model.missing import check_data_options
from poolcli.model.options import PoolOptions, check_norm_type
from poolcli.model.reductions import (
    NORM_TYPE_DEFAULTS,
    Reduction,
    default_norm_type,
    parse_reduction,
)
from poolcli.model.window import WindowSpec, format_axes

if TYPE_CHECKING:
    pass

THEN = "--then"


@dataclass(frozen=True)
class Step:
    """One pooling op of a chain: what to reduce, over which windows, with which options.

    ``options.device`` is ignored: the device is chosen for the whole chain.
    """

    reduction: Reduction
    spec: WindowSpec
    options: PoolOptions = PoolOptions()

    def __post_init__(self) -> None:
        object.__setattr__(self, "reduction", Reduction(self.reduction))

    @property
    def label(self) -> str:
        """The step as command-line words, e.g. ``"avg -k 2 -s 1 -p same"``."""
        return " ".join([str(self.reduction), *window_words(self.spec), *self._option_words()])

    def _option_words(self) -> list[str]:
        o = self.options
        words = []
        if o.norm_type != default_norm_type(self.reduction, None):
            words += ["--norm-type", f"{o.norm_type:g}"]
        if self.reduction is Reduction.STOCHASTIC:
            if o.seed is not None:
                words += ["--seed", str(o.seed)]
            if o.expectation:
                words.append("--expectation")
        if (
            self.spec.fractional
            and o.seed is not None
            and self.reduction is not Reduction.STOCHASTIC
        ):
            words += ["--seed", str(o.seed)]
        if o.pool_axes is not None:
            words += ["--pool-axes", o.pool_axes]
        if o.blur is not None:
            words += ["--blur", str(o.blur)]
        if o.dtype is not None:
            words += ["--dtype", o.dtype]
        if o.straight_alpha:
            words.append("--straight-alpha")
        return words + data_words(o)


def data_words(o: PoolOptions) -> list[str]:
    """The data-aware options of a step as command-line words (defaults left out)."""
    words = []
    if str(o.nan) != "propagate":
        words += ["--nan", str(o.nan)]
    if o.nodata is not None:
        words += ["--nodata", f"{o.nodata:g}"]
    if o.linear_light:
        words.append("--linear-light")
    if o.srgb_max is not None:
        words += ["--srgb-max", f"{o.srgb_max:g}"]
    return words


def window_words(spec: WindowSpec) -> list[str]:
    """The window options of ``spec`` as command-line words (defaults left out)."""
    if spec.spp is not None:
        return ["--spp", ",".join(map(str, spec.spp))]
    if spec.fractional:
        words = ["--fractional-windows", "-k", format_axes(spec.kernel_size)]
        if spec.output_size is not None:
            return [*words, "--output-size", format_axes(spec.output_size)]
        return [*words, "--output-ratio", "x".join(f"{r:g}" for r in spec.output_ratio)]
    if spec.global_pool:
        return ["--global"]
    if spec.output_size is not None:
        return ["--output-size", format_axes(spec.output_size)]
    words = ["-k", format_axes(spec.kernel_size)]
    if spec.stride is not None and spec.stride != spec.kernel_size:
        words += ["-s", format_axes(spec.stride)]
    if spec.padding != ((0, 0),):
        words += ["-p", padding_text(spec)]
    if spec.dilation != (1,):
        words += ["-d", format_axes(spec.dilation)]
    if spec.ceil_mode:
        words.append("--ceil")
    if spec.count_include_pad:
        words.append("--count-include-pad")
    return words


def padding_text(spec: WindowSpec) -> str:
    """``same``, ``valid``, ``1``, ``1x2`` or ``0:1x1:2``: the padding as ``-p`` takes it."""
    if isinstance(spec.padding, str):
        return spec.padding
    symmetric = all(b == e for b, e in spec.padding)
    return (
        format_axes(tuple(b for b, _ in spec.padding)) if symmetric else format_axes(spec.padding)
    )


#: make_step's keywords that describe the windows, and those that become PoolOptions as given.
WINDOW_KEYWORDS = (
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
_OPTION_KEYWORDS = (
    "seed",
    "expectation",
    "dtype",
    "straight_alpha",
    "nodata",
    "linear_light",
    "srgb_max",
    "pool_axes",
    "blur",
)


def make_step(
    reduction: Reduction | str,
    kernel_size=None,
    stride=None,
    padding=None,
    dilation=None,
    ceil_mode: bool = False,
    count_include_pad: bool = False,
    global_pool: bool = False,
    output_size=None,
    norm_type: float | None = None,
    seed: int | None = None,
    expectation: bool = False,
    dtype: str | None = None,
    straight_alpha: bool = False,
    nan: str = "propagate",
    nodata: float | None = None,
    linear_light: bool = False,
    srgb_max: float | None = None,
    pool_axes: str | None = None,
    blur: int | None = None,
    fractional: bool = False,
    output_ratio=None,
    spp=None,
) -> Step:
    """A :class:`Step` from the keyword arguments of :func:`poolcli.pool`.

    >>> make_step("max", kernel_size=2).label
    'max -k 2'
    >>> make_step("avg", kernel_size="3x2", stride=1, padding="same").label
    'avg -k 3x2 -s 1 -p same'
    """
    reduction = _reduction(reduction)
    given = dict(locals())
    spec = WindowSpec.make(**{key: given[key] for key in WINDOW_KEYWORDS})
    check_reduction_options(
        reduction, norm_type, seed if not spec.fractional else None, expectation
    )
    check_applies(reduction, {"count_include_pad": count_include_pad, "dtype": dtype})
    options = PoolOptions(
        norm_type=float(default_norm_type(reduction, norm_type)),
        nan=str(nan),
        **{key: given[key] for key in _OPTION_KEYWORDS},
    )
    check_data_options(reduction, options)
    check_variant_options(reduction, spec, options)
    return Step(reduction, spec, options)


def check_variant_options(reduction: Reduction, spec: WindowSpec, options: PoolOptions) -> None:
    """Check ``--pool-axes`` and ``--blur`` before any input is read."""
    if options.pool_axes is not None:
        from poolcli.model.axes import parse_pool_axes

        parse_pool_axes(options.pool_axes)
    if options.blur is not None:
        if options.blur not in (3, 5):
            raise UsageError(f"--blur must be 3 or 5, got {options.blur}.", option="--blur")
        if reduction is not Reduction.MAX:
            raise UsageError(f"--blur applies only to max, not {reduction}.", option="--blur")
        if spec.mode != "sliding" or spec.ceil_mode:
            raise UsageError(
                "--blur needs sliding windows (--kernel), without --ceil.", option="--blur"
            )


def _reduction(name: Reduction | str) -> Reduction:
    return parse_reduction(name, THEN)


def check_reduction_options(reduction, norm_type, seed, expectation) -> None:
    """Refuse a reduction's own options (norm_type, seed, expectation) given to another."""
    if reduction not in NORM_TYPE_DEFAULTS and norm_type not in (None, 2.0):
        raise UsageError(
            f"--norm-type applies only to lp and gem, not {reduction}.", option="--norm-type"
        )
    check_norm_type(default_norm_type(reduction, norm_type))
    if reduction is not Reduction.STOCHASTIC:
        for name, given in (("--seed", seed is not None), ("--expectation", expectation)):
            if given:
                raise UsageError(
                    f"{name} applies only to stochastic, not {reduction}.", option=name
                )


# --------------------------------------------------------------------------------------------
# Parsing steps from command-line words


def _take_step_words(words: Sequence[str]) -> tuple[dict, list[str]]:
    """Step keywords from ``words``, and the words that are not step options (in order).

    The keywords map to ``(spelling, value)``; a value is still the word as written.
    """
    found: dict = {}
    rest: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        name, eq, inline = word.partition("=") if word.startswith("--") else (word, "", "")
        flag = STEP_FLAGS.get(name)
        if flag is not None and flag.takes_value:
            if eq:
                value = inline
            elif i + 1 < len(words):
                i += 1
                value = words[i]
            else:
                raise UsageError(f"{name} needs a value.", option=name)
            found[flag.step_key] = (name, value)
        elif flag is not None and not eq:
            found[flag.step_key] = (word, word != flag.negative)
        elif len(word) > 2 and word[1] != "-" and STEP_FLAGS.get(word[:2], _BOOL).takes_value:
            flag = STEP_FLAGS[word[:2]]  # -k2 style
            found[flag.step_key] = (word[:2], word[2:])
        else:
            rest.append(word)
        i += 1
    return found, rest


_BOOL = Flag("", (), bool, False, "")


def _step_value(spelling: str, text, flag: Flag):
    """The value of one step option, converted as its declaration says."""
    kind = flag.value_type
    if kind in (bool, str):
        return text
    if kind is float:
        converted, what = _number(float, text), "a number"
    elif kind is int:
        converted, what = _number(int, text), "a whole number"
    else:  # an Enum of choices
        choices = [choice.value for choice in kind]
        converted = text if text in choices else None
        what = f"one of {', '.join(choices)}"
    if converted is None:
        raise UsageError(f"{spelling} {text} is not {what}.", option=spelling)
    return converted


def _number(kind, text):
    try:
        return kind(text)
    except ValueError:
        return None


def _step_from_words(reduction: str, found: dict) -> Step:
    flags = {flag.step_key: flag for flag in STEP_FLAGS.values()}
    kwargs = {
        key: _step_value(spelling, value, flags[key]) for key, (spelling, value) in found.items()
    }
    return make_step(reduction, **kwargs)


def parse_step(text: str | Sequence[str]) -> Step:
    """A :class:`Step` from a reduction and its window options, written as on the command line.

    Understands ``-k/--kernel``, ``-s/--stride``, ``-p/--padding``, ``-d/--dilation``,
    ``--ceil``, ``--count-include-pad``, ``--global``, ``--output-size``, ``--norm-type``
    (lp), ``--seed`` and ``--expectation`` (stochastic), ``--dtype`` and ``--straight-alpha``.

    >>> parse_step("avg -k 2 -s 1 --count-include-pad").label
    'avg -k 2 -s 1 --count-include-pad'
    >>> parse_step(["lp", "--kernel=3", "--norm-type", "3"]).label
    'lp -k 3 --norm-type 3'

    Raises
    ------
    UsageError
        For an unknown reduction or option, or window options that do not go together.
    """
    words = shlex.split(text) if isinstance(text, str) else list(text)
    if not words:
        raise UsageError("A step needs a reduction, such as: avg -k 2.", option=THEN)
    reduction, *options = words
    found, rest = _take_step_words(options)
    if rest:
        raise UsageError(
            f"{rest[0]} is not an option of a step ({' '.join(words)}). A step takes a reduction "
            "and window options, such as: avg -k 2 -s 1.",
            option=THEN,
        )
    return _step_from_words(reduction, found)


def split_then(argv: Sequence[str]) -> tuple[list[str], list[Step]]:
    """Cut ``argv`` at ``--then`` markers: the first command's words, and the later steps.

    Each ``--then`` is followed by a reduction and that step's options. Words after a
    ``--then`` that are not step options (inputs, ``-o out.png``, ``--json``...) belong to
    the whole call and go back to the first command's words, in order.

    >>> head, steps = split_then(["max", "x.png", "-k", "2", "--then", "avg", "-k", "2",
    ...                           "-o", "out.png"])
    >>> head
    ['max', 'x.png', '-k', '2', '-o', 'out.png']
    >>> [s.label for s in steps]
    ['avg -k 2']
    """
    argv = list(argv)
    if THEN not in argv:
        return argv, []
    first = argv.index(THEN)
    head = argv[:first]
    steps: list[Step] = []
    tail = argv[first:]
    while tail:
        # tail starts with --then
        nxt = tail.index(THEN, 1) if THEN in tail[1:] else len(tail)
        group, tail = tail[1:nxt], tail[nxt:]
        if not group or group[0].startswith("-"):
            raise UsageError(
                "--then needs a reduction and its options, such as: --then avg -k 2.",
                option=THEN,
            )
        found, rest = _take_step_words(group[1:])
        steps.append(_step_from_words(group[0], found))
        head.extend(rest)
    return head, steps


def chain_label(steps: Sequence[Step]) -> str:
    """The chain as one line, e.g. ``"max -k 2 | avg -k 2"``."""
    return " | ".join(step.label for step in steps)


def as_steps(steps: Step | Sequence[Step]) -> tuple[Step, ...]:
    """``steps`` as a non-empty tuple of :class:`Step`."""
    if isinstance(steps, Step):
        return (steps,)
    steps = tuple(steps)
    if not steps or not all(isinstance(s, Step) for s in steps):
        raise UsageError("A chain needs at least one step.", option=THEN)
    return steps
