"""Measuring helpers shared by the benchmark scripts: child processes, CPU probe, tables.

Standard library only, so the scripts can report on a machine where poolcli itself is broken.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

MIB = 2**20
REPO = Path(__file__).resolve().parent.parent
VENV_BIN = REPO / ".venv" / "bin"


def python_exe() -> str:
    """The project's interpreter (``.venv/bin/python``), else the one running this script."""
    venv = VENV_BIN / "python"
    return str(venv) if venv.exists() else sys.executable


def poolcli_cmd() -> list[str]:
    """How to start poolcli: the console script when installed, else ``python -m poolcli``."""
    script = VENV_BIN / "poolcli"
    return [str(script)] if script.exists() else [python_exe(), "-m", "poolcli"]


@dataclass
class Proc:
    """Finished child process(es): wall seconds, peak RSS in bytes, exit status, stderr tail,
    and CPU seconds (user + system) used."""

    wall: float
    rss: int
    rc: int
    err: str = ""
    cpu: float = 0.0

    @property
    def ok(self) -> bool:
        return self.rc == 0


GNU_TIME = "/usr/bin/time"

# Fallback when GNU time is missing: a small interpreter that forks, execs the command and
# reports the child's rusage (what GNU time does).
_LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as f:
    f.write("%d %f %f" % (usage.ru_maxrss, usage.ru_utime, usage.ru_stime))
sys.exit(os.waitstatus_to_exitcode(status) % 256)
"""


def _gnu_time() -> bool:
    if not os.path.exists(GNU_TIME):
        return False
    probe = subprocess.run(
        [GNU_TIME, "-f", "%M", "true"], capture_output=True, text=True, check=False
    )
    return probe.returncode == 0 and probe.stderr.strip().isdigit()


HAVE_GNU_TIME = _gnu_time()


def run_measured(cmd: list[str], *, cwd=None, env=None, timeout: float = 600) -> Proc:
    """Run ``cmd`` and return its wall time, peak RSS and CPU time.

    The numbers come from the kernel's rusage of the command, read by ``/usr/bin/time``
    (or by a small forking launcher when GNU time is missing). They are not read by
    ``os.wait4`` from this process: a child forked from a big interpreter starts with the
    parent's resident pages, and Linux carries that high-water mark over ``exec`` into the
    child's ``ru_maxrss``.
    """
    with tempfile.TemporaryDirectory() as tmp:
        stats = os.path.join(tmp, "rusage")
        if HAVE_GNU_TIME:
            wrapped = [GNU_TIME, "-f", "%M %U %S", "-o", stats, *cmd]
        else:
            wrapped = [sys.executable, "-I", "-S", "-c", _LAUNCHER, stats, *cmd]
        errfile = os.path.join(tmp, "stderr")
        with open(errfile, "wb") as err:
            start = time.perf_counter()
            try:
                rc = subprocess.run(
                    wrapped,
                    cwd=cwd,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=err,
                    timeout=timeout,
                    check=False,
                ).returncode
            except subprocess.TimeoutExpired:
                rc = 124
            wall = time.perf_counter() - start
        with open(errfile, "rb") as err:
            tail = err.read().decode(errors="replace").strip().splitlines()[-3:]
        try:
            with open(stats) as f:
                # GNU time writes "Command exited with non-zero status N" first on failure.
                maxrss, utime, stime = f.read().strip().splitlines()[-1].split()
        except (OSError, ValueError, IndexError):
            maxrss, utime, stime = 0, 0, 0
    # ru_maxrss is in kilobytes on Linux (GNU time's %M too), bytes on macOS.
    rss = int(maxrss) * (1 if sys.platform == "darwin" and not HAVE_GNU_TIME else 1024)
    return Proc(wall=wall, rss=rss, rc=rc, err=" | ".join(tail), cpu=float(utime) + float(stime))


def run_group(cmds: list[list[str]], jobs: int, *, env=None) -> Proc:
    """Run ``cmds`` with at most ``jobs`` at a time (as ``xargs -P jobs`` would).

    Wall time is for the whole group; RSS is the largest single process; CPU is the sum.
    The first failing command's status and message are kept.
    """
    from concurrent.futures import ThreadPoolExecutor

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        procs = list(pool.map(lambda c: run_measured(c, env=env), cmds))
    wall = time.perf_counter() - start
    failed = next((p for p in procs if not p.ok), None)
    return Proc(
        wall=wall,
        rss=max(p.rss for p in procs),
        rc=failed.rc if failed else 0,
        err=failed.err if failed else "",
        cpu=sum(p.cpu for p in procs),
    )


def median(values) -> float:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else float("nan")


_SPIN = """
import time, sys
start_wall, start_cpu = time.perf_counter(), time.process_time()
x = 0
while time.perf_counter() - start_wall < float(sys.argv[1]):
    x += 1
print(time.process_time() - start_cpu, time.perf_counter() - start_wall)
"""


def cpu_probe(seconds: float = 1.0, processes: int = 2) -> float:
    """How many cores ``processes`` spinning processes actually got (2.0 = two full cores).

    Each child spins for ``seconds`` of wall time and reports the CPU time it was given; a
    stalled or shared second core shows up as a sum well below ``processes``.
    """
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _SPIN, str(seconds)], stdout=subprocess.PIPE, text=True
        )
        for _ in range(processes)
    ]
    total = 0.0
    for child in children:
        out, _ = child.communicate()
        cpu, wall = (float(v) for v in out.split())
        total += cpu / wall
    return total


def machine_line() -> str:
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return f"{os.cpu_count()} CPUs, load average {load}, Python {sys.version.split()[0]}"


def mib(n: float) -> str:
    return f"{n / MIB:,.0f} MiB"


def secs(t: float | None) -> str:
    if t is None or t != t:
        return "—"
    if t < 0.01:
        return f"{t * 1000:.2f} ms"
    if t < 0.1:
        return f"{t * 1000:.1f} ms"
    return f"{t * 1000:.0f} ms" if t < 10 else f"{t:.1f} s"


def table(headers: list[str], rows: list[list], align: str | None = None) -> str:
    """A markdown table whose columns line up in plain text too."""
    cells = [[str(c) for c in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    align = align or "l" + "r" * (len(headers) - 1)

    def line(row):
        parts = [c.ljust(w) if a == "l" else c.rjust(w) for c, w, a in zip(row, widths, align)]
        return "| " + " | ".join(parts) + " |"

    rule = (
        "|"
        + "|".join(
            ("-" * (w + 1) + ":") if a == "r" else (":" + "-" * (w + 1))
            for w, a in zip(widths, align)
        )
        + "|"
    )
    return "\n".join([line(cells[0]), rule] + [line(r) for r in cells[1:]])


def verdict(ok: bool | None) -> str:
    return "—" if ok is None else ("PASS" if ok else "MISS")
