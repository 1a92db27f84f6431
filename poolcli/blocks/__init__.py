"""Bigger than memory: blockwise pooling within ``--max-memory``, Dask schedulers, pyramids.

* :func:`pool_blockwise` pools an array on disk (``.npy``, Zarr, TIFF) block by block with
  the one engine, writing each block as it is done; results equal the in-memory engine's.
* :func:`pyramid` writes successively pooled levels (OME-Zarr multiscales or level files).
"""

from __future__ import annotations

from poolcli.blocks.run import Blockwise, pool_blockwise

__all__ = ["Blockwise", "pool_blockwise"]
