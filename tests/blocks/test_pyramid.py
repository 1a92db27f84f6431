"""Pyramids: every level pooled from the one before, OME-Zarr metadata valid by NGFF 0.4."""

from __future__ import annotations

import os

import numpy as np
import pytest
import zarr

from poolcli.blocks.pyramid import pyramid
from poolcli.engine.core import run
from poolcli.errors import PoolError
from poolcli.model.window import WindowSpec


def _levels(x, layout, reduction, n, spec):
    levels = [x]
    for _ in range(n):
        levels.append(run(levels[-1], reduction, spec, layout).output)
    return levels


def check_ngff(group, levels: int, layout: str) -> dict:
    """The NGFF 0.4 rules that apply to a multiscale image, checked by hand."""
    (ms,) = group.attrs["multiscales"]
    assert ms["version"] == "0.4"
    names = [a["name"] for a in ms["axes"]]
    kinds = [a["type"] for a in ms["axes"]]
    assert len(names) == len(set(names)) == len(layout) and 2 <= len(names) <= 5
    assert kinds.count("space") in (2, 3) and kinds[-kinds.count("space") :] == [
        "space"
    ] * kinds.count("space")
    order = {"time": 0, "channel": 1, "space": 2}
    assert [order[k] for k in kinds] == sorted(order[k] for k in kinds)
    assert [d["path"] for d in ms["datasets"]] == [str(i) for i in range(levels + 1)]
    previous = None
    for d in ms["datasets"]:
        (transform,) = d["coordinateTransformations"]
        assert transform["type"] == "scale" and len(transform["scale"]) == len(layout)
        if previous is not None:  # each level at least as coarse as the one before
            assert all(a >= b for a, b in zip(transform["scale"], previous))
        previous = transform["scale"]
        assert group[d["path"]].ndim == len(layout)
    return ms


def test_ome_zarr_pyramid_of_labels_by_mode(tmp_path):
    labels = np.random.default_rng(0).integers(0, 4, (3, 40, 36), dtype=np.uint16)
    path = str(tmp_path / "labels.npy")
    np.save(path, labels)
    out = str(tmp_path / "pyr.zarr")
    spec = WindowSpec.make(kernel_size=2)
    seen = []
    done = pyramid(
        path,
        out,
        3,
        "mode",
        spec,
        layout="CHW",
        max_memory=20_000,
        progress=lambda level, d, t: seen.append(level),
    )
    group = zarr.open_group(out, mode="r")
    ms = check_ngff(group, 3, "CHW")
    assert [a["name"] for a in ms["axes"]] == ["c", "y", "x"]
    assert ms["datasets"][2]["coordinateTransformations"][0]["scale"] == [1.0, 4.0, 4.0]
    for level, expected in enumerate(_levels(labels, "CHW", "mode", 3, spec)):
        np.testing.assert_array_equal(group[str(level)][...], expected)
        assert group[str(level)].dtype == np.uint16
    assert sorted(set(seen)) == [0, 1, 2, 3]
    assert done.shapes[-1] == (3, 5, 4)
    assert os.listdir(tmp_path) == sorted(os.listdir(tmp_path))  # nothing temporary left
    assert not [n for n in os.listdir(tmp_path) if "poolcli-tmp" in n]


def test_folder_of_levels_with_any_window(tmp_path):
    x = np.random.default_rng(1).random((50, 47)).astype(np.float32)
    path = str(tmp_path / "x.npy")
    np.save(path, x)
    spec = WindowSpec.make(kernel_size=3, stride=2, padding=1)
    pyramid(path, str(tmp_path / "levels"), 2, "max", spec, max_memory=10_000)
    expected = _levels(x, "HW", "max", 2, spec)
    assert sorted(os.listdir(tmp_path / "levels")) == ["1.npy", "2.npy"]
    for level in (1, 2):
        np.testing.assert_array_equal(
            np.load(tmp_path / "levels" / f"{level}.npy"), expected[level]
        )


def test_too_many_levels_is_clear(tmp_path):
    path = str(tmp_path / "x.npy")
    np.save(path, np.zeros((8, 8), np.float32))
    with pytest.raises(PoolError, match="fewer --levels"):
        pyramid(path, str(tmp_path / "p.zarr"), 5)
    assert os.listdir(tmp_path) == ["x.npy"]


def test_ome_zarr_py_reads_the_pyramid_back(tmp_path):
    """An independent reader (ome-zarr-py, a test dependency) finds every level and axis."""
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Multiscales, Reader

    x = np.random.default_rng(2).random((2, 33, 40)).astype(np.float32)
    path = str(tmp_path / "x.npy")
    np.save(path, x)
    out = str(tmp_path / "x.zarr")
    pyramid(path, out, 2, layout="CHW", max_memory=50_000)
    (node,) = [n for n in Reader(parse_url(out))() if n.load(Multiscales)]
    assert [tuple(level.shape) for level in node.data] == [(2, 33, 40), (2, 16, 20), (2, 8, 10)]
    assert [a["name"] for a in node.metadata["axes"]] == ["c", "y", "x"]
    expected = _levels(x, "CHW", "avg", 2, WindowSpec.make(kernel_size=2))
    for level, data in enumerate(node.data):
        np.testing.assert_array_equal(np.asarray(data), expected[level])


