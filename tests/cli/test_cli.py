"""The command line, end to end: exit statuses, messages, piping, files, report and JSON.

Most tests go through Typer's CliRunner (fast, in-process); those about real streams, signals
and terminals run ``python -m poolcli`` as a subprocess. Fixtures are in conftest.py.
"""

import errno
import fcntl
import json
import os
import pickle
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import SEED, subprocess_env

from poolcli import __version__

REDUCTIONS = ["max", "avg", "min", "sum", "lp", "median", "stochastic", "mode"]


def usage(command: str, message: str) -> str:
    """The whole standard error of a usage error (exit status 2)."""
    return f"poolcli: error: {message}\nTry 'poolcli {command} --help' for its options.\n"


def load_json(text: str):
    """Strict JSON: NaN and Infinity literals (not valid JSON) are refused."""

    def refuse(name):
        raise ValueError(f"invalid JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


def values(cli, *args):
    """The output values of ``poolcli ARGS --json`` for the first input."""
    document = load_json(cli(*args, "--json").stdout)
    return document["files"][0]["values"]


# --------------------------------------------------------------------------------------------
# Exit status 0 and what a successful run prints


def test_report_of_the_seed_example(cli, seed_npy):
    result = cli("avg", seed_npy, "-k", "2")
    out = result.stdout
    assert result.stderr == ""
    assert seed_npy in out
    assert "HW (guessed: 2-D array; set --layout)" in out
    assert "4×4 → 2×2" in out
    assert "int64 → float32" in out
    assert "out H = floor((4 + 0 + 0 − 2) / 2) + 1 = 2" in out
    assert "out W = floor((4 + 0 + 0 − 2) / 2) + 1 = 2" in out
    assert "   3.75   5.25\n  11.5   13.5\n" in out


@pytest.mark.parametrize(
    ("reduction", "extra", "expected"),
    [
        ("max", [], [[6, 8], [14, 16]]),
        ("avg", [], [[3.75, 5.25], [11.5, 13.5]]),
        ("min", [], [[1, 2], [9, 11]]),
        ("sum", [], [[15, 21], [46, 54]]),
        ("lp", ["--norm-type", "1"], [[15, 21], [46, 54]]),
        ("median", [], [[3, 4], [10, 12]]),  # lower median of 4 values
        ("mode", [], [[1, 2], [9, 11]]),  # all counts tie: the smallest
        ("stochastic", ["--expectation"], [[71 / 15, 133 / 21], [546 / 46, 746 / 54]]),
    ],
)
def test_every_reduction_on_the_seed_example(cli, seed_npy, reduction, extra, expected):
    got = values(cli, reduction, seed_npy, "-k", "2", *extra)
    assert np.allclose(got, expected, rtol=1e-6), got


def test_dtypes_in_the_json_document(cli, seed_npy):
    for reduction, dtype in [("max", "int64"), ("avg", "float32"), ("sum", "int64")]:
        document = load_json(cli(reduction, seed_npy, "-k", "2", "--json").stdout)
        assert document["files"][0]["output_dtype"] == dtype
    document = load_json(cli("avg", seed_npy, "-k", "2", "--dtype", "float64", "--json").stdout)
    assert document["files"][0]["output_dtype"] == "float64"


def test_window_options_that_are_not_given_stay_unset(cli, seed_npy):
    # --global and --output-size refuse a stride, padding or dilation: these must not have
    # been filled in with defaults on the way to WindowSpec.make.
    assert values(cli, "max", seed_npy, "--global") == [[16]]
    assert values(cli, "max", seed_npy, "--output-size", "2") == [[6, 8], [14, 16]]
    assert values(cli, "max", seed_npy, "-k", "2", "-s", "1")[0] == [6, 7, 8]


def test_count_include_pad(cli, seed_npy):
    excluded = values(cli, "avg", seed_npy, "-k", "2", "-p", "1")
    included = values(cli, "avg", seed_npy, "-k", "2", "-p", "1", "--count-include-pad")
    assert excluded[0][0] == 1 and included[0][0] == 0.25
    assert excluded[1][1] == included[1][1] == 8.5


def test_stochastic_seed_is_reproducible(cli, npy):
    path = npy(np.arange(1, 65, dtype=np.float32).reshape(8, 8))
    first = values(cli, "stochastic", path, "-k", "2", "--seed", "7")
    again = values(cli, "stochastic", path, "-k", "2", "--seed", "7")
    assert first == again
    windows = np.arange(1, 65).reshape(4, 2, 4, 2).transpose(0, 2, 1, 3).reshape(4, 4, 4)
    for row, window in zip(np.array(first).reshape(-1), windows.reshape(16, 4), strict=True):
        assert row in window  # a sample is one of the window's cells


def test_version(cli):
    assert cli("--version").stdout == f"poolcli {__version__}\n"


def test_json_document(cli, seed_npy):
    result = cli("avg", seed_npy, "-k", "2", "--json")
    document = load_json(result.stdout)
    assert result.stderr == ""
    (step,) = document["steps"]
    assert step["reduction"] == "avg"
    assert step["window"]["kernel_size"] == [2]
    assert step["window"]["count_include_pad"] is False
    entry = document["files"][0]
    assert entry["input"] == seed_npy and entry["status"] == "done"
    assert entry["layout"] == "HW" and entry["layout_guessed"] is True
    assert (entry["input_shape"], entry["input_dtype"]) == ([4, 4], "int64")
    assert entry["input_stats"] == {"min": 1, "max": 16, "mean": 8.5, "nan": 0, "nonfinite": {}}
    assert entry["output_shape"] == [2, 2]
    assert entry["values"] == [[3.75, 5.25], [11.5, 13.5]]
    assert entry["window"]["axes"][0]["formula"] == "floor((4 + 0 + 0 − 2) / 2) + 1 = 2"


def test_json_document_of_a_chain_lists_every_step(cli, seed_npy):
    result = cli("max", seed_npy, "-k", "2", "-s", "1", "--then", "avg", "-k", "2", "--json")
    document = load_json(result.stdout)
    assert [step["reduction"] for step in document["steps"]] == ["max", "avg"]
    assert [step["window"]["stride"] for step in document["steps"]] == [[1], [2]]
    entry = document["files"][0]
    # The file's input, not the last step's: max 2x2 s1 of 1..16 is 3x3, whose avg 2x2 is 8.5.
    assert entry["input_shape"] == [4, 4] and entry["input_stats"]["min"] == 1
    assert (entry["output_shape"], entry["values"]) == ([1, 1], [[8.5]])


def test_json_writes_nan_and_infinity_as_null_and_says_which(cli, npy):
    path = npy(np.array([[np.nan, 1.0], [np.inf, -np.inf]], np.float32))
    entry = load_json(cli("max", path, "-k", "1", "--json").stdout)["files"][0]
    assert entry["values"] == [[None, 1.0], [None, None]]
    assert entry["nonfinite"] == {"values": {"nan": [[0, 0]], "inf": [[1, 0]], "-inf": [[1, 1]]}}
    assert entry["input_stats"]["nan"] == 1


def test_json_leaves_out_the_values_of_large_outputs(cli, npy):
    path = npy(np.zeros((40, 40), np.uint8))
    document = load_json(cli("max", path, "-k", "2", "--json").stdout)
    assert document["files"][0]["values"] is None  # 400 values > 256
    assert document["files"][0]["output_shape"] == [20, 20]


def test_images_report_their_source_and_channels(cli, rgba_png):
    out = cli("max", rgba_png, "-k", "2").stdout
    assert "PNG, 8-bit RGBA" in out
    assert "HWC" in out and "guessed" not in out
    for channel in "RGBA":
        assert f"output · channel {channel}" in out


def test_rgba_averaging_weights_colour_by_alpha(cli, rgba_png):
    # Each 2x2 window at the left is opaque red, at the right transparent blue.
    premultiplied = values(cli, "avg", rgba_png, "-k", "4")
    straight = values(cli, "avg", rgba_png, "-k", "4", "--straight-alpha")
    assert premultiplied == [[[255, 0, 0, 127.5]]]
    assert straight == [[[127.5, 0, 127.5, 127.5]]]


def test_paths_are_printed_as_they_are(cli, npy):
    path = npy(SEED, "[red]x:smile:.npy")
    out = cli("max", path, "-k", "2").stdout
    assert "[red]x:smile:.npy" in out
    missing = path.replace(".npy", "-missing.npy")
    result = cli("max", missing, "-k", "2", code=1)
    assert result.stderr == f"poolcli: error: {missing}: No such file.\n"


# --------------------------------------------------------------------------------------------
# The report's width, colours and layout


@pytest.mark.parametrize("columns", [60, 120])
@pytest.mark.parametrize(
    "shape", [(4, 4), (3, 40, 50), (2, 3, 16, 16), (8, 8, 8)], ids=["small", "chw", "nchw", "dhw"]
)
def test_report_fits_the_width(cli, npy, columns, shape):
    array = np.random.default_rng(0).random(shape).astype(np.float32) * 1000
    path = npy(array)
    layout = {2: "HW", 3: "CHW", 4: "NCHW"}[len(shape)] if shape != (8, 8, 8) else "DHW"
    out = cli("avg", path, "-k", "2", "-s", "1", "--layout", layout, env={"COLUMNS": str(columns)})
    lines = out.stdout.splitlines()
    assert max(map(len, lines)) <= columns, out.stdout
    assert any(line.startswith("out H = floor((") for line in lines)
    assert "output" in out.stdout


def test_report_at_60_columns_keeps_every_fact(cli, seed_npy):
    out = cli(
        "max",
        seed_npy,
        "-k",
        "3",
        "-s",
        "1",
        "-p",
        "0:1",
        "-d",
        "1",
        "--ceil",
        env={"COLUMNS": "60"},
    ).stdout
    for text in ("4×4 → 3×3", "int64 → int64", "0:1", "ceil(", "= 3"):
        assert text in out, out


def test_large_output_shows_a_corner(cli, npy):
    path = npy(np.arange(64 * 64).reshape(64, 64))
    out = cli("max", path, "-k", "2", env={"COLUMNS": "120"}).stdout
    assert "output, top-left corner" in out
    assert "too large to show in full" in out
    # The first row of the 32x32 output holds the odd numbers from 65.
    assert re.search(r"^ +65 +67 +69 +71 ", out, re.M), out
    assert "…" in out


def test_piped_output_has_no_escape_codes(run, seed_npy):
    process = run("max", seed_npy, "-k", "2")
    assert b"\x1b" not in process.stdout
    assert process.stdout.decode().count("╭") == 1


def _read_pty(fd: int, process: subprocess.Popen) -> bytes:
    """Everything written to the terminal until the process exits."""
    chunks = []
    while True:
        ready, _, _ = select.select([fd], [], [], 30)
        if not ready:
            break
        try:
            chunk = os.read(fd, 65536)
        except OSError as error:  # EIO: the other end is closed
            if error.errno != errno.EIO:
                raise
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=60)
    return b"".join(chunks)


