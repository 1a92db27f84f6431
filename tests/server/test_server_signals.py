"""Stops while a command is served: Ctrl-C, a killed client, a server that dies; and the
resident worker (here on the CPU) that GPU commands go to."""

import os
import signal
import subprocess
import sys

import pytest
import serving

pytestmark = pytest.mark.slow

INTERRUPTED = "poolcli: interrupted.\n"


@pytest.fixture
def own_server(tmp_path):
    yield from serving.own_servers(tmp_path)


def _waiting(server, folder, *args):
    """A served ``poolcli avg - -k 2 -o out.npy`` stuck reading standard input (half a
    header sent), once the server runs it."""
    before = server.facts()["served"]
    process = subprocess.Popen(
        [sys.executable, "-m", "poolcli", "avg", "-", "-k", "2", "-o", "out.npy", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=folder,
        env=server.env,
    )
    process.stdin.write(b"\x93NUMPY\x01\x00")
    process.stdin.flush()
    assert server.wait_for(lambda: server.facts()["served"] > before)
    assert server.wait_for(lambda: server.facts()["running"] == 1)
    return process


def _ctrl_c(server, folder) -> subprocess.CompletedProcess:
    process = _waiting(server, folder)
    process.send_signal(signal.SIGINT)
    # Standard input stays open until it ends: its end would race the forwarded signal.
    process.wait(timeout=60)
    out, err = process.communicate(timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def test_ctrl_c_stops_the_command(own_server, tmp_path):
    server = own_server()
    done = _ctrl_c(server, tmp_path)
    assert (done.returncode, done.stdout, done.stderr.decode()) == (130, b"", INTERRUPTED)
    assert os.listdir(tmp_path) == ["own"]  # no output, no temporary file
    assert server.wait_for(lambda: server.facts()["running"] == 0)


def test_a_killed_client_stops_its_command(own_server, tmp_path):
    server = own_server()
    process = _waiting(server, tmp_path)
    process.kill()
    process.communicate(timeout=60)
    assert server.wait_for(lambda: server.facts()["running"] == 0, 20)
    assert os.listdir(tmp_path) == ["own"]


def test_a_dying_server_is_one_line_not_a_hang(own_server, tmp_path):
    server = own_server()
    process = _waiting(server, tmp_path)
    os.kill(server.pid(), signal.SIGKILL)
    process.wait(timeout=60)  # its command stops too: standard input is still open
    out, err = process.communicate(timeout=60)
    assert process.returncode == 1
    # The command says it was stopped, then the client why.
    assert err.decode().splitlines() == [
        INTERRUPTED.strip(),
        serving.SERVER_LOST.strip(),
    ]


def test_the_resident_worker_runs_commands_one_after_another(own_server, tmp_path):
    server = own_server(POOLCLI_SERVER_RESIDENT="all")
    serving.write_inputs(tmp_path)
    for args, code in [
        (["max", "seed.npy", "-k", "2"], 0),
        (["max", "seed.npy", "-k", "2", "-o", "-"], 0),
        (["max", "seed.npy", "-k", "0"], 2),
        (["avg", "photo.png", "-k", "2", "-o", "half.png"], 0),
    ]:
        local = server.poolcli(*args, cwd=tmp_path, env={"POOLCLI_SERVER": "off"})
        served = server.poolcli(*args, cwd=tmp_path)
        assert (served.returncode, served.stdout) == (code, local.stdout)
        assert served.stderr.decode() == local.stderr.decode()
    # Ctrl-C stops its command (130), and the worker goes on serving.
    done = _ctrl_c(server, tmp_path / "own")
    assert (done.returncode, done.stderr.decode()) == (130, INTERRUPTED)
    assert server.poolcli("shape", "8x8", "-k", "2").returncode == 0
    process = _waiting(server, tmp_path / "own")
    process.kill()
    process.communicate(timeout=60)
    assert server.wait_for(lambda: server.facts()["running"] == 0, 20)
    assert server.poolcli("shape", "8x8", "-k", "2").returncode == 0


def _children(pid: int) -> set[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return {int(child) for child in f.read().split()}


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[-1][0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="reads /proc (Linux)")
def test_the_spare_child_runs_the_next_command_and_leaves_with_the_server(own_server, tmp_path):
    server = own_server()
    pid = server.pid()
    assert server.wait_for(lambda: len(_children(pid)) == 1)  # the spare, forked ahead
    (spare,) = _children(pid)
    process = _waiting(server, tmp_path)
    assert spare in _children(pid)  # it runs the command: no fork on the request's path
    assert server.wait_for(lambda: len(_children(pid)) == 2)  # and the next spare waits
    process.communicate(timeout=60)  # closes its standard input
    assert process.returncode == 1  # half a header: a clear error, as without a server
    assert server.wait_for(lambda: len(_children(pid)) == 1)  # the command's child has gone
    (next_spare,) = _children(pid)
    assert next_spare != spare
    server.stop()
    assert server.wait_for(lambda: not _alive(next_spare) and not _alive(pid), 30)
