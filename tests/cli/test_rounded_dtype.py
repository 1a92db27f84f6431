"""``--dtype uint8`` (and the other integer types) on the command line: averages of an input of
that type come out in it, rounded once; every other combination is refused in one sentence."""

import cv2
import numpy as np
from PIL import Image

import poolcli

USAGE_HINT = "Try 'poolcli {} --help' for its options.\n"


def test_an_image_average_in_uint8_equals_opencv(cli, image, workdir):
    x = np.random.default_rng(0).integers(0, 256, (20, 24, 3), dtype=np.uint8)
    name = image(x, "rgb.png")
    cli("avg", name, "-k", "5", "-s", "1", "--dtype", "uint8", "-o", "y.npy")
    cli("avg", name, "-k", "5", "-s", "1", "--dtype", "uint8", "-o", "y.png")
    want = cv2.blur(x, (5, 5))[2:-2, 2:-2]
    got = np.load(workdir / "y.npy")
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.asarray(Image.open(workdir / "y.png")), want)


def test_then_steps_and_folders_keep_the_integer_type(cli, npy, workdir):
    (workdir / "in").mkdir()
    rng = np.random.default_rng(1)
    arrays = [rng.integers(-300, 300, (9, 8), dtype=np.int16) for _ in range(2)]
    for i, x in enumerate(arrays):
        npy(x, f"in/{i}.npy")
    cli("avg", "in", "-k", "2", "-s", "1", "--dtype", "int16", "-o", "out/", "-j", "1")
    for i, x in enumerate(arrays):
        want = poolcli.pool(x, "avg", kernel_size=2, stride=1, layout="HW", dtype="int16")
        got = np.load(workdir / "out" / f"{i}.npy")
        assert got.dtype == np.int16
        np.testing.assert_array_equal(got, want)
    step = ["avg", "-k", "3", "-p", "1", "--dtype", "int16"]
    cli(*step[:1], "in/0.npy", *step[1:], "--then", *step, "-o", "chain.npy")
    once = poolcli.pool(arrays[0], "avg", kernel_size=3, padding=1, layout="HW", dtype="int16")
    twice = poolcli.pool(once, "avg", kernel_size=3, padding=1, layout="HW", dtype="int16")
    np.testing.assert_array_equal(np.load(workdir / "chain.npy"), twice)


def test_an_input_of_another_type_is_refused(cli, npy):
    name = npy(np.zeros((4, 4), np.float32), "f.npy")
    result = cli("avg", name, "-k", "2", "--dtype", "uint8", "-o", "y.npy", code=1)
    assert result.stderr == (
        "poolcli: error: f.npy: --dtype uint8 rounds averages of uint8 inputs back to uint8, "
        "and this input holds float32 values: leave it out or give a float type.\n"
    )
    name = npy(np.zeros((4, 4), np.uint8), "u.npy")
    result = cli("avg", name, "-k", "2", "--dtype", "int16", "-o", "y.npy", code=1)
    assert "this input holds uint8 values" in result.stderr


def test_an_integer_type_is_refused_but_for_avg(cli, npy):
    name = npy(np.zeros((4, 4), np.uint8), "u.npy")
    for reduction in ("sum", "lp", "gem", "stochastic"):
        result = cli(reduction, name, "-k", "2", "--dtype", "uint8", code=2)
        assert result.stderr == (
            f"poolcli: error: --dtype uint8 applies only to avg, which rounds the mean to the "
            f"input's own integer type; {reduction} takes a float type only.\n"
            + USAGE_HINT.format(reduction)
        )
    result = cli("avg", name, "-k", "2", "--then", "sum", "-k", "1", "--dtype", "uint8", code=2)
    assert "--dtype uint8 applies only to avg" in result.stderr


def test_help_names_the_integer_types(cli):
    words = " ".join(cli("avg", "--help").stdout.split())
    assert "integer type (uint8...), rounding half to even" in words


def test_blockwise_runs_round_as_the_whole_array_does(cli, npy, workdir):
    x = np.random.default_rng(2).integers(0, 256, (120, 130), dtype=np.uint8)
    name = npy(x, "big.npy")
    window = ["-k", "3", "-s", "1", "-p", "same", "--dtype", "uint8"]
    cli("avg", name, *window, "-o", "whole.npy")
    cli("avg", name, *window, "--max-memory", "8KiB", "-o", "blocks.npy")
    whole, blocks = np.load(workdir / "whole.npy"), np.load(workdir / "blocks.npy")
    assert whole.dtype == blocks.dtype == np.uint8
    np.testing.assert_array_equal(blocks, whole)