def run_on_terminal(args, stdin=None, **env):
    """Run ``python -m poolcli ARGS`` with standard output on a pseudo-terminal."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-m", "poolcli", *args],
        stdin=stdin if stdin is not None else subprocess.DEVNULL,
        stdout=follower,
        stderr=subprocess.PIPE,
        env=subprocess_env(TERM="xterm-256color", **env),
    )
    os.close(follower)
    with process:
        try:
            shown = _read_pty(leader, process)
        finally:
            os.close(leader)
        stderr = process.stderr.read().decode()
    return process.returncode, shown, stderr


COLOUR = re.compile(rb"\x1b\[([0-9;]*)m")


def _colours(data: bytes) -> set[str]:
    """The colour codes (not bold or dim) among the SGR escape sequences in ``data``."""
    found = set()
    for params in COLOUR.findall(data):
        for code in params.decode().split(";"):
            if code and (30 <= int(code) <= 49 or 90 <= int(code) <= 107):
                found.add(code)
    return found


def test_no_color_is_honoured_on_a_terminal(seed_npy):
    status, coloured, _ = run_on_terminal(["max", seed_npy, "-k", "2"])
    assert status == 0
    assert _colours(coloured), "expected colour on a terminal"
    status, plain, _ = run_on_terminal(["max", seed_npy, "-k", "2"], NO_COLOR="1")
    assert status == 0
    assert b"6   8" in plain.replace(b"\r", b"")
    assert not _colours(plain)


# --------------------------------------------------------------------------------------------
# Standard input and output


def test_stdin_to_stdout(cli, seed_npy):
    data = Path(seed_npy).read_bytes()
    result = cli("max", "-", "-k", "2", "-o", "-", input=data)
    import io

    assert np.array_equal(np.load(io.BytesIO(result.stdout_bytes)), [[6, 8], [14, 16]])
    assert result.stderr == (
        "poolcli: wrote standard output: max of <stdin>, 4×4 int64 → 2×2 int64, "
        "layout HW (guessed)\n"
    )


def test_stdin_image_is_detected_by_content(cli, rgba_png):
    result = cli("max", "-", "-k", "2", input=Path(rgba_png).read_bytes())
    assert "<stdin>" in result.stdout and "PNG, 8-bit RGBA" in result.stdout


def test_quiet_prints_nothing(cli, seed_npy):
    data = Path(seed_npy).read_bytes()
    result = cli("max", "-", "-k", "2", "-o", "-", "-q", input=data)
    assert result.stderr == ""


def test_shell_pipeline(tmp_path, seed_npy):
    reader = (
        "import io, sys, numpy as np; print(np.load(io.BytesIO(sys.stdin.buffer.read())).tolist())"
    )
    with (
        open(seed_npy, "rb") as source,
        subprocess.Popen(
            [sys.executable, "-m", "poolcli", "max", "-", "-k", "2", "-o", "-"],
            stdin=source,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=subprocess_env(),
        ) as pool,
    ):
        load = subprocess.run(
            [sys.executable, "-c", reader], stdin=pool.stdout, capture_output=True, timeout=120
        )
        stderr = pool.stderr.read().decode()
        assert pool.wait(timeout=120) == 0, stderr
    assert load.returncode == 0, load.stderr.decode()
    assert load.stdout == b"[[6, 8], [14, 16]]\n"
    assert "Traceback" not in stderr


@pytest.mark.parametrize("output", ["npy", "reports"])
def test_a_closed_pipe_ends_the_run_quietly(npy, output):
    # | head: the reader goes away; poolcli stops with status 1 and no message or traceback.
    if output == "npy":
        path = npy(np.random.default_rng(0).random((300, 300)))  # 720 kB of .npy output
        args = [path, "-k", "1", "-o", "-"]
    else:
        args = [npy(SEED)] * 80 + ["-k", "2"]  # 80 reports, more than a pipe holds
    with subprocess.Popen(
        [sys.executable, "-m", "poolcli", "max", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=subprocess_env(),
    ) as process:
        assert len(process.stdout.read(10)) == 10
        process.stdout.close()
        stderr = process.stderr.read()
        status = process.wait(timeout=120)
    assert stderr == b""
    assert status == 1


def test_output_to_a_terminal_is_refused(seed_npy):
    status, shown, stderr = run_on_terminal(["max", seed_npy, "-k", "2", "-o", "-"])
    assert status == 2
    assert shown == b""
    assert stderr == usage(
        "max",
        "-o - writes binary .npy data to standard output, which is a terminal here. "
        "Redirect it (> out.npy, or | another command) or use -o FILE.npy.",
    )


def test_stdin_from_a_terminal_is_refused(seed_npy):
    leader, follower = pty.openpty()
    try:
        process = subprocess.run(
            [sys.executable, "-m", "poolcli", "max", "-", "-k", "2"],
            stdin=follower,
            capture_output=True,
            env=subprocess_env(),
            timeout=120,
        )
    finally:
        os.close(follower)
        os.close(leader)
    assert process.returncode == 2
    assert process.stderr.decode() == usage(
        "max",
        "- reads standard input, which is a terminal here: pipe or redirect a file into "
        "poolcli (poolcli max - -k 2 < x.npy).",
    )


def test_stdin_only_once(cli, seed_npy):
    result = cli("max", "-", "-", "-k", "2", code=2, input=b"")
    assert result.stderr == usage("max", "- (standard input) can be given only once.")


# --------------------------------------------------------------------------------------------
# Files


def _leftovers(folder) -> list[str]:
    from poolcli.io import TEMP_MARK

    return sorted(name for name in os.listdir(folder) if TEMP_MARK in name)


def test_write_npy(cli, seed_npy, tmp_path):
    out = tmp_path / "out.npy"
    result = cli("max", seed_npy, "-k", "2", "-o", out)
    assert np.array_equal(np.load(out), [[6, 8], [14, 16]])
    assert np.load(out).dtype == np.int64
    assert result.stdout == ""
    assert result.stderr == (
        f"poolcli: wrote {out}: max of {seed_npy}, 4×4 int64 → 2×2 int64, layout HW (guessed)\n"
    )
    assert _leftovers(tmp_path) == []


def test_write_image_clips_with_a_warning(cli, image, tmp_path):
    path = image(np.full((4, 4), 200, np.uint8))
    out = tmp_path / "sum.png"
    result = cli("sum", path, "-k", "2", "-o", out, "-q")
    assert result.stderr == (
        f"poolcli: warning: {out}: 4 of 4 values were outside 0..255 and were clipped.\n"
    )
    from PIL import Image

    assert np.array_equal(np.asarray(Image.open(out)), np.full((2, 2), 255))


def test_failed_write_leaves_nothing_behind(cli, seed_npy, tmp_path, monkeypatch):
    out = tmp_path / "out.npy"
    out.write_bytes(b"previous content")

    def full_disk(f, array, **kwargs):
        f.write(b"\x93NUMPY partial")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(np.lib.format, "write_array", full_disk)
    result = cli("max", seed_npy, "-k", "2", "-o", out, code=1)
    assert result.stderr == f"poolcli: error: {out}: no space left on device.\n"
    assert out.read_bytes() == b"previous content"
    assert _leftovers(tmp_path) == []


def test_missing_output_folder(cli, seed_npy, tmp_path):
    out = tmp_path / "no" / "such" / "out.npy"
    result = cli("max", seed_npy, "-k", "2", "-o", out, code=1)
    assert result.stderr == (
        f"poolcli: error: {out}: cannot be written: the folder {out.parent} does not exist.\n"
    )


@pytest.mark.parametrize("spelling", ["same", "dot", "link"])
def test_input_is_never_overwritten(cli, seed_npy, tmp_path, monkeypatch, spelling):
    before = Path(seed_npy).read_bytes()
    monkeypatch.chdir(tmp_path)
    target = {"same": seed_npy, "dot": "./seed.npy", "link": "hard.npy"}[spelling]
    if spelling == "link":
        os.link(seed_npy, tmp_path / "hard.npy")
    result = cli("max", seed_npy, "-k", "2", "-o", target, code=2)
    assert result.stderr == usage(
        "max",
        f"-o {target} is the input file; poolcli never overwrites its input. Choose another name.",
    )
    assert Path(seed_npy).read_bytes() == before


def test_output_needs_a_known_suffix(cli, seed_npy, tmp_path):
    result = cli("max", seed_npy, "-k", "2", "-o", tmp_path / "out.xyz", code=2)
    assert result.stderr == usage(
        "max",
        f"-o {tmp_path / 'out.xyz'} has the unknown suffix .xyz; use one of .npy, .png, .tif, "
        ".tiff, .jpg, .jpeg, .bmp, .webp, .gif.",
    )


def test_output_takes_one_input(cli, seed_npy, tmp_path):
    result = cli("max", seed_npy, seed_npy, "-k", "2", "-o", tmp_path / "o.npy", code=2)
    assert result.stderr == usage(
        "max",
        f"-o {tmp_path / 'o.npy'} takes one input, but 2 were given. Give one input, or leave "
        "out -o to print a report for each.",
    )


def test_json_and_stdout_output_conflict(cli, seed_npy):
    result = cli("max", seed_npy, "-k", "2", "-o", "-", "--json", code=2)
    message = "--json and -o - both write to standard output: choose one."
    assert result.stderr == usage("max", message)


# --------------------------------------------------------------------------------------------
# Exit status 1: an input failed, the others were still done


def test_one_bad_input_among_good_ones(cli, seed_npy, npy, tmp_path):
    other = npy(SEED * 2, "other.npy")
    missing = str(tmp_path / "missing.npy")
    result = cli("max", seed_npy, missing, other, "-k", "2", code=1)
    assert result.stderr == f"poolcli: error: {missing}: No such file.\n"
    assert result.stdout.count("╭") == 2  # both good inputs reported
    assert seed_npy in result.stdout and other in result.stdout
    assert "  28  32" in result.stdout  # other's values: the seed's maxima times two


def test_one_bad_input_in_the_json_document(cli, seed_npy, tmp_path):
    missing = str(tmp_path / "missing.npy")
    result = cli("max", seed_npy, missing, "-k", "2", "--json", code=1)
    entries = load_json(result.stdout)["files"]
    assert entries[0]["status"] == "done" and entries[0]["values"] == [[6, 8], [14, 16]]
    assert entries[1] == {
        "input": missing,
        "output": None,
        "status": "failed",
        "error": f"{missing}: No such file.",
        "reason": None,
        "layout": None,
        "input_shape": None,
        "input_dtype": None,
        "output_shape": None,
        "output_dtype": None,
        "exit_status": 1,
    }


class _Trap:
    """Unpickling this creates a file: proof that a pickle was (or was not) loaded."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _bomb_png() -> bytes:
    """A tiny PNG that claims 30000x30000 pixels (above Pillow's decompression-bomb limit)."""

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", 30000, 30000, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1000))
        + chunk(b"IEND", b"")
    )


