"""Speed of --indices, --blur and fractional windows against plain max pooling and torch (#11).

Usage: .venv/bin/python benchmarks/bench_variants.py [--size N] [--repeat N]

In-process, on a (1, 16, N, N) float32 array (default N = 256), each timed as the mean of
``--repeat`` runs after one warm-up. Timings on a shared machine are noisy.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F

import poolcli


def timed(call, repeat: int) -> float:
    call()
    start = time.perf_counter()
    for _ in range(repeat):
        call()
    return (time.perf_counter() - start) / repeat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    x = np.random.default_rng(0).standard_normal((1, 16, args.size, args.size)).astype(np.float32)
    t = torch.from_numpy(x)
    cases = {
        "poolcli max -k 2": lambda: poolcli.pool(x, "max", kernel_size=2),
        "poolcli max -k 2 --indices": lambda: poolcli.pool(
            x, "max", kernel_size=2, return_indices=True
        ),
        "poolcli min -k 3 -s 2 -p 2 --indices (gather)": lambda: poolcli.pool(
            x, "min", kernel_size=3, stride=2, padding=2, return_indices=True
        ),
        "torch max_pool2d return_indices": lambda: F.max_pool2d(t, 2, return_indices=True),
        "poolcli max -k 2 --blur 3": lambda: poolcli.pool(x, "max", kernel_size=2, blur=3),
        "poolcli max --fractional-windows 0.7": lambda: poolcli.pool(
            x, "max", fractional=True, output_ratio=0.7, seed=0
        ),
        "torch fractional_max_pool2d 0.7": lambda: F.fractional_max_pool2d(
            t, 2, output_ratio=(0.7, 0.7)
        ),
    }
    for name, call in cases.items():
        print(f"{name:48s} {timed(call, args.repeat):8.4f} s")


if __name__ == "__main__":
    main()
