"""A warm server of its own for the server's tests: in a private directory under the test's
temporary directory, so that it never meets a server the person running the tests has
started, and stopped at the end."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from conftest import SEED, subprocess_env

SERVER_LOST = (
    "poolcli: error: the poolcli server stopped while running this command; its outputs may "
    "be missing. Run it again (POOLCLI_SERVER=off runs it without the server)."
)
SAMPLES = Path(__file__).resolve().parents[2] / "sample_data"


class Server:
    """A running server: the environment of the processes it serves, and how to ask it."""

    def __init__(self, folder: Path, **extra: str):
        self.folder = folder
        self.env = subprocess_env(POOLCLI_SERVER="on", POOLCLI_SERVER_DIR=str(folder), **extra)

    def poolcli(self, *args, env=None, **popen) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "poolcli", *map(str, args)],
            env={**self.env, **(env or {})},
            capture_output=True,
            timeout=180,
            **popen,
        )

    def start(self, *extra: str, warm: bool = False) -> None:
        # The compiled kernels' warm-up (a background process) only where a test wants it:
        # it would compete with the other tests for the machine's cores.
        # Only the 3x3 kernels: every benchmarked window takes minutes to build the first time.
        env = {"POOLCLI_SERVER_KERNELS": "3x3"} if warm else {"POOLCLI_COMPILE": "0"}
        done = self.poolcli("server", "start", "--idle-timeout", "600", *extra, env=env)
        assert done.returncode == 0, done.stderr.decode()

    def facts(self) -> dict | None:
        from poolcli.client.control import status
        from poolcli.client.place import Place

        return status(Place(str(self.folder)))

    def pid(self) -> int:
        return self.facts()["pid"]

    def stop(self) -> None:
        self.poolcli("server", "stop")

    def wait_for(self, test, seconds: float = 30.0) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if test():
                return True
            time.sleep(0.05)
        return False


def private_dir(root: Path) -> Path:
    folder = root / "run"
    os.mkdir(folder, 0o700)
    return folder


def shared_server(tmp_path_factory):
    """For a module-scoped fixture: a server shared by a module's tests."""
    running = Server(private_dir(tmp_path_factory.mktemp("server")))
    running.start()
    yield running
    running.stop()


def own_servers(tmp_path):
    """For a fixture: servers for one test (which may kill them); ``start(**env)`` starts one."""
    started = []

    def start(**extra: str) -> Server:
        running = Server(private_dir(tmp_path / "own"), **extra)
        running.start()
        started.append(running)
        return running

    (tmp_path / "own").mkdir()
    yield start
    for running in started:
        running.stop()


def write_inputs(folder: Path) -> None:
    """The inputs of the served-versus-local comparisons."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "seed.npy", "wb") as f:
        np.save(f, SEED)
    for name in ("photo.png", "labels.png", "rgba.png"):
        shutil.copy(SAMPLES / name, folder / name)
    (folder / "imgs").mkdir()
    for i, name in enumerate(("photo.png", "labels.png", "rgba.png", "gradient.png")):
        shutil.copy(SAMPLES / name, folder / "imgs" / f"{i}_{name}")
    shutil.copytree(folder / "imgs", folder / "mixed")
    (folder / "mixed" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
