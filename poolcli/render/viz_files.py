"""Picture files: :func:`check_viz_path` checks a ``--viz`` name, :func:`save_viz` writes any
picture atomically.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from poolcli.errors import UsageError
from poolcli.io.png_codec import MODES, encode_png

if TYPE_CHECKING:
    pass


def check_viz_path(path: str) -> str:
    """The Pillow format for a picture path, or a usage error naming ``--viz``."""
    from poolcli.io import IMAGE_SUFFIXES

    suffix = os.path.splitext(path)[1].lower()
    if suffix not in IMAGE_SUFFIXES:
        raise UsageError(
            f"--viz {path}: give a picture file name ending in .png (or another image suffix).",
            option="--viz",
        )
    return IMAGE_SUFFIXES[suffix]


def save_viz(path: str, image: Image.Image) -> None:
    """Write ``image`` to ``path`` in the format its suffix names, atomically."""
    from poolcli.io import atomic_write

    fmt = check_viz_path(path)
    with atomic_write(path) as f:
        if fmt == "PNG" and image.mode in MODES.values() and not image.info:
            f.write(encode_png(np.asarray(image)))  # libspng: faster, same pixels
        else:
            image.save(f, format=fmt)
