"""The engine (torch, over a second to import) loads only when a batch has something to pool:
a rerun whose only file left is corrupt reads it, fails it, and never imports torch."""

import subprocess
import sys

import numpy as np
import pytest
from conftest import subprocess_env
from PIL import Image

from poolcli import batch
from poolcli.engine import chain
from poolcli.model.steps import make_step

MAX2 = make_step("max", kernel_size=2)

PROBE = """
import multiprocessing.forkserver, sys
from typer.testing import CliRunner
from poolcli.cli import app

result = CliRunner().invoke(app, sys.argv[1:])
server = multiprocessing.forkserver._forkserver._forkserver_pid
print(result.exit_code, "torch" in sys.modules, server is not None)
"""


@pytest.fixture
def rerun(tmp_path):
    """A folder whose good file was pooled by an earlier run; only a corrupt file is left."""
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(src / "good.png")
    (src / "corrupt.png").write_bytes((src / "good.png").read_bytes()[:40])
    out = tmp_path / "out"
    out.mkdir()
    (out / "good.png").write_bytes(b"an earlier run's output")
    return src, out


def probe(*args: str) -> tuple[int, bool, bool]:
    """A command run in a fresh interpreter: exit status, torch imported, forkserver running."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    code, torch, server = done.stdout.split()
    return int(code), torch == "True", server == "True"


def test_a_rerun_with_only_a_corrupt_file_left_never_imports_torch(rerun):
    src, out = rerun
    # Several jobs start the forkserver early; a run with one file to do stops it.
    assert probe("max", str(src), "-k", "2", "-o", f"{out}/", "-q") == (1, False, False)
    assert probe("max", str(src), "-k", "2", "-o", f"{out}/", "-q", "-j", "1") == (1, False, False)


def test_the_probe_sees_torch_when_a_file_is_pooled(rerun):
    src, out = rerun
    (out / "good.png").unlink()
    code, torch, _ = probe("max", str(src), "-k", "2", "-o", f"{out}/", "-q", "-j", "1")
    assert (code, torch) == (1, True)


def test_a_serial_run_pools_with_its_threads_and_gives_torch_back_its_own(rerun, monkeypatch):
    import torch

    src, out = rerun
    (out / "good.png").unlink()
    seen = []
    real = chain.run_chain

    def spy(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return real(*args, **kwargs)

    monkeypatch.setattr(chain, "run_chain", spy)
    before = torch.get_num_threads()
    torch.set_num_threads(3)
    try:
        results = list(batch.iter_batch([str(src)], MAX2, str(out), jobs=1, torch_threads=2))
        assert torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(before)
    assert [r.status for r in results] == ["failed", "done"]
    assert seen == [2]
