"""Import hygiene: help, --version and usage errors never import torch (nor Pillow).

Each case runs in a fresh interpreter, so that what other tests imported does not count
(as scikit-image's test_no_eager_skimage_import does).
"""

import subprocess
import sys

import pytest
from conftest import subprocess_env

PROBE = """
import sys
from typer.testing import CliRunner
from poolcli.cli import app

result = CliRunner().invoke(app, sys.argv[1:])
heavy = sorted(m for m in ("torch", "PIL", "numpy") if m in sys.modules)
print(result.exit_code, " ".join(heavy) or "-")
"""

HEAVY_CASES = {
    "main help": ["--help"],
    "version": ["--version"],
    "max help": ["max", "--help"],
    "lp help": ["lp", "--help"],
    "stochastic help": ["stochastic", "--help"],
    "shape help": ["shape", "--help"],
    "explain help": ["explain", "--help"],
    "no window": ["max", "x.npy"],
    "zero kernel": ["max", "x.npy", "-k", "0"],
    "bad kernel": ["avg", "x.npy", "-k", "3y2"],
    "two windowings": ["min", "x.npy", "-k", "2", "--global"],
    "repeated layout letter": ["median", "x.npy", "-k", "2", "--layout", "HHW"],
    "ceil with same": ["mode", "x.npy", "-k", "3", "-p", "same", "--ceil"],
    "bad norm type": ["lp", "x.npy", "-k", "2", "--norm-type", "-1"],
    "bad device name": ["sum", "x.npy", "-k", "2", "--device", "tpu"],
    "unknown option": ["max", "x.npy", "--frobnicate"],
    "stdin twice": ["max", "-", "-", "-k", "2"],
}


def probe(args: list[str]) -> tuple[int, set[str]]:
    process = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        timeout=120,
    )
    assert process.returncode == 0, process.stderr
    code, *modules = process.stdout.split()
    return int(code), set(modules) - {"-"}


@pytest.mark.parametrize("case", list(HEAVY_CASES))
def test_no_heavy_imports(case):
    args = HEAVY_CASES[case]
    code, modules = probe(args)
    assert code == (0 if "--help" in args or "--version" in args else 2)
    assert "torch" not in modules
    assert "PIL" not in modules


@pytest.mark.parametrize("args", [["--help"], ["max", "--help"], ["--version"]])
def test_help_and_version_import_no_numpy(args):
    assert probe(args) == (0, set())


def test_a_real_run_does_import_torch(tmp_path):
    # The probe itself works: a real pooling run loads the engine.
    import numpy as np

    np.save(tmp_path / "x.npy", np.ones((2, 2)))
    code, modules = probe(["max", str(tmp_path / "x.npy"), "-k", "2"])
    assert code == 0
    assert "torch" in modules


def test_python_dash_m_poolcli():
    process = subprocess.run(
        [sys.executable, "-m", "poolcli", "--help"],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        timeout=120,
    )
    assert process.returncode == 0, process.stderr
    assert "Usage: poolcli [OPTIONS] COMMAND [ARGS]..." in process.stdout
    assert process.stderr == ""


def test_cpu_batch_leaves_torch_to_its_workers(tmp_path):
    # A batch on the CPU pools in worker processes; `auto` must not import torch here just to
    # learn there is no GPU (over a second, paid again by the workers).
    import numpy as np

    from poolcli.engine import devices

    for name in ("a", "b"):
        np.save(tmp_path / f"{name}.npy", np.ones((4, 4)))
    args = ["max", str(tmp_path / "a.npy"), str(tmp_path / "b.npy"), "-k", "2"]
    code, modules = probe([*args, "-o", f"{tmp_path / 'out'}/", "-j", "2", "-q"])
    assert code == 0
    assert (tmp_path / "out" / "a.npy").exists()
    assert ("torch" in modules) == devices.gpu_possible()
