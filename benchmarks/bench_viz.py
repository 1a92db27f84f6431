"""What ``--viz`` adds to a call on a 1500x1500 photo (#12): the picture drawn and written,
in process, as the per-input function draws it.

Usage: .venv/bin/python benchmarks/bench_viz.py [--repeat N] [--size S]

Prints the median and the fastest time of ``write_viz`` (PNG, and SVG for comparison) over
N runs, after one warm-up run (fonts loaded, modules imported). Timings on a shared machine
are noisy: the fastest run is the closest to the cost on an idle one.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--size", type=int, default=1500)
    args = parser.parse_args()
    from PIL import Image

    from poolcli import io as pio
    from poolcli.engine import core
    from poolcli.model.options import PoolOptions
    from poolcli.model.window import WindowSpec
    from poolcli.render import pictures

    with tempfile.TemporaryDirectory() as folder:
        photo = os.path.join(folder, "photo.png")
        rng = np.random.default_rng(0)
        pixels = (rng.random((args.size, args.size, 3)) * 255).astype(np.uint8)
        Image.fromarray(pixels).save(photo)
        loaded = pio.read_input(photo)
        result = core.run(loaded.array, "max", WindowSpec.make(kernel_size=2), None, PoolOptions())
        for suffix in ("png", "svg"):
            target = os.path.join(folder, f"viz.{suffix}")
            pictures.write_viz(target, loaded, result)  # warm-up
            times = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                pictures.write_viz(target, loaded, result)
                times.append(time.perf_counter() - start)
            print(
                f"--viz .{suffix} on a {args.size}x{args.size} photo: median "
                f"{statistics.median(times):.3f} s, fastest {min(times):.3f} s "
                f"({args.repeat} runs; load average {os.getloadavg()[0]:.1f})"
            )


if __name__ == "__main__":
    main()
