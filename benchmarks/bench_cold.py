"""Cold one-shot command lines: this checkout against an earlier commit (#15).

Usage: .venv/bin/python benchmarks/bench_cold.py [--against REV] [--repeat N] [--quick]
                                                 [--json FILE]

A cold call is a fresh ``poolcli`` process without the server (``POOLCLI_SERVER=off``): it
imports torch and runs the eager paths unless the input is large enough for a compiled kernel
already built on this machine (``compiled.ONE_SHOT_FROM``). The cases are bench_core.py's
command-line ones (``--help``, a tiny call, a 2x2 max of 8192² float32, a 3x3 median of 4096²)
and the sliding windows of bench_peers.py as commands on ``.npy`` files. The earlier commit
(``--against``, default ``HEAD~1``) is checked out into a temporary directory with ``git
worktree`` and run with the same interpreter and the same installed dependencies, put first
on ``PYTHONPATH``. Runs alternate (earlier, this, earlier, ...) and medians are reported, with
every output compared between the two.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_core import measure_pair
from benchutil import REPO, machine_line, median, poolcli_cmd, secs, table


def inputs(work: Path, quick: bool) -> None:
    import numpy as np

    big, mid = (2048, 1024) if quick else (8192, 4096)
    rng = np.random.default_rng(0)
    np.save(work / "tiny.npy", np.arange(16, dtype=np.float32).reshape(4, 4))
    np.save(work / "big.npy", rng.standard_normal((big, big), dtype=np.float32))
    np.save(work / "mid.npy", rng.standard_normal((mid, mid), dtype=np.float32))
    np.save(work / "rgb.npy", rng.integers(0, 256, (mid, mid, 3), dtype=np.uint8))


def cases() -> list[tuple[str, list[str]]]:
    """(label, arguments); ``OUT`` stands for the output file."""
    found = [
        ("--help", ["--help"]),
        ("max tiny.npy -k 2", ["max", "tiny.npy", "-k", "2"]),
        ("max big.npy -k 2", ["max", "big.npy", "-k", "2", "-o", "OUT"]),
        ("median mid.npy -k 3 -s 1", ["median", "mid.npy", "-k", "3", "-s", "1", "-o", "OUT"]),
    ]
    for k in (3, 5, 7):
        window = ["-k", str(k), "-s", "1", "-o", "OUT"]
        found += [
            (f"max big.npy -k {k} -s 1", ["max", "big.npy", *window]),
            (f"avg big.npy -k {k} -s 1", ["avg", "big.npy", *window]),
            (f"min rgb.npy -k {k} -s 1", ["min", "rgb.npy", "--layout", "HWC", *window]),
            (f"avg rgb.npy -k {k} -s 1", ["avg", "rgb.npy", "--layout", "HWC", *window]),
            (f"median rgb.npy -k {k} -s 1", ["median", "rgb.npy", "--layout", "HWC", *window]),
        ]
    return found


def checkout(rev: str, into: Path) -> None:
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(into), rev],
        check=True,
    )


def one_case(work: Path, earlier: Path, label: str, arguments: list[str], repeat: int):
    """The case's median times, earlier and now, and whether their outputs match; None when
    a run failed (said on standard error)."""
    import numpy as np

    outs = (work / "out-earlier.npy", work / "out-this.npy")
    commands = [poolcli_cmd() + [str(out) if a == "OUT" else a for a in arguments] for out in outs]
    envs = [
        dict(os.environ, POOLCLI_SERVER="off", PYTHONPATH=str(path)) for path in (earlier, REPO)
    ]
    pair, failed, which = measure_pair(*commands, repeat, outputs=outs, envs=envs, cwd=work)
    if failed is not None:
        print(f"{label} ({('earlier', 'this')[which]}) failed: {failed.err}", file=sys.stderr)
        return None
    written = [np.load(out) for out in outs if out.exists()]
    same = not written or np.array_equal(*written)
    before, now = (median(p.wall for p in runs) for runs in pair)
    return {"case": label, "earlier_s": before, "this_s": now, "same": same}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--against", default="HEAD~1", help="the earlier commit (HEAD~1)")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each version (median)")
    parser.add_argument("--quick", action="store_true", help="small inputs (smoke test)")
    parser.add_argument("--only", help="only cases whose label contains this text")
    parser.add_argument("--json", metavar="FILE", help="also write the numbers as JSON")
    args = parser.parse_args(argv)
    record = {"machine": machine_line(), "against": args.against, "cases": []}
    print(f"{record['machine']}; this checkout against {args.against}\n")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work, earlier = Path(tmp), Path(tmp) / "earlier"
        checkout(args.against, earlier)
        try:
            inputs(work, args.quick)
            for label, arguments in cases():
                if args.only and args.only not in label:
                    continue
                found = one_case(work, earlier, label, arguments, args.repeat)
                if found is None:
                    return 1
                record["cases"].append(found)
                before, now = found["earlier_s"], found["this_s"]
                mark = "=" if found["same"] else "≠"
                rows.append([label, secs(before), f"{secs(now)} {mark}", f"{now / before:.2f}×"])
                print("  " + " | ".join(rows[-1]), file=sys.stderr, flush=True)
        finally:
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "remove", "--force", str(earlier)],
                check=False,
            )
    print(table(["cold call (no server)", args.against, "this checkout", "ratio"], rows))
    if args.json:
        Path(args.json).write_text(json.dumps(record, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
