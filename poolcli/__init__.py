"""poolcli: pooling on images and arrays, from the command line or from Python.

Importing this package is cheap: torch, numpy and Pillow load only when an op runs.

>>> import numpy as np, poolcli
>>> poolcli.pool(np.array([[1, 3, 2, 4], [5, 6, 7, 8]]), "max", kernel_size=2)
array([[6, 8]])
"""

from poolcli.engine.core import pool
from poolcli.errors import LayoutGuessWarning, PoolError, UsageError
from poolcli.model.reductions import Reduction
from poolcli.model.window import WindowSpec, output_size
from poolcli.version import __version__

__all__ = [
    "LayoutGuessWarning",
    "PoolError",
    "UsageError",
    "Reduction",
    "WindowSpec",
    "__version__",
    "output_size",
    "pool",
    "unpool",
]


def unpool(values, indices, **options):
    """Values back at their indices in zeros; see :func:`poolcli.engine.unpool.unpool_array`."""
    from poolcli.engine.unpool import unpool_array

    return unpool_array(values, indices, **options)
