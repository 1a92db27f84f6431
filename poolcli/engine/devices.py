"""Device names resolved without importing torch where the answer cannot depend on it.

``auto`` needs torch (over a second to import) to learn whether a GPU is usable. On a Linux
machine with no GPU device node at all, torch cannot see one either, so the answer is the
CPU at once. Batches rely on this: their worker processes import torch while the main
process only plans, reads and reports.
"""

from __future__ import annotations

import os
import sys

#: Device nodes that exist wherever torch could see a GPU on Linux: NVIDIA's driver, AMD's
#: ROCm (which torch drives through its CUDA API), and WSL's GPU bridge.
GPU_NODES = ("/dev/nvidiactl", "/dev/nvidia0", "/dev/kfd", "/dev/dxg")


def gpu_possible() -> bool:
    """False only when no GPU torch could use can be present (Linux, no GPU device node)."""
    if not sys.platform.startswith("linux"):
        return True  # macOS has MPS; elsewhere, ask torch
    return any(os.path.exists(node) for node in GPU_NODES)


def resolve_device(name: str | None) -> str:
    """``auto`` -> ``cuda``, else ``mps``, else ``cpu``; a named device that is missing raises
    :class:`~poolcli.errors.UsageError`. Imports torch only when the answer needs it."""
    name = (name or "auto").lower()
    if name == "cpu" or (name == "auto" and not gpu_possible()):
        return "cpu"
    from poolcli.engine import ops

    return str(ops.resolve_device(name))


DEVICES = ("auto", "cpu", "cuda", "mps")


def check_device_name(name: str) -> str:
    """``name`` lower-cased when it names a device (``cuda:1`` too), else a UsageError."""
    from poolcli.errors import UsageError

    text = name.strip().lower()
    base, _, index = text.partition(":")
    if base in DEVICES and (not index or (base == "cuda" and index.isdigit())):
        return text
    raise UsageError(
        f"--device {name} is not a device: use cpu, cuda, cuda:N, mps or auto.", option="--device"
    )
