"""Device names resolved without importing torch where the answer cannot depend on it.

``auto`` needs torch (over a second to import) to learn whether a GPU is usable. On a Linux
machine with no GPU device node at all, torch cannot see one either, so the answer is the
CPU at once. Batches rely on this: their worker processes import torch while the main
process only plans, reads and reports.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from poolcli.errors import UsageError

if TYPE_CHECKING:
    import torch

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
    return str(torch_device(name))


def torch_device(name: str) -> torch.device:
    """``auto`` -> a GPU when torch sees one, else the CPU; an absent device is a usage error."""
    import torch

    if name is not None and not isinstance(name, str):
        raise UsageError(f"--device {name!r} is not a device name.", option="--device")
    name = (name or "auto").lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UsageError(
            f"--device {name} is not a device: use cpu, cuda, mps or auto.", option="--device"
        ) from None
    present = {
        "cpu": True,
        "cuda": torch.cuda.is_available()
        and (device.index is None or device.index < torch.cuda.device_count()),
        "mps": getattr(torch.backends, "mps", None) is not None
        and torch.backends.mps.is_available(),
    }.get(device.type, False)
    if not present:
        raise UsageError(
            f"--device {name} is not available on this machine (torch sees no such device). "
            "Use --device cpu or --device auto.",
            option="--device",
        )
    return device
