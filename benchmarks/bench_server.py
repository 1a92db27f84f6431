"""The warm server (#9): a tiny call, a 100-call shell loop and batches, with and without it.

Usage: .venv/bin/python benchmarks/bench_server.py [--repeat 5] [--counts 80,300] [--scale]
                                                   [--no-install] [--json FILE]

- tiny call: ``poolcli avg t16.png -k 2 -o out.png`` on a 16x16 photo-like PNG, served and
  not, against ``vips shrink`` and ImageMagick's ``convert -scale 50%`` on the same file, and
  ``python -c pass`` / ``python -S -c pass`` (the floor of any Python tool);
- the same tiny call served and ``vips shrink`` started straight from Python (30 interleaved
  rounds), since GNU ``time`` adds more to a served call than to vips;
- the client's own import time (``python -X importtime``: the poolcli modules the script
  imports before it hands the command over);
- a shell loop of 100 tiny calls (served; vips and convert alike);
- batches of ``--counts`` photo-like 512x512 PNGs (2x2 avg, PNG at zlib 6, 2 jobs): poolcli
  served and not, the Pillow floor (decode, ``reduce``, encode at zlib 6, 2 processes),
  ImageMagick (2 processes) and libvips (2 at a time), with the total bytes written;
- ``--scale``: a served batch of the largest count and of ten times as many files (hard
  links), with the peak of the summed PSS of the server's whole process tree (the server, its
  command's child and that child's workers) sampled every 0.2 s: memory should stay flat.

Runs are interleaved (one of each tool per round) and medians reported. The server runs in
a private directory of its own and is stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_batch import WORK, Tools, ensure_images, ensure_links, ensure_tool, fresh, photo, pngs
from benchutil import (
    TreeSampler,
    cpu_probe,
    machine_line,
    median,
    mib,
    poolcli_cmd,
    python_exe,
    run_measured,
)

TINY = ["avg", "t16.png", "-k", "2", "-o", "out.png"]


def served_env(folder: str, on: bool) -> dict:
    return dict(os.environ, POOLCLI_SERVER="on" if on else "off", POOLCLI_SERVER_DIR=folder)


def client_import_ms() -> float:
    """Cumulative import time of the poolcli modules the script loads before serving."""
    done = subprocess.run(
        [python_exe(), "-X", "importtime", "-c", "import poolcli.__main__, poolcli.client.call"],
        capture_output=True,
        text=True,
    )
    total = 0
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[2].startswith(" poolcli"):  # top level only
            total += int(parts[1])
    return total / 1000


def tiny_rows(args, work: Path, env_on: dict, env_off: dict) -> list[tuple[str, float]]:
    from PIL import Image

    Image.fromarray(photo(0, 16)).save(work / "t16.png")
    cmds = {
        "poolcli, served": (poolcli_cmd() + TINY, env_on),
        "poolcli, no server": (poolcli_cmd() + TINY, env_off),
        "python -c pass": ([python_exe(), "-c", "pass"], None),
        "python -S -c pass": ([python_exe(), "-S", "-c", "pass"], None),
    }
    if shutil.which("vips"):
        cmds["vips shrink t16.png out.png 2 2"] = (
            ["vips", "shrink", "t16.png", "outv.png", "2", "2"],
            None,
        )
    if shutil.which("convert") and not args.no_convert:
        cmds["convert t16.png -scale 50% out.png"] = (
            ["convert", "t16.png", "-scale", "50%", "outc.png"],
            None,
        )
    times: dict[str, list[float]] = {name: [] for name in cmds}
    for _ in range(args.repeat):
        for name, (cmd, env) in cmds.items():
            proc = run_measured(cmd, cwd=work, env=env)
            times[name].append(proc.wall if proc.ok else float("nan"))
    return [(name, median(values)) for name, values in times.items()]


def direct_rows(work: Path, env_on: dict, rounds: int = 30) -> list[tuple[str, float]]:
    """The tiny call served and ``vips shrink``, each started straight from here (no GNU
    ``time`` in between, which adds more to a served call than to vips), interleaved."""
    import time

    cmds = {"poolcli, served": (poolcli_cmd() + TINY, env_on)}
    if shutil.which("vips"):
        cmds["vips shrink"] = (["vips", "shrink", "t16.png", "outv.png", "2", "2"], None)
    times: dict[str, list[float]] = {name: [] for name in cmds}
    quiet = dict(stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(rounds):
        for name, (cmd, env) in cmds.items():
            start = time.perf_counter()
            subprocess.run(cmd, cwd=work, env=env, check=True, **quiet)
            times[name].append(time.perf_counter() - start)
    return [(name, median(values)) for name, values in times.items()]


def loop_rows(args, work: Path, env_on: dict) -> list[tuple[str, float]]:
    """Each tool's loop of 100 calls once per round, interleaved; the median per tool."""

    def loop(cmd: str, env=None) -> float:
        script = f"for i in $(seq 100); do {cmd} >/dev/null 2>&1; done"
        return run_measured(["bash", "-c", script], cwd=work, env=env).wall

    loops = {"poolcli, served": (" ".join(poolcli_cmd() + TINY), env_on)}
    if shutil.which("vips"):
        loops["vips shrink"] = ("vips shrink t16.png outv.png 2 2", None)
    if shutil.which("convert") and not args.no_convert:
        loops["convert -scale 50%"] = ("convert t16.png -scale 50% outc.png", None)
    times: dict[str, list[float]] = {name: [] for name in loops}
    for _ in range(args.repeat):
        for name, (cmd, env) in loops.items():
            times[name].append(loop(cmd, env))
    return [(name, median(values)) for name, values in times.items()]


