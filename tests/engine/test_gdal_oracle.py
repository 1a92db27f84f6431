"""--nodata against GDAL: average and mode resampling with a nodata value (gdalwarp).

GDAL is the reference implementation of nodata-aware resampling for rasters; the grids are
written and read as ESRI ASCII grids, so only the ``gdalwarp`` and ``gdal_translate``
programs (Debian's gdal-bin, installed by ``make gdal``) are needed, no Python bindings.
"""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

import poolcli

NODATA = -9999.0


def gdal_tools() -> None:
    missing = [tool for tool in ("gdalwarp", "gdal_translate") if shutil.which(tool) is None]
    assert not missing, (
        f"{', '.join(missing)} not found: install gdal-bin (make gdal, or apt-get install "
        "gdal-bin); this oracle is part of the test suite."
    )


def write_grid(path, x: np.ndarray, integers: bool) -> None:
    lines = [
        f"ncols {x.shape[1]}",
        f"nrows {x.shape[0]}",
        "xllcorner 0",
        "yllcorner 0",
        "cellsize 1",
        f"NODATA_value {NODATA:.0f}",
    ]
    if integers:
        lines += [" ".join(str(int(v)) for v in row) for row in x]
    else:  # a decimal point in every value makes GDAL read the grid as Float32
        lines += [" ".join(f"{v:.6f}" for v in row) for row in x]
    path.write_text("\n".join(lines) + "\n")


def read_grid(path) -> np.ndarray:
    rows = [line.split() for line in path.read_text().splitlines()]
    return np.array([[float(v) for v in row] for row in rows if row and row[0][0] in "-0123456789"])


def gdal_resample(tmp_path, x, method: str, factor: int, integers: bool = False) -> np.ndarray:
    gdal_tools()
    source, warped, grid = tmp_path / "in.asc", tmp_path / "out.tif", tmp_path / "out.asc"
    write_grid(source, x, integers)
    size = [str(x.shape[1] // factor), str(x.shape[0] // factor)]
    warp = ["gdalwarp", "-q", "-overwrite", "-r", method, "-ts", *size]
    nodata = ["-srcnodata", f"{NODATA:.0f}", "-dstnodata", f"{NODATA:.0f}"]
    subprocess.run([*warp, *nodata, str(source), str(warped)], check=True)
    subprocess.run(
        ["gdal_translate", "-q", "-of", "AAIGrid", "-co", "DECIMAL_PRECISION=10", str(warped),
         str(grid)], check=True,
    )  # fmt: skip
    return read_grid(grid)


@pytest.mark.parametrize("factor", [2, 3])
@pytest.mark.parametrize("holes", [0.2, 0.6])
def test_nodata_average_is_gdals_average(tmp_path, factor, holes):
    rng = np.random.default_rng(int(holes * 10) + factor)
    x = np.round(rng.random((12, 18)) * 1000, 2).astype(np.float32)
    x[rng.random(x.shape) < holes] = NODATA
    x[:factor, :factor] = NODATA  # a window of only nodata gives nodata
    want = gdal_resample(tmp_path, x, "average", factor)
    got = poolcli.pool(x, "avg", kernel_size=factor, nodata=NODATA)
    assert got[0, 0] == NODATA
    np.testing.assert_allclose(got, want, rtol=1e-6)


@pytest.mark.parametrize("factor", [2, 4])
def test_nodata_mode_is_gdals_mode(tmp_path, factor):
    rng = np.random.default_rng(factor)
    x = rng.integers(0, 5, (16, 12)).astype(np.int32)
    x[rng.random(x.shape) < 0.3] = int(NODATA)
    x[:factor, :factor] = int(NODATA)
    want = gdal_resample(tmp_path, x, "mode", factor, integers=True)
    got = poolcli.pool(x, "mode", kernel_size=factor, nodata=NODATA)
    assert got[0, 0] == NODATA and want[0, 0] == NODATA
    ties = 0
    for (i, j), value in np.ndenumerate(got):
        window = x[i * factor : (i + 1) * factor, j * factor : (j + 1) * factor].ravel()
        window = window[window != NODATA]
        if not window.size:
            continue
        values, counts = np.unique(window, return_counts=True)
        tied = values[counts == counts.max()]
        # GDAL breaks a tie by the first value met in scan order, poolcli by the smallest.
        assert want[i, j] in tied and value == tied.min(), (i, j, window)
        ties += len(tied) > 1
        if len(tied) == 1:
            assert value == want[i, j]
    assert ties < got.size
