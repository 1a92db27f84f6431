"""Output buffers backed by huge pages, in processes that pool again and again.

A fresh buffer of many megabytes costs a page fault per 4 KiB page on its first write: on
this project's VMs, 65 ms of a 3x3 max of 8192² float32 whose arithmetic takes 25 ms
(benchmarks/README.md). Linux backs memory with 2 MiB pages where a process asks for them
(``madvise(MADV_HUGEPAGE)``, as numpy does for its own arrays), which takes 512 times fewer
faults once the process has freed such pages before. The first huge pages a process takes
cost more than they save here (the 2 MiB blocks come cold from the host: 0.7-0.9 s for the
first 256 MiB against 0.1-0.3 s in small pages), so a one-shot call never asks: only a warm
process does (:func:`huge_pages`, which the compiled kernels' warm state turns on).

Even on huge pages, the kernel zeroes every fresh page: for the 5×5 average of a 4096²×3
uint8 image, 16.3 ms into a fresh float32 output against 9.1-9.6 ms into a reused one, and
OpenCV's ``blur`` takes 9.4-10.4 ms (``benchmarks/bench_floor.py``). So a warm process also
keeps the large buffers that nothing holds any more (:data:`POOL_BYTES` of them at most) and
hands them out again for the next buffer of the same size, as torch's CUDA allocator does.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import math
import sys
import threading

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
#: The most bytes of unused buffers a warm process keeps for reuse.
POOL_BYTES = 1 << 30
#: Large buffers handed out in a warm process (flat uint8), oldest first; one is free again
#: once nothing but this list holds its storage.
_pool: list[torch.Tensor] = []
_pool_lock = threading.Lock()


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
    """``torch.empty(shape)``; in a warm process, a large buffer in main memory is on huge
    pages, and one that nothing holds any more serves again (see the module's docstring)."""
    size = math.prod(shape) * dtype.itemsize
    if not (_state["huge"] and torch.device(device).type == "cpu" and size >= HUGE_FROM):
        return torch.empty(shape, dtype=dtype, device=device)
    storage = _buffer(size).untyped_storage()
    # A tensor of its own on the buffer's storage (not a view: compiled kernels see the same
    # kind of tensor either way), which counts as one more holder of the storage.
    return torch.empty(0, dtype=dtype).set_(storage, 0, tuple(shape))


def _buffer(size: int) -> torch.Tensor:
    """A flat uint8 buffer of ``size`` bytes that nothing else holds: a free one of the pool,
    or a new one on huge pages (kept in the pool where it fits)."""
    alone = _alone()
    with _pool_lock:
        if alone is not None:
            for index, buffer in enumerate(_pool):
                if buffer.numel() == size and _holders(buffer) == alone:
                    _pool.append(_pool.pop(index))  # the most recently used last
                    return buffer
        buffer = torch.empty(size, dtype=torch.uint8)
        advise_huge_pages(buffer.data_ptr(), size)
        if alone is not None and size <= POOL_BYTES:
            _pool.append(buffer)
            total = sum(b.numel() for b in _pool)
            for old in [b for b in _pool[:-1] if _holders(b) == alone]:  # oldest free first
                if total <= POOL_BYTES:
                    break
                _pool.remove(old)
                total -= old.numel()
        return buffer


def _holders(buffer: torch.Tensor) -> int:
    return torch._C._storage_Use_Count(buffer.untyped_storage()._cdata)


@functools.cache
def _alone() -> int | None:
    """What :func:`_holders` says of a buffer that only the pool holds, or None where this
    torch does not tell (then nothing is reused)."""
    try:
        return _holders(torch.empty(1, dtype=torch.uint8))
    except (AttributeError, RuntimeError, TypeError):
        return None


def release() -> None:
    """Forget every buffer the pool keeps (the ones still in use stay with their holders)."""
    with _pool_lock:
        _pool.clear()


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
