"""Measuring helpers shared by the benchmark scripts: child processes, CPU probe, tables.

Standard library only, so the scripts can report on a machine where poolcli itself is broken.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
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
    tree_pss: int | None = None
    procs: int | None = None

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


def _process_table() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, CPU clock ticks used), for every process in /proc."""
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                data = f.read()
        except OSError:
            continue
        fields = data[data.rindex(")") + 2 :].split()
        table[int(entry.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    return table


def _memory_kib(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of ``pid`` in KiB; (0, 0) once it is gone."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except (OSError, ValueError):
        pass
    return rss, pss


class TreeSampler(threading.Thread):
    """Samples a process and all its descendants every ``interval`` seconds.

    Needed for tools whose workers escape the parent's rusage: a forkserver's children are
    not the parent's, so neither ``ru_maxrss`` nor the CPU times count them. Keeps the
    peak of the summed PSS (shared pages split between the processes sharing them), the
    peak process count, and each process's last CPU time.
    """

    def __init__(self, root: int, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.root, self.interval = root, interval
        self.peak_pss = self.peak_procs = 0
        self.cpu_ticks: dict[int, int] = {}
        self._done = threading.Event()

    def run(self) -> None:
        while True:
            self.sample()
            if self._done.wait(self.interval):
                return

    def sample(self) -> None:
        table = _process_table()
        children: dict[int, list[int]] = {}
        for pid, (ppid, _) in table.items():
            children.setdefault(ppid, []).append(pid)
        tree, stack = [], [self.root]
        while stack:
            pid = stack.pop()
            tree.append(pid)
            stack.extend(children.get(pid, []))
        pss = 0
        for pid in tree:
            if pid in table:
                self.cpu_ticks[pid] = table[pid][1]
            pss += _memory_kib(pid)[1]
        self.peak_pss = max(self.peak_pss, pss * 1024)
        self.peak_procs = max(self.peak_procs, len(tree))

    def stop(self) -> None:
        self._done.set()
        self.join()

    @property
    def cpu(self) -> float:
        return sum(self.cpu_ticks.values()) / os.sysconf("SC_CLK_TCK")


def run_measured(
    cmd: list[str], *, cwd=None, env=None, timeout: float = 600, tree: bool = False
) -> Proc:
    """Run ``cmd`` and return its wall time, peak RSS and CPU time.

    The numbers come from the kernel's rusage of the command, read by ``/usr/bin/time``
    (or by a small forking launcher when GNU time is missing). They are not read by
    ``os.wait4`` from this process: a child forked from a big interpreter starts with the
    parent's resident pages, and Linux carries that high-water mark over ``exec`` into the
    child's ``ru_maxrss``.

    ``tree``: also sample the whole process tree (Linux), for tools with worker processes;
    ``tree_pss`` is then the peak of their summed PSS and ``cpu`` covers all of them.
    """
    with tempfile.TemporaryDirectory() as tmp:
        stats = os.path.join(tmp, "rusage")
        if HAVE_GNU_TIME:
            wrapped = [GNU_TIME, "-f", "%M %U %S", "-o", stats, *cmd]
        else:
            wrapped = [sys.executable, "-I", "-S", "-c", _LAUNCHER, stats, *cmd]
        errfile = os.path.join(tmp, "stderr")
        sampler = None
        with open(errfile, "wb") as err:
            start = time.perf_counter()
            proc = subprocess.Popen(
                wrapped,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
            if tree and os.path.isdir("/proc"):
                sampler = TreeSampler(proc.pid)
                sampler.start()
            try:
                rc = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                rc = 124
            wall = time.perf_counter() - start
            if sampler is not None:
                sampler.stop()
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
    cpu = float(utime) + float(stime)
    result = Proc(wall=wall, rss=rss, rc=rc, err=" | ".join(tail), cpu=cpu)
    if sampler is not None:
        result.cpu = max(cpu, sampler.cpu)
        result.tree_pss = max(sampler.peak_pss, rss)
        result.procs = sampler.peak_procs
    return result


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


def _cpu_ticks() -> tuple[int, int] | None:
    """(busy, steal) clock ticks of all CPUs since boot, from /proc/stat (Linux only)."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return user + nice + system + irq + softirq, steal


class CpuMeter:
    """Cores kept busy machine-wide, and cores stolen by the hypervisor, over an interval.

    Subtract a tool's own CPU time to see how much other work shared the machine with it.
    """

    def __init__(self) -> None:
        self._hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self._start = _cpu_ticks()
        self._wall = time.perf_counter()

    def stop(self) -> tuple[float, float] | None:
        """(busy cores, stolen cores) since the meter was made, or None off Linux."""
        end = _cpu_ticks()
        wall = time.perf_counter() - self._wall
        if self._start is None or end is None or wall <= 0:
            return None
        busy, steal = (b - a for a, b in zip(self._start, end))
        return busy / self._hz / wall, steal / self._hz / wall


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
