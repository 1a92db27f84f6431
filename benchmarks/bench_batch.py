"""Batch throughput: 2x2 average pooling of a directory of photo-like PNGs, poolcli vs peers (#3).

Usage: .venv/bin/python benchmarks/bench_batch.py [--count 300] [--repeat 3] [--jobs N]
                                                  [--scale] [--no-install] [--json FILE]

Generates ``--count`` RGB 512x512 PNGs that compress like photographs (smooth gradients,
soft colour blobs, a few hard-edged shapes and sensor noise; not flat colour) into
``benchmarks/out/batch/`` (kept between runs), then, in rounds, halves them to PNG at zlib
level 6 with:

- poolcli: ``poolcli avg IN -k 2 -o OUT/`` (default jobs);
- Pillow: a ``multiprocessing`` loop of open, ``reduce(2)``, save, with ``--jobs`` processes:
  the practical floor for a Python tool;
- ImageMagick: ``mogrify -path OUT -scale 50%`` as one process (its own OpenMP threads) and as
  ``--jobs`` processes over slices of the file list (``MAGICK_THREAD_LIMIT=1``);
- libvips: ``vips shrink IN OUT 2 2``, ``--jobs`` at a time (like ``xargs -P``).

ImageMagick and libvips are installed from Debian's packages when missing (root and apt-get
needed; ``--no-install`` skips that), else their rows say why they are missing.

The machine's second core is not always there: a two-process CPU probe (two processes
spinning ~1 s) runs before and after, and each tool's CPU time over its wall time says how
many cores it actually kept busy. ``--scale`` also runs poolcli and the floor over 10x the
files (hard links): poolcli's peak memory should stay flat, and the two sizes split its time
into a fixed cost and a steady rate.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from multiprocessing import Pool
from pathlib import Path

from benchutil import (
    REPO,
    CpuMeter,
    Proc,
    cpu_probe,
    machine_line,
    median,
    mib,
    poolcli_cmd,
    python_exe,
    run_group,
    run_measured,
    table,
)

WORK = REPO / "benchmarks" / "out" / "batch"
GENERATOR_VERSION = 1
PILLOW_LOOP = """
import os, sys
from multiprocessing import get_context
from PIL import Image

src, dst, jobs = sys.argv[1], sys.argv[2], int(sys.argv[3])

def one(name):
    with Image.open(os.path.join(src, name)) as im:
        im.reduce(2).save(os.path.join(dst, name), compress_level=6)

names = sorted(n for n in os.listdir(src) if n.endswith(".png"))
with get_context("fork").Pool(jobs) as pool:
    pool.map(one, names, chunksize=4)
