"""poolcli's sliding windows against the best CPU peers: OpenCV and scipy.ndimage (#15).

Usage: .venv/bin/python benchmarks/bench_peers.py [--quick] [--repeat N] [--json FILE]
                                                  [--threads N] [--no-compiled] [--only TEXT]

In-process and warm: every call runs once first, then the calls of one case run round-robin
(``bench_core.compare``), and each time is the median of the runs. Before any timing, every
peer's output is checked against poolcli's on the valid region (the windows that hold no
padding): ``=`` identical, ``≈`` equal to float rounding, ``r`` equal after rounding poolcli's
float average to the integer OpenCV returns for 8-bit input (OpenCV's ``blur`` of uint8 gives
uint8), ``≠`` different (a wrong peer or a wrong poolcli is a finding, not a time).

Columns: ``poolcli`` is ``poolcli.pool`` as a user calls it (the automatic path, eager unless
the compiled kernels are warm); ``compiled`` is the same call with the compiled kernels
(:mod:`poolcli.engine.compiled`) warmed first, when a C++ compiler is at hand. OpenCV runs
with the same number of threads as torch; scipy.ndimage is single-threaded.

OpenCV and scipy are test/benchmark dependencies only (``pip install -e .[test]``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from bench_core import compare, probe_line
from benchutil import machine_line, secs, table


def _valid(a, k: int, nd: int = 2):
    """The valid region of a same-size filter output: ``k // 2`` cut from each spatial end."""
    h = k // 2
    index = tuple(slice(h, -h if h else None) for _ in range(nd))
    return a[index]


