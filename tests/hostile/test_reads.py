"""Reading never crashes, hangs or reads without bound, whatever the input does.

Files cut short while being read, devices, named pipes with no writer, endless streams:
each fails its input with a message (exit status 1), promptly, and a batch goes on.
"""

import contextlib
import hashlib
import io
import os
import re
import struct
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest
from conftest import subprocess_env
from PIL import Image

from poolcli import batch
from poolcli.errors import PoolError
from poolcli.io import files, read_input
from poolcli.io import npy as npy_module
from poolcli.io import read as read_module
from poolcli.model.steps import make_step

MAX2 = make_step("max", kernel_size=2)
needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
needs_dev_zero = pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")


def save_npy(path, array) -> str:
    with open(path, "wb") as f:
        np.save(f, array)
    return str(path)


def digest(path) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def poolcli(*args, stdin=subprocess.DEVNULL, timeout=60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "poolcli", *map(str, args)],
        stdin=stdin,
        capture_output=True,
        text=True,
        env=subprocess_env(),
        timeout=timeout,
    )


# -------------------------------------------------------------------- files cut short mid-read


@pytest.fixture
def cut_short_while_read(monkeypatch):
    """``cut(path)``: reading ``path``'s data truncates the file to 100 bytes after the first
    chunk, as another program rewriting it with ``np.save`` would."""
    monkeypatch.setattr(files, "READ_CHUNK", 4096)
    real = npy_module.read_exactly
    victims = {}

    class Truncating:
        def __init__(self, f, path):
            self.f, self.path, self.calls = f, path, 0

        def readinto(self, view):
            self.calls += 1
            if self.calls == 2:
                os.truncate(self.path, 100)
            return self.f.readinto(view)

    def read_exactly(f, view):
        path = victims.get(os.fstat(f.fileno()).st_ino)
        return real(f if path is None else Truncating(f, path), view)

    monkeypatch.setattr(npy_module, "read_exactly", read_exactly)
    return lambda path: victims.update({os.stat(path).st_ino: path})


def test_a_npy_cut_short_while_read_fails_with_a_message(tmp_path, cut_short_while_read):
    path = save_npy(tmp_path / "big.npy", np.arange(10_000, dtype=np.float64))
    cut_short_while_read(path)
    with pytest.raises(PoolError) as error:
        read_input(path)
    assert re.fullmatch(
        r"was cut short while being read: its header promises 80000 bytes of data but only "
        r"\d+ could be read\. Did another program change it\?",
        error.value.message,
    )
    assert os.path.getsize(path) == 100


def test_a_batch_goes_on_past_a_file_cut_short(tmp_path, cut_short_while_read):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a", "b", "c"):
        save_npy(folder / f"{name}.npy", np.arange(10_000, dtype=np.float64).reshape(100, 100))
    cut_short_while_read(str(folder / "b.npy"))
    run = batch.iter_batch([str(folder)], MAX2, str(tmp_path / "out"), jobs=1)
    results = {os.path.basename(r.input): r for r in run}
    assert [results[n].status for n in ("a.npy", "b.npy", "c.npy")] == ["done", "failed", "done"]
    assert "b.npy: was cut short while being read" in results["b.npy"].error
    assert run.summary.exit_status == 1


