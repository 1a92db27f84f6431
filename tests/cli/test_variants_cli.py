"""The command line of --indices, --pool-axes, --blur, --fractional-windows and --spp: the
same results as the Python API, through single files, batches, --then, --json, --viz,
--explain and poolcli shape."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import poolcli


def data(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def test_indices_single_file_then_and_styles(cli, npy, workdir):
    x = data((2, 3, 6, 8))
    path = npy(x)
    cli("max", path, "-k", "2", "--then", "min", "-k", "2", "--indices", "i.npy", "-o", "y.npy")
    first = poolcli.pool(x, "max", kernel_size=2)
    _, expected = poolcli.pool(first, "min", kernel_size=2, return_indices=True)
    np.testing.assert_array_equal(np.load(workdir / "i.npy"), expected)
    cli("max", path, "-k", "2", "--indices", "o.npy", "--index-style", "onnx", "-q")
    _, onnx = poolcli.pool(x, "max", kernel_size=2, return_indices=True, index_style="onnx")
    np.testing.assert_array_equal(np.load(workdir / "o.npy"), onnx)


def test_indices_batch_folder(cli, npy, workdir):
    (workdir / "in").mkdir()
    for n in range(2):
        np.save(workdir / "in" / f"a{n}.npy", data((6, 6), n))
    cli("max", "in", "-k", "3", "-s", "2", "-p", "1", "-o", "out/", "--indices", "idx/", "-q")
    for n in range(2):
        x = np.load(workdir / "in" / f"a{n}.npy")
        _, expected = F.max_pool2d(torch.from_numpy(x)[None], 3, 2, 1, return_indices=True)
        np.testing.assert_array_equal(np.load(workdir / "idx" / f"a{n}.npy"), expected[0].numpy())


@pytest.mark.parametrize(
    "args, message",
    [
        (["avg", "-k", "2", "--indices", "i.npy"], "--indices needs a last step"),
        (["max", "-k", "2", "--indices", "i.png"], "FILE.npy"),
        (["max", "--spp", "1,2", "--indices", "i.npy"], "--indices needs a last step"),
        (["max", "-k", "2", "--blur", "3", "--indices", "i.npy"], "--indices needs a last step"),
        (["max", "-k", "2", "--blur", "4"], "--blur must be 3 or 5"),
        (["max", "-k", "2", "--ceil", "--blur", "3"], "without --ceil"),
        (["max", "-k", "2", "--seed", "1"], "--seed applies only"),
        (["max", "--fractional-windows"], "exactly one"),
        (["max", "--spp", "1,2", "-k", "2"], "--spp is a windowing"),
        (["max", "--spp", "1,2", "--viz", "v.gif"], "a .gif follows one"),
        (["max", "-k", "2", "--pool-axes", "XYZW"], "--pool-axes"),
        (["max", "-k", "2", "--layout", "TC"], "no D, H or W axis"),
    ],
)
def test_usage_errors(cli, seed_npy, args, message):
    result = cli(args[0], seed_npy, *args[1:], code=2)
    assert message in result.stderr


def test_blur_fractional_spp_from_the_command_line(cli, npy, workdir):
    x = data((1, 2, 12, 12), 3)
    path = npy(x)
    cli("max", path, "-k", "2", "--blur", "5", "-o", "b.npy", "--viz", "b.png", "-q")
    np.testing.assert_allclose(
        np.load(workdir / "b.npy"), poolcli.pool(x, "max", kernel_size=2, blur=5), rtol=1e-6
    )
    assert (workdir / "b.png").stat().st_size > 0
    args = ["--fractional-windows", "--output-ratio", "0.6", "--seed", "4"]
    cli("max", path, *args, "-o", "f.npy", "--indices", "fi.npy", "--viz", "f.png", "-q")
    expected = poolcli.pool(x, "max", fractional=True, output_ratio=0.6, seed=4)
    np.testing.assert_array_equal(np.load(workdir / "f.npy"), expected)
    result = cli("avg", path, "--spp", "1,2,4", "--json")
    document = json.loads(result.stdout)
    assert document["files"][0]["output_shape"] == [1, 2, 21]
    assert document["steps"][0]["window"]["windowing"] == "spp"
    result = cli("max", path, "-k", "2", "--blur", "3", "--json")
    assert json.loads(result.stdout)["steps"][0]["options"]["blur"] == 3
    result = cli("max", path, "-k", "2", "--blur", "3", "--explain")
    assert "BlurPool" in result.stdout


def test_then_steps_take_the_variant_options(cli, npy, workdir):
    x = data((1, 1, 16, 16), 5)
    path = npy(x)
    cli(
        "avg",
        path,
        "-k",
        "2",
        "--then",
        "max",
        "-k",
        "2",
        "--blur",
        "3",
        "--then",
        "max",
        "--spp",
        "1,2",
        "-o",
        "y.npy",
        "-q",
    )
    step = poolcli.pool(poolcli.pool(x, "avg", kernel_size=2), "max", kernel_size=2, blur=3)
    np.testing.assert_allclose(np.load(workdir / "y.npy"), poolcli.pool(step, "max", spp=(1, 2)))


def test_explain_shows_every_spp_level(cli, npy):
    """Each level is explained as the adaptive pool it holds, and its results are the SPP
    output's values in the documented order (coarsest first, row-major)."""
    x = data((1, 2, 5, 6), 8)
    path = npy(x)
    spp = poolcli.pool(x, "max", spp=(1, 2), layout="NCHW")
    text = cli("max", path, "--spp", "1,2", "--layout", "NCHW", "--explain").stdout
    assert "SPP level 1: adaptive" in text and "SPP level 2: adaptive" in text
    assert "1 + 4 = 5 values" in text
    document = json.loads(
        cli("explain", path, "--op", "max", "--spp", "1,2", "--layout", "NCHW", "--json").stdout
    )
    assert [level["level"] for level in document["levels"]] == [1, 2]
    for channel in range(2):
        flat = [
            window["result"]
            for level in document["levels"]
            for window in level["slices"][channel]["windows"]
        ]
        np.testing.assert_allclose(flat, spp[0, channel])


def test_viz_draws_every_spp_level(cli, npy, workdir):
    x = np.random.default_rng(8).integers(0, 50, (1, 2, 5, 6))
    path = npy(x)
    cli("max", path, "--spp", "1,2", "--layout", "NCHW", "--viz", "s.svg", "-o", "s.npy")
    texts = [t.text for t in ET.parse(workdir / "s.svg").iter("{http://www.w3.org/2000/svg}text")]
    assert "SPP level 1 of 1, 2" in texts and "SPP level 2 of 1, 2" in texts
    assert "max output 1x1" in texts and "max output 2x2" in texts  # each level's own pool


def test_shape_shows_spp(cli):
    result = cli("shape", "13x13", "--spp", "1,2,4", "-c", "256")
    assert "256×21 = 5376" in result.stdout
    result = cli("shape", "32x32", "conv:k=3,c=16", "spp:1,2,4", "--json")
    assert json.loads(result.stdout)["flat_size"] == 16 * 21
