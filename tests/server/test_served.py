"""The same commands with and without the warm server: same standard output bytes, same
standard error, same exit status, same files written."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import serving
from conftest import SEED
from serving import Server, write_inputs

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from serving.shared_server(tmp_path_factory)


STDIN = "stdin"
CASES = {
    "report": (["max", "seed.npy", "-k", "2"], 0),
    "json": (["avg", "seed.npy", "-k", "2", "--json"], 0),
    "npy to stdout": (["max", "seed.npy", "-k", "2", "-o", "-"], 0),
    "stdin in": (["avg", "-", "-k", "2", "-o", "out.npy"], 0),
    "stdin through": (["sum", "-", "-k", "2", "-o", "-"], 0),
    "png and picture": (["avg", "photo.png", "-k", "2", "-o", "half.png", "--viz", "v.png"], 0),
    "labels": (["mode", "labels.png", "-k", "4", "-o", "m.png"], 0),
    "alpha": (["max", "rgba.png", "-k", "2", "-o", "a.png"], 0),
    "chain": (["max", "seed.npy", "-k", "2", "--then", "avg", "-k", "1"], 0),
    "folder": (["avg", "imgs", "-k", "2", "-o", "out/", "-j", "2"], 0),
    "folder json": (["max", "imgs", "-k", "2", "-o", "outj/", "-j", "1", "--json"], 0),
    "folder with a broken file": (["avg", "mixed", "-k", "2", "-o", "outm/", "-j", "2"], 1),
    "missing file": (["max", "missing.npy", "-k", "2"], 1),
    "bad kernel": (["max", "seed.npy", "-k", "0"], 2),
    "unknown option": (["max", "seed.npy", "--kernal", "2"], 2),
    "no such command": (["maxx", "seed.npy"], 2),
    "explain": (["explain", "seed.npy", "-k", "2"], 0),
    "shape": (["shape", "28x28", "-k", "2"], 0),
    "compare": (["compare", "seed.npy", "-k", "2"], 0),
    "version": (["--version"], 0),
    "help": (["--help"], 0),
    "command help": (["max", "--help"], 0),
    "narrow": (["max", "seed.npy", "-k", "2", "--env", "COLUMNS=60"], 0),
    "colour": (["avg", "seed.npy", "-k", "2", "--env", "FORCE_COLOR=1"], 0),
}


def _split_env(args: list[str]) -> tuple[list[str], dict]:
    env, rest = {}, []
    it = iter(args)
    for arg in it:
        if arg == "--env":
            key, value = next(it).split("=", 1)
            env[key] = value
        else:
            rest.append(arg)
    return rest, env


#: Measured times, which differ from run to run (a batch's wall time, files/s, seconds).
TIMES = re.compile(rb"(wall time\W+|files/s\W+|\"seconds\": |\"files_per_second\": )[0-9.]+( s)? *")


def _untimed(data: bytes) -> bytes:
    return TIMES.sub(rb"\1#", data)


def _files(folder: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_served_equals_local(case, server, tmp_path):
    args, code = CASES[case]
    args, env = _split_env(args)
    stdin = _npy_bytes() if "-" in args else b""
    results = {}
    for how in ("off", "on"):
        folder = tmp_path / how
        write_inputs(folder)
        before = server.facts()["served"]
        results[how] = server.poolcli(
            *args, env={"POOLCLI_SERVER": how, **env}, input=stdin, cwd=folder
        )
        served = server.facts()["served"] - before
        assert served == (how == "on"), f"{how}: served {served} commands"
        assert results[how].returncode == code, results[how].stderr.decode()
    off, on = results["off"], results["on"]
    assert _untimed(on.stdout) == _untimed(off.stdout)
    assert _untimed(on.stderr).decode() == _untimed(off.stderr).decode()
    assert b"Traceback" not in on.stderr
    assert _files(tmp_path / "on") == _files(tmp_path / "off")


def _npy_bytes() -> bytes:
    import io

    import numpy as np

    buffer = io.BytesIO()
    np.save(buffer, SEED)
    return buffer.getvalue()


def test_status_and_log(server):
    done = server.poolcli("server", "status")
    assert done.returncode == 0
    text = done.stdout.decode()
    assert f"pid {server.pid()}" in text
    log = Path(server.facts()["log"])
    assert f"log: {log}" in text
    assert "listening on" in log.read_text()
    document = json.loads(server.poolcli("server", "status", "--json").stdout)
    assert document["running"] is True and document["pid"] == server.pid()


def test_status_without_a_server(tmp_path):
    folder = tmp_path / "none"
    folder.mkdir(mode=0o700)
    idle = Server(folder)
    done = idle.poolcli("server", "status")
    assert (done.returncode, done.stdout.decode()) == (1, "poolcli server: not running.\n")
    done = idle.poolcli("server", "status", "--json")
    assert (done.returncode, json.loads(done.stdout)) == (1, {"running": False})
    assert idle.poolcli("shape", "8x8", "-k", "2").returncode == 0  # runs without a server


def test_server_commands_are_never_served(server):
    before = server.facts()["served"]
    assert server.poolcli("server", "status").returncode == 0
    assert server.facts()["served"] == before


def test_a_removed_working_directory(server, tmp_path):
    gone = tmp_path / "gone"
    gone.mkdir()
    code = (
        "import os, subprocess, sys\n"
        f"os.chdir({str(gone)!r}); os.rmdir({str(gone)!r})\n"
        "p = subprocess.run([sys.executable, '-m', 'poolcli', 'shape', '8x8', '-k', '2'])\n"
        "sys.exit(p.returncode)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=server.env, capture_output=True, timeout=120
    )
    assert b"Traceback" not in done.stderr
    assert done.returncode == 0, done.stderr.decode()  # run here, where a cwd is not needed
