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

Then the kernels are kept loaded in one more resident worker (:mod:`~poolcli.server.resident`),
forked by the server once the warm-up has ended: loading them from the on-disk cache still
costs seconds in a fresh process (the compiler's imports and each kernel's load), which a
forked child would pay on every command. The kernel worker pays it once, before it says it is
ready, and then runs in itself, one at a time, the commands whose input files are large
(:func:`wants`) whenever it is free; every other command is forked as before. It uses only the
kernels it has loaded (``compiled.warm_up(new_kernels=False)``), so a command never waits for
the compiler.

``POOLCLI_COMPILE=0`` in the server's environment, or no C++ compiler, skips the warm-up.
``POOLCLI_SERVER_KERNELS=3x3`` there warms the 3x3 windows' kernels only
(``compiled.warm_cases``).
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys

#: Commands whose input files add up to this many bytes or more go to the kernel worker (when
#: it is free); below that, a command's arrays are too small for the compiled kernels
#: (``compiled.WARM_FROM`` cells) or gain less than a millisecond.
KERNEL_WORKER_FROM = 1 << 20
#: Which kernels the server warms (read from its environment): see ``compiled.warm_cases``.
CASES_VARIABLE = "POOLCLI_SERVER_KERNELS"


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

    ready = compiled.warm_up(compiled.warm_cases(os.environ.get(CASES_VARIABLE)))
    return 0 if ready else 1


def warm_worker() -> bool:
    """In the kernel worker: load the warmed kernels (the warm-up process compiled them)."""
    from poolcli.engine import compiled

    cases = compiled.warm_cases(os.environ.get(CASES_VARIABLE))
    return compiled.warm_up(cases, new_kernels=False) > 0


def wants(message: dict, commands: frozenset[str]) -> bool:
    """Whether this command should run in the kernel worker: one of ``commands`` (those that
    pool) whose regular input files add up to :data:`KERNEL_WORKER_FROM` bytes. A folder
    means a batch, whose workers fork: those stay with forked children, as does standard
    input, whose size is unknown."""
    argv = message["argv"]
    if not argv or argv[0] not in commands or "--help" in argv or "-h" in argv:
        return False
    total = 0
    for arg in argv[1:]:
        if arg.startswith("-"):
            continue
        try:
            facts = os.stat(os.path.join(message["cwd"], arg))
        except (OSError, ValueError):
            continue  # an option's value, or a path that the command will report
        if stat.S_ISDIR(facts.st_mode):
            return False
        if stat.S_ISREG(facts.st_mode):
            total += facts.st_size
    return total >= KERNEL_WORKER_FROM


if __name__ == "__main__":
    sys.exit(main())
