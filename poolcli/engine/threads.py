"""torch's intra-op thread count, which batches set per worker."""

from __future__ import annotations


def set_torch_threads(threads: int | None) -> int | None:
    """Set torch's intra-op threads; returns the old count (``None``: left alone)."""
    if threads is None:
        return None
    import torch

    old = torch.get_num_threads()
    if old != threads:
        torch.set_num_threads(threads)
    return old
