"""Device names: checked without torch, resolved with it only where the answer needs it.

This is the one place that knows device names: :func:`check_device_name` (the name's
spelling), :func:`resolve_device` (a str) and :func:`torch_device` (a ``torch.device``).
``auto`` needs torch (slow to import) to learn whether a GPU is usable. On a Linux
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
DEVICE_NAMES = ("auto", "cpu", "cuda", "mps")


def gpu_possible() -> bool:
    """False only when no GPU torch could use can be present (Linux, no GPU device node)."""
    if not sys.platform.startswith("linux"):
        return True  # macOS has MPS; elsewhere, ask torch
    return any(os.path.exists(node) for node in GPU_NODES)


def check_device_name(text) -> str:
    """``text`` as a device name poolcli knows, lower-cased: ``auto``, ``cpu``, ``cuda``,
    ``cuda:N`` or ``mps``. Anything else is a :class:`~poolcli.errors.UsageError`. Pure: it
    never asks torch whether the device is there (:func:`resolve_device` does).

    >>> check_device_name(" CUDA:1 ")
    'cuda:1'
    """
    if isinstance(text, str):
        name = text.strip().lower()
        base, colon, index = name.partition(":")
        if base in DEVICE_NAMES and (not colon or (base == "cuda" and index.isdigit())):
            return name
    raise UsageError(
        f"--device {text} is not a device: use cpu, cuda, cuda:N, mps or auto.", option="--device"
    )


def resolve_device(name: str | None) -> str:
    """``auto`` (or None) -> ``cuda``, else ``mps``, else ``cpu``; a named device that is
    missing raises :class:`~poolcli.errors.UsageError`. Imports torch only when the answer
    needs it."""
    name = check_device_name("auto" if name is None else name)
    if name == "cpu" or (name == "auto" and not gpu_possible()):
        return "cpu"
    return str(torch_device(name))


def torch_device(name: str | None) -> torch.device:
    """:func:`resolve_device`'s answer as a ``torch.device``."""
    import torch

    name = check_device_name("auto" if name is None else name)
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(name)
    present = {
        "cpu": True,
        "cuda": torch.cuda.is_available()
        and (device.index is None or device.index < torch.cuda.device_count()),
        "mps": getattr(torch.backends, "mps", None) is not None
        and torch.backends.mps.is_available(),
    }[device.type]
    if not present:
        raise UsageError(
            f"--device {name} is not available on this machine (torch sees no such device). "
            "Use --device cpu or --device auto.",
            option="--device",
        )
    return device
