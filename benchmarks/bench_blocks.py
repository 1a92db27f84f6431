"""Bigger than memory (#10): peak memory under --max-memory, throughput on Zarr against dask and
xarray, blockwise against in-memory, and pyramids against ome-zarr-py.

Usage: .venv/bin/python benchmarks/bench_blocks.py [--only SECTION] [--quick] [--json FILE]

Sections (all by default):

``memory``
    A 2 GiB float32 ``.npy`` (16384x32768), ``poolcli max -k 2 --max-memory 256MiB -o out.npy``:
    peak RSS (``/usr/bin/time``'s ``ru_maxrss``) against ``python -c "import torch"``, the
    target being torch's base + 256 + 300 MiB; the output is checked against numpy.
``zarr``
    8192x8192 float32 Zarr with 1024x1024 chunks: poolcli blockwise (k = s = 2, avg) against
    ``dask.array.coarsen`` and xarray's ``coarsen(...).mean()`` writing the same Zarr output;
    k=3 s=2 max against a dask ``sliding_window_view`` reference; blockwise against the
    in-memory engine on the same data (as ``.npy``); and max k = s = 2 under a small
    ``--max-memory`` (16 MiB: blocks of rows that cut the output chunks, gathered into whole
    rows of chunks before they are written). Each case runs in its own process
    (interleaved, median of ``--repeat``), with its peak RSS.
``pyramid``
    16384x16384 float32 to 6 levels (avg -k 2) as OME-Zarr: ``poolcli pyramid`` against
    ome-zarr-py's ``write_image`` with its default scaler, time and peak RSS.

The machine is shared and its 2 cores are contended: the numbers are indicative; rerun
with the command above. ``--quick`` divides every side by 4.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from benchutil import machine_line, median, mib, poolcli_cmd, python_exe, run_measured, table

HERE = Path(__file__).resolve()
MIB = 2**20


# --------------------------------------------------------------------------------------
# Cases run in a child process (``bench_blocks.py --case NAME ARGS``), one per measurement.


def _case(name: str, args: list[str]) -> None:
    """Run one case; print ``WORK seconds`` (the time after the imports) on stderr."""
    import time

    import dask.array  # noqa: F401  (imports are not part of the work timed)
    import numpy as np

    if name in ("in-memory", "blockwise"):
        import poolcli.blocks.run  # noqa: F401
        import poolcli.engine.ops  # noqa: F401
    if name == "ome-zarr-py":  # it will not write over an earlier run's pyramid
        shutil.rmtree(args[1], ignore_errors=True)
    start = time.perf_counter()
    _work(name, args, np)
    print(f"WORK {time.perf_counter() - start:.3f}", file=sys.stderr)


def _work(name: str, args: list[str], np) -> None:
    if name == "dask-coarsen":
        import dask.array as da

        x = da.from_zarr(args[0])
        da.coarsen(np.mean, x, {0: 2, 1: 2}, trim_excess=True).astype("float32").to_zarr(
            args[1], overwrite=True
        )
    elif name == "xarray-coarsen":
        import dask.array as da
        import xarray as xr

        x = xr.DataArray(da.from_zarr(args[0]), dims=("y", "x"))
        out = x.coarsen(y=2, x=2, boundary="trim").mean().astype("float32")
        out.data.to_zarr(args[1], overwrite=True)
    elif name == "dask-sliding":
        import dask.array as da

        x = da.from_zarr(args[0])
        windows = da.lib.stride_tricks.sliding_window_view(x, (3, 3))[::2, ::2]
        windows.max(axis=(-2, -1)).to_zarr(args[1], overwrite=True)
    elif name == "in-memory":
        from poolcli import pool

        np.save(
            args[1], pool(np.load(args[0]), args[2], kernel_size=int(args[3]), stride=int(args[4]))
        )
    elif name == "blockwise":
        from poolcli.blocks import pool_blockwise
        from poolcli.model.window import WindowSpec

        spec = WindowSpec.make(kernel_size=int(args[3]), stride=int(args[4]))
        pool_blockwise(args[0], args[2], spec, args[1], max_memory=int(args[5]))
    elif name == "ome-zarr-py":
        import zarr
        from ome_zarr.io import parse_url
        from ome_zarr.scale import Scaler
        from ome_zarr.writer import write_image

        data = np.load(args[0], mmap_mode="r")
        root = zarr.group(parse_url(args[1], mode="w").store)
        write_image(np.asarray(data), root, axes="yx", scaler=Scaler(max_layer=int(args[2])))
    else:
        raise SystemExit(f"unknown case {name}")


def child(name: str, *args) -> list[str]:
    return [python_exe(), str(HERE), "--case", name, *map(str, args)]


# --------------------------------------------------------------------------------------


def make_npy(path: Path, shape, seed=0) -> None:
    """A float32 .npy written a band at a time (never the whole array in memory)."""
    import numpy as np
    from numpy.lib.format import open_memmap

    if path.exists():
        return
    out = open_memmap(path, mode="w+", dtype=np.float32, shape=shape)
    rng = np.random.default_rng(seed)
    step = max(1, 2**24 // shape[1])
    for r in range(0, shape[0], step):
        out[r : r + step] = rng.random((min(step, shape[0] - r), shape[1]), dtype=np.float32)
    out.flush()
    del out


def make_zarr(npy: Path, path: Path, chunk: int) -> None:
    import numpy as np
    import zarr

    if path.exists():
        return
    x = np.load(npy, mmap_mode="r")
    z = zarr.create_array(str(path), shape=x.shape, dtype=x.dtype, chunks=(chunk, chunk))
    for r in range(0, x.shape[0], chunk):
        z[r : r + chunk] = x[r : r + chunk]


def section_memory(work: Path, quick: bool) -> list[list]:
    import numpy as np

    side = (16384, 32768) if not quick else (4096, 8192)
    big = work / "big2g.npy"
    make_npy(big, side)
    out = work / "big_max.npy"
    base = run_measured([python_exe(), "-c", "import torch, numpy"])
    cmd = [
        *poolcli_cmd(),
        "max",
        str(big),
        "-k",
        "2",
        "--max-memory",
        "256MiB",
        "-o",
        str(out),
        "--device",
        "cpu",
    ]
    got = run_measured(cmd, timeout=3600)
    x = np.load(big, mmap_mode="r")
    y = np.load(out, mmap_mode="r")
    same = all(
        np.array_equal(
            y[r // 2 : (r + 2048) // 2],
            np.asarray(x[r : r + 2048]).reshape(-1, 2, x.shape[1] // 2, 2).max(axis=(1, 3)),
        )
        for r in range(0, x.shape[0], 2048)
    )
    target = base.rss + 256 * MIB + 300 * MIB
    return [
        ["`python -c 'import torch'` (base)", f"{base.wall:.2f} s", mib(base.rss), "", ""],
        [
            f"`poolcli max` {side[0]}x{side[1]} f32 ({x.nbytes / 2**30:.1f} GiB) -k 2 "
            "--max-memory 256MiB",
            f"{got.wall:.1f} s",
            mib(got.rss),
            f"≤ {mib(target)}: {'PASS' if got.rss <= target else 'MISS'}",
            "identical" if same and got.ok else f"DIFFERENT rc={got.rc} {got.err}",
        ],
    ]


def _timed(cases: dict[str, list[str]], repeat: int) -> dict[str, tuple]:
    """Interleaved runs of each case: median wall time, largest peak RSS, the median time of
    the work itself (after the imports; the wall time for a command) and the median CPU time
    (user + system, imports included: steadier than wall time on a shared machine)."""
    walls: dict[str, list[float]] = {k: [] for k in cases}
    works: dict[str, list[float]] = {k: [] for k in cases}
    cpus: dict[str, list[float]] = {k: [] for k in cases}
    rss: dict[str, int] = dict.fromkeys(cases, 0)
    for _ in range(repeat):
        for name, cmd in cases.items():
            got = run_measured(cmd, timeout=3600)
            if not got.ok:
                raise SystemExit(f"{name} failed: {got.err}")
            walls[name].append(got.wall)
            work = [p for p in got.err.split(" | ") if p.startswith("WORK ")]
            works[name].append(float(work[-1].split()[1]) if work else got.wall)
            cpus[name].append(got.cpu)
            rss[name] = max(rss[name], got.rss)
    return {k: (median(v), rss[k], median(works[k]), median(cpus[k])) for k, v in walls.items()}


def section_zarr(work: Path, quick: bool, repeat: int) -> list[list]:
    side = 8192 if not quick else 2048
    npy = work / f"z{side}.npy"
    make_npy(npy, (side, side), seed=1)
    src = work / f"z{side}.zarr"
    make_zarr(npy, src, 1024 if not quick else 256)
    o = work / "outs"
    o.mkdir(exist_ok=True)
    budget = 1 << 30
    cases = {
        "poolcli blockwise avg k=s=2": child("blockwise", src, o / "p.zarr", "avg", 2, 2, budget),
        "dask.array.coarsen mean": child("dask-coarsen", src, o / "d.zarr"),
        "poolcli blockwise max k=3 s=2": child(
            "blockwise", src, o / "p3.zarr", "max", 3, 2, budget
        ),
        "dask sliding_window_view max": child("dask-sliding", src, o / "d3.zarr"),
        "poolcli blockwise max k=s=2, 16 MiB budget": child(
            "blockwise", src, o / "ps.zarr", "max", 2, 2, 16 * MIB
        ),
        "poolcli in-memory avg k=s=2 (.npy)": child("in-memory", npy, o / "m.npy", "avg", 2, 2),
        "poolcli blockwise avg k=s=2 (.npy)": child(
            "blockwise", npy, o / "b.npy", "avg", 2, 2, budget
        ),
    }
    try:
        import xarray  # noqa: F401

        cases["xarray coarsen mean"] = child("xarray-coarsen", src, o / "x.zarr")
    except ImportError:
        pass
    found = _timed(cases, repeat)
    ref = {
        "dask.array.coarsen mean": "poolcli blockwise avg k=s=2",
        "xarray coarsen mean": "poolcli blockwise avg k=s=2",
        "dask sliding_window_view max": "poolcli blockwise max k=3 s=2",
        "poolcli in-memory avg k=s=2 (.npy)": "poolcli blockwise avg k=s=2 (.npy)",
    }
    rows = []
    for name, (wall, rss, work, cpu) in found.items():
        ratio = ""
        if name in ref:
            theirs, ours = work, found[ref[name]][2]
            ratio = f"poolcli {theirs / ours:.2f}x as fast"
            if "in-memory" in name:
                ratio = f"blockwise takes {ours / theirs:.2f}x the in-memory time"
        rows.append([name, f"{wall:.2f} s", f"{work:.2f} s", f"{cpu:.2f} s", mib(rss), ratio])
    return rows


def section_pyramid(work: Path, quick: bool, repeat: int) -> list[list]:
    side = 16384 if not quick else 4096
    npy = work / f"p{side}.npy"
    make_npy(npy, (side, side), seed=2)
    out = work / "outs"
    out.mkdir(exist_ok=True)
    cases = {
        "poolcli pyramid (avg -k 2)": [
            *poolcli_cmd(),
            "pyramid",
            str(npy),
            "-o",
            str(out / "pp.zarr"),
            "--levels",
            "6",
            "--max-memory",
            "1GiB",
            "--device",
            "cpu",
        ],
    }
    try:
        import ome_zarr  # noqa: F401

        cases["ome-zarr-py write_image (default scaler)"] = child(
            "ome-zarr-py", npy, out / "oz.zarr", 6
        )
    except ImportError:
        pass
    found = _timed(cases, repeat)
    return [
        [name, f"{wall:.1f} s", f"{cpu:.1f} s", mib(rss)]
        for name, (wall, rss, _, cpu) in found.items()
    ]


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--case":
        _case(sys.argv[2], sys.argv[3:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["memory", "zarr", "pyramid"])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json")
    parser.add_argument("--work", help="where the inputs are made (default: a temporary folder)")
    options = parser.parse_args()
    work = Path(options.work or tempfile.mkdtemp(prefix="poolcli-bench-blocks-"))
    work.mkdir(parents=True, exist_ok=True)
    print(machine_line())
    results = {}
    try:
        if options.only in (None, "memory"):
            rows = section_memory(work, options.quick)
            print(table(["case", "wall", "peak RSS", "target", "output"], rows, "lrrll"))
            results["memory"] = rows
        if options.only in (None, "zarr"):
            rows = section_zarr(work, options.quick, options.repeat)
            headers = ["case", "wall (median)", "work (median)", "CPU (median)", "peak RSS"]
            print(table([*headers, "work ratio"], rows, "lrrrrl"))
            results["zarr"] = rows
        if options.only in (None, "pyramid"):
            rows = section_pyramid(work, options.quick, max(1, options.repeat // 2))
            print(table(["case", "wall (median)", "CPU (median)", "peak RSS"], rows, "lrrr"))
            results["pyramid"] = rows
    finally:
        if options.work is None:
            shutil.rmtree(work, ignore_errors=True)
    if options.json:
        Path(options.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", str(os.cpu_count() or 1))
    main()