def batch_rows(args, count: int, src: Path, env_on: dict, env_off: dict) -> list[list]:
    tools = Tools(2)
    dst = WORK.parent / "server-out"

    def poolcli(env):
        def run(s, d):
            cmd = poolcli_cmd() + ["avg", str(s), "-k", "2", "-o", f"{d}/", "-j", "2", "-q"]
            return run_measured(cmd, env=env)

        return run

    runs = {
        "Pillow floor (2 processes)": tools.pillow,
        "poolcli, served": poolcli(env_on),
        "poolcli, no server": poolcli(env_off),
    }
    if shutil.which("mogrify"):
        runs["ImageMagick mogrify, 2 processes"] = tools.mogrify_procs
    if shutil.which("vips"):
        runs["libvips vips shrink, 2 jobs"] = tools.vips
    walls: dict[str, list[float]] = {name: [] for name in runs}
    sizes: dict[str, int] = {}
    for _ in range(args.repeat):
        for name, run in runs.items():
            out = fresh(dst)
            proc = run(src, out)
            walls[name].append(proc.wall if proc.ok else float("nan"))
            sizes[name] = sum(p.stat().st_size for p in pngs(out))
    floor = median(walls["Pillow floor (2 processes)"])
    floor_bytes = sizes["Pillow floor (2 processes)"]
    rows = []
    for name in runs:
        wall = median(walls[name])
        rows.append(
            [
                name,
                f"{count / wall:.1f}",
                f"{floor / wall:.2f}×",
                f"{sizes[name] / floor_bytes:.3f}×",
            ]
        )
    return rows


def scale_rows(count: int, src: Path, env_on: dict) -> list[list]:
    """A served batch of ``count`` files and of ten times as many: peak memory of the
    server's process tree (summed PSS), which should not grow with the file count."""
    big = WORK.parent / f"server-in-{count * 10}"
    ensure_links(src, big, 10)
    facts = subprocess.run(
        poolcli_cmd() + ["server", "status", "--json"], env=env_on, capture_output=True
    )
    server = json.loads(facts.stdout)["pid"]
    rows = []
    for folder, files in ((src, count), (big, count * 10)):
        out = fresh(WORK.parent / "server-out")
        cmd = poolcli_cmd() + ["avg", str(folder), "-k", "2", "-o", f"{out}/", "-j", "2", "-q"]
        sampler = TreeSampler(server)
        sampler.start()
        proc = run_measured(cmd, env=env_on)
        sampler.stop()
        shutil.rmtree(out, ignore_errors=True)
        rate = f"{files / proc.wall:.1f}" if proc.ok else f"failed: {proc.err or proc.rc}"
        rows.append([f"{files} files, served", rate, mib(sampler.peak_pss), sampler.peak_procs])
    return rows


