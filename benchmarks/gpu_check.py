"""The GPU check (``make gpu-check``): CUDA tests and a short GPU benchmark, in under 5 minutes.

Usage: .venv/bin/python benchmarks/gpu_check.py [--skip-tests] [--json FILE]

1. Fails at once, saying why, when torch sees no CUDA GPU.
2. The engine and batch tests on the GPU (``POOLCLI_TEST_DEVICE=cuda``: every device test runs
   on it, and a missing device fails the run instead of skipping).
3. The warm server on the GPU: a command with ``--device cuda`` served by the resident worker
   gives the same bytes as without the server.
4. A short benchmark: a batch of 80 photo-like 512x512 PNGs on the GPU stacked with
   ``--batch-size 16`` against the CPU, and a single call on the GPU without a server, and
   served (the resident worker keeps the CUDA context warm).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchutil import REPO, median, poolcli_cmd, python_exe

TEST_SECONDS = 180


def gpu_or_exit() -> str:
    code = "import torch; print(torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')"
    done = subprocess.run([python_exe(), "-c", code], capture_output=True, text=True)
    name = done.stdout.strip()
    if done.returncode or not name:
        sys.exit(
            "gpu-check: no CUDA GPU here (torch.cuda.is_available() is False, torch "
            "built for CPU only, or no driver); nothing was checked."
        )
    return name


def run_tests() -> None:
    env = dict(os.environ, POOLCLI_TEST_DEVICE="cuda", POOLCLI_SERVER="off")
    cmd = [python_exe(), "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider"]
    cmd += ["tests/engine", "tests/batch", "-m", "not slow"]
    print("$ POOLCLI_TEST_DEVICE=cuda " + " ".join(cmd[1:]), flush=True)
    done = subprocess.run(cmd, cwd=REPO, env=env, timeout=TEST_SECONDS)
    if done.returncode:
        sys.exit(f"gpu-check: the CUDA tests failed (exit status {done.returncode}).")


def timed(cmd: list[str], env: dict, cwd: Path, repeat: int = 5) -> float:
    walls = []
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True)
        walls.append(time.perf_counter() - start)
        if done.returncode:
            sys.exit(f"gpu-check: {' '.join(cmd)} failed:\n{done.stderr.decode()}")
    return median(walls)


def served_equals_local(work: Path, env_on: dict, env_off: dict) -> None:
    import numpy as np

    np.save(work / "x.npy", np.random.default_rng(0).random((3, 64, 64), np.float32))
    cmd = poolcli_cmd() + ["avg", "x.npy", "-k", "2", "--device", "cuda", "-o", "-"]
    off = subprocess.run(cmd, env=env_off, cwd=work, capture_output=True)
    on = subprocess.run(cmd, env=env_on, cwd=work, capture_output=True)
    if (on.returncode, on.stdout, on.stderr) != (off.returncode, off.stdout, off.stderr):
        sys.exit(
            "gpu-check: a GPU command served by the server differs from the same command "
            f"without it:\n{on.stderr.decode()}\n{off.stderr.decode()}"
        )
    print("served on the GPU: same bytes as without the server", flush=True)


def benchmark(work: Path, env_on: dict, env_off: dict) -> dict:
    from bench_batch import _write_photo

    src = work / "in"
    src.mkdir()
    for i in range(80):
        _write_photo((i, str(src)))
    batch = poolcli_cmd() + ["avg", "in", "-k", "2", "-q"]
    numbers = {
        "batch 80, GPU --batch-size 16 (no server)": timed(
            batch + ["-o", "g/", "--device", "cuda", "--batch-size", "16"], env_off, work, 3
        ),
        "batch 80, CPU 2 jobs (no server)": timed(
            batch + ["-o", "c/", "-j", "2"], env_off, work, 3
        ),
    }
    single = poolcli_cmd() + [
        "avg",
        "in/img_0000.png",
        "-k",
        "2",
        "-o",
        "one.png",
        "--device",
        "cuda",
    ]
    numbers["single call on the GPU, no server"] = timed(single, env_off, work)
    numbers["single call on the GPU, served (warm GPU worker)"] = timed(single, env_on, work)
    print("\n| GPU check | median |\n|:--|--:|")
    for name, wall in numbers.items():
        print(f"| {name} | {wall:.3f} s |")
    return numbers


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--skip-tests", action="store_true", help="benchmark only")
    parser.add_argument("--json", metavar="FILE", help="also write the numbers as JSON")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    print(f"GPU: {gpu_or_exit()}", flush=True)
    if not args.skip_tests:
        run_tests()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        folder = work / "server"
        folder.mkdir(mode=0o700)
        env_on = dict(os.environ, POOLCLI_SERVER="on", POOLCLI_SERVER_DIR=str(folder))
        env_off = dict(env_on, POOLCLI_SERVER="off")
        subprocess.run(poolcli_cmd() + ["server", "start"], env=env_on, check=True)
        try:
            served_equals_local(work, env_on, env_off)
            numbers = benchmark(work, env_on, env_off)
        finally:
            subprocess.run(poolcli_cmd() + ["server", "stop"], env=env_on)
    print(f"\ngpu-check: done in {time.perf_counter() - started:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(numbers, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
