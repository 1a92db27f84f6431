"""The compiled kernels warmed at the server's start: in a separate process, so that the server
itself still runs no torch op and starts no thread before it forks."""

import os
import re
from pathlib import Path

import numpy as np
import pytest
import serving
from conftest import SEED

from poolcli.engine import compiled
from poolcli.server import kernels

pytestmark = pytest.mark.skipif(not compiled.available(), reason="no C++ compiler here")


def _threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def _log(server) -> str:
    return Path(server.facts()["log"]).read_text()


def test_warmed_server_forks_cleanly_and_serves_equal_results(tmp_path):
    server = serving.Server(serving.private_dir(tmp_path))
    server.start(warm=True)
    try:
        pid = server.pid()
        threads = _threads(pid)
        assert threads <= 2, "the server runs threads of its own before forking"
        warming = re.search(r"warming the compiled kernels in process (\d+)", _log(server))
        assert warming, _log(server)
        assert server.wait_for(lambda: "kernels warmed" in _log(server), 600), _log(server)
        assert "compiled kernels warmed" in _log(server)
        assert not Path(f"/proc/{warming.group(1)}").exists()  # reaped
        x = np.tile(SEED.astype(np.float32), (40, 40))  # 160 x 160
        np.save(tmp_path / "x.npy", x)
        out = {}
        for how, compile_ in (("on", "1"), ("off", "0")):
            for op in ("max", "median"):
                name = f"{op}-{how}.npy"
                done = server.poolcli(
                    op, "x.npy", "-k", "3", "-s", "1", "-o", name, cwd=tmp_path,
                    env={"POOLCLI_SERVER": how, "POOLCLI_COMPILE": compile_},
                )  # fmt: skip
                assert done.returncode == 0, done.stderr.decode()
                out[op, how] = np.load(tmp_path / name)
        for op in ("max", "median"):
            np.testing.assert_array_equal(out[op, "on"], out[op, "off"])
        assert server.facts()["served"] == 2
        assert _threads(pid) <= 2  # still none of its own after serving (OpenBLAS may stop)
    finally:
        server.stop()


def test_the_kernel_worker_runs_large_inputs_through_the_loaded_kernels(tmp_path):
    server = serving.Server(serving.private_dir(tmp_path))
    server.start(warm=True)
    try:
        assert server.wait_for(lambda: server.facts()["kernel_worker"], 600), _log(server)
        assert "loading the compiled kernels in the kernel worker" in _log(server)
        big = np.tile(SEED.astype(np.float32), (128, 128))  # 512 x 512: over 1 MiB
        np.save(tmp_path / "big.npy", big)
        np.save(tmp_path / "small.npy", big[:256, :256])
        for name, runs_compiled in (("big", True), ("small", False), ("big", True)):
            for op in ("max", "median"):
                args = (op, f"{name}.npy", "-k", "3", "-s", "1", "-o", f"{op}-{name}.npy")
                served = server.poolcli(*args, "--debug", cwd=tmp_path)
                assert served.returncode == 0, served.stderr.decode()
                said = "ran the compiled" in served.stderr.decode()
                assert said == runs_compiled, served.stderr.decode()
                got = np.load(tmp_path / f"{op}-{name}.npy")
                local = server.poolcli(*args, cwd=tmp_path, env={"POOLCLI_SERVER": "off"})
                assert local.returncode == 0, local.stderr.decode()
                np.testing.assert_array_equal(got, np.load(tmp_path / f"{op}-{name}.npy"))
        # --debug lasted for its own command only.
        quiet = server.poolcli("max", "big.npy", "-k", "3", "-o", "again.npy", cwd=tmp_path)
        assert quiet.returncode == 0
        assert "debug" not in quiet.stderr.decode()
    finally:
        server.stop()


def test_which_commands_go_to_the_kernel_worker(tmp_path):
    commands = frozenset({"max", "median"})
    (tmp_path / "big.npy").write_bytes(b"\0" * kernels.KERNEL_WORKER_FROM)
    (tmp_path / "small.npy").write_bytes(b"\0" * 1000)
    (tmp_path / "folder").mkdir()

    def wants(*argv):
        return kernels.wants({"argv": list(argv), "cwd": str(tmp_path)}, commands)

    assert wants("max", "big.npy", "-k", "3")
    assert wants("median", str(tmp_path / "big.npy"), "-o", "out.png")
    assert not wants("max", "small.npy", "-k", "3")
    assert not wants("max", "-", "-k", "3")  # standard input: size unknown
    assert not wants("max", "big.npy", "folder", "-o", "out")  # a batch: its workers fork
    assert not wants("max", "big.npy", "--help")
    assert not wants("shape", "big.npy")  # computes nothing
    assert not wants("max", "missing.npy")


def test_no_warm_up_when_compiled_kernels_are_off(tmp_path):
    server = serving.Server(serving.private_dir(tmp_path))
    server.start()  # POOLCLI_COMPILE=0 in the server's environment
    try:
        assert "warming" not in _log(server)
    finally:
        server.stop()
