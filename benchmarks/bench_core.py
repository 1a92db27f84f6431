"""Speed and memory of poolcli's single-input command and of its pooling engine (#2).

Usage: .venv/bin/python benchmarks/bench_core.py [--json FILE] [--repeat N] [--only SECTION]
                                                 [--all-paths] [--quick]

Sections (all by default):

``cli``
    ``poolcli max big.npy -k 2 -o out.npy`` on an 8192x8192 float32 array against the naive
    torch script, ``poolcli --help``, ``poolcli max tiny.npy -k 2`` against ``import torch``, and
    median 3x3 stride 1 on 4096x4096 float32. Wall time is the median of the runs; peak RSS
    is each child's ``ru_maxrss`` (the kernel's count, as ``/usr/bin/time -v`` reports it).
``engine``
    In-process: ``poolcli.engine.core.pool`` against the raw torch call, and every engine path
    (``ops.pool_tensor(..., path=...)``) timed on its own, for max/avg/sum/min/median with
    2x2 s2, 3x3 s1 and 3x3 s2 p1 windows on float32 8192^2 (4096^2 for median) and a uint8
    HWC 4096x4096x3 image. The gather path of the tap-based reductions takes 5-25 s per case
    at these sizes, so it is timed only with ``--all-paths`` (the sweep covers it).
``sweep``
    Kernel-size sweep on 1024^2 float32 / 1024x1024x3 uint8 for tuning ``choose.TAP_LIMIT`` and
    ``choose.choose_path``: taps, torch and gather side by side.

Every timed result is also compared with the automatic path's output (``=`` identical,
``≈`` equal to float rounding, ``≠`` different), so a fast wrong path cannot hide.
Timings on a shared 2-core machine are noisy: the CPU probe lines say how much of both
cores the machine gave just before and after the run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

from benchutil import (
    MIB,
    REPO,
    cpu_probe,
    machine_line,
    median,
    mib,
    poolcli_cmd,
    python_exe,
    run_measured,
    secs,
    table,
    verdict,
)

NAIVE_MAX = (
    "import sys, numpy as np, torch, torch.nn.functional as F\n"
    "x = np.load(sys.argv[1])\n"
    "y = F.max_pool2d(torch.from_numpy(x)[None], 2)[0]\n"
    "np.save(sys.argv[2], y.numpy())\n"
)
NAIVE_MEDIAN = (
    "import sys, numpy as np, torch\n"
    "x = torch.from_numpy(np.load(sys.argv[1]))\n"
    "w = x.unfold(0, 3, 1).unfold(1, 3, 1)\n"
    "y = w.reshape(*w.shape[:2], 9).median(-1).values\n"
    "np.save(sys.argv[2], y.numpy())\n"
)
HELP_TARGET = 0.35
TINY_TARGET = 0.25
RSS_SLACK = 300 * MIB
MEDIAN_LIMIT = 512 * MIB
MEDIAN_SLACK = 128 * MIB


# --------------------------------------------------------------------------------------
# Command line section


def cli_state() -> str:
    """Whether poolcli/cli.py is committed, in words."""
    try:
        log = subprocess.run(
            ["git", "log", "-1", "--format=%h %s", "--", "poolcli/cli.py"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        log = ""
    if log:
        return f"poolcli/cli.py last committed in {log}"
    if (REPO / "poolcli" / "cli.py").exists():
        return "poolcli/cli.py is not committed yet: measuring the working-tree copy"
    return "poolcli/cli.py does not exist yet"


def measure_pair(cmd_a, cmd_b, runs, outputs=(None, None), envs=(None, None), cwd=None):
    """Run two commands alternately (one warm-up each, then ``runs`` pairs).

    ``outputs``: the file each command writes, removed before each of its runs; ``envs``:
    each command's environment (None: this process's).
    """
    results = ([], [])
    for i in range(runs + 1):
        for which, cmd in enumerate((cmd_a, cmd_b)):
            if outputs[which] is not None:
                Path(outputs[which]).unlink(missing_ok=True)
            proc = run_measured(cmd, env=envs[which], cwd=cwd)
            if not proc.ok:
                return results, proc, which
            if i:
                results[which].append(proc)
    return results, None, None


def cli_section(tmp: Path, runs: int, quick: bool, record: dict) -> list[str]:
    import numpy as np

    out = [f"{cli_state()}; command: {' '.join(poolcli_cmd())}"]
    cmd = poolcli_cmd()
    py = python_exe()
    rows = []

    def row(label, value, ref="", ratio="", target="(report)", ok=None):
        rows.append([label, value, ref, ratio, target, verdict(ok)])

    size = 2048 if quick else 8192
    med_size = 1024 if quick else 4096
    big, tiny, med = tmp / "big.npy", tmp / "tiny.npy", tmp / "med.npy"
    rng = np.random.default_rng(0)
    np.save(big, rng.standard_normal((size, size), dtype=np.float32))
    np.save(tiny, np.arange(16, dtype=np.float32).reshape(4, 4))
    np.save(med, rng.standard_normal((med_size, med_size), dtype=np.float32))
    in_bytes, out_bytes = size * size * 4, size * size
    med_in, med_out = med_size * med_size * 4, (med_size - 2) ** 2 * 4

    baseline = [run_measured([py, "-c", "import torch"]) for _ in range(runs + 1)][1:]
    torch_rss = max(p.rss for p in baseline)
    torch_wall = median(p.wall for p in baseline)
    record["torch_import"] = {"wall_s": torch_wall, "rss": torch_rss}
    out.append(
        f"torch baseline (python -c 'import torch'): {secs(torch_wall)}, peak RSS "
        f"{mib(torch_rss)}. RSS limits: baseline + input + output + {mib(RSS_SLACK)} for max "
        f"({mib(in_bytes)} + {mib(out_bytes)}); baseline + {mib(med_in)} + {mib(med_out)} + "
        f"{mib(MEDIAN_LIMIT)} memory limit + {mib(MEDIAN_SLACK)} slack for median."
    )

    help_runs = [run_measured(cmd + ["--help"]) for _ in range(max(runs, 5) + 1)][1:]
    record["cli_available"] = available = all(p.ok for p in help_runs)
    if available:
        t, c = median(p.wall for p in help_runs), median(p.cpu for p in help_runs)
        record["help"] = {"wall_s": t, "cpu_s": c}
        row("poolcli --help", secs(t), target=f"< {secs(HELP_TARGET)}", ok=t < HELP_TARGET)
        row("  CPU time", secs(c))
    else:
        reason = help_runs[0].err or f"exit {help_runs[0].rc}"
        out.append(f"poolcli command line unavailable ({reason}); its rows are skipped.")
        row("poolcli --help", "unavailable", target=f"< {secs(HELP_TARGET)}")

    # max 2x2 on the big array against the naive script, alternating runs.
    label = f"max {size}² f32 -k 2 -o out.npy"
    res_a, res_b = tmp / "out_poolcli.npy", tmp / "out_naive.npy"
    limit = torch_rss + in_bytes + out_bytes + RSS_SLACK
    pair, failed, which = (None, None, None)
    if available:
        pair, failed, which = measure_pair(
            cmd + ["max", str(big), "-k", "2", "-o", str(res_a), "-q"],
            [py, "-c", NAIVE_MAX, str(big), str(res_b)],
            runs,
            outputs=(res_a, res_b),
        )
    if not available:
        row(label, "unavailable", target="≤ 1.00×")
    elif failed is not None:
        who = ("poolcli", "naive script")[which]
        row(label, f"{who} failed: {failed.err or failed.rc}", ok=False)
    else:
        same = np.array_equal(np.load(res_a), np.load(res_b))
        ta, tb = (median(p.wall for p in runs_) for runs_ in pair)
        ca, cb = (median(p.cpu for p in runs_) for runs_ in pair)
        ra, rb = (max(p.rss for p in runs_) for runs_ in pair)
        record["max_big"] = {
            "size": size,
            "poolcli_s": ta,
            "naive_s": tb,
            "ratio": ta / tb,
            "poolcli_cpu_s": ca,
            "naive_cpu_s": cb,
            "poolcli_rss": ra,
            "naive_rss": rb,
            "rss_limit": limit,
            "identical": same,
            "poolcli_runs_s": [p.wall for p in pair[0]],
            "naive_runs_s": [p.wall for p in pair[1]],
        }
        row(label, secs(ta), f"naive {secs(tb)}", f"{ta / tb:.2f}×", "≤ 1.00×", ta <= tb)
        row("  CPU time", secs(ca), f"naive {secs(cb)}", f"{ca / cb:.2f}×")
        row(
            "  peak RSS",
            mib(ra),
            f"naive {mib(rb)}",
            f"{ra / rb:.2f}×",
            f"≤ {mib(limit)}",
            ra <= limit,
        )
        row("  output equals the naive one", "yes" if same else "NO", target="identical", ok=same)

    # Tiny input: what poolcli adds to importing torch.
    label = "max tiny.npy -k 2 (report)"
    if available:
        pair, failed, _ = measure_pair(
            cmd + ["max", str(tiny), "-k", "2"], [py, "-c", "import torch"], max(runs, 5)
        )
    if not available:
        row(label, "unavailable", target=f"≤ +{secs(TINY_TARGET)}")
    elif failed is not None:
        row(label, f"failed: {failed.err or failed.rc}", ok=False)
    else:
        ta, tb = (median(p.wall for p in runs_) for runs_ in pair)
        ca, cb = (median(p.cpu for p in runs_) for runs_ in pair)
        record["tiny"] = {
            "poolcli_s": ta,
            "import_torch_s": tb,
            "delta_s": ta - tb,
            "poolcli_cpu_s": ca,
            "import_torch_cpu_s": cb,
        }
        row(
            label,
            secs(ta),
            f"import torch {secs(tb)}",
            f"+{secs(ta - tb)}",
            f"≤ +{secs(TINY_TARGET)}",
            ta - tb <= TINY_TARGET,
        )
        row("  CPU time", secs(ca), f"import torch {secs(cb)}", f"+{secs(ca - cb)}")

    # Median 3x3 stride 1: slow, so one run each; memory must stay bounded.
    label = f"median {med_size}² f32 -k 3 -s 1"
    limit = torch_rss + med_in + med_out + MEDIAN_LIMIT + MEDIAN_SLACK
    res_a, res_b = tmp / "med_poolcli.npy", tmp / "med_naive.npy"
    if not available:
        row(label, "unavailable", target=f"≤ {mib(limit)}")
        return out + ["", _cli_table(rows)]
    a = run_measured(cmd + ["median", str(med), "-k", "3", "-s", "1", "-o", str(res_a), "-q"])
    b = run_measured([py, "-c", NAIVE_MEDIAN, str(med), str(res_b)])
    if not a.ok:
        row(label, f"failed: {a.err or a.rc}", ok=False)
        return out + ["", _cli_table(rows)]
    same = b.ok and np.array_equal(np.load(res_a), np.load(res_b))
    record["median"] = {
        "size": med_size,
        "poolcli_s": a.wall,
        "poolcli_cpu_s": a.cpu,
        "poolcli_rss": a.rss,
        "naive_s": b.wall if b.ok else None,
        "naive_cpu_s": b.cpu if b.ok else None,
        "naive_rss": b.rss if b.ok else None,
        "rss_limit": limit,
        "identical": same,
    }
    if b.ok:
        row(label, secs(a.wall), f"unfold+median {secs(b.wall)}", f"{a.wall / b.wall:.2f}×")
        row("  CPU time", secs(a.cpu), f"unfold+median {secs(b.cpu)}", f"{a.cpu / b.cpu:.2f}×")
        row(
            "  peak RSS",
            mib(a.rss),
            f"unfold+median {mib(b.rss)}",
            f"{a.rss / b.rss:.2f}×",
            f"≤ {mib(limit)}",
            a.rss <= limit,
        )
        row("  output equals the naive one", "yes" if same else "NO", target="identical", ok=same)
    else:
        row(label, secs(a.wall), "naive script failed")
        row("  peak RSS", mib(a.rss), target=f"≤ {mib(limit)}", ok=a.rss <= limit)
    return out + ["", _cli_table(rows)]


def _cli_table(rows) -> str:
    return table(["command line", "poolcli", "reference", "ratio", "target", ""], rows, "lrrrrl")


# --------------------------------------------------------------------------------------
# Engine section (in-process)

WINDOWS = (("2x2 s2", 2, 2, 0), ("3x3 s1", 3, 1, 0), ("3x3 s2 p1", 3, 2, 1))
REDUCTIONS = ("max", "avg", "sum", "min", "median")
TAP_BASED = ("max", "avg", "sum", "min", "lp")
TORCH_PATH = ("max", "avg")
ENGINE_PATHS = ("taps", "separable", "networks", "counting", "torch", "gather")
SWEEP_PATHS = ("taps", "separable", "counting", "torch", "gather")


def compare(calls: dict, runs: int, min_total: float = 0.4, max_rounds: int = 15):
    """Time ``calls`` round-robin, so that a burst of load elsewhere hits all of them alike.

    Each call runs once first (its warm-up, and its result is kept for checking). Calls
    under a second then run in ``runs`` rounds, more (up to ``max_rounds``) while a round
    takes under ``min_total`` seconds in all; calls of 1-3 s run once more; slower calls
    are timed by their first run only. Returns ``{name: (median seconds, result)}``, with
    the exception instead of a result (and no time) for a call that raised.
    """
    first, results, times = {}, {}, {}
    for name, fn in calls.items():
        start = time.perf_counter()
        try:
            results[name] = fn()
        except Exception as error:  # noqa: BLE001 - a path that cannot run is a finding
            results[name] = error
            continue
        first[name] = time.perf_counter() - start
        times[name] = [first[name]] if first[name] >= 1.0 else []
    for round_ in range(max_rounds):
        active = [n for n in first if first[n] < 1.0 or (first[n] < 3.0 and len(times[n]) < 2)]
        if not active:
            break
        spent = 0.0
        for name in active:
            start = time.perf_counter()
            calls[name]()
            took = time.perf_counter() - start
            times[name].append(took)
            spent += took
        if round_ + 1 >= runs and spent * (round_ + 1) >= min_total:
            break
    return {name: (median(times[name]) if name in times else None, results[name]) for name in calls}


def probe_line(record: dict, key: str) -> str:
    cores = record[key] = cpu_probe()
    busy = " (busy machine: paths made of many small ops, such as taps, suffer most)"
    return f"CPU probe: {cores:.2f} of 2 cores obtained{busy if cores < 1.8 else ''}\n"


def same_values(a, b, layout: str = "HW") -> str:
    """``=`` identical, ``≈`` equal up to float rounding, ``≠`` different.

    ``a`` may come from a raw torch call: (C, H, W) for an HWC input, (1, H, W) for HW.
    """
    import torch

    a = torch.as_tensor(a)
    b = torch.as_tensor(b)
    if a.dim() == 3 and b.dim() == 3 and layout == "HWC" and a.shape[0] == b.shape[-1]:
        a = a.permute(1, 2, 0)
    elif a.dim() == 3 and b.dim() == 2:
        a = a[0]
    if a.shape != b.shape:
        return "≠"
    if a.dtype == b.dtype and torch.equal(a, b):
        return "="
    if a.is_floating_point() or b.is_floating_point():
        a64, b64 = a.double(), b.double()
        scale = float(b64.abs().max()) if b64.numel() else 0.0
        if torch.allclose(a64, b64, rtol=1e-5, atol=1e-5 * scale, equal_nan=True):
            return "≈"
    return "≠"


def raw_call(reduction: str, layout: str, k: int, s: int, p: int):
    """The plain torch call a user would write for this case, or None."""
    import torch.nn.functional as F

    def chw(t):
        return t.permute(2, 0, 1) if layout == "HWC" else t[None]

    if reduction == "max":
        return "F.max_pool2d", lambda t: F.max_pool2d(chw(t), k, s, p)
    if reduction == "avg":
        name = "F.avg_pool2d" + (" (float)" if not t_is_float(layout) else "")
        return name, lambda t: F.avg_pool2d(chw(t).float(), k, s, p, count_include_pad=False)
    if reduction == "sum":
        name = "avg_pool2d ÷1" + (" (float)" if not t_is_float(layout) else "")
        return name, lambda t: F.avg_pool2d(chw(t).float(), k, s, p, divisor_override=1)
    if reduction == "min" and t_is_float(layout):
        return "-max_pool2d(-x)", lambda t: -F.max_pool2d(-chw(t), k, s, p)
    if reduction == "median" and p == 0 and t_is_float(layout):

        def unfold_median(t):
            w = t.unfold(0, k, s).unfold(1, k, s)
            return w.reshape(*w.shape[:2], k * k).median(-1).values

        return "unfold+median", unfold_median
    return None


def t_is_float(layout: str) -> bool:
    return layout == "HW"  # the float32 inputs are 2-D, the uint8 image is HWC


def engine_cases(quick: bool):
    import numpy as np

    big = 1024 if quick else 8192
    mid = 512 if quick else 4096
    rng = np.random.default_rng(1)
    f_big = rng.standard_normal((big, big), dtype=np.float32)
    f_mid = np.ascontiguousarray(f_big[:mid, :mid])
    u8 = rng.integers(0, 256, (mid, mid, 3), dtype=np.uint8)
    for red in REDUCTIONS:
        for name, array, layout in (
            (
                f"f32 {mid}²" if red == "median" else f"f32 {big}²",
                f_mid if red == "median" else f_big,
                "HW",
            ),
            (f"u8 {mid}²×3 HWC", u8, "HWC"),
        ):
            for window in WINDOWS:
                yield red, name, array, layout, window


def path_calls(ops, tensor, reduction, windows, layout, paths):
    from poolcli.model.options import PoolOptions

    return {
        path: partial(
            ops.pool_tensor, tensor, reduction, windows, layout, False, PoolOptions(), path
        )
        for path in paths
    }


def path_cell(timing, check) -> str:
    from poolcli.errors import UsageError

    seconds, result = timing
    if isinstance(result, UsageError):
        return "—"  # ops refuses a forced path that does not fit the case
    if isinstance(result, Exception):
        return f"n/a ({type(result).__name__})"
    return secs(seconds) + (" ≠" if check == "≠" else "")


def engine_section(runs: int, all_paths: bool, quick: bool, record: list) -> list[str]:
    import torch

    from poolcli.engine import choose, ops
    from poolcli.engine.core import pool
    from poolcli.model.layout import Layout
    from poolcli.model.reductions import Reduction
    from poolcli.model.window import WindowSpec, resolve

    rows = []
    for red, name, array, layout_name, (wname, k, s, p) in engine_cases(quick):
        layout = Layout(layout_name)
        tensor = torch.from_numpy(array)
        windows = resolve(
            WindowSpec.make(kernel_size=k, stride=s, padding=p),
            layout.spatial_shape(array.shape),
            layout.spatial,
        )
        reduction = Reduction(red)
        auto = choose.choose_path(tensor, reduction, windows)
        calls = {
            "poolcli": partial(
                pool, array, red, kernel_size=k, stride=s, padding=p, layout=layout_name
            )
        }
        raw = raw_call(red, layout_name, k, s, p)
        if raw is not None:
            calls["raw"] = partial(raw[1], tensor)
        paths = ["taps", "separable", "networks", "torch"]
        # gather is the auto path of median (timed as "poolcli"); for the tap-based
        # reductions it takes 5-25 s per case at these sizes.
        skip_gather = red == "median" or (auto != "gather" and not all_paths)
        if not skip_gather:
            paths.append("gather")
        calls.update(path_calls(ops, tensor, reduction, windows, layout, paths))
        timing = compare(calls, runs)
        t_pool, reference = timing.pop("poolcli")
        checks = {
            n: same_values(r, reference, layout_name)
            for n, (_, r) in timing.items()
            if not isinstance(r, Exception)
        }
        if red == "median":
            timing["gather"] = (t_pool, reference)
            checks["gather"] = "="
        times = {p: t for p, (t, _) in timing.items() if p in ENGINE_PATHS and t is not None}
        best = min(times, key=times.get) if times else auto
        auto_t = times.get(auto, t_pool)
        faster = best != auto and times[best] < 0.9 * auto_t
        entry = {
            "reduction": red,
            "input": name,
            "window": wname,
            "auto": auto,
            "poolcli_s": t_pool,
            "paths": times,
            "checks": checks,
            "best": best,
        }
        if raw is not None:
            entry["raw"] = {"call": raw[0], "s": timing["raw"][0], "check": checks.get("raw")}
        record.append(entry)
        cells = {
            path: path_cell(timing[path], checks.get(path)) if path in timing else "—"
            for path in ENGINE_PATHS
        }
        if skip_gather and red != "median":
            cells["gather"] = "(--all-paths)"
        t_raw = timing["raw"][0] if raw is not None else None
        rows.append(
            [
                red,
                name,
                wname,
                secs(t_pool),
                f"{raw[0]} {secs(t_raw)}" if raw else "—",
                f"{t_pool / t_raw:.2f}× {checks['raw']}" if raw else "",
                auto,
                *(cells[path] for path in ENGINE_PATHS),
                f"{best} {times[best] / auto_t:.2f}×" if faster else "",
            ]
        )
        del timing, reference
        print(
            f"  {red:6} {name:18} {wname:9} {secs(t_pool):>8}  auto={auto}",
            file=sys.stderr,
            flush=True,
        )
    headers = [
        "op",
        "input",
        "window",
        "poolcli",
        "raw torch",
        "ratio",
        "auto",
        *ENGINE_PATHS,
        "faster path",
    ]
    return [table(headers, rows, "lllrrrl" + "r" * len(ENGINE_PATHS) + "l")]


def sweep_section(runs: int, quick: bool, record: list) -> list[str]:
    import numpy as np
    import torch

    from poolcli.engine import choose, ops
    from poolcli.model.layout import Layout
    from poolcli.model.reductions import Reduction
    from poolcli.model.window import WindowSpec, resolve

    size = 256 if quick else 1024
    rng = np.random.default_rng(2)
    u8 = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    boxes = tuple((k, s) for k in (2, 3, 5, 6, 8, 12) for s in (1, k))
    # (input, array, layout, reductions, (kernel, stride) pairs); medians on a quarter of the
    # cells: the sorting gather takes seconds per window size there already.
    inputs = (
        (
            f"f32 {size}²",
            rng.standard_normal((size, size), dtype=np.float32),
            "HW",
            ("max", "avg", "sum"),
            boxes,
        ),
        (f"u8 {size}²×3", u8, "HWC", ("max", "sum"), boxes),
        (
            f"u8 {size // 2}²×3",
            np.ascontiguousarray(u8[: size // 2, : size // 2]),
            "HWC",
            ("median",),
            tuple((k, 1) for k in (5, 7, 9, 11, 13, 15)),
        ),
    )
    rows = []
    for name, array, layout_name, reductions, windowings in inputs:
        layout = Layout(layout_name)
        tensor = torch.from_numpy(array)
        shape = layout.spatial_shape(array.shape)
        for red in reductions:
            for k, s in windowings:
                windows = resolve(WindowSpec.make(kernel_size=k, stride=s), shape)
                reduction = Reduction(red)
                auto = choose.choose_path(tensor, reduction, windows)
                if red == "median":
                    paths = ["taps", "counting", "gather"]
                else:
                    paths = ["taps", "separable", "gather"]
                    paths += ["torch"] if red in TORCH_PATH else []
                timing = compare(path_calls(ops, tensor, reduction, windows, layout, paths), runs)
                reference = timing[auto][1]
                checks = {
                    p: same_values(r, reference, layout_name)
                    for p, (_, r) in timing.items()
                    if not isinstance(r, Exception)
                }
                times = {p: t for p, (t, _) in timing.items() if t is not None}
                best = min(times, key=times.get)
                record.append(
                    {
                        "input": name,
                        "reduction": red,
                        "kernel": k,
                        "stride": s,
                        "taps": k * k,
                        "auto": auto,
                        "best": best,
                        "times": times,
                    }
                )
                cells = {
                    p: path_cell(timing[p], checks.get(p)) if p in timing else "—"
                    for p in SWEEP_PATHS
                }
                slower = times.get(auto, 0) / times[best] if best != auto else 1.0
                rows.append(
                    [
                        name,
                        red,
                        f"{k}x{k} s{s}",
                        k * k,
                        auto,
                        *(cells[p] for p in SWEEP_PATHS),
                        f"{best} ({slower:.1f}× faster)" if slower > 1.1 else "",
                    ]
                )
                del timing, reference
    return [
        table(
            [
                "input",
                "op",
                "window",
                "taps",
                "auto",
                *(f"{p} path" for p in SWEEP_PATHS),
                "faster than auto",
            ],
            rows,
            "lllrl" + "r" * len(SWEEP_PATHS) + "l",
        )
    ]


# --------------------------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", metavar="FILE", help="also write the numbers as JSON")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per case (median)")
    parser.add_argument(
        "--only",
        choices=("cli", "engine", "sweep"),
        action="append",
        help="run only these sections (repeatable)",
    )
    parser.add_argument(
        "--all-paths",
        action="store_true",
        help="also time the slow gather path of tap-based reductions",
    )
    parser.add_argument("--quick", action="store_true", help="small inputs (smoke test)")
    parser.add_argument(
        "--threads", type=int, help="torch threads for the in-process sections (torch's default)"
    )
    args = parser.parse_args(argv)
    sections = args.only or ["cli", "engine", "sweep"]

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.perf_counter()
    record = {
        "machine": machine_line(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "quick": args.quick,
    }
    print(f"# poolcli core benchmark{' (--quick)' if args.quick else ''}\n")
    print(
        f"{record['machine']}; torch {torch.__version__} with {torch.get_num_threads()} "
        "threads in-process. Timings are medians of interleaved runs; other work on this "
        "machine makes them noisy (see the CPU probes), so compare ratios from the same run.\n"
    )
    if "cli" in sections:
        print("## Command line\n\n" + probe_line(record, "cores_cli"), flush=True)
        with tempfile.TemporaryDirectory(prefix="poolcli-bench-") as tmp:
            record["cli"] = {}
            print("\n".join(cli_section(Path(tmp), args.repeat, args.quick, record["cli"])))
        print()
    if "engine" in sections:
        print("## Engine (in-process: poolcli.engine.core.pool vs raw torch; forced paths)\n")
        print(probe_line(record, "cores_engine"), flush=True)
        record["engine"] = []
        print("\n".join(engine_section(args.repeat, args.all_paths, args.quick, record["engine"])))
        print(
            "\n`=` identical to poolcli's output, `≈` equal up to float rounding, `≠` different; "
            "— the path does not apply. 'faster path': a forced path at least 10% faster than "
            "the one auto picked.\n"
        )
    if "sweep" in sections:
        print("## Path sweep (for choose.TAP_LIMIT / choose.choose_path)\n")
        print(probe_line(record, "cores_sweep"), flush=True)
        record["sweep"] = []
        print("\n".join(sweep_section(args.repeat, args.quick, record["sweep"])))
        print()

    print(probe_line(record, "cores_after").strip())
    record["elapsed_s"] = time.perf_counter() - started
    print(f"Run took {record['elapsed_s']:.0f} s.")
    if args.json:
        Path(args.json).write_text(json.dumps(record, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
