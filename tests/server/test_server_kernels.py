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


def test_no_warm_up_when_compiled_kernels_are_off(tmp_path):
    server = serving.Server(serving.private_dir(tmp_path))
    server.start()  # POOLCLI_COMPILE=0 in the server's environment
    try:
        assert "warming" not in _log(server)
    finally:
        server.stop()