def _truncated(seed_npy):
    return Path(seed_npy).read_bytes()[:-10]


BAD_INPUTS = {
    "missing": (None, "No such file."),
    "empty directory": (None, "holds no images or .npy files (sub-folders need --recursive)."),
    "zero-byte": (lambda seed: b"", "is empty (0 bytes)."),
    "truncated npy": (
        _truncated,
        "is truncated: its header promises 4x4 values of int64 (128 bytes) but only 118 bytes "
        "follow.",
    ),
    "corrupt png": (
        lambda seed: b"\x89PNG\r\n\x1a\n" + b"garbage" * 20,
        "looks like a PNG image but is truncated or corrupt.",
    ),
    "text named png": (
        lambda seed: b"hello, not an image\n",
        "is neither a .npy file nor an image poolcli can read.",
    ),
    "decompression bomb": (
        lambda seed: _bomb_png(),
        "is too large to open safely: it has more than 178956970 pixels, the limit of Pillow's "
        "decompression-bomb guard.",
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input(cli, seed_npy, tmp_path, case):
    make, reason = BAD_INPUTS[case]
    path = tmp_path / "bad.png"
    if case == "empty directory":
        path.mkdir()
    elif make is not None:
        path.write_bytes(make(seed_npy))
    result = cli("max", path, "-k", "2", code=1)
    assert result.stderr == f"poolcli: error: {path}: {reason}\n"
    assert result.stdout == ""


def test_mislabelled_files_are_read_by_content(cli, seed_npy, image, tmp_path):
    npy_named_png = tmp_path / "array.png"
    npy_named_png.write_bytes(Path(seed_npy).read_bytes())
    assert values(cli, "max", npy_named_png, "-k", "2") == [[6, 8], [14, 16]]
    png = image(SEED.astype(np.uint8), "image.png")
    png_named_npy = tmp_path / "image.npy"
    png_named_npy.write_bytes(Path(png).read_bytes())
    assert values(cli, "max", png_named_npy, "-k", "2") == [[6, 8], [14, 16]]


def test_object_npy_is_refused_unloaded(cli, tmp_path):
    marker = tmp_path / "unpickled"
    path = tmp_path / "objects.npy"
    with open(path, "wb") as f:
        np.save(f, np.array([_Trap(str(marker)), None], dtype=object), allow_pickle=True)
    assert not marker.exists()
    result = cli("max", path, "-k", "1", code=1)
    assert result.stderr == (
        f"poolcli: error: {path}: holds Python objects; poolcli never unpickles files.\n"
    )
    assert not marker.exists()


def test_raw_pickle_is_refused_unloaded(cli, tmp_path):
    marker = tmp_path / "unpickled"
    path = tmp_path / "data.pkl"
    path.write_bytes(pickle.dumps(_Trap(str(marker))))
    result = cli("max", path, "-k", "1", code=1)
    assert result.stderr == (
        f"poolcli: error: {path}: is neither a .npy file nor an image poolcli can read.\n"
    )
    assert not marker.exists()


def test_empty_array(cli, npy):
    path = npy(np.zeros((0, 4)))
    result = cli("max", path, "-k", "1", code=1)
    assert result.stderr == (
        f"poolcli: error: {path}: is an empty array (shape 0x4); pooling needs at least one "
        "value along every axis.\n"
    )


def test_complex_array(cli, npy):
    path = npy(np.ones((4, 4), np.complex64))
    result = cli("max", path, "-k", "2", code=1)
    assert result.stderr == (
        f"poolcli: error: {path}: holds complex numbers (complex64); poolcli pools bool, "
        "integers, float16, float32 or float64 arrays.\n"
    )


def test_negative_input_to_stochastic_is_an_error(cli, npy):
    path = npy(np.array([[1.0, -2.0], [3.0, 4.0]]))
    result = cli("stochastic", path, "-k", "2", code=1)
    assert result.stderr.startswith(f"poolcli: error: {path}: ")
    assert "negative" in result.stderr
    assert result.stderr.count("\n") == 1


def test_python_warnings_become_one_line_each(cli, seed_npy, monkeypatch):
    import warnings

    from poolcli.engine import core

    real_run = core.run

    def noisy(*args, **kwargs):
        for _ in range(2):  # the same message twice: said once
            message = "overflow encountered in something\nsecond line"
            warnings.warn(message, RuntimeWarning, stacklevel=2)
        warnings.warn("an old API", DeprecationWarning, stacklevel=2)
        return real_run(*args, **kwargs)

    monkeypatch.setattr(core, "run", noisy)
    result = cli("max", seed_npy, "-k", "2", "-o", "out.npy", "-q")
    assert result.stderr == ("poolcli: warning: seed.npy: overflow encountered in something\n")


def test_unexpected_errors_are_reported_as_bugs(cli, seed_npy, monkeypatch):
    from poolcli.engine import core

    def broken(*args, **kwargs):
        raise ValueError("boom")

    monkeypatch.setattr(core, "run", broken)
    result = cli("max", seed_npy, "-k", "2", code=1, bug=True)
    assert result.stderr == (
        f"poolcli: error: {seed_npy}: unexpected error (ValueError: boom). This is a bug in "
        "poolcli; run again with --debug to see the traceback.\n"
    )
    from typer.testing import CliRunner

    from poolcli.cli import app

    debug = CliRunner().invoke(app, ["max", seed_npy, "-k", "2", "--debug"])
    assert isinstance(debug.exception, ValueError)


# --------------------------------------------------------------------------------------------
# Exit status 2: the call is wrong


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-k", "0"], "--kernel must be positive, got 0."),
        (["-k", "-1"], "--kernel must be positive, got -1."),
        (["-k", "2", "-s", "0"], "--stride must be positive, got 0."),
        (["-k", "2", "-s", "-2"], "--stride must be positive, got -2."),
        (["-k", "2", "-d", "0"], "--dilation must be positive, got 0."),
        (
            ["-k", "3y2"],
            "--kernel 3y2 is not valid: expected a whole number, or one per axis such as 3x2.",
        ),
        (
            ["-k", "3x"],
            "--kernel 3x is not valid: expected a whole number, or one per axis such as 3x2.",
        ),
        (
            ["-k", "2", "-p", "1:2:3"],
            "--padding 1:2:3 is not valid: use N, begin:end, same or valid per axis, such as "
            "1x0:1.",
        ),
        (["-k", "2", "--layout", "HHW"], "--layout HHW repeats H: each letter may appear once."),
        (
            ["-k", "3", "-p", "same", "--ceil"],
            "--ceil cannot be combined with --padding same: same fixes the output size.",
        ),
        ([], "No window given: use --kernel K, --global or --output-size O."),
        (
            ["-k", "2", "--global"],
            "--kernel, --global and --output-size are different windowings: give only one.",
        ),
        (["--output-size", "0"], "--output-size must be positive, got 0."),
        (
            ["-k", "2", "--device", "tpu"],
            "--device tpu is not a device: use cpu, cuda, cuda:N, mps or auto.",
        ),
        (["--qqqqqq"], "no such option --qqqqqq."),
        (["--kernal", "2"], "no such option --kernal; did you mean --kernel or --nan?"),
    ],
)
def test_usage_errors(cli, seed_npy, args, message):
    result = cli("max", seed_npy, *args, code=2)
    assert result.stderr == usage("max", message)
    assert result.stdout == ""


