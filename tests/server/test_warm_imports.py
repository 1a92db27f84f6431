"""The warm server imports everything a common command needs before it forks: a served
command that imported a module of its own would pay for it on every call (pyspng's import
alone took 4 ms of a 16x16 PNG's decode)."""

import subprocess
import sys

import pytest
from conftest import subprocess_env

pytestmark = pytest.mark.slow

#: Commands run in children forked from a warmed process, as the server runs them.
COMMANDS = [
    ["avg", "tiny.png", "-k", "2", "-o", "o.png"],
    ["max", "tiny.png", "-k", "2", "-o", "o.npy", "--json"],
    ["max", "seed.npy", "-k", "2"],
    ["median", "tiny.png", "-k", "3", "-s", "1", "-p", "same", "--viz", "v.png", "-q"],
    ["avg", "tiny.png", "-k", "2", "-o", "o.jpg", "--then", "max", "-k", "2"],
]

PROBE = """
import os, sys
import numpy as np
from PIL import Image
from poolcli.server.daemon import warm_up

Image.fromarray(np.arange(16 * 16 * 3, dtype=np.uint8).reshape(16, 16, 3)).save("tiny.png")
np.save("seed.npy", np.arange(1, 17).reshape(4, 4))
main = warm_up()
for argv in {commands!r}:
    pid = os.fork()
    if pid == 0:
        before = set(sys.modules)
        sys.argv = ["poolcli", *argv]
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
        try:
            main()
        except SystemExit:
            pass
        new = sorted(set(sys.modules) - before)
        os.write(3, (" ".join(argv) + ": " + repr(new) + "\\n").encode())
        os._exit(0)
    os.waitpid(pid, 0)
"""


def test_a_served_command_imports_nothing_new(tmp_path):
    code = f"import os; os.dup2(1, 3)\n{PROBE.format(commands=COMMANDS)}"
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=subprocess_env(),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == len(COMMANDS)
    assert [line for line in lines if not line.endswith(": []")] == []
