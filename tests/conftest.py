"""Fixtures shared by the tests: tiny arrays and images written to ``tmp_path``, and runners
for the command line (in-process through Typer's CliRunner, and as a real subprocess)."""

import os
import subprocess
import sys

import numpy as np
import pytest

# No test uses a warm server by accident: one running for this installation would serve every
# poolcli subprocess. The server's own tests turn it on for the processes they start.
os.environ["POOLCLI_SERVER"] = "off"

#: The 4x4 matrix of the tutorials' worked examples.
SEED = np.array([[1, 3, 2, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]])


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """``tmp_path``, made the current directory: file fixtures give short relative names, so
    reports and messages show them whole."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def npy(workdir):
    """``npy(array, name="x.npy") -> str``: save ``array`` in ``workdir``; returns its name."""

    def write(array, name: str = "x.npy") -> str:
        with open(workdir / name, "wb") as f:  # np.save(path) would append .npy to any name
            np.save(f, np.asarray(array))
        return name

    return write


@pytest.fixture
def seed_npy(npy) -> str:
    """The 4x4 seed matrix (int64) as ``seed.npy``."""
    return npy(SEED, "seed.npy")


@pytest.fixture
def image(workdir):
    """``image(array, name="x.png") -> str``: write an image with Pillow in ``workdir`` (mode
    from the dtype and shape: uint8 HW -> L, HWx3 -> RGB, HWx4 -> RGBA); returns its name."""
    from PIL import Image

    def write(array, name: str = "x.png") -> str:
        Image.fromarray(np.asarray(array)).save(workdir / name)
        return name

    return write


@pytest.fixture
def rgba_png(image) -> str:
    """A 4x4 RGBA image: red, opaque on the left half, fully transparent on the right half."""
    pixels = np.zeros((4, 4, 4), np.uint8)
    pixels[:, :2] = (255, 0, 0, 255)
    pixels[:, 2:] = (0, 0, 255, 0)
    return image(pixels, "rgba.png")


def _check_clean(text: str, bug: bool = False) -> None:
    """No traceback, and no message owning up to a bug unless ``bug`` (a test that asks)."""
    assert "Traceback" not in text, text
    assert bug or "This is a bug in poolcli" not in text, text


@pytest.fixture
def cli():
    """``cli(*args, code=0, input=None, env=None) -> Result`` through Typer's CliRunner.

    Fails showing stdout and stderr when the exit status is not ``code``, and whenever a
    traceback or a bug message was printed (``bug=True`` expects the bug message).
    """
    from typer.testing import CliRunner

    from poolcli.cli import app

    def invoke(*args, code: int = 0, input=None, env=None, bug: bool = False):
        # The terminal settings of whoever runs the tests must not change what poolcli prints.
        clean = {name: None for name in TERMINAL_SETTINGS}
        result = CliRunner().invoke(
            app, [str(a) for a in args], input=input, env={**clean, **(env or {})}
        )
        if result.exit_code != code:
            raise AssertionError(
                f"poolcli {' '.join(map(str, args))}: exit status {result.exit_code}, "
                f"expected {code}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}\n"
                f"--- exception\n{result.exception!r}"
            )
        _check_clean(result.stderr, bug)
        _check_clean(result.stdout, bug)
        return result

    return invoke


#: Environment variables that change how rich and Click print (width, colour, terminal).
TERMINAL_SETTINGS = (
    "COLUMNS",
    "LINES",
    "NO_COLOR",
    "FORCE_COLOR",
    "CLICOLOR",
    "CLICOLOR_FORCE",
    "TTY_COMPATIBLE",
    "TTY_INTERACTIVE",
    "TERM",
)


def subprocess_env(**extra: str) -> dict:
    """The environment for a poolcli subprocess: this one, without colour or width settings."""
    env = {k: v for k, v in os.environ.items() if k not in TERMINAL_SETTINGS}
    env["PYTHONIOENCODING"] = "utf-8"
    env.update(extra)
    return env


@pytest.fixture
def run():
    """``run(*args, code=0, input=b"", env=None, **popen) -> CompletedProcess`` of
    ``python -m poolcli ARGS``, in a real subprocess with piped (bytes) stdout and stderr.

    Fails showing stderr when the exit status is not ``code``, and on any traceback.
    """

    def call(*args, code: int = 0, input: bytes = b"", env=None, **popen):
        process = subprocess.run(
            [sys.executable, "-m", "poolcli", *map(str, args)],
            input=input,
            capture_output=True,
            env=env or subprocess_env(),
            timeout=120,
            **popen,
        )
        stderr = process.stderr.decode("utf-8", "replace")
        if process.returncode != code:
            raise AssertionError(
                f"poolcli {' '.join(map(str, args))}: exit status {process.returncode}, "
                f"expected {code}\n--- stderr\n{stderr}"
            )
        _check_clean(stderr)
        return process

    return call


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    """The tests pool tiny arrays: waking torch's thread pool costs more than the work
    (milliseconds per call on a busy machine), so torch runs on one thread here."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def devices_under_test() -> list[str]:
    """The devices the engine tests run on: the CPU, every GPU torch sees, and the device
    ``POOLCLI_TEST_DEVICE`` names (``cuda``, ``cuda:1``, ``mps``)."""
    import torch

    found = ["cpu"]
    if torch.cuda.is_available():
        found.append("cuda")
    if torch.backends.mps.is_available():
        found.append("mps")
    asked = os.environ.get("POOLCLI_TEST_DEVICE")
    if asked and asked not in found:
        found.append(asked)
    return found


def pytest_configure(config):
    """A device asked for with POOLCLI_TEST_DEVICE that is not there fails the whole run at
    once: a GPU check that silently ran on the CPU would prove nothing."""
    asked = os.environ.get("POOLCLI_TEST_DEVICE")
    if not asked or asked == "cpu":
        return
    import torch

    try:
        torch.empty(1, device=asked)
    except (RuntimeError, AssertionError) as error:
        raise pytest.UsageError(
            f"POOLCLI_TEST_DEVICE={asked}, but torch cannot use that device here ({error})."
        ) from None


#: Test modules that are about real processes: signals, subprocess pipelines, import costs.
SLOW_MODULES = ("test_imports.py", "test_signals.py", "test_processes.py")


def pytest_collection_modifyitems(config, items):
    """Mark as slow every test that starts a real poolcli process (the ``run`` fixture) or
    lives in a module about processes, so that ``make test-quick`` can leave them out."""
    for item in items:
        if "run" in getattr(item, "fixturenames", ()) or item.path.name in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
