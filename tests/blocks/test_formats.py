"""Blockwise pooling from and to .npy, Zarr (v2, v3, OME-Zarr) and TIFF/OME-TIFF."""

from __future__ import annotations

import os

import numpy as np
import pytest
import tifffile
import zarr

from poolcli.blocks import pool_blockwise
from poolcli.engine.core import run
from poolcli.io.lazy import open_lazy
from poolcli.model.window import WindowSpec

SPEC = WindowSpec.make(kernel_size=3, stride=2, padding=1)


def _expected(x, layout="HW", spec=SPEC, reduction="max"):
    return run(x, reduction, spec, layout).output


@pytest.fixture
def image():
    return np.random.default_rng(1).random((67, 45)).astype(np.float32)


@pytest.mark.parametrize("suffix", [".npy", ".zarr", ".tif"])
@pytest.mark.parametrize("source", ["npy", "zarr2", "zarr3", "tiff"])
def test_every_input_to_every_output(tmp_path, image, source, suffix):
    path = tmp_path / "in"
    if source == "npy":
        path = str(path) + ".npy"
        np.save(path, image)
    elif source.startswith("zarr"):
        path = str(path) + ".zarr"
        z = zarr.create_array(
            path, shape=image.shape, dtype=image.dtype, chunks=(16, 16), zarr_format=int(source[-1])
        )
        z[:] = image
    else:
        path = str(path) + ".tif"
        tifffile.imwrite(path, image, tile=(16, 16))
    out = str(tmp_path / f"out{suffix}")
    done = pool_blockwise(path, "max", SPEC, out, max_memory=20_000)
    assert done.plan.count > 1
    with open_lazy(out) as back:
        np.testing.assert_array_equal(back.read(...), _expected(image))
        assert back.dtype == np.float32
    assert [n for n in os.listdir(tmp_path) if ".poolcli-tmp-" in n] == []


def test_zarr_output_keeps_format_and_pools_the_chunks(tmp_path, image):
    import numcodecs

    path = str(tmp_path / "in.zarr")
    z = zarr.create_array(
        path,
        shape=image.shape,
        dtype="f4",
        chunks=(32, 16),
        zarr_format=2,
        compressors=numcodecs.GZip(2),
    )
    z[:] = image
    out = str(tmp_path / "out.zarr")
    pool_blockwise(path, "avg", WindowSpec.make(kernel_size=2), out, max_memory=2**20)
    result = zarr.open_array(out, mode="r")
    assert result.metadata.zarr_format == 2
    assert result.chunks == (16, 8)
    assert result.compressors == (numcodecs.GZip(2),)


def test_zarr_output_compresses_as_its_input(tmp_path, image):
    path = str(tmp_path / "raw.zarr")
    z = zarr.create_array(path, shape=image.shape, dtype="f4", chunks=(32, 16), compressors=None)
    z[:] = image
    spec = WindowSpec.make(kernel_size=2)
    for fmt in (None, 2):
        out = str(tmp_path / f"out{fmt}.zarr")
        pool_blockwise(path, "max", spec, out, max_memory=2**20, zarr_format=fmt)
        result = zarr.open_array(out, mode="r")
        # The input's format keeps its (lack of) compression; another takes zarr's default.
        assert (result.compressors == ()) == (fmt is None)
        np.testing.assert_array_equal(result[...], _expected(image, spec=spec))


def test_tiff_stack_reads_as_dhw_and_keeps_ome_scale(tmp_path):
    stack = np.random.default_rng(2).integers(0, 9, (6, 20, 24), dtype=np.uint16)
    path = str(tmp_path / "stack.ome.tif")
    tifffile.imwrite(
        path,
        stack,
        ome=True,
        metadata={"axes": "ZYX", "PhysicalSizeX": 0.5, "PhysicalSizeY": 0.5, "PhysicalSizeZ": 2.0},
    )
    with open_lazy(path) as lazy:
        assert lazy.axes == "DHW" and lazy.scale == (2.0, 0.5, 0.5)
    out = str(tmp_path / "out.ome.tif")
    spec = WindowSpec.make(kernel_size=2)
    pool_blockwise(path, "mode", spec, out, max_memory=30_000)
    with open_lazy(out) as back:
        assert back.axes == "DHW" and back.scale == (4.0, 1.0, 1.0)
        np.testing.assert_array_equal(back.read(...), _expected(stack, "DHW", spec, "mode"))


