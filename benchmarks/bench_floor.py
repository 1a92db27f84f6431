"""The memory floor of poolcli's 8-bit averages against OpenCV's ``blur`` (#15).

Usage: .venv/bin/python benchmarks/bench_floor.py [--repeat N] [--threads N]

poolcli's average of uint8 is float32 (its dtype rule), four bytes a pixel where OpenCV's
``blur`` writes one. Whatever the arithmetic, a call writes that much: this times filling a
float32 output of the size the 3x3, 5x5 and 7x7 averages of a 4096x4096x3 uint8 image give,
in fresh memory on huge pages (what a warm process's compiled kernels write into) and in a
reused buffer, interleaved with ``cv2.blur`` of the same image, the warm compiled call (whose
output comes from the warm process's pool of buffers, :mod:`poolcli.engine.memory`), and
that call's kernel writing into the reused buffer.
"""

from __future__ import annotations

import argparse
import functools
import sys

from bench_core import compare, probe_line
from benchutil import machine_line, secs, table

COLUMNS = ("fresh", "reused", "poolcli", "kernel, reused")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=9, help="timed runs per case (median)")
    parser.add_argument("--threads", type=int, default=2, help="threads for torch and OpenCV")
    args = parser.parse_args(argv)

    import cv2
    import numpy as np
    import torch

    from poolcli.engine import compiled, memory
    from poolcli.engine.choose import choose_path
    from poolcli.engine.core import pool
    from poolcli.model.layout import Layout
    from poolcli.model.options import PoolOptions
    from poolcli.model.reductions import Reduction
    from poolcli.model.window import WindowSpec, resolve

    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    record = {}
    print(f"{machine_line()}; torch {torch.__version__}, OpenCV {cv2.__version__}")
    print(probe_line(record, "cores_before"), flush=True)
    image = np.random.default_rng(0).integers(0, 256, (4096, 4096, 3)).astype(np.uint8)
    tensor = torch.from_numpy(image)
    rows = []

    def _fresh(shape):
        """New memory on huge pages, as a warm process's first output of a size gets."""
        buffer = torch.empty(shape, dtype=torch.float32)
        memory.advise_huge_pages(buffer.data_ptr(), buffer.numel() * 4)
        return buffer

    def _kernel(k):
        """The compiled kernel of the k×k average, which writes into a buffer it is given."""
        layout = Layout("HWC")
        spec = WindowSpec.make(kernel_size=k, stride=1)
        windows = resolve(spec, layout.spatial_shape(image.shape), layout.spatial)
        chosen = choose_path(tensor, Reduction.AVG, windows)
        options = PoolOptions()
        plan = compiled._plan(tensor, Reduction.AVG, windows, layout.spatial_axes, chosen, options)
        return compiled._compiled(*plan)

    with compiled.enabled():
        for k in (3, 5, 7):
            shape = (4096 - k + 1, 4096 - k + 1, 3)
            reused = memory.empty(shape, torch.float32, "cpu")
            calls = {
                "fresh": lambda s=shape: _fresh(s).fill_(1.0),
                "reused": lambda r=reused: r.fill_(1.0),
                "blur": lambda k=k: cv2.blur(image, (k, k)),
                "poolcli": lambda k=k: pool(tensor, "avg", kernel_size=k, stride=1, layout="HWC"),
            }
            calls["poolcli"]()  # compiles the kernel (or loads it) before any timing
            calls["kernel, reused"] = functools.partial(_kernel(k), tensor, reused)
            times = {name: t for name, (t, _) in compare(calls, args.repeat).items()}
            blur = times["blur"]
            rows.append(
                [f"avg u8 4096²×3, {k}×{k} s1", secs(blur)]
                + [f"{secs(times[n])} ({times[n] / blur:.2f}×)" for n in COLUMNS]
            )
            print("  " + " | ".join(rows[-1]), file=sys.stderr, flush=True)
    headers = ["case", "OpenCV blur", "float32 fill, fresh", "reused", "poolcli compiled"]
    print(table([*headers, "its kernel, reused output"], rows, "lrrrrr"))
    print(probe_line(record, "cores_after").strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
