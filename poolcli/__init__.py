"""poolcli: pooling on images and arrays, from the command line or from Python.

Importing this package is cheap: torch, numpy and Pillow load only when an op runs.

>>> import numpy as np, poolcli
>>> poolcli.pool(np.array([[1, 3, 2, 4], [5, 6, 7, 8]]), "max", kernel_size=2)
array([[6, 8]])
"""

from poolcli.version import __version__

#: Imported on first use, so that ``import poolcli`` (the warm server's client) stays cheap.
_LAZY = {
    "pool": "poolcli.engine.core",
    "LayoutGuessWarning": "poolcli.errors",
    "NotAnArrayError": "poolcli.errors",
    "PoolError": "poolcli.errors",
    "UsageError": "poolcli.errors",
    "Reduction": "poolcli.model.reductions",
    "WindowSpec": "poolcli.model.window",
    "output_size": "poolcli.model.window",
}

__all__ = [
    "LayoutGuessWarning",
    "NotAnArrayError",
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


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'poolcli' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