def test_norm_type_must_be_positive(cli, seed_npy):
    result = cli("lp", seed_npy, "-k", "2", "--norm-type", "0", code=2)
    assert result.stderr == usage("lp", "--norm-type must be a positive number, got 0.")


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["-k", "5"], "--kernel 5x5 is larger than the padded input 4x4."),
        (
            ["-k", "2x2x2"],
            "--kernel 2x2x2 has 3 values but the input has 2 spatial axes (H, W).",
        ),
        (
            ["-k", "2", "-s", "1x1x1"],
            "--stride 1x1x1 has 3 values but the input has 2 spatial axes (H, W).",
        ),
        (
            ["-k", "2", "--layout", "CHW"],
            "--layout CHW names 3 axes but the array has 2 (shape 4x4).",
        ),
        (
            ["-k", "2", "-p", "3:0"],
            "--padding leaves window 0 on axis H with only padding cells (padding 3:0, kernel 2, "
            "dilation 1). Use less padding.",
        ),
    ],
)
def test_windows_that_do_not_fit_the_input(cli, seed_npy, args, reason):
    # Whether windows fit depends on the input: that input fails (1), the call is not wrong (2).
    result = cli("max", seed_npy, *args, code=1)
    assert result.stderr == f"poolcli: error: {seed_npy}: {reason}\n"


