"""The compiled kernels warmed at the server's start, without running torch in the server.

The server must not run a torch op before it forks (see :mod:`~poolcli.server.daemon`), and
compiling runs torch ops and starts the compiler's worker threads and processes. So the server
does not compile: at start it launches one separate process (``python -m
poolcli.server.kernels``, which lowers its own priority) that calls
:func:`poolcli.engine.compiled.warm_up`. That fills Inductor's on-disk cache and writes the
markers that let a call use a compiled kernel this machine has built before; the server only
reaps the process when it ends and logs how it went. The forked children are unchanged: they
choose compiled kernels by the rule every process follows (:func:`~poolcli.engine.compiled.wanted`),
which now finds the kernels already built instead of building them in a user's command.

Why not keep the kernels loaded in memory: loading one from a hot on-disk cache in a fresh
process still costs seconds (the compiler's imports and the kernel's load, measured 2-4 s
each here), so only inputs large enough to win that back use them in a forked child.

``POOLCLI_COMPILE=0`` in the server's environment, or no C++ compiler, skips the warm-up.
"""

from __future__ import annotations

import os
import subprocess
import sys


def start_warm_up(log_fd: int | None = None) -> subprocess.Popen | None:
    """Launch the warm-up process (None when compiled kernels are off or cannot be built).
    Only a fork and exec: nothing of torch runs in the calling process."""
    from poolcli.engine import compiled

    if os.environ.get("POOLCLI_COMPILE") == "0" or not compiled.available("cpu"):
        return None
    compiled.cache_dir()  # the same cache for the warm-up and the children
    out = log_fd if log_fd is not None else subprocess.DEVNULL
    return subprocess.Popen(
        [sys.executable, "-m", "poolcli.server.kernels"],
        stdin=subprocess.DEVNULL,
        stdout=out,
        stderr=out,
        close_fds=True,
    )


def main() -> int:
    """The warm-up process: compile (or load) the default kernels; 0 when they are ready."""
    os.nice(19)  # the lowest priority: commands come first
    from poolcli.engine import compiled

    ready = compiled.warm_up()
    return 0 if ready else 1


if __name__ == "__main__":
    sys.exit(main())