def test_multipage_tiff_without_metadata_is_a_stack(tmp_path):
    path = str(tmp_path / "pages.tif")
    with tifffile.TiffWriter(path) as tif:
        for i in range(3):
            tif.write(np.full((8, 8), i, np.uint8), metadata=None)
    with open_lazy(path) as lazy:
        assert lazy.shape == (3, 8, 8) and lazy.axes == "DHW"


def test_interrupted_output_leaves_nothing(tmp_path, image, monkeypatch):
    from poolcli.blocks import run as blocks_run

    path = str(tmp_path / "in.npy")
    np.save(path, image)
    calls = []

    def stop(*args):
        calls.append(args)
        if len(calls) > 2:
            raise KeyboardInterrupt
        return original(*args)

    original = blocks_run.pool_and_write
    monkeypatch.setattr(blocks_run, "pool_and_write", stop)
    for suffix in (".npy", ".zarr", ".tif"):
        calls.clear()
        with pytest.raises(KeyboardInterrupt):
            pool_blockwise(path, "max", SPEC, str(tmp_path / f"out{suffix}"), max_memory=5000)
    assert sorted(os.listdir(tmp_path)) == ["in.npy"]


def test_npy_boxes_are_read_with_plain_reads(tmp_path):
    x = np.arange(5 * 6 * 7, dtype=np.int16).reshape(5, 6, 7)
    for order in ("C", "F"):
        path = str(tmp_path / f"{order}.npy")
        np.save(path, np.asarray(x, order=order))
        with open_lazy(path) as lazy:
            for index in [
                (slice(1, 4), slice(2, 5), slice(0, 7)),
                (slice(0, 5), slice(1, 2), slice(3, 6)),
                ...,
            ]:
                np.testing.assert_array_equal(lazy.read(index), x[index])


def test_npy_cut_short_while_read_is_a_clear_error(tmp_path):
    from poolcli.errors import PoolError

    path = str(tmp_path / "x.npy")
    np.save(path, np.zeros((50, 50), np.float32))
    with open_lazy(path) as lazy:
        os.truncate(path, 2000)
        with pytest.raises(PoolError, match="cut short"):
            lazy.read((slice(0, 50), slice(0, 50)))


def _rgba(tmp_path, name, samples, extrasample):
    rng = np.random.default_rng(7)
    x = rng.integers(0, 256, (40, 30, samples), dtype=np.uint8)
    x[..., -1] = np.where(rng.random((40, 30)) < 0.3, 0, x[..., -1])
    x[:6, :6, -1] = 0  # whole windows transparent
    path = str(tmp_path / name)
    photometric = "rgb" if samples == 4 else "minisblack"
    tifffile.imwrite(path, x, photometric=photometric, extrasamples=[extrasample], tile=(16, 16))
    return path


