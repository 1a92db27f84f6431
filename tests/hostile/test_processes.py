"""Killed and signalled batches: no process outlives the run, no partial output or temporary
file is left, and no input changes.

Real runs of ``python -m poolcli`` with two worker processes, each in a session of its own,
so that every process the run starts (forkserver, workers, resource tracker) is found in
/proc by its session id.
"""

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import subprocess_env

from poolcli import io as pio
from poolcli.engine.chain import run_chain
from poolcli.model.steps import parse_step

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

CHAIN = "median -k 13 -s 1"  # about 50 ms a file: each window gathered and sorted
FILES = 24
#: How long the processes of a run may outlive its main process.
OUTLIVE_SECONDS = 5.0


def make_inputs(folder) -> None:
    folder.mkdir()
    for i in range(FILES):
        array = np.random.default_rng(i).random((128, 128), dtype=np.float32)
        np.save(folder / f"x{i:02}.npy", array)


def hashes(folder) -> dict[str, str]:
    return {
        name: hashlib.sha256((folder / name).read_bytes()).hexdigest()
        for name in sorted(os.listdir(folder))
    }


def start(src, out, *extra: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "poolcli", *CHAIN.split(), str(src), "-o", f"{out}/"]
    return subprocess.Popen(
        [*command, "-j", "2", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=subprocess_env(),
        start_new_session=True,
    )


def processes(session: int) -> dict[int, tuple[int, str]]:
    """Live processes of a session: pid -> (parent pid, command line). Zombies are dead."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                command = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # gone meanwhile
        if int(fields[3]) == session and fields[0] != "Z":
            found[int(entry)] = (int(fields[1]), command)
    return found


def forkserver(run: subprocess.Popen) -> int:
    return next(
        pid
        for pid, (parent, command) in processes(run.pid).items()
        if parent == run.pid and "multiprocessing.forkserver" in command
    )


def workers(run: subprocess.Popen) -> list[int]:
    server = forkserver(run)
    return [pid for pid, (parent, _) in processes(run.pid).items() if parent == server]


def tracker(run: subprocess.Popen) -> int:
    return next(
        pid
        for pid, (_, command) in processes(run.pid).items()
        if "multiprocessing.resource_tracker" in command
    )


def written(out) -> list[str]:
    return [n for n in os.listdir(out) if pio.TEMP_MARK not in n] if out.exists() else []


def wait_until_busy(run: subprocess.Popen, out) -> None:
    """Until both workers run and a few files are written, with most still to do."""
    deadline = time.monotonic() + 120
    while len(written(out)) < 2 or len(_safe(workers, run)) < 2:
        assert run.poll() is None, run.communicate()
        assert time.monotonic() < deadline, "the run never got going"
        time.sleep(0.005)
    assert len(written(out)) < FILES / 2, "the run went too fast to be stopped midway"


def _safe(find, run):
    try:
        return find(run)
    except StopIteration:  # the forkserver is not there yet
        return []


def assert_nothing_outlives(run: subprocess.Popen) -> None:
    deadline = time.monotonic() + OUTLIVE_SECONDS
    while left := processes(run.pid):
        assert time.monotonic() < deadline, f"still running: {left}"
        time.sleep(0.05)


def assert_complete_outputs(expected: dict[str, np.ndarray], out) -> None:
    """Every file in ``out`` is a whole, right output: no temporary or partial file."""
    names = os.listdir(out)
    assert not [n for n in names if pio.TEMP_MARK in n]
    for name in names:
        assert np.array_equal(np.load(io.BytesIO((out / name).read_bytes())), expected[name])


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """The inputs, and the output expected of each."""
    src = tmp_path_factory.mktemp("hostile") / "in"
    make_inputs(src)
    steps = [parse_step(CHAIN)]
    return src, {name: run_chain(np.load(src / name), steps).output for name in os.listdir(src)}


@pytest.fixture
def inputs(source):
    """The inputs' folder; no input may change."""
    src, _ = source
    before = hashes(src)
    yield src
    assert hashes(src) == before


@pytest.fixture
def expected(source):
    return source[1]


def test_killing_the_main_process_kills_every_process_of_the_run(inputs, expected, tmp_path):
    out = tmp_path / "out"
    run = start(inputs, out)
    wait_until_busy(run, out)
    os.kill(run.pid, signal.SIGKILL)
    _, stderr = run.communicate(timeout=60)  # also waits for every holder of its pipes
    assert run.returncode == -signal.SIGKILL
    assert_nothing_outlives(run)
    assert stderr == ""
    assert_complete_outputs(expected, out)


@pytest.mark.parametrize(
    ("signum", "send"),
    [
        (signal.SIGTERM, os.kill),
        (signal.SIGHUP, os.kill),
        (signal.SIGHUP, os.killpg),  # a terminal that hangs up signals every process
    ],
)
def test_a_signal_stops_a_batch_as_ctrl_c_does(inputs, expected, tmp_path, signum, send):
    out = tmp_path / "out"
    run = start(inputs, out)
    wait_until_busy(run, out)
    send(run.pid, signum)
    _, stderr = run.communicate(timeout=60)
    assert run.returncode == 128 + signum, stderr
    assert_nothing_outlives(run)
    assert stderr.startswith("poolcli: interrupted.\n"), stderr
    assert "not started" in stderr and "Traceback" not in stderr
    processed = int(stderr.split("processed")[1].split()[1])
    assert processed <= len(written(out)) < FILES  # a file written, its answer not read
    assert_complete_outputs(expected, out)


def finish_after(run: subprocess.Popen, kill) -> tuple[list[dict], str]:
    """Kill what ``kill(run)`` names midway; the run's results and standard error."""
    kill(run)
    stdout, stderr = run.communicate(timeout=300)
    assert run.returncode == 0, stderr
    assert_nothing_outlives(run)
    return [json.loads(line) for line in stdout.splitlines()], stderr


def kill_a_worker(run):
    os.kill(workers(run)[0], signal.SIGKILL)


def kill_the_forkserver(run):
    os.kill(forkserver(run), signal.SIGKILL)


def kill_the_tracker_then_a_worker(run):
    os.kill(tracker(run), signal.SIGKILL)
    time.sleep(0.1)
    kill_a_worker(run)  # a new worker starts the resource tracker again


@pytest.mark.parametrize(
    "kill", [kill_a_worker, kill_the_forkserver, kill_the_tracker_then_a_worker]
)
def test_a_killed_helper_process_costs_a_retry_and_nothing_else(inputs, expected, tmp_path, kill):
    out = tmp_path / "out"
    run = start(inputs, out, "--jsonl", "-q")
    wait_until_busy(run, out)
    results, stderr = finish_after(run, kill)
    assert stderr == ""  # no traceback, no warning
    assert [os.path.basename(r["input"]) for r in results] == sorted(os.listdir(inputs))
    for result in results:
        # A file written just before its worker died is found written when tried again.
        assert result["status"] == "done" or result["reason"].startswith("output exists")
    assert sorted(os.listdir(out)) == sorted(os.listdir(inputs))
    assert_complete_outputs(expected, out)
