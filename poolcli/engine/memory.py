"""Output buffers backed by huge pages, in processes that pool again and again.

A fresh buffer of many megabytes costs a page fault per 4 KiB page on its first write: on
this project's VMs, 65 ms of a 3x3 max of 8192² float32 whose arithmetic takes 25 ms
(benchmarks/README.md). Linux backs memory with 2 MiB pages where a process asks for them
(``madvise(MADV_HUGEPAGE)``, as numpy does for its own arrays), which takes 512 times fewer
faults once the process has freed such pages before. The first huge pages a process takes
cost more than they save here (the 2 MiB blocks come cold from the host: 0.7-0.9 s for the
first 256 MiB against 0.1-0.3 s in small pages), so a one-shot call never asks: only a warm
process does (:func:`huge_pages`, which the compiled kernels' warm state turns on).
"""

from __future__ import annotations

import contextlib
import ctypes
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
        libc = ctypes.CDLL(None, use_errno=True)  # the process's own symbols: libc's
        madvise = libc.madvise
    except (OSError, AttributeError):
        return None
    madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    madvise.restype = ctypes.c_int
    return madvise


_state = {"huge": False}


def use_huge_pages(on: bool = True) -> bool:
    """From now on :func:`empty` asks for huge pages (or not); returns the earlier setting."""
    before, _state["huge"] = _state["huge"], on
    return before


@contextlib.contextmanager
def huge_pages(on: bool = True):
    """Inside this block, :func:`empty` asks for huge pages (or, with ``on=False``, not)."""
    before = use_huge_pages(on)
    try:
        yield
    finally:
        use_huge_pages(before)


def empty(shape, dtype: torch.dtype, device) -> torch.Tensor:
    """``torch.empty(shape)``, on huge pages when asked for and a large buffer in main memory."""
    out = torch.empty(shape, dtype=dtype, device=device)
    size = out.numel() * out.element_size()
    if _state["huge"] and out.device.type == "cpu" and size >= HUGE_FROM:
        advise_huge_pages(out.data_ptr(), size)
    return out


def advise_huge_pages(address: int, size: int) -> bool:
    """Ask for huge pages under ``[address, address + size)`` (the whole pages inside it);
    whether the kernel took the advice. Advice only: where it is refused the buffer works as
    before."""
    madvise = _madvise()
    start = (address + _PAGE - 1) // _PAGE * _PAGE
    end = (address + size) // _PAGE * _PAGE
    if madvise is None or end <= start:
        return False
    return madvise(start, end - start, _MADV_HUGEPAGE) == 0
