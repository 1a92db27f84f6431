"""The data-aware options of one input: its mask read, its sRGB white, its counts written.

``--mask FILE`` arrives in the first step's options as a file name; :func:`input_steps`
reads it for each input (checking that it has the input's spatial shape) and gives the
engine the array. ``--linear-light`` on an image takes sRGB white from the image's bit depth
(255 or 65535) unless ``--srgb-max`` says otherwise. ``--valid-count FILE.npy`` is written
atomically beside the output (:func:`write_counts`).
"""

from __future__ import annotations

import dataclasses

from poolcli.errors import PoolError, display_path
from poolcli.model.display import format_shape
from poolcli.model.options import resolve_layout

#: sRGB white of an image's samples, by dtype.
IMAGE_WHITE = {"uint8": 255.0, "uint16": 65535.0}


def input_steps(loaded, steps, layout: str | None) -> tuple:
    """``steps`` with the mask of this input read and an image's sRGB white filled in."""
    first = steps[0].options
    changed = []
    for index, step in enumerate(steps):
        options = step.options
        if index == 0 and isinstance(first.mask, str):
            options = dataclasses.replace(options, mask=read_mask(first.mask, loaded, layout))
        if options.linear_light and options.srgb_max is None and loaded.image is not None:
            white = IMAGE_WHITE.get(loaded.array.dtype.name)
            if white is not None:
                options = dataclasses.replace(options, srgb_max=white)
        changed.append(
            step if options is step.options else dataclasses.replace(step, options=options)
        )
    return tuple(changed)


def read_mask(path: str, loaded, layout: str | None):
    """The mask in ``path`` as a bool array of ``loaded``'s spatial shape (nonzero = use; an
    image's colour pixel counts when any channel is nonzero)."""
    from poolcli import io

    mask = io.read_input(path)
    array = mask.array
    if mask.layout == "HWC":
        array = (array != 0).any(axis=-1)
    shape = tuple(loaded.array.shape)
    resolved, _ = resolve_layout(shape, layout)
    spatial = tuple(resolved.spatial_shape(shape))
    if tuple(array.shape) != spatial:
        raise PoolError(
            f"the mask {display_path(path)} is {format_shape(tuple(array.shape))}, but this "
            f"input's spatial shape is {format_shape(spatial)}; a mask needs the input's "
            "spatial shape."
        )
    return array != 0


def write_counts(result) -> None:
    """Write ``--valid-count`` of the step that asked for it (int64, the output's shape)."""
    import numpy as np

    from poolcli import io

    path = result.options.valid_count
    if path is not None and result.valid_count is not None:
        io.write_output(path, np.ascontiguousarray(result.valid_count, dtype=np.int64))
