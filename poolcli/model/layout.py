"""Layouts: the letters that name an array's axes, and the default-layout rule.

``N`` batch, ``C`` channels, ``D``/``H``/``W`` spatial. The spatial letters decide 1-D, 2-D or
3-D pooling. The engine works on ``(N, C, *spatial)``; :meth:`Layout.to_canonical` gives the
axis permutation there and :meth:`Layout.from_canonical` the way back. Pure Python.
"""

from __future__ import annotations

from dataclasses import dataclass

from poolcli.errors import UsageError
from poolcli.model.window import SPATIAL_LETTERS

LETTERS = "NC" + SPATIAL_LETTERS


@dataclass(frozen=True)
class Layout:
    """A validated layout such as ``NCHW`` or ``HWC``.

    >>> Layout.parse("nhwc").spatial
    'HW'
    """

    letters: str

    @classmethod
    def parse(cls, text: str, ndim: int | None = None) -> Layout:
        letters = text.strip().upper()
        bad = sorted(set(letters) - set(LETTERS))
        if bad or not letters:
            raise UsageError(
                f"--layout {text} is not valid: use the letters N, C, D, H, W, "
                "such as NCHW or HWC.",
                option="--layout",
            )
        repeated = sorted({c for c in letters if letters.count(c) > 1})
        if repeated:
            raise UsageError(
                f"--layout {text} repeats {', '.join(repeated)}: each letter may appear once.",
                option="--layout",
            )
        spatial = "".join(c for c in letters if c in SPATIAL_LETTERS)
        if not spatial:
            raise UsageError(
                f"--layout {text} has no spatial axis: include W, HW or DHW.", option="--layout"
            )
        if spatial not in ("W", "HW", "DHW"):
            raise UsageError(
                f"--layout {text}: the spatial axes must be W, HW or DHW, in that order.",
                option="--layout",
            )
        if ndim is not None and ndim != len(letters):
            raise UsageError(
                f"--layout {text} names {len(letters)} axes but the array has {ndim}.",
                option="--layout",
            )
        return cls(letters)

    def __str__(self) -> str:
        return self.letters

    @property
    def spatial(self) -> str:
        return "".join(c for c in self.letters if c in SPATIAL_LETTERS)

    @property
    def spatial_axes(self) -> tuple[int, ...]:
        return tuple(i for i, c in enumerate(self.letters) if c in SPATIAL_LETTERS)

    @property
    def channel_axis(self) -> int | None:
        return self.letters.index("C") if "C" in self.letters else None

    def spatial_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(shape[i] for i in self.spatial_axes)

    def with_spatial(self, shape: tuple[int, ...], spatial: tuple[int, ...]) -> tuple[int, ...]:
        """``shape`` with its spatial sizes replaced by ``spatial``."""
        new = list(shape)
        for axis, size in zip(self.spatial_axes, spatial):
            new[axis] = size
        return tuple(new)

    def to_canonical(self) -> tuple[int, ...]:
        """Permutation that orders the present axes as N, C, D, H, W."""
        return tuple(self.letters.index(c) for c in LETTERS if c in self.letters)

    def from_canonical(self) -> tuple[int, ...]:
        """Inverse of :meth:`to_canonical`."""
        order = self.to_canonical()
        return tuple(order.index(i) for i in range(len(order)))

    def canonical(self, array):
        """A (N, C, *spatial) view of ``array`` (numpy or torch), with length-1 axes for a
        missing N or C.

        >>> import numpy as np
        >>> Layout("HWC").canonical(np.zeros((4, 5, 3))).shape
        (1, 3, 4, 5)
        """
        view = _permute(array, self.to_canonical())
        if "N" not in self.letters:
            view = view[None]
        if "C" not in self.letters:
            view = view[:, None]
        return view

    def uncanonical(self, array):
        """Inverse of :meth:`canonical`: (N, C, *spatial) back to this layout."""
        if "C" not in self.letters:
            array = array[:, 0]
        if "N" not in self.letters:
            array = array[0]
        return _permute(array, self.from_canonical())


def _permute(array, order: tuple[int, ...]):
    # torch tensors permute, numpy arrays transpose; both give views.
    permute = getattr(array, "permute", None)
    return permute(*order) if permute is not None else array.transpose(order)


def default_layout(shape: tuple[int, ...]) -> Layout:
    """The layout used for an array given without ``--layout``.

    1-D ``W``; 2-D ``HW``; 3-D ``HWC`` when the last axis has 1, 3 or 4 entries and the first
    does not, else ``CHW``; 4-D ``NCHW``; 5-D ``NCDHW``.

    >>> default_layout((3, 32, 32)), default_layout((32, 32, 3))
    (Layout(letters='CHW'), Layout(letters='HWC'))
    """
    ndim = len(shape)
    if ndim == 3:
        looks_hwc = shape[-1] in (1, 3, 4) and shape[0] not in (1, 3, 4)
        return Layout("HWC" if looks_hwc else "CHW")
    defaults = {1: "W", 2: "HW", 4: "NCHW", 5: "NCDHW"}
    if ndim not in defaults:
        raise UsageError(
            f"a {ndim}-D array has no default layout: give --layout "
            "(at most N, C and 3 spatial axes).",
            option="--layout",
        )
    return Layout(defaults[ndim])


def looks_channels_last(shape: tuple[int, ...], layout: Layout | str) -> bool:
    """A 4-D array guessed ``NCHW`` whose last axis has 1, 3 or 4 entries and whose second
    does not: the shape of Keras/TensorFlow's ``NHWC`` batches."""
    return (
        len(shape) == 4
        and str(layout) == "NCHW"
        and shape[-1] in (1, 3, 4)
        and shape[1] not in (1, 3, 4)
    )


def guess_warning(shape: tuple[int, ...], layout: Layout | str, *, always: bool = False):
    """What to say about a guessed layout (``None``: nothing). ``always``: for every 3-D and
    4-D array (the Python API), else only for an NCHW guess that looks channels-last.

    >>> guess_warning((4, 14, 14, 3), "NCHW")
    'guessed layout NCHW for a 4×14×14×3 array, but its last axis looks like channels \
(Keras/TensorFlow NHWC): pass --layout NHWC if it is, or --layout NCHW to say so.'
    >>> guess_warning((3, 32, 32), "CHW") is None, guess_warning((3, 32, 32), "CHW", always=True)
    (True, 'guessed layout CHW for a 3×32×32 array: say which it is with --layout.')
    """
    text = f"guessed layout {layout} for a {'×'.join(map(str, shape))} array"
    if looks_channels_last(shape, layout):
        return (
            f"{text}, but its last axis looks like channels (Keras/TensorFlow NHWC): pass "
            f"--layout NHWC if it is, or --layout {layout} to say so."
        )
    if always and len(shape) in (3, 4):
        return f"{text}: say which it is with --layout."
    return None