@pytest.mark.parametrize(
    "dtype,reduction,out",
    [("float32", "avg", "p.zarr"), ("uint8", "avg", "levels"), ("uint16", "mode", "p.zarr")],
)
def test_levels_pooled_in_bands_equal_each_level_pooled_whole(
    tmp_path, monkeypatch, dtype, reduction, out
):
    """Tiling windows: one pass over bands of rows (several bands, the last one cut short,
    odd sizes), never the level-by-level path; every level equals the engine's own."""
    from poolcli.blocks import pyramid as module

    def refuse(*args):
        raise AssertionError("pooled level by level")

    monkeypatch.setattr(module, "_write_levels", refuse)
    rng = np.random.default_rng(5)
    x = (rng.random((2, 1100, 77)) * (4 if reduction == "mode" else 250)).astype(dtype)
    path = str(tmp_path / "x.npy")
    np.save(path, x)
    spec = WindowSpec.make(kernel_size=2)
    seen = []
    done = pyramid(
        path,
        str(tmp_path / out),
        4,
        reduction,
        spec,
        layout="CHW",
        max_memory=8_000_000,
        progress=lambda level, d, t: seen.append((level, d, t)),
    )
    assert max(t for _, _, t in seen) > 1  # several bands
    expected = _levels(x, "CHW", reduction, 4, spec)
    for level in range(1, 5):
        if out.endswith(".zarr"):
            got = zarr.open_group(done.output, mode="r")[str(level)][...]
        else:
            got = np.load(os.path.join(done.output, f"{level}.npy"))
        assert got.dtype == expected[level].dtype
        np.testing.assert_array_equal(got, expected[level])
    if out.endswith(".zarr"):
        group = zarr.open_group(done.output, mode="r")
        np.testing.assert_array_equal(group["0"][...], x)
        check_ngff(group, 4, "CHW")


def test_a_pyramid_that_fits_is_one_band(tmp_path, monkeypatch):
    from poolcli.blocks import pyramid as module

    monkeypatch.setattr(module, "_write_levels", None)  # never called
    x = np.random.default_rng(6).random((37, 50)).astype(np.float32)
    path = str(tmp_path / "x.npy")
    np.save(path, x)
    spec = WindowSpec.make(kernel_size=2)
    seen = []
    done = pyramid(
        path,
        str(tmp_path / "p.zarr"),
        3,
        "max",
        spec,
        max_memory=2**30,
        progress=lambda level, d, t: seen.append(t),
    )
    assert set(seen) == {1}
    group = zarr.open_group(done.output, mode="r")
    for level, expected in enumerate(_levels(x, "HW", "max", 3, spec)):
        np.testing.assert_array_equal(group[str(level)][...], expected)


def test_an_rgba_pyramid_keeps_the_alpha_rule_at_every_level(tmp_path, monkeypatch):
    """As a chain of steps does: transparent cells lend no colour at each level."""
    import tifffile

    from poolcli.blocks import pyramid as module

    monkeypatch.setattr(module, "_write_levels", None)  # pooled in bands
    rng = np.random.default_rng(8)
    x = rng.integers(0, 256, (64, 48, 4), dtype=np.uint8)
    x[..., 3] = np.where(rng.random((64, 48)) < 0.4, 0, x[..., 3])
    path = str(tmp_path / "rgba.tif")
    tifffile.imwrite(path, x, photometric="rgb", extrasamples=["unassalpha"])
    spec = WindowSpec.make(kernel_size=2)
    done = pyramid(path, str(tmp_path / "levels"), 3, "avg", spec, max_memory=2**20)
    level = x
    for n in range(1, 4):
        level = run(level, "avg", spec, "HWC", alpha=True, pixels=True).output
        with tifffile.TiffFile(os.path.join(done.output, f"{n}.tif")) as tif:
            np.testing.assert_array_equal(tif.asarray(), level)


@pytest.mark.parametrize(
    "reduction,kernel,stride,scheduler",
    [("avg", 3, 2, None), ("avg", 2, 2, "threads"), ("mode", 3, 2, None)],
)
def test_levels_pooled_one_by_one_as_zarr_keep_the_alpha_rule(
    tmp_path, reduction, kernel, stride, scheduler
):
    """A planar RGBA TIFF (CHW, so OME-Zarr takes it) pooled level by level: every level is
    the engine's own pooling of the level before, with the image's alpha and pixel rules."""
    import tifffile

    rng = np.random.default_rng(9)
    x = rng.integers(0, 256, (4, 70, 58), dtype=np.uint8)
    x[3] = np.where(rng.random((70, 58)) < 0.4, 0, x[3])
    if reduction == "mode":
        x //= 128
    path = str(tmp_path / "rgba.tif")
    tifffile.imwrite(path, x, photometric="rgb", planarconfig="separate", extrasamples=[2])
    spec = WindowSpec.make(kernel_size=kernel, stride=stride)
    done = pyramid(
        path, str(tmp_path / "p.zarr"), 3, reduction, spec, max_memory=40_000, scheduler=scheduler
    )
    group = zarr.open_group(done.output, mode="r")
    np.testing.assert_array_equal(group["0"][...], x)
    changed = []
    for level in range(1, 4):
        previous = group[str(level - 1)][...]
        expected = run(previous, reduction, spec, "CHW", alpha=True, pixels=True).output
        changed.append(not np.array_equal(expected, run(previous, reduction, spec, "CHW").output))
        np.testing.assert_array_equal(group[str(level)][...], expected)
    assert reduction == "mode" or (changed[1] and changed[2])  # alpha matters after level 1