def cases(quick: bool):
    """(label, reduction, array, layout, kernel, stride, peers[, options]) with peers
    ``{name: fn}`` returning an array shaped as poolcli's output, and options poolcli's own
    keyword arguments."""
    import cv2
    import numpy as np
    from scipy import ndimage as ndi

    big, mid, vol = (1024, 512, 64) if quick else (8192, 4096, 256)
    rng = np.random.default_rng(0)
    f_big = rng.standard_normal((big, big), dtype=np.float32)
    f_mid = np.ascontiguousarray(f_big[:mid, :mid])
    u8 = rng.integers(0, 256, (mid, mid, 3), dtype=np.uint8)
    f_vol = rng.standard_normal((vol, vol, vol), dtype=np.float32)

    def box(k):
        return np.ones((k, k), np.uint8)

    def rgb(size):
        return (size, size, 1)

    for k in (3, 5, 7):
        tag = f"{k}×{k} s1"
        yield (
            f"max f32 {big}², {tag}",
            "max",
            f_big,
            "HW",
            k,
            1,
            {
                "OpenCV dilate": lambda x, k=k: _valid(cv2.dilate(x, box(k)), k),
                "scipy maximum_filter": lambda x, k=k: _valid(ndi.maximum_filter(x, k), k),
            },
        )
        yield (
            f"avg f32 {big}², {tag}",
            "avg",
            f_big,
            "HW",
            k,
            1,
            {
                "OpenCV blur": lambda x, k=k: _valid(cv2.blur(x, (k, k)), k),
                "scipy uniform_filter": lambda x, k=k: _valid(ndi.uniform_filter(x, k), k),
            },
        )
        yield (
            f"min u8 {mid}²×3, {tag}",
            "min",
            u8,
            "HWC",
            k,
            1,
            {
                "OpenCV erode": lambda x, k=k: _valid(cv2.erode(x, box(k)), k),
                "scipy minimum_filter": lambda x, k=k: _valid(ndi.minimum_filter(x, rgb(k)), k),
            },
        )
        if k <= 5:  # OpenCV's medianBlur takes float32 up to 5x5 only
            yield (
                f"median f32 {mid}², {tag}",
                "median",
                f_mid,
                "HW",
                k,
                1,
                {
                    "OpenCV medianBlur": lambda x, k=k: _valid(cv2.medianBlur(x, k), k),
                    "scipy median_filter": lambda x, k=k: _valid(ndi.median_filter(x, k), k),
                },
            )
        yield (
            f"median u8 {mid}²×3, {tag}",
            "median",
            u8,
            "HWC",
            k,
            1,
            {
                "OpenCV medianBlur": lambda x, k=k: _valid(cv2.medianBlur(x, k), k),
                "scipy median_filter": lambda x, k=k: _valid(ndi.median_filter(x, rgb(k)), k),
            },
        )
        yield (
            f"avg u8 {mid}²×3, {tag}",
            "avg",
            u8,
            "HWC",
            k,
            1,
            {
                "OpenCV blur": lambda x, k=k: _valid(cv2.blur(x, (k, k)), k),
                "scipy uniform_filter": lambda x, k=k: _valid(
                    ndi.uniform_filter(x, rgb(k), output=np.float32), k
                ),
            },
        )
        yield (
            f"avg u8 {mid}²×3, {tag} → u8",
            "avg",
            u8,
            "HWC",
            k,
            1,
            {
                "OpenCV blur": lambda x, k=k: _valid(cv2.blur(x, (k, k)), k),
                # scipy truncates into an integer output; rounded here as OpenCV rounds.
                "scipy uniform_filter": lambda x, k=k: _valid(
                    np.rint(ndi.uniform_filter(x, rgb(k), output=np.float64)).astype(np.uint8), k
                ),
            },
            {"dtype": "uint8"},  # the rounded mean in the input's type, as OpenCV writes
        )
    half = big // 2
    yield (
        f"avg f32 {big}², 2×2 s2",
        "avg",
        f_big,
        "HW",
        2,
        2,
        {
            "OpenCV resize INTER_AREA": lambda x: cv2.resize(
                x, (half, half), interpolation=cv2.INTER_AREA
            ),
            "scipy uniform_filter": lambda x: ndi.uniform_filter(x, 2)[1::2, 1::2],
        },
    )
    for k in (9, 15):  # OpenCV's sliding histograms against counting; scipy takes minutes
        yield (
            f"median u8 {mid}²×3, {k}×{k} s1",
            "median",
            u8,
            "HWC",
            k,
            1,
            {"OpenCV medianBlur": lambda x, k=k: _valid(cv2.medianBlur(x, k), k)},
        )
    yield (
        f"max f32 {vol}³, 3×3×3 s1",
        "max",
        f_vol,
        "DHW",
        3,
        1,
        {
            "OpenCV dilate per slice + np.maximum": lambda x: _cv_3d(x, "max", 3),
            "scipy maximum_filter": lambda x: _valid(ndi.maximum_filter(x, 3), 3, 3),
        },
    )
    yield (
        f"max f32 {vol}³, 5×5×5 s1",
        "max",
        f_vol,
        "DHW",
        5,
        1,
        {
            "OpenCV dilate per slice + np.maximum": lambda x: _cv_3d(x, "max", 5),
            "scipy maximum_filter": lambda x: _valid(ndi.maximum_filter(x, 5), 5, 3),
        },
    )
    yield (
        f"avg f32 {vol}³, 3×3×3 s1",
        "avg",
        f_vol,
        "DHW",
        3,
        1,
        {
            "OpenCV blur per slice + np.add": lambda x: _cv_3d(x, "avg", 3),
            "scipy uniform_filter": lambda x: _valid(ndi.uniform_filter(x, 3), 3, 3),
        },
    )


def _cv_3d(x, op: str, k: int):
    """A k×k×k maximum or average from OpenCV, which has no 3-D filters: the k×k ``dilate``
    or ``blur`` of every slice, then k slices combined along depth with numpy."""
    import cv2
    import numpy as np

    if op == "max":
        planes = [cv2.dilate(plane, np.ones((k, k), np.uint8)) for plane in x]
        combine = np.maximum
    else:
        planes = [cv2.blur(plane, (k, k)) for plane in x]
        combine = np.add
    planes = np.stack(planes)
    depth = planes[: len(planes) - k + 1].copy()
    for j in range(1, k):
        combine(depth, planes[j : len(planes) - k + 1 + j], out=depth)
    if op == "avg":
        depth /= k
    h = k // 2
    return depth[:, h:-h, h:-h]