def test_a_file_truncated_after_reading_cannot_crash_the_pooling(tmp_path):
    # With a memory map, touching the pages of a truncated file killed poolcli (SIGBUS).
    path = save_npy(tmp_path / "x.npy", np.ones((512, 1024), dtype=np.float64))
    script = textwrap.dedent(
        f"""
        import os
        from poolcli.io import read_input
        loaded = read_input({path!r})
        os.truncate({path!r}, 0)
        print(float(loaded.array.sum()))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout.strip()) == (0, str(512.0 * 1024)), done.stderr


# ------------------------------------------------------------------------------ special files


@needs_dev_zero
def test_a_device_is_refused_by_path_and_through_a_link(tmp_path):
    os.symlink("/dev/zero", tmp_path / "zeros.npy")
    for path in ("/dev/zero", str(tmp_path / "zeros.npy")):
        with pytest.raises(PoolError) as error:
            read_input(path)
        assert error.value.message == (
            "is a character device, not a regular file; "
            "poolcli reads files, pipes and standard input."
        )


@needs_dev_zero
def test_a_device_fails_the_call_at_once(tmp_path):
    os.symlink("/dev/zero", tmp_path / "zeros.npy")
    done = poolcli("max", tmp_path / "zeros.npy", "-k", "2", timeout=30)
    assert done.returncode == 1
    assert "zeros.npy: is a character device, not a regular file" in done.stderr


@needs_dev_zero
def test_a_files_from_entry_naming_a_device_fails_alone(tmp_path):
    good = save_npy(tmp_path / "good.npy", np.ones((4, 4)))
    listing = tmp_path / "list.txt"
    listing.write_text(f"/dev/zero\n{good}\n")
    out = tmp_path / "out"
    done = poolcli("max", "--files-from", listing, "-k", "2", "-o", out, "--format", "npy")
    assert done.returncode == 1
    assert "/dev/zero: is a character device" in done.stderr
    assert os.listdir(out) == ["good.npy"]


@needs_fifo
def test_a_named_pipe_with_no_writer_fails_promptly(tmp_path):
    fifo = tmp_path / "pipe.npy"
    os.mkfifo(fifo)
    with pytest.raises(PoolError) as error:
        read_input(str(fifo))
    assert error.value.message == (
        "is a named pipe that nobody writes to; start the program that writes to it first."
    )
    done = poolcli("max", fifo, "-k", "2", timeout=30)  # hung forever before
    assert done.returncode == 1
    assert "pipe.npy: is a named pipe that nobody writes to" in done.stderr


# ----------------------------------------------------------------------------- endless streams


class Counting(io.RawIOBase):
    """An endless stream of ``fill`` after ``prefix``, counting the bytes taken from it."""

    def __init__(self, prefix: bytes = b"", fill: bytes = b"\0"):
        self.prefix, self.fill, self.taken = prefix, fill, 0

    def readable(self):
        return True

    def readinto(self, buffer):
        view = memoryview(buffer).cast("B")
        data = self.prefix[self.taken : self.taken + len(view)]
        data += self.fill * (len(view) - len(data))
        view[: len(data)] = data
        self.taken += len(data)
        return len(data)


def npy_header(shape, descr="<f8") -> bytes:
    text = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape!r}, }}"
    text += " " * (-(len(text) + 11) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode()


def test_an_endless_stream_of_zeros_is_refused_after_its_first_bytes():
    stream = Counting()
    with pytest.raises(PoolError) as error:
        read_input("-", io.BufferedReader(stream))
    assert error.value.message == "is neither a .npy file nor an image poolcli can read."
    assert stream.taken <= 1 << 17


def test_a_npy_stream_is_read_no_further_than_its_header_promises():
    header = npy_header((4, 4))
    stream = Counting(prefix=header, fill=b"\x01")
    loaded = read_input("-", stream)
    assert loaded.array.shape == (4, 4)
    assert stream.taken == len(header) + 4 * 4 * 8


def test_an_image_stream_with_endless_garbage_stops_early():
    stream = Counting(prefix=b"\x89PNG\r\n\x1a\n", fill=b"\0")
    with pytest.raises(PoolError) as error:
        read_input("-", stream)
    assert error.value.message == "looks like a PNG image but is truncated or corrupt."
    assert stream.taken <= 1 << 17


def test_an_image_stream_stops_at_the_limit(monkeypatch):
    # A valid header, then compressed data that never ends: the limit stops the reading.
    pixels = np.random.default_rng(0).integers(0, 256, (256, 256, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", compress_level=0)
    monkeypatch.setattr(read_module, "stream_limit", lambda: 100_000)
    stream = Counting(prefix=buffer.getvalue()[:150_000], fill=b"\0")
    with pytest.raises(PoolError) as error:
        read_input("-", stream)
    assert error.value.message == (
        "goes on past 100000 bytes, more than its content can need; it was not read further."
    )
    assert stream.taken <= 100_001
    small = io.BytesIO()
    Image.fromarray(pixels[:64, :64]).save(small, format="PNG", compress_level=0)
    assert read_input("-", io.BytesIO(small.getvalue())).array.shape == (64, 64, 3)


@needs_dev_zero
def test_a_gigabyte_of_zeros_on_stdin_is_refused_after_reading_little():
    written = 0

    def feed(stdin):
        nonlocal written
        chunk = bytes(1 << 16)
        with contextlib.suppress(BrokenPipeError):
            while written < 1 << 30:
                stdin.write(chunk)
                written += len(chunk)
            stdin.close()

    command = [sys.executable, "-m", "poolcli", "max", "-", "-k", "2"]
    pipes = {"stdin": subprocess.PIPE, "stderr": subprocess.PIPE}
    with subprocess.Popen(command, env=subprocess_env(), **pipes) as process:
        feeder = threading.Thread(target=feed, args=(process.stdin,))
        feeder.start()
        killer = threading.Timer(60, process.kill)  # a hang fails the test, never blocks it
        killer.start()
        stderr = process.stderr.read()
        process.wait()
        killer.cancel()
        feeder.join()
    assert process.returncode == 1
    assert b"<stdin>: is neither a .npy file nor an image" in stderr
    # What poolcli read, plus what the pipe and its buffers held when it stopped.
    assert written < 8 << 20


def test_inputs_are_left_as_they_were(tmp_path):
    path = save_npy(tmp_path / "x.npy", np.arange(16.0).reshape(4, 4))
    before = digest(path)
    read_input(path).array[:] = -1
    assert digest(path) == before
