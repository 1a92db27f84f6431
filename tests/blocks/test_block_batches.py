"""Batches that go block by block: folders and globs with --max-memory, --format and --name,
and Zarr stores found in folders taken as one input each."""

from __future__ import annotations

import os

import numpy as np
import pytest
import zarr

from poolcli.batch.sources import expand_inputs
from poolcli.engine.core import run
from poolcli.io.lazy import open_lazy
from poolcli.model.window import WindowSpec


def _max2(x):
    return run(x, "max", WindowSpec.make(kernel_size=2), "HW").output


@pytest.fixture
def folder(tmp_path):
    """``in/`` holding a.npy, b.zarr (v3), c.ome.zarr (an OME-Zarr image) and a note."""
    rng = np.random.default_rng(3)
    root = tmp_path / "in"
    root.mkdir()
    arrays = {name: rng.random((12, 10)).astype(np.float32) for name in "abc"}
    np.save(root / "a.npy", arrays["a"])
    z = zarr.create_array(str(root / "b.zarr"), shape=(12, 10), dtype="f4", chunks=(4, 4))
    z[:] = arrays["b"]
    group = zarr.open_group(str(root / "c.ome.zarr"), mode="w", zarr_format=2)
    level = group.create_array("0", shape=(12, 10), dtype="f4", chunks=(6, 5))
    level[:] = arrays["c"]
    group.attrs["multiscales"] = [
        {
            "version": "0.4",
            "axes": [{"name": "y", "type": "space"}, {"name": "x", "type": "space"}],
            "datasets": [
                {"path": "0", "coordinateTransformations": [{"type": "scale", "scale": [1, 1]}]}
            ],
        }
    ]
    (root / "notes.txt").write_text("not an input")
    return root, arrays


def test_zarr_stores_in_a_folder_are_single_inputs(folder):
    root, _ = folder
    found = expand_inputs([str(root)], recursive=True)
    names = sorted(s.rel for s in found.sources)
    assert names == ["a.npy", "b.zarr", "c.ome.zarr"]
    assert all(s.unreadable is None for s in found.sources)
    # Not searched: nothing inside a store is met, taken or ignored.
    assert [os.path.basename(p) for p, _ in found.ignored] == ["notes.txt"]
    assert found.folders_not_searched == 0


def test_a_glob_takes_a_store_once_not_its_insides(folder):
    root, _ = folder
    found = expand_inputs([str(root / "**")])
    assert sorted(s.rel for s in found.sources) == ["a.npy", "b.zarr", "c.ome.zarr"]


@pytest.mark.parametrize("memory", [[], ["--max-memory", "2KiB"]])
def test_folder_batch_honours_format_and_name(cli, folder, tmp_path, memory):
    root, arrays = folder
    out = tmp_path / "out"
    cli(
        "max",
        root,
        "-k",
        "2",
        "-o",
        f"{out}/",
        "--format",
        "npy",
        "--name",
        "{stem}_{op}{ext}",
        *memory,
    )
    written = sorted(os.listdir(out))
    assert written == ["a_max.npy", "b_max.npy", "c.ome_max.npy"]
    for name, stem in zip("abc", ["a", "b", "c.ome"]):
        np.testing.assert_array_equal(np.load(out / f"{stem}_max.npy"), _max2(arrays[name]))


def test_folder_batch_to_zarr_and_rerun_skips(cli, folder, tmp_path):
    root, arrays = folder
    out = tmp_path / "out"
    args = ("max", root, "-k", "2", "-o", f"{out}/", "--format", "zarr", "--max-memory", "2KiB")
    first = cli(*args)
    assert first.stdout.count("written to") == 3
    assert sorted(os.listdir(out)) == ["a.zarr", "b.zarr", "c.ome.zarr"]
    for name, stem in zip("abc", ["a", "b", "c.ome"]):
        with open_lazy(str(out / f"{stem}.zarr")) as back:
            np.testing.assert_array_equal(back.read(...), _max2(arrays[name]))
    again = cli(*args)
    assert "3 (outputs exist; --overwrite to replace)" in again.stderr  # the batch summary
    cli(*args, "--overwrite")


def test_single_input_format_must_agree_with_the_output(cli, folder, tmp_path):
    root, _ = folder
    result = cli(
        "max", root / "b.zarr", "-k", "2", "--format", "npy", "-o", tmp_path / "x.zarr", code=2
    )
    assert "disagrees" in result.stderr


def test_a_dry_run_lists_and_writes_nothing(cli, folder, tmp_path):
    root, _ = folder
    out = tmp_path / "out"
    args = ("max", root, "-k", "2", "-o", f"{out}/", "--max-memory", "2KiB", "--format", "zarr")
    result = cli(*args, "--dry-run")
    assert result.stdout.count(" -> ") == 3 and "nothing written" in result.stdout
    assert "c.ome.zarr -> " in result.stdout and str(out / "c.ome.zarr") in result.stdout
    assert not out.exists()
