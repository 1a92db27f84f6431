"""Pooling over any axes: ``--pool-axes LETTERS`` names the layout letters to pool over.

By default the spatial letters D, H, W are pooled. With ``--pool-axes`` any letters of the
layout are: ``T`` in a ``TCHW`` layout (time), ``C`` (maxout across channels), ``HC``...
The layout may then use any capital letters, each once (``--layout TCHW``); ``C`` keeps its
meaning of channels unless it is pooled, and without ``--pool-axes`` such a layout pools its
D, H, W letters (so ``--then avg -k 2`` after ``--pool-axes T`` pools H and W). Per-axis
values (kernel, stride...) follow the order of the pooled letters in the layout, as D, H, W
do.

An :class:`AxesLayout` is a :class:`~poolcli.model.layout.Layout` whose spatial axes are the
pooled ones. The engine reaches every layout through :meth:`~Layout.canonical` (axes moved
to ``(N, C, *spatial)``) and back, or pools the spatial axes where they lie: here the axes
that are neither pooled nor ``C`` are moved before the others and merged into N, so the one
engine pools any axes, and the output keeps the layout. Pure Python.

>>> layout = AxesLayout.make("TCHW", "T", (8, 3, 4, 5))
>>> layout.spatial, layout.spatial_axes, layout.channel_axis
('T', (0,), 1)
>>> import numpy as np
>>> layout.canonical(np.zeros((8, 3, 4, 5))).shape
(20, 3, 8)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from poolcli.errors import UsageError
from poolcli.model.layout import LETTERS, Layout, _permute, default_layout


@dataclass(frozen=True)
class AxesLayout(Layout):
    """A layout pooled over ``pooled`` (letters, in layout order); ``batch_sizes`` are the
    sizes of the axes that are neither pooled nor a kept ``C`` (they never change)."""

    pooled: str = ""
    batch_sizes: tuple[int, ...] = ()

    @classmethod
    def make(cls, letters: str, pool_axes: str, shape: tuple[int, ...]) -> AxesLayout:
        letters = parse_letters(letters, len(shape))
        pooled = parse_pool_axes(pool_axes, letters)
        batch = tuple(shape[i] for i, c in enumerate(letters) if c not in pooled and c != "C")
        return cls(letters, pooled, batch)

    @property
    def spatial(self) -> str:
        return self.pooled

    @property
    def spatial_axes(self) -> tuple[int, ...]:
        return tuple(self.letters.index(c) for c in self.pooled)

    @property
    def channel_axis(self) -> int | None:
        kept = "C" in self.letters and "C" not in self.pooled
        return self.letters.index("C") if kept else None

    def _batch_letters(self) -> str:
        return "".join(c for c in self.letters if c not in self.pooled and c != "C")

    def to_canonical(self) -> tuple[int, ...]:
        channel = "C" if self.channel_axis is not None else ""
        return tuple(self.letters.index(c) for c in self._batch_letters() + channel + self.pooled)

    def from_canonical(self) -> tuple[int, ...]:
        order = self.to_canonical()
        return tuple(order.index(i) for i in range(len(order)))

    def canonical(self, array):
        view = _permute(array, self.to_canonical())
        nb = len(self._batch_letters())
        channels = view.shape[nb] if self.channel_axis is not None else 1
        rest = tuple(view.shape[nb + (self.channel_axis is not None) :])
        return view.reshape(math.prod(view.shape[:nb]), channels, *rest)

    def uncanonical(self, array):
        kept = (array.shape[1],) if self.channel_axis is not None else ()
        shaped = array.reshape(*self.batch_sizes, *kept, *array.shape[2:])
        return _permute(shaped, self.from_canonical())


def parse_letters(text: str, ndim: int | None = None) -> str:
    """A layout's letters when ``--pool-axes`` is given: any capital letters, each once."""
    letters = str(text).strip().upper()
    if not letters or not letters.isalpha() or not letters.isascii():
        raise UsageError(
            f"--layout {text} is not valid: name each axis with one letter, such as TCHW.",
            option="--layout",
        )
    repeated = sorted({c for c in letters if letters.count(c) > 1})
    if repeated:
        raise UsageError(
            f"--layout {text} repeats {', '.join(repeated)}: each letter may appear once.",
            option="--layout",
        )
    if ndim is not None and ndim != len(letters):
        raise UsageError(
            f"--layout {text} names {len(letters)} axes but the array has {ndim}.",
            option="--layout",
        )
    return letters


def parse_pool_axes(text: str, letters: str | None = None) -> str:
    """The pooled letters, in layout order; one to three letters of the layout."""
    wanted = str(text).strip().upper().replace(",", "")
    if not wanted or not wanted.isalpha() or len(set(wanted)) != len(wanted) or len(wanted) > 3:
        raise UsageError(
            f"--pool-axes {text} is not valid: give one to three layout letters, such as T, "
            "C or HW.",
            option="--pool-axes",
        )
    if letters is None:
        return wanted
    missing = [c for c in wanted if c not in letters]
    if missing:
        raise UsageError(
            f"--pool-axes {text}: the layout {letters} has no axis {', '.join(missing)}.",
            option="--pool-axes",
        )
    return "".join(c for c in letters if c in wanted)


def resolve_axes_layout(
    shape: tuple[int, ...], layout, pool_axes: str | None
) -> tuple[Layout, bool] | None:
    """The layout to pool ``shape`` in when axes other than D, H, W may be pooled, and
    whether it was guessed; ``None`` when the plain rules apply (no ``--pool-axes``, and a
    layout of N, C, D, H, W only)."""
    letters = None if layout is None else (layout.letters if isinstance(layout, Layout) else layout)
    if letters is not None:
        letters = str(letters).strip().upper()
    if pool_axes is None:
        extra = letters is not None and set(letters) - set(LETTERS)
        if not extra and not isinstance(layout, AxesLayout):
            return None
        if not extra:
            return Layout.parse(letters, len(shape)), False
        spatial = "".join(c for c in letters if c in "DHW")
        if not spatial:
            raise UsageError(
                f"the layout {letters} has no D, H or W axis: say which axes to pool with "
                "--pool-axes.",
                option="--pool-axes",
            )
        return AxesLayout.make(letters, spatial, shape), False
    guessed = letters is None
    letters = default_layout(shape).letters if guessed else letters
    return AxesLayout.make(letters, pool_axes, shape), guessed