def test_layout_does_not_apply_to_images(cli, rgba_png):
    result = cli("max", rgba_png, "-k", "2", "--layout", "CHW", code=1)
    assert result.stderr == (
        f"poolcli: error: {rgba_png}: --layout CHW does not apply: images are always read as "
        "HWC. Leave out --layout, or give only .npy files.\n"
    )


def test_missing_device(cli, seed_npy, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    result = cli("max", seed_npy, "-k", "2", "--device", "cuda", code=2)
    assert result.stderr == usage(
        "max",
        "--device cuda is not available on this machine (torch sees no such device). "
        "Use --device cpu or --device auto.",
    )


def test_missing_device_in_a_subprocess(run, seed_npy):
    process = run(
        "max",
        seed_npy,
        "-k",
        "2",
        "--device",
        "cuda",
        code=2,
        env=subprocess_env(CUDA_VISIBLE_DEVICES=""),
    )
    assert process.stdout == b""
    assert process.stderr.decode() == usage(
        "max",
        "--device cuda is not available on this machine (torch sees no such device). "
        "Use --device cpu or --device auto.",
    )


# --------------------------------------------------------------------------------------------
# Exit status 130: interrupted


def test_interrupt_in_process(cli, seed_npy, monkeypatch):
    from poolcli import io

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(io, "read_input", interrupted)
    result = cli("max", seed_npy, "-k", "2", code=130)
    assert result.stderr == "poolcli: interrupted.\n"


def test_ctrl_c_while_reading_stdin(tmp_path):
    read_end, write_end = os.pipe()
    process = subprocess.Popen(
        [sys.executable, "-m", "poolcli", "max", "-", "-k", "2"],
        stdin=read_end,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=subprocess_env(),
    )
    try:
        os.write(write_end, b"\x93NU")  # the start of a .npy file; the rest never comes
        # Wait until poolcli has read those bytes: it is then inside its read of stdin.
        deadline = time.monotonic() + 60
        pending = b"\0\0\0\0"
        while time.monotonic() < deadline:
            fcntl.ioctl(read_end, termios.FIONREAD, pending := bytearray(4))
            if struct.unpack("i", pending)[0] == 0:
                break
            time.sleep(0.05)
        else:
            pytest.fail("poolcli never read standard input")
        time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        os.close(read_end)
        os.close(write_end)
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr.decode()
    assert stderr == b"poolcli: interrupted.\n"
    assert stdout == b""


# --------------------------------------------------------------------------------------------
# Help


@pytest.mark.parametrize("command", REDUCTIONS)
def test_help_of_every_reduction(cli, command):
    out = cli(command, "--help").stdout
    assert f"Example: poolcli {command} " in out
    for option in ("--kernel", "--stride", "--padding", "--dilation", "--ceil", "--global"):
        assert option in out
    for option in ("--output-size", "--layout", "--output", "--json", "--device", "--dtype"):
        assert option in out
    assert "Window" in out and "Output" in out and "Device" in out


def test_reduction_specific_options(cli):
    assert "--norm-type" in cli("lp", "--help").stdout
    stochastic = cli("stochastic", "--help").stdout
    assert "--seed" in stochastic and "--expectation" in stochastic
    assert "--norm-type" not in cli("max", "--help").stdout


def test_main_help_lists_every_reduction(run):
    out = run("--help").stdout.decode()
    for command in REDUCTIONS:
        assert re.search(rf"^│ {command}\s", out, re.M), command


# --------------------------------------------------------------------------------------------
# --viz and --explain on the reduction commands


def test_viz_writes_a_picture_next_to_the_report(cli, seed_npy, workdir):
    from PIL import Image

    result = cli("max", seed_npy, "-k", "2", "--viz", "seed.png")
    assert "   6   8\n  14  16\n" in result.stdout
    with Image.open(workdir / "seed.png") as picture:
        assert picture.format == "PNG"
        assert picture.width > 2 * 256 and picture.height > 256


def test_viz_with_an_output_file_writes_both(cli, seed_npy, workdir):
    cli("avg", seed_npy, "-k", "2", "-o", "out.npy", "--viz", "out_viz.png")
    assert np.load(workdir / "out.npy").tolist() == [[3.75, 5.25], [11.5, 13.5]]
    assert (workdir / "out_viz.png").stat().st_size > 0


def test_viz_needs_a_picture_name(cli, seed_npy, workdir):
    result = cli("max", seed_npy, "-k", "2", "--viz", "seed.txt", code=2)
    assert result.stderr == usage(
        "max",
        "--viz seed.txt: give a picture file name ending in .png, .svg, .gif or .html.",
    )
    assert not (workdir / "seed.txt").exists()


def test_explain_prints_every_window_before_the_report(cli, seed_npy):
    out = cli("max", seed_npy, "-k", "2", "--explain").stdout
    windows = out.index("(0, 0) ← H 0..1, W 0..1: [1 3 | 5 6*] → 6")
    assert windows < out.index("╭")  # before the report's table
    assert "(1, 1) ← H 2..3, W 2..3: [11 12 | 15 16*] → 16" in out


def test_explain_goes_to_stderr_when_stdout_carries_the_array(cli, seed_npy):
    import io

    result = cli("avg", seed_npy, "-k", "2", "-o", "-", "--explain")
    assert np.load(io.BytesIO(result.stdout_bytes)).tolist() == [[3.75, 5.25], [11.5, 13.5]]
    assert "(0, 0) ← H 0..1, W 0..1: [1 3 | 5 6] → 3.75" in result.stderr


def test_explain_refuses_json(cli, seed_npy):
    result = cli("max", seed_npy, "-k", "2", "--explain", "--json", code=2)
    assert result.stderr == usage("max", "--explain prints text; it cannot go with --json.")


# --------------------------------------------------------------------------------------------
# Folders, several inputs and chains on the command line (the machinery is in test_batch.py)


@pytest.fixture
def tree(workdir, npy, image):
    """in/a.npy, in/sub/b.png, in/sub/broken.png (corrupt) and in/notes.txt (ignored)."""
    rng = np.random.default_rng(1)
    (workdir / "in" / "sub").mkdir(parents=True)
    npy(rng.random((6, 8)).astype(np.float32), "in/a.npy")
    image(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8), "in/sub/b.png")
    (workdir / "in" / "sub" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"x" * 40)
    (workdir / "in" / "notes.txt").write_text("not an input")
    return workdir


