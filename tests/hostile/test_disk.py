"""A full disk leaves nothing behind and says so; the stale-file cleanup follows no link.

A write that fails (here: a file object that runs out of space partway, a real 64 KiB
tmpfs where the test may mount one, and /dev/full as standard output) removes its temporary
file, leaves an existing output as it was, and names the output: ``OUT: no space left on
device.``
"""

import errno
import io
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from conftest import subprocess_env

from poolcli import batch
from poolcli.errors import PoolError
from poolcli.io import atomic, clean_stale_temps, write_output
from poolcli.io.atomic import TEMP_MARK
from poolcli.model.steps import make_step

NOISE = np.random.default_rng(0).integers(0, 256, (256, 256, 3), dtype=np.uint8)


class FullRaw(io.FileIO):
    """A file on a disk that fills up after ``capacity`` bytes."""

    capacity = 1000

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.written = 0

    def write(self, data):
        if self.written + len(memoryview(data).cast("B")) > self.capacity:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        count = super().write(data)
        self.written += count
        return count


@pytest.fixture
def full_disk(monkeypatch):
    """Files poolcli writes fill the disk after 1000 bytes: writing fails, and so does the
    close() that flushes what was buffered (as on a real full disk)."""
    real = os.fdopen

    def fdopen(fd, mode="r", *args, **kwargs):
        if mode != "wb":
            return real(fd, mode, *args, **kwargs)
        return io.BufferedWriter(FullRaw(fd, "wb", closefd=True))

    monkeypatch.setattr(atomic.os, "fdopen", fdopen)


@pytest.mark.parametrize(
    ("name", "array"),
    [
        ("out.npy", np.zeros((100, 100))),
        ("out.png", NOISE),
        ("out16.png", NOISE.astype(np.uint16) * 257),  # written without Pillow
    ],
)
def test_a_full_disk_leaves_no_temporary_file(tmp_path, full_disk, name, array):
    out = tmp_path / name
    with pytest.raises(PoolError) as error:
        write_output(str(out), array)
    assert (error.value.path, error.value.message) == (str(out), "no space left on device.")
    assert os.listdir(tmp_path) == []


def test_a_full_disk_keeps_the_previous_output(tmp_path, full_disk):
    out = tmp_path / "out.npy"
    out.write_bytes(b"previous")
    with pytest.raises(PoolError):
        write_output(str(out), np.zeros((100, 100)))
    assert os.listdir(tmp_path) == ["out.npy"] and out.read_bytes() == b"previous"


def test_a_full_disk_in_a_batch_fails_those_files_only(tmp_path, full_disk, monkeypatch):
    src = tmp_path / "in"
    src.mkdir()
    np.save(src / "small.npy", np.zeros((4, 4)))
    np.save(src / "large.npy", np.zeros((100, 100)))
    out = tmp_path / "out"
    run = batch.iter_batch([str(src)], make_step("max", kernel_size=2), str(out), jobs=1)
    results = {os.path.basename(r.input): r for r in run}
    assert results["small.npy"].status == "done"
    assert results["large.npy"].error.endswith("large.npy: no space left on device.")
    assert os.listdir(out) == ["small.npy"]


@pytest.fixture
def small_tmpfs(tmp_path):
    """A real 64 KiB filesystem, mounted for the test (root only)."""
    folder = tmp_path / "small"
    folder.mkdir()
    if not sys.platform.startswith("linux") or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs Linux and mount(8)")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here: {done.stderr.strip()}")
    yield folder
    subprocess.run(["umount", str(folder)], check=True)


@pytest.mark.parametrize(
    ("name", "source"),
    [
        ("out.npy", np.random.default_rng(1).random((256, 256))),
        ("out.png", NOISE),
        ("out.tif", NOISE[..., 0].astype(np.float32)),  # Pillow writes to the descriptor
        ("out16.png", NOISE.astype(np.uint16) * 257),
    ],
)
def test_a_real_full_filesystem(run, tmp_path, small_tmpfs, name, source):
    np.save(tmp_path / "in.npy", source)
    out = small_tmpfs / name
    done = run("max", tmp_path / "in.npy", "-k", "1", "-o", out, code=1)
    assert done.stderr.decode() == f"poolcli: error: {out}: no space left on device.\n"
    assert os.listdir(small_tmpfs) == []  # the 64 KiB are free again


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full here")
def test_standard_output_on_a_full_device(tmp_path):
    source = tmp_path / "x.npy"
    np.save(source, np.zeros((512, 512)))
    with open("/dev/full", "wb") as full:
        done = subprocess.run(
            [sys.executable, "-m", "poolcli", "max", str(source), "-k", "1", "-o", "-"],
            stdout=full,
            stderr=subprocess.PIPE,
            env=subprocess_env(),
            timeout=120,
        )
    assert done.returncode == 1
    assert done.stderr.decode() == "poolcli: error: standard output: no space left on device.\n"


# ----------------------------------------------------------------------- stale temporary files


def stale(folder, name="a.png") -> str:
    """A temporary file left by a process that no longer runs."""
    dead = subprocess.Popen([sys.executable, "-c", ""])
    dead.wait()
    path = os.path.join(folder, f".{name}{TEMP_MARK}{dead.pid}-0badcafe.png")
    with open(path, "wb") as f:
        f.write(b"left behind")
    return path


@pytest.fixture
def outside_link(tmp_path):
    """``out/`` with ``out/sub`` a link to ``elsewhere/``, which holds a stale-looking file."""
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    (elsewhere / "deeper").mkdir(parents=True)
    out.mkdir()
    os.symlink(elsewhere, out / "sub")
    return out, [stale(elsewhere), stale(elsewhere / "deeper")]


def test_the_cleanup_never_follows_a_linked_folder(outside_link):
    out, victims = outside_link
    assert clean_stale_temps(str(out / "sub")) == []
    assert clean_stale_temps(str(out / "sub"), root=str(out)) == []
    assert clean_stale_temps(str(out / "sub" / "deeper"), root=str(out)) == []
    assert all(os.path.exists(v) for v in victims)


def test_the_cleanup_never_follows_a_linked_file(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    target = stale(elsewhere)
    out = tmp_path / "out"
    out.mkdir()
    os.symlink(target, out / os.path.basename(target))
    mine = stale(out, "b.png")
    assert clean_stale_temps(str(out), root=str(out)) == [os.path.basename(mine)]
    assert os.path.exists(target) and os.path.islink(out / os.path.basename(target))


def test_a_batch_never_cleans_outside_its_output_folder(tmp_path, outside_link):
    out, victims = outside_link
    src = tmp_path / "in" / "sub" / "deeper"
    src.mkdir(parents=True)
    np.save(src / "x.npy", np.zeros((4, 4)))
    steps = make_step("max", kernel_size=2)
    run = batch.iter_batch([str(tmp_path / "in")], steps, str(out), recursive=True)
    assert [r.status for r in run] == ["failed"]  # its output would leave through the link
    assert all(os.path.exists(v) for v in victims)


def test_a_single_file_run_removes_what_killed_runs_left(cli, seed_npy, workdir):
    # A run killed with -9 while it wrote out.npy leaves its temporary file; the next run
    # into that folder removes it, as a batch does. (No process has PID 2**22 + 1 here.)
    dead = workdir / f".out.npy{atomic.TEMP_MARK}{2**22 + 1}-0123abcd.npy"
    dead.write_bytes(b"partial")
    cli("max", seed_npy, "-k", "2", "-o", "out.npy", "-q")
    assert sorted(os.listdir(workdir)) == ["out.npy", seed_npy]
