"""One command-line option as data: :class:`Flag`, and the help panels options are shown in.

Pure Python: no Typer, numpy or torch.
"""

from __future__ import annotations

import types
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

WINDOW = "Window"
REDUCTION = "Reduction"
INPUT = "Input"
OUTPUT = "Output"
BATCH = "Batch"
DEVICE = "Device"
LEARN = "Analysis"


class DType(str, Enum):
    """What ``--dtype`` accepts: compute precisions, and the integer types up to 32 bits
    (:data:`ROUNDED_DTYPES`), whose averages round once to the input's own type."""

    float32 = "float32"
    float64 = "float64"
    float16 = "float16"
    bfloat16 = "bfloat16"
    uint8 = "uint8"
    int8 = "int8"
    uint16 = "uint16"
    int16 = "int16"
    uint32 = "uint32"
    int32 = "int32"


#: The integer ``--dtype`` names: avg of an input of that very type, rounded half to even.
ROUNDED_DTYPES = ("uint8", "int8", "uint16", "int16", "uint32", "int32")


class IndexStyle(str, Enum):
    """How ``--indices`` counts positions (see :mod:`poolcli.engine.indices`)."""

    torch = "torch"
    onnx = "onnx"
    onnx_col = "onnx-col"


@dataclass(frozen=True)
class Flag:
    """One option or argument of the command line.

    ``name`` is the Python parameter the value arrives in; ``flags`` its spellings (none for
    an argument); ``type`` the annotation Typer converts to (``str | None``, ``bool``,
    ``list[str] | None``, an Enum...); ``negative`` the ``--no-...`` spelling of a boolean
    that has one; ``minimum``/``maximum`` bound numbers; ``step_key`` the keyword of
    :func:`~poolcli.model.steps.make_step` a ``--then`` step sets with it.
    """

    name: str
    flags: tuple[str, ...]
    type: Any
    default: Any
    help: str
    panel: str | None = None
    metavar: str | None = None
    negative: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    step_key: str | None = None
    argument: bool = False
    show_default: bool = False
    #: The :class:`~poolcli.model.reductions.ReductionInfo` fact an option needs to mean
    #: anything (``divides_by_count``...); given to a reduction without it, it is refused.
    applies_if: str | None = None
    #: Why the option does not apply where ``applies_if`` is false, as the refusal says it.
    why_not: str = ""
    #: Read only by runs that write a folder of outputs (-o DIR/, folders, globs): refused
    #: when one input goes to -o FILE, - or a report.
    batch_only: bool = False
    #: The output formats (``--format`` names: png, jpeg...) the option is for; empty: all.
    formats: tuple[str, ...] = ()

    @property
    def takes_value(self) -> bool:
        return self.type is not bool

    @property
    def value_type(self) -> Any:
        """The type of a given value: ``type`` without its ``| None``."""
        if isinstance(self.type, types.UnionType):
            (given,) = (t for t in self.type.__args__ if t is not type(None))
            return given
        return self.type

    def given(self, value: Any) -> bool:
        """Whether ``value`` was asked for: it is not what the command gets by default."""
        return value is not None and value != self.default and value != []

    @property
    def long(self) -> str:
        """The long spelling, as messages name the option (``--kernel``)."""
        return self.flags[-1] if self.flags else self.metavar or self.name.upper()

    def but(self, **changes) -> Flag:
        """The same option with other values (a command's own default or help)."""
        return replace(self, **changes)
