"""Who may use a server, which server a client uses, and when a server goes away: private
directories, the peer's uid, staleness, the idle timeout, ``POOLCLI_SERVER=auto``; and the
client's own import, which must stay in the standard library."""

import ast
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import serving
from conftest import subprocess_env

from poolcli.client import wire
from poolcli.client.place import Place, PlaceError, installation

pytestmark = pytest.mark.slow


@pytest.fixture
def own_server(tmp_path):
    yield from serving.own_servers(tmp_path)


def test_a_shared_directory_is_refused(tmp_path):
    folder = tmp_path / "open"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    with pytest.raises(PlaceError, match="must belong to you and be private"):
        Place(str(folder)).check()
    server = serving.Server(folder)
    auto = server.poolcli("shape", "8x8", "-k", "2", env={"POOLCLI_SERVER": "auto"})
    assert auto.returncode == 1
    assert auto.stderr.decode().startswith("poolcli: error: ")
    assert "must belong to you and be private" in auto.stderr.decode()
    assert not list(folder.iterdir())  # no server started there
    # Without auto, poolcli runs the command itself.
    assert server.poolcli("shape", "8x8", "-k", "2").returncode == 0


def test_a_link_is_refused(tmp_path):
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    os.symlink(real, tmp_path / "link")
    with pytest.raises(PlaceError, match="not a directory"):
        Place(str(tmp_path / "link")).check()


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to act as another user")
def test_another_user_is_refused():
    import shutil
    import tempfile

    # Under /tmp, so that another user can reach the socket once the directory lets them:
    # the uid check is what stops them then.
    server = serving.Server(Path(tempfile.mkdtemp(prefix="poolcli-test-", dir="/tmp")))
    server.start()
    place = Place(str(server.folder))
    os.chmod(server.folder, 0o711)
    os.chmod(place.socket, 0o777)
    try:
        code = (
            "import os, socket, sys\n"
            "os.setuid(65534)\n"
            "s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)\n"
            f"s.connect({place.socket!r})\n"
            "try:\n"
            "    s.send(b'x')\n"
            "    sys.exit(0 if s.recv(100) == b'' else 3)\n"
            "except (ConnectionResetError, BrokenPipeError):\n"
            "    sys.exit(0)  # closed by the server\n"
        )
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
        log = Path(place.log).read_text()
    finally:
        os.chmod(server.folder, 0o700)
        server.stop()
        shutil.rmtree(server.folder)
    assert done.returncode == 0, done.stderr.decode()
    assert "refused a connection from another user" in log


def test_a_client_of_another_version_stops_a_stale_server(own_server):
    server = own_server()
    place = Place(str(server.folder))
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    sock.connect(place.socket)
    wire.send(sock, {"control": "status", **installation(), "version": "0.0.0"})
    answer, _ = wire.receive(sock)
    sock.close()
    assert "version" in answer["stale"]
    assert server.wait_for(lambda: server.facts() is None)
    # The next call finds no server and, with auto, starts a new one.
    done = server.poolcli("shape", "8x8", "-k", "2", env={"POOLCLI_SERVER": "auto"})
    assert done.returncode == 0
    assert server.facts()["served"] == 1


def test_auto_starts_a_server_and_off_never_uses_it(tmp_path):
    folder = serving.private_dir(tmp_path)
    server = serving.Server(folder)
    try:
        assert server.poolcli("shape", "8x8", "-k", "2", env={"POOLCLI_SERVER": "auto"})
        assert server.facts()["served"] == 1
        off = server.poolcli("shape", "8x8", "-k", "2", env={"POOLCLI_SERVER": "off"})
        assert off.returncode == 0
        assert server.facts()["served"] == 1
    finally:
        server.stop()


def test_the_idle_timeout(tmp_path):
    server = serving.Server(serving.private_dir(tmp_path))
    started = server.poolcli("server", "start", "--idle-timeout", "1")
    assert started.returncode == 0, started.stderr.decode()
    assert server.wait_for(lambda: server.facts() is None, 60)
    assert "idle for 1 s" in Path(Place(str(server.folder)).log).read_text()


def modules_imported_by(statement: str) -> set[str]:
    """The modules a fresh interpreter imports to run ``statement``, beyond its start-up."""
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        f"{statement}\n"
        "print(sorted(set(sys.modules) - before))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=subprocess_env()
    )
    assert done.returncode == 0, done.stderr
    return set(ast.literal_eval(done.stdout))


def test_the_client_imports_the_standard_library_only():
    new = modules_imported_by(
        "import poolcli.client.call, poolcli.client.control, poolcli.__main__"
    )
    tops = {name.split(".")[0] for name in new}
    assert {name for name in tops if name not in sys.stdlib_module_names} == {"poolcli"}


def test_a_served_call_imports_no_python_module_of_the_standard_library():
    """The served path (``poolcli.__main__`` and the client's call) costs Python's start-up and
    little more: ``socket`` or ``signal`` would bring ``enum`` and ``selectors`` with them."""
    new = modules_imported_by("import poolcli.__main__, poolcli.client.call")
    light = {"__future__", "_signal", "_socket", "_struct", "struct"}
    assert {name for name in new if not name.startswith("poolcli")} <= light


def test_the_poolcli_script_imports_only_sys_before_the_client():
    """The installed command is poolcli/scripts/poolcli, not a generated entry point, whose
    template imports re (5 ms of each served call)."""
    script = Path(__file__).resolve().parents[2] / "poolcli" / "scripts" / "poolcli"
    tree = ast.parse(script.read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module)
    assert imported == {"sys", "poolcli.__main__"}
    assert script.read_text().startswith("#!python\n")  # pip points it at the environment's