def test_folder_to_folder_mirrors_paths_and_reports_the_failure(cli, tree):
    result = cli("max", "in", "-r", "-k", "2", "-o", "out/", "-j", "1", code=1)
    assert sorted(p.relative_to(tree / "out").as_posix() for p in (tree / "out").rglob("*.*")) == [
        "a.npy",
        "sub/b.png",
    ]
    assert "poolcli: error: in/sub/broken.png: looks like a PNG image" in result.stderr
    expected = np.load(tree / "in" / "a.npy").reshape(3, 2, 4, 2).max(axis=(1, 3))
    np.testing.assert_array_equal(np.load(tree / "out" / "a.npy"), expected)


def test_rerun_skips_finished_outputs(cli, tree):
    cli("max", "in", "-r", "-k", "2", "-o", "out/", "--exclude", "broken.png", "-j", "1")
    before = (tree / "out" / "a.npy").stat().st_mtime_ns
    lines = cli(
        "max", "in", "-r", "-k", "2", "-o", "out/", "--exclude", "broken.png", "--jsonl"
    ).stdout.splitlines()
    assert [json.loads(line)["status"] for line in lines] == ["skipped", "skipped"]
    assert (tree / "out" / "a.npy").stat().st_mtime_ns == before


def test_dry_run_writes_nothing(cli, tree):
    # in/sub/broken.png fails the real run, so the dry run exits 1 too, naming it.
    dry = cli("avg", "in", "-r", "-k", "2", "-o", "out/", "--dry-run", "--format", "npy", code=1)
    assert "in/sub/b.png -> out/sub/b.npy\n" in dry.stdout
    assert "in/sub/broken.png -> out/sub/broken.npy  [error: looks like a PNG image" in dry.stdout
    assert not (tree / "out").exists()