@pytest.mark.parametrize("reduction", ["avg", "max", "mode", "median"])
@pytest.mark.parametrize(
    "name,samples,extrasample",
    [
        ("rgba.tif", 4, "unassalpha"),
        ("rgba_pre.tif", 4, "assocalpha"),
        ("la.tif", 2, "unassalpha"),
        ("la_pre.tif", 2, "assocalpha"),
    ],
)
@pytest.mark.parametrize("straight", [False, True])
def test_tiff_alpha_follows_the_image_rule(
    tmp_path, reduction, name, samples, extrasample, straight
):
    """Blocks of an RGBA/LA TIFF pool as the whole image read in memory does: transparent
    cells lend no colour, premultiplied colour is made straight, mode takes whole pixels."""
    from poolcli import io
    from poolcli.model.options import PoolOptions

    path = _rgba(tmp_path, name, samples, extrasample)
    spec = WindowSpec.make(kernel_size=3, stride=2)
    options = PoolOptions(straight_alpha=straight)
    loaded = io.read_input(path)
    assert loaded.has_alpha
    whole = run(loaded.array, reduction, spec, "HWC", options, alpha=True, pixels=True).output
    done = pool_blockwise(path, reduction, spec, options=options, max_memory=12_000)
    assert done.plan.count > 1
    np.testing.assert_array_equal(done.output, whole)
    if reduction == "avg" and not straight:  # the rule changes the result here
        plain = run(loaded.array, reduction, spec, "HWC", options).output
        assert not np.array_equal(done.output, plain)


def test_premultiplied_float_tiff_is_refused(tmp_path):
    from poolcli.errors import PoolError

    path = str(tmp_path / "f.tif")
    x = np.ones((16, 16, 4), np.float32)
    tifffile.imwrite(path, x, photometric="rgb", extrasamples=["assocalpha"])
    with pytest.raises(PoolError, match="premultiplied alpha"):
        open_lazy(path)


@pytest.mark.parametrize("channels", [1, 2, 3, 4, 5])
def test_tiff_outputs_name_their_samples(tmp_path, channels):
    """An image's alpha stays alpha in a TIFF output; other channels are never taken for it."""
    rgba = _rgba(tmp_path, "in.tif", 4, "unassalpha")
    plain = str(tmp_path / "plain.npy")
    x = np.random.default_rng(9).random((20, 18, channels)).astype(np.float32)
    np.save(plain, x)
    spec = WindowSpec.make(kernel_size=2)
    pool_blockwise(plain, "max", spec, str(tmp_path / "plain.tif"), layout="HWC")
    with open_lazy(str(tmp_path / "plain.tif")) as back:
        assert not back.alpha
        assert back.axes == ("HW" if channels == 1 else "HWC")  # one channel: a grey image
        np.testing.assert_array_equal(back.read(...).reshape(10, 9, channels), _max_hwc(x, spec))
    if channels == 4:
        pool_blockwise(rgba, "avg", spec, str(tmp_path / "out.tif"))
        with open_lazy(str(tmp_path / "out.tif")) as back:
            assert back.alpha and back.pixels


def _max_hwc(x, spec):
    return run(x, "max", spec, "HWC").output


@pytest.mark.parametrize("max_memory", [None, "4KiB"])
def test_a_one_channel_image_is_a_grey_tiff_read_as_hw(cli, tmp_path, max_memory):
    """HWC with C = 1 written to TIFF is one grey page (no samples axis), which reads back as
    HW with the same values and layout in memory and block by block (see the README)."""
    from poolcli import io

    x = np.random.default_rng(11).integers(0, 256, (40, 30, 1), dtype=np.uint8)
    path, out = tmp_path / "g.npy", tmp_path / "g.tif"
    np.save(path, x)
    budget = ("--max-memory", max_memory) if max_memory else ()
    cli("max", path, "-k", "2", "--layout", "HWC", *budget, "-o", out)
    expected = x.reshape(20, 2, 15, 2).max(axis=(1, 3))
    with tifffile.TiffFile(out) as tif:
        assert tif.series[0].axes == "YX" and tif.pages[0].samplesperpixel == 1
        assert tif.pages[0].photometric == tifffile.PHOTOMETRIC.MINISBLACK
    with open_lazy(str(out)) as lazy:
        assert lazy.axes == "HW" and not lazy.pixels
        np.testing.assert_array_equal(lazy.read((slice(None), slice(None))), expected)
    np.testing.assert_array_equal(io.read_input(str(out)).array, expected)