"""


# --------------------------------------------------------------------------------------
# Test images


def photo(index: int, size: int = 512):
    """A deterministic photo-like RGB uint8 image: gradients, blobs, edges and noise."""
    import numpy as np

    rng = np.random.default_rng(1000 + index)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    # Smooth illumination: bilinear blend of four corner colours.
    c = rng.uniform(30, 220, (2, 2, 3)).astype(np.float32)
    img = (
        c[0, 0] * ((1 - yy) * (1 - xx))[..., None]
        + c[0, 1] * ((1 - yy) * xx)[..., None]
        + c[1, 0] * (yy * (1 - xx))[..., None]
        + c[1, 1] * (yy * xx)[..., None]
    )
    # Low-frequency texture.
    for _ in range(3):
        fy, fx = rng.uniform(0.5, 4, 2)
        phase = rng.uniform(0, 2 * np.pi)
        amp = rng.uniform(4, 15, 3).astype(np.float32)
        img += np.sin(2 * np.pi * (fy * yy + fx * xx) + phase)[..., None] * amp
    # Soft colour blobs.
    for _ in range(int(rng.integers(5, 12))):
        cy, cx = rng.uniform(0, 1, 2)
        sigma = rng.uniform(0.03, 0.25)
        weight = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * sigma**2))
        img += weight[..., None] * rng.uniform(-90, 90, 3).astype(np.float32)
    # A few hard-edged objects (ellipses) with their own shading.
    for _ in range(int(rng.integers(1, 4))):
        cy, cx = rng.uniform(0.1, 0.9, 2)
        ry, rx = rng.uniform(0.05, 0.3, 2)
        inside = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 < 1
        shade = rng.uniform(20, 230, 3).astype(np.float32) * (0.8 + 0.4 * yy[..., None])
        img = np.where(inside[..., None], 0.3 * img + 0.7 * shade, img)
    # Sensor noise: shot-like (grows with brightness) plus read noise.
    sigma = np.sqrt(np.clip(img, 0, 255) * rng.uniform(0.02, 0.06)) + rng.uniform(1, 2.5)
    img += rng.standard_normal(img.shape, dtype=np.float32) * sigma
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def _write_photo(args):
    from PIL import Image

    index, folder = args
    Image.fromarray(photo(index)).save(Path(folder) / f"img_{index:04d}.png", compress_level=6)


def ensure_images(folder: Path, count: int, jobs: int) -> tuple[int, float]:
    """Create (or reuse) ``count`` photo-like PNGs; returns (total bytes, seconds spent)."""
    marker = folder / ".params"
    params = json.dumps({"count": count, "version": GENERATOR_VERSION})
    start = time.perf_counter()
    if not (marker.exists() and marker.read_text() == params):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        with Pool(jobs) as pool:
            pool.map(_write_photo, [(i, str(folder)) for i in range(count)], chunksize=4)
        marker.write_text(params)
    size = sum(p.stat().st_size for p in folder.glob("*.png"))
    return size, time.perf_counter() - start


def ensure_links(source: Path, folder: Path, copies: int) -> None:
    """``folder`` holding ``copies`` hard links of every PNG in ``source`` (for --scale)."""
    names = sorted(p.name for p in source.glob("*.png"))
    if folder.exists() and len(list(folder.glob("*.png"))) == copies * len(names):
        return
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for copy in range(copies):
        for name in names:
            target = folder / f"c{copy:02d}_{name}"
            try:
                os.link(source / name, target)
            except OSError:
                shutil.copyfile(source / name, target)


# --------------------------------------------------------------------------------------
# Peer tools


def ensure_tool(binary: str, package: str, install: bool) -> str | None:
    """None when ``binary`` is usable, else why not (after trying apt-get when allowed)."""
    if shutil.which(binary):
        return None
    if not install:
        return f"{binary} not found (apt-get install {package}; --no-install given)"
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return f"{binary} not found and apt-get is not usable here (apt-get install {package})"
    print(f"installing {package} with apt-get ...", file=sys.stderr, flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", package]):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if done.returncode:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:]
            return f"apt-get could not install {package}: {' '.join(tail)}"
    return None if shutil.which(binary) else f"{package} installed but {binary} is missing"


def pngs(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.png"))


def fresh(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def split(items: list, parts: int) -> list[list]:
    return [items[i::parts] for i in range(parts) if items[i::parts]]


class Tools:
    """Each tool: a function (input folder, output folder) -> Proc."""

    def __init__(self, jobs: int):
        self.jobs = jobs

    def pillow(self, src: Path, dst: Path) -> Proc:
        return run_measured(
            [python_exe(), "-c", PILLOW_LOOP, str(src), str(dst), str(self.jobs)], tree=True
        )

    def poolcli(self, src: Path, dst: Path) -> Proc:
        return run_measured(
            poolcli_cmd() + ["avg", str(src), "-k", "2", "-o", f"{dst}/", "-q"], tree=True
        )

    def mogrify(self, src: Path, dst: Path) -> Proc:
        files = [str(p) for p in pngs(src)]
        return run_measured(
            [
                "mogrify",
                "-path",
                str(dst),
                "-scale",
                "50%",
                "-define",
                "png:compression-level=6",
                *files,
            ]
        )

    def mogrify_procs(self, src: Path, dst: Path) -> Proc:
        env = dict(os.environ, MAGICK_THREAD_LIMIT="1")
        cmds = [
            [
                "mogrify",
                "-path",
                str(dst),
                "-scale",
                "50%",
                "-define",
                "png:compression-level=6",
                *part,
            ]
            for part in split([str(p) for p in pngs(src)], self.jobs)
        ]
        return run_group(cmds, self.jobs, env=env)

    def vips(self, src: Path, dst: Path) -> Proc:
        cmds = [
            ["vips", "shrink", str(p), f"{dst / p.name}[compression=6]", "2", "2"]
            for p in pngs(src)
        ]
        return run_group(cmds, self.jobs)


def poolcli_status(work: Path) -> str | None:
    """None when ``poolcli avg DIR -k 2 -o OUT/`` works on a two-image folder, else why not."""
    import numpy as np
    from PIL import Image

    src, dst = fresh(work / "probe-in"), work / "probe-out"
    shutil.rmtree(dst, ignore_errors=True)
    for i in range(2):
        Image.fromarray(np.full((8, 8, 3), 40 * i, np.uint8)).save(src / f"p{i}.png")
    proc = run_measured(poolcli_cmd() + ["avg", str(src), "-k", "2", "-o", f"{dst}/", "-q"])
    if not proc.ok:
        last = proc.err.split(" | ")[-1] if proc.err else "no message"
        return f"exit {proc.rc}: {last[:100]}"
    made = len(pngs(dst)) if dst.is_dir() else 0
    return None if made == 2 else f"wrote {made} of 2 outputs"


def check_outputs(dst: Path, count: int) -> str | None:
    """None when ``dst`` holds ``count`` 256x256 PNGs, else what is wrong."""
    from PIL import Image

    found = pngs(dst) if dst.is_dir() else []
    if len(found) != count:
        return f"{len(found)} of {count} outputs"
    with Image.open(found[0]) as im:
        if im.size != (256, 256):
            return f"output size {im.size[0]}x{im.size[1]}"
    return None


def max_difference(a: Path, b: Path, sample: int = 10) -> int:
    import numpy as np
    from PIL import Image

    worst = 0
    for path in pngs(a)[:sample]:
        with Image.open(path) as x, Image.open(b / path.name) as y:
            diff = np.abs(np.asarray(x, np.int16) - np.asarray(y, np.int16))
            worst = max(worst, int(diff.max()))
    return worst


# --------------------------------------------------------------------------------------


def scale(args, tools: Tools, src: Path, runs: dict, record: dict) -> None:
    """``--scale``: poolcli (and the Pillow floor, when it ran) on 10x the files (hard links).

    Peak memory should stay flat. The two sizes split poolcli's time into a fixed cost
    (start-up, importing torch) and a steady rate: rate = extra files / extra seconds.
    """
    many = args.count * 10
    big = WORK / f"in-{many}-links"
    ensure_links(src, big, 10)
    small = runs["poolcli"]
    small_rss = max(p.rss for p in small)
    small_memory = max(p.tree_pss or p.rss for p in small)
    dst = fresh(WORK / "out-poolcli-scale")
    proc = tools.poolcli(big, dst)
    shutil.rmtree(dst, ignore_errors=True)
    if not proc.ok:
        print(f"\n--scale: poolcli failed on {many} files: {proc.err or proc.rc}")
        return
    small_wall = median([p.wall for p in small])
    steady = (many - args.count) / (proc.wall - small_wall)
    fixed = small_wall - args.count / steady
    record["scale"] = {
        "files": many,
        "images_per_s": many / proc.wall,
        "steady_images_per_s": steady,
        "fixed_cost_s": fixed,
        "peak_rss": proc.rss,
        "peak_memory": proc.tree_pss,
        "peak_rss_small": small_rss,
        "peak_memory_small": small_memory,
    }
    print(
        f"\n--scale: poolcli on {many} files: {many / proc.wall:.1f} images/s; main "
        f"process peak RSS {mib(proc.rss)} (vs {mib(small_rss)} for {args.count}); "
        f"all processes' peak PSS {mib(proc.tree_pss or 0)} (vs {mib(small_memory)})"
    )
    print(
        f"  poolcli's time = {fixed:.2f} s fixed + files / {steady:.1f} images/s "
        f"(from {args.count} and {many} files)"
    )
    if "pillow" in runs:
        dst = fresh(WORK / "out-pillow-scale")
        floor = tools.pillow(big, dst)
        shutil.rmtree(dst, ignore_errors=True)
        if floor.ok:
            record["scale"]["pillow_images_per_s"] = many / floor.wall
            print(
                f"  Pillow floor on {many} files: {many / floor.wall:.1f} images/s; poolcli "
                f"{floor.wall / proc.wall:.2f}× the floor (steady rate "
                f"{steady * floor.wall / many:.2f}×)"
            )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=300, help="images to generate (300)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; medians are reported")
    parser.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="processes for the Pillow loop and the peers (all cores)",
    )
    parser.add_argument(
        "--scale",
        action="store_true",
        help="also run poolcli and the floor on 10x the files (memory, fixed cost, steady rate)",
    )
    parser.add_argument("--no-install", action="store_true", help="never call apt-get")
    parser.add_argument(
        "--only",
        action="append",
        choices=("poolcli", "pillow", "mogrify", "mogrify-procs", "vips"),
        help="run only these tools (repeatable)",
    )
    parser.add_argument("--json", metavar="FILE", help="also write the numbers as JSON")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    record: dict = {"machine": machine_line(), "count": args.count, "jobs": args.jobs}
    record["cores_before"] = cpu_probe()
    print(f"# poolcli batch benchmark: {args.count} RGB 512×512 PNGs → avg 2×2, PNG level 6\n")
    print(
        f"{record['machine']}; {args.jobs} jobs; CPU probe before: "
        f"{record['cores_before']:.2f} of 2 cores obtained"
    )

    src = WORK / f"in-{args.count}"
    total, spent = ensure_images(src, args.count, args.jobs)
    record["input_bytes"] = total
    print(
        f"inputs: {src} ({mib(total)}, {total / args.count / 1024:.0f} KiB per image; "
        f"{'made' if spent > 1 else 'reused'} in {spent:.1f} s)\n"
    )

    tools = Tools(args.jobs)
    plan = {
        "pillow": (f"Pillow reduce(2) loop, {args.jobs} processes", tools.pillow, None),
        "poolcli": ("poolcli avg DIR -k 2 -o OUT/", tools.poolcli, None),
        "mogrify": ("mogrify -scale 50%, 1 process", tools.mogrify, ("mogrify", "imagemagick")),
        "mogrify-procs": (
            f"mogrify -scale 50%, {args.jobs} processes",
            tools.mogrify_procs,
            ("mogrify", "imagemagick"),
        ),
        "vips": (f"vips shrink 2 2, {args.jobs} at a time", tools.vips, ("vips", "libvips-tools")),
    }
    wanted = args.only or list(plan)
    missing = {}
    for name in wanted:
        need = plan[name][2]
        if need:
            reason = ensure_tool(*need, install=not args.no_install)
            if reason:
                missing[name] = reason
    if "poolcli" in wanted:
        reason = poolcli_status(WORK)
        if reason:
            missing["poolcli"] = f"batch command unavailable ({reason})"
    for name, reason in missing.items():
        print(f"skipping {name}: {reason}")

    runs: dict[str, list[Proc]] = {name: [] for name in wanted if name not in missing}
    # Cores other processes kept busy during each run, and cores the hypervisor stole.
    others: dict[str, list[float]] = {name: [] for name in runs}
    stolen: dict[str, list[float]] = {name: [] for name in runs}
    problems: dict[str, str] = {}
    for round_ in range(args.repeat):
        for name in list(runs):
            dst = fresh(WORK / f"out-{name}")
            meter = CpuMeter()
            proc = plan[name][1](src, dst)
            load = meter.stop()
            problem = (
                f"exit {proc.rc}: {proc.err}" if not proc.ok else check_outputs(dst, args.count)
            )
            if problem:
                problems[name] = problem
                print(f"dropping {name}: {problem}")
                del runs[name]
                continue
            runs[name].append(proc)
            note = ""
            if load is not None:
                others[name].append(max(0.0, load[0] - proc.cpu / proc.wall))
                stolen[name].append(load[1])
                note = f", other load {others[name][-1]:.2f} cores"
            print(
                f"  round {round_ + 1}: {name:13} {args.count / proc.wall:6.1f} images/s{note}",
                file=sys.stderr,
                flush=True,
            )

    floor = (
        median(args.count / p.wall for p in runs.get("pillow", [])) if "pillow" in runs else None
    )
    rows = []
    record["tools"] = {}
    for name in wanted:
        label = plan[name][0]
        if name in missing or name in problems:
            why = missing.get(name) or problems[name]
            rows.append([label, "—", "—", "—", "—", "—", "unavailable (see above)"])
            record["tools"][name] = {"unavailable": why}
            continue
        procs = runs[name]
        rate = median(args.count / p.wall for p in procs)
        cores = median(p.cpu / p.wall for p in procs)
        rss = max(p.rss for p in procs)
        # Tools with worker processes: the peak of their summed PSS; others: ru_maxrss.
        memory = max(p.tree_pss or p.rss for p in procs)
        workers = max(p.procs or 1 for p in procs)
        busy = median(others[name]) if others[name] else None
        steal = median(stolen[name]) if stolen[name] else None
        rows.append(
            [
                label,
                f"{rate:.1f}",
                f"{rate / floor:.2f}×" if floor else "—",
                f"{cores:.2f}",
                "—" if busy is None else f"{busy:.2f}",
                mib(memory) + (f" ({workers} procs)" if workers > 1 else ""),
                f"hypervisor stole {steal:.2f} cores" if steal and steal >= 0.05 else "",
            ]
        )
        record["tools"][name] = {
            "images_per_s": rate,
            "cores_used": cores,
            "other_load_cores": busy,
            "steal_cores": steal,
            "peak_rss": rss,
            "peak_memory": memory,
            "processes": workers,
            "runs_s": [p.wall for p in procs],
        }
    print()
    headers = ["tool", "images/s", "vs Pillow", "cores used", "other load", "peak memory", "note"]
    print(table(headers, rows, "lrrrrrl"))

    if "poolcli" in runs and "pillow" in runs:
        diff = max_difference(WORK / "out-poolcli", WORK / "out-pillow")
        record["max_diff_vs_pillow"] = diff
        print(
            f"\npoolcli vs Pillow output: largest pixel difference {diff} (first 10 files; "
            "Pillow's reduce rounds halves up, poolcli to even)"
        )
        rate = record["tools"]["poolcli"]["images_per_s"]
        peers = [
            record["tools"][n]["images_per_s"]
            for n in ("mogrify", "mogrify-procs", "vips")
            if n in runs
        ]
        print(
            f"targets: poolcli ≥ 0.85× Pillow: {'PASS' if rate >= 0.85 * floor else 'MISS'}; "
            f"ahead of every peer: {'PASS' if all(rate > p for p in peers) else 'MISS'}"
        )

    if args.scale and "poolcli" in runs:
        scale(args, tools, src, runs, record)

    record["cores_after"] = cpu_probe()
    record["elapsed_s"] = time.perf_counter() - started
    print(
        f"\nCPU probe after: {record['cores_after']:.2f} of 2 cores obtained; run took "
        f"{record['elapsed_s']:.0f} s. 'cores used' = CPU time / wall time of each tool's "
        "processes; 'other load' = cores that other processes kept busy meanwhile (from "
        "/proc/stat); 'peak memory' = peak of the summed PSS of a tool's process tree "
        "(sampled every 0.2 s) where it has worker processes, else the largest process's "
        "peak RSS. Medians of the rounds; other work on the machine makes them noisy."
    )
    if args.json:
        Path(args.json).write_text(json.dumps(record, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
