"""Output buffers backed by huge pages.

A fresh buffer of many megabytes costs a page fault per 4 KiB page on its first write: on
this project's VMs, 65 ms of a 3x3 max of 8192² float32 whose arithmetic takes 25 ms
(benchmarks/README.md). Linux backs memory with 2 MiB pages where a process asks for them
(``madvise(MADV_HUGEPAGE)``, as numpy does for its own arrays), which takes 512 times fewer
faults. torch asks only when ``THP_MEM_ALLOC_ENABLE`` was set before it was imported, so the
paths that write large results allocate them here.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys

import torch

#: Buffers of at least this many bytes are advised (smaller ones gain nothing).
HUGE_FROM = 4 << 20
_MADV_HUGEPAGE = 14
_PAGE = 4096


@functools.cache
def _madvise():
    """libc's ``madvise``, or None where there is none to call (not Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        madvise = libc.madvise
    except (OSError, AttributeError):
        return None
    madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    madvise.restype = ctypes.c_int
    return madvise


def empty(shape, dtype: torch.dtype, device) -> torch.Tensor:
    """``torch.empty(shape)``, on huge pages when it is a large buffer in main memory."""
    out = torch.empty(shape, dtype=dtype, device=device)
    size = out.numel() * out.element_size()
    if out.device.type == "cpu" and size >= HUGE_FROM:
        advise_huge_pages(out.data_ptr(), size)
    return out


def advise_huge_pages(address: int, size: int) -> None:
    """Ask for huge pages under ``[address, address + size)`` (the whole pages inside it).
    Advice only: where it is refused the buffer works as before."""
    madvise = _madvise()
    if madvise is None:
        return
    start = (address + _PAGE - 1) // _PAGE * _PAGE
    end = (address + size) // _PAGE * _PAGE
    if end > start:
        madvise(start, end - start, _MADV_HUGEPAGE)