def check(got, want) -> str:
    import numpy as np

    got, want = np.asarray(got), np.asarray(want)
    if got.shape != want.shape:
        return "≠"
    if got.dtype == want.dtype and np.array_equal(got, want):
        return "="
    if want.dtype == np.uint8 and got.dtype.kind == "f":
        return "r" if np.array_equal(np.rint(got).astype(np.uint8), want) else "≠"
    if np.allclose(got, want, rtol=1e-5, atol=1e-5 * float(np.abs(want).max() or 1)):
        return "≈"
    return "≠"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small inputs (smoke test)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per case (median)")
    parser.add_argument("--json", metavar="FILE", help="also write the numbers as JSON")
    parser.add_argument("--threads", type=int, default=2, help="threads for torch and OpenCV")
    parser.add_argument("--no-compiled", action="store_true", help="leave out compiled kernels")
    parser.add_argument("--only", help="only cases whose label contains this text")
    args = parser.parse_args(argv)

    import cv2
    import torch

    from poolcli.engine import compiled
    from poolcli.engine.core import pool

    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    record = {"machine": machine_line(), "torch": torch.__version__, "opencv": cv2.__version__}
    print("# poolcli against OpenCV and scipy.ndimage\n")
    print(
        f"{record['machine']}; torch {torch.__version__} and OpenCV {cv2.__version__} with "
        f"{args.threads} threads, scipy.ndimage single-threaded. Medians of interleaved "
        "warm in-process runs.\n"
    )
    print(probe_line(record, "cores_before"), flush=True)
    use_compiled = not args.no_compiled and compiled.available()
    rows, record["cases"] = [], []
    for label, red, array, layout, k, s, peers, *options in cases(args.quick):
        if args.only and args.only not in label:
            continue

        def ours(array=array, red=red, k=k, s=s, layout=layout, options=options):
            return pool(array, red, kernel_size=k, stride=s, layout=layout, **dict(*options))

        calls = {"poolcli": ours}
        if use_compiled:
            calls["compiled"] = _compiled_call(compiled, ours)
        calls.update({name: (lambda fn=fn, a=array: fn(a)) for name, fn in peers.items()})
        timing = compare(calls, args.repeat)
        t_ours, mine = timing["poolcli"]
        checks = {n: check(mine, r) for n, (_, r) in timing.items() if n != "poolcli"}
        cv_name = next(n for n in peers if n.startswith("OpenCV"))
        sp_name = next((n for n in peers if n.startswith("scipy")), None)
        t_cv, t_sp = timing[cv_name][0], timing[sp_name][0] if sp_name else None
        t_c = timing["compiled"][0] if use_compiled else None
        best = min(t for t in (t_ours, t_c) if t is not None)
        record["cases"].append(
            {
                "case": label,
                "poolcli_s": t_ours,
                "compiled_s": t_c,
                "opencv": cv_name,
                "opencv_s": t_cv,
                "scipy_s": t_sp,
                "checks": checks,
            }
        )
        rows.append(
            [
                label,
                secs(t_ours),
                f"{secs(t_c)} {checks['compiled']}" if use_compiled else "—",
                f"{cv_name.split(' ', 1)[1]} {secs(t_cv)} {checks[cv_name]}",
                f"{secs(t_sp)} {checks[sp_name]}" if sp_name else "—",
                f"{best / t_cv:.2f}×",
                f"{best / t_sp:.2f}×" if sp_name else "—",
            ]
        )
        print("  " + " | ".join(map(str, rows[-1])), file=sys.stderr, flush=True)
    headers = ["case", "poolcli", "compiled", "OpenCV", "scipy.ndimage", "÷ OpenCV", "÷ scipy"]
    print(table(headers, rows, "lrrrrrr"))
    print(
        "\n÷: poolcli's best (eager or compiled) over the peer's time; ≤ 1.50× is the target "
        "against OpenCV. `=` identical on the valid region, `≈` equal to float rounding, "
        "`r` equal once poolcli's float average is rounded to OpenCV's uint8, `≠` different.\n"
    )
    print(probe_line(record, "cores_after").strip())
    if args.json:
        Path(args.json).write_text(json.dumps(record, indent=2, default=str) + "\n")
    return 0


def _compiled_call(compiled, ours):
    """``ours`` with the compiled kernels switched on (and compiled by its first run)."""

    def call():
        with compiled.enabled():
            return ours()

    start = time.perf_counter()
    call()
    print(f"  (compiled in {time.perf_counter() - start:.1f} s)", file=sys.stderr, flush=True)
    return call


if __name__ == "__main__":
    sys.exit(main())
