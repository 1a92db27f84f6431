"""The command line block by block: --max-memory, --scheduler, Zarr, TIFF, pyramid."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import zarr


@pytest.fixture
def big(tmp_path):
    x = np.random.default_rng(0).random((120, 90)).astype(np.float32)
    path = tmp_path / "x.npy"
    np.save(path, x)
    return path, x


def test_max_memory_gives_the_in_memory_bytes(cli, tmp_path, big):
    path, _ = big
    cli("median", path, "-k", "3", "-s", "2", "-p", "same", "-o", tmp_path / "whole.npy")
    result = cli(
        "median",
        path,
        "-k",
        "3",
        "-s",
        "2",
        "-p",
        "same",
        "--max-memory",
        "20KiB",
        "-o",
        tmp_path / "blocks.npy",
    )
    assert "blocks, written to" in result.stdout
    assert (tmp_path / "whole.npy").read_bytes() == (tmp_path / "blocks.npy").read_bytes()


def test_zarr_in_and_out_and_json(cli, tmp_path, big):
    path, x = big
    cli("max", path, "-k", "2", "-o", tmp_path / "a.zarr")
    result = cli("avg", tmp_path / "a.zarr", "-k", "3", "--json", "--max-memory", "8KiB")
    document = json.loads(result.stdout)
    assert document["output_shape"] == [20, 15] and document["blocks"] > 1
    expected = x.reshape(60, 2, 45, 2).max(axis=(1, 3))
    np.testing.assert_array_equal(zarr.open_array(tmp_path / "a.zarr")[...], expected)


def test_clear_errors(cli, tmp_path, big):
    path, _ = big
    result = cli("max", path, "-k", "8", "--max-memory", "64", "-o", tmp_path / "o.npy", code=1)
    assert "--max-memory 64 B is too small" in result.stderr
    assert not (tmp_path / "o.npy").exists()
    result = cli("max", path, "-k", "2", "--max-memory", "big", code=2)
    assert "is not a size" in result.stderr
    result = cli("max", path, "-k", "2", "--scheduler", "fast", code=2)
    assert "is not a scheduler" in result.stderr
    result = cli("max", path, "-k", "2", "-o", tmp_path / "o.png", "--max-memory", "1MiB", code=1)
    assert "only as .npy, .zarr or .tif" in result.stderr


def test_scheduler_threads_and_processes_give_the_same_bytes(cli, tmp_path, big):
    path, _ = big
    cli("stochastic", path, "-k", "3", "-s", "2", "--seed", "5", "-o", tmp_path / "ref.npy")
    for scheduler in ("threads", "processes"):
        out = tmp_path / f"{scheduler}.npy"
        cli(
            "stochastic",
            path,
            "-k",
            "3",
            "-s",
            "2",
            "--seed",
            "5",
            "--max-memory",
            "16KiB",
            "--scheduler",
            scheduler,
            "-o",
            out,
        )
        assert out.read_bytes() == (tmp_path / "ref.npy").read_bytes()


def test_several_files_as_tasks(cli, tmp_path, big):
    path, _ = big
    other = tmp_path / "y.npy"
    np.save(other, np.arange(36, dtype=np.int32).reshape(6, 6))
    cli("sum", path, other, "-k", "2", "--scheduler", "threads", "-o", f"{tmp_path / 'out'}/")
    assert sorted(os.listdir(tmp_path / "out")) == ["x.npy", "y.npy"]
    assert np.load(tmp_path / "out" / "y.npy").dtype == np.int64


def test_pyramid_command(cli, tmp_path, big):
    path, _ = big
    result = cli("pyramid", path, "-o", tmp_path / "p.zarr", "--levels", "3")
    assert "4 levels (120×90, 60×45, 30×22, 15×11)" in result.stdout
    group = zarr.open_group(tmp_path / "p.zarr", mode="r")
    assert len(group.attrs["multiscales"][0]["datasets"]) == 4
    cli("pyramid", path, "-o", tmp_path / "p.zarr", "--levels", "9", code=1)
    document = json.loads(
        cli("pyramid", path, "-o", tmp_path / "q", "--levels", "2", "--json").stdout
    )
    assert [level["shape"] for level in document["levels"]] == [[60, 45], [30, 22]]
    assert [level["level"] for level in document["levels"]] == [1, 2]
    assert sorted(os.listdir(tmp_path / "q")) == ["1.npy", "2.npy"]
