"""SIGTERM and SIGHUP stop poolcli as Ctrl-C does: one line, no traceback, 128 + the signal."""

import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import subprocess_env


def handles(pid: int, signum: int) -> bool:
    """Whether process ``pid`` has installed a handler for ``signum`` (Linux /proc)."""
    with open(f"/proc/{pid}/status") as f:
        caught = next(line for line in f if line.startswith("SigCgt:"))
    return bool(int(caught.split()[1], 16) >> (signum - 1) & 1)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_stops_a_waiting_call_cleanly(signum, tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "poolcli", "max", "-", "-k", "2", "-o", "out.npy"],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env=subprocess_env(),
    )
    deadline = time.monotonic() + 30
    while not handles(process.pid, signum):
        assert time.monotonic() < deadline, "poolcli never installed its signal handlers"
        time.sleep(0.01)
    os.kill(process.pid, signum)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 128 + signum
    assert stderr.decode() == "poolcli: interrupted.\n"
    assert os.listdir(tmp_path) == []