def markdown(headers: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|:--" + "|--:" * (len(headers) - 1) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="rounds; medians are reported")
    parser.add_argument("--counts", default="80,300", help="batch sizes (80,300); 0: none")
    parser.add_argument(
        "--scale", action="store_true", help="peak memory of 10x the largest served batch"
    )
    parser.add_argument("--no-install", action="store_true", help="never call apt-get")
    parser.add_argument("--no-convert", action="store_true", help="leave ImageMagick out")
    parser.add_argument("--json", metavar="FILE", help="also write the numbers as JSON")
    args = parser.parse_args(argv)
    for binary, package in (("vips", "libvips-tools"), ("mogrify", "imagemagick")):
        why = ensure_tool(binary, package, not args.no_install)
        if why:
            print(f"skipped: {why}", file=sys.stderr)
    record: dict = {"machine": machine_line(), "cpu_probe": cpu_probe()}
    print(f"{record['machine']}; CPU probe {record['cpu_probe']:.2f}\n")
    with tempfile.TemporaryDirectory() as tmp:
        folder = os.path.join(tmp, "server")
        os.mkdir(folder, 0o700)
        env_on, env_off = served_env(folder, True), served_env(folder, False)
        subprocess.run(poolcli_cmd() + ["server", "start"], env=env_on, check=True)
        try:
            record["client_import_ms"] = client_import_ms()
            print(f"client import: {record['client_import_ms']:.1f} ms\n")
            tiny = tiny_rows(args, Path(tmp), env_on, env_off)
            record["tiny"] = dict(tiny)
            print(
                markdown(
                    ["tiny call (16×16 PNG)", "median"],
                    [[n, f"{t * 1000:.0f} ms"] for n, t in tiny],
                )
            )
            direct = direct_rows(Path(tmp), env_on)
            record["tiny_direct"] = dict(direct)
            print(
                "\n"
                + markdown(
                    ["tiny call, started straight from Python (30 rounds)", "median"],
                    [[n, f"{t * 1000:.1f} ms"] for n, t in direct],
                )
            )
            loop = loop_rows(args, Path(tmp), env_on)
            record["loop100"] = dict(loop)
            print(
                "\n"
                + markdown(
                    ["100 calls in a shell loop", "total"], [[n, f"{t:.2f} s"] for n, t in loop]
                )
            )
            counts = [int(c) for c in args.counts.split(",") if int(c)]
            for count in counts:
                ensure_images(WORK, 300, 2)
                src = WORK.parent / f"server-in-{count}"
                if not src.is_dir() or len(pngs(src)) != count:
                    fresh(src)
                    for path in pngs(WORK)[:count]:
                        os.link(path, src / path.name)
                rows = batch_rows(args, count, src, env_on, env_off)
                record[f"batch{count}"] = rows
                headers = [f"batch of {count} photo PNGs", "images/s", "vs floor", "bytes vs floor"]
                print("\n" + markdown(headers, rows))
            if args.scale and counts:
                rows = scale_rows(counts[-1], src, env_on)
                record["scale"] = rows
                headers = ["served batch", "images/s", "peak PSS, server tree", "processes"]
                print("\n" + markdown(headers, rows))
        finally:
            subprocess.run(poolcli_cmd() + ["server", "stop"], env=env_on)
    if args.json:
        Path(args.json).write_text(json.dumps(record, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