def test_then_equals_the_ops_run_one_after_another(cli, seed_npy, workdir):
    cli("max", seed_npy, "-k", "2", "-s", "1", "--then", "avg", "-k", "2", "-o", "chain.npy")
    cli("max", seed_npy, "-k", "2", "-s", "1", "-o", "step1.npy")
    cli("avg", "step1.npy", "-k", "2", "-o", "step2.npy")
    np.testing.assert_array_equal(np.load("chain.npy"), np.load("step2.npy"))


def test_viz_folder_draws_one_picture_per_input(cli, tree):
    cli("max", "in", "-r", "-k", "2", "-o", "out/", "--viz", "viz/", "--exclude", "broken.png")
    assert sorted(p.name for p in (tree / "viz").rglob("*.png")) == ["a.png", "b.png"]


def test_several_inputs_need_a_folder_for_viz(cli, tree):
    result = cli("max", "in", "-r", "-k", "2", "--viz", "v.png", code=2)
    assert result.stderr == usage(
        "max", "--viz v.png: with several inputs give a folder (--viz DIR/), one picture per input."
    )


def test_a_folder_without_inputs_is_an_error(cli, workdir):
    (workdir / "empty").mkdir()
    result = cli("max", "empty", "-k", "2", code=1)
    assert result.stderr == (
        "poolcli: error: empty: holds no images or .npy files (sub-folders need --recursive).\n"
    )
