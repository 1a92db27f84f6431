"""bench_peers.py's rows as whole commands through the server, against OpenCV (#15).

Usage: .venv/bin/python benchmarks/bench_peers_served.py [--quick] [--repeat N] [--only TEXT]
                                                         [--threads N] [--json FILE]

Each case's input is saved as ``.npy``. poolcli runs ``poolcli OP in.npy -k K -s S --layout L
-o out.npy`` through a server of its own (private directory), started first and waited for
until its kernel worker has loaded the compiled kernels (:mod:`poolcli.server.kernels`). The
commands run twice: as they are (large inputs go to the kernel worker) and with
``POOLCLI_COMPILE=0`` (the same worker, eager paths). OpenCV does the same work in this warm
process: ``np.load`` of the same file, the filter, ``np.save`` of the valid region to a file
renamed into place as poolcli's atomic write is (in /dev/shm where it can: a disk would time its
own write-back). Runs are interleaved (one of each per round)
and medians reported (bench_core.compare); both served outputs are checked against OpenCV's
(see bench_peers.check).
The served times include the client's start (a Python process, about 50 ms here).
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

from bench_core import compare
from bench_peers import cases, check
from benchutil import machine_line, poolcli_cmd, secs, table


def _opencv_peer(peers: dict):
    return next((name, fn) for name, fn in peers.items() if name.startswith("OpenCV"))


def _wait_for_kernel_worker(env: dict, seconds: float = 900) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        done = subprocess.run(
            poolcli_cmd() + ["server", "status", "--json"], env=env, capture_output=True
        )
        if done.returncode == 0 and json.loads(done.stdout).get("kernel_worker"):
            return True
        time.sleep(1)
    return False


def _command(work: Path, red, layout, k, s, extra, out: Path) -> list[str]:
    return poolcli_cmd() + [
        red, str(work / "in.npy"), "-k", str(k), "-s", str(s), "--layout", layout,
        *extra, "-o", str(out), "-q",
    ]  # fmt: skip


def _opencv_call(work: Path, fn):
    import numpy as np

    def call():
        y = np.ascontiguousarray(fn(np.load(work / "in.npy")))  # as poolcli writes it
        with open(work / "cv.tmp.npy", "wb") as f:
            np.save(f, y)
        os.replace(work / "cv.tmp.npy", work / "cv.npy")

    return call


def one_case(work: Path, case, env_on: dict, repeat: int) -> dict:
    import numpy as np

    label, red, array, layout, k, s, peers, *rest = case
    extra = [arg for key, value in (rest[0] if rest else {}).items() for arg in (f"--{key}", value)]
    np.save(work / "in.npy", array)
    peer, fn = _opencv_peer(peers)

    def served(name, env):
        command = _command(work, red, layout, k, s, extra, work / f"{name}.npy")
        return lambda: subprocess.run(command, env=env, check=True, capture_output=True)

    calls = {
        "served": served("served", env_on),
        "served eager": served("eager", dict(env_on, POOLCLI_COMPILE="0")),
        peer: _opencv_call(work, fn),
    }
    timing = compare(calls, repeat)
    for _, result in timing.values():
        if isinstance(result, Exception):
            raise result
    want = np.load(work / "cv.npy")
    marks = {check(np.load(work / f"{name}.npy"), want) for name in ("served", "eager")}
    result = {name: seconds for name, (seconds, _) in timing.items()}
    return {"label": label, "peer": peer, "check": "".join(sorted(marks)), "seconds": result}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small inputs (smoke test)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per case (median)")
    parser.add_argument("--threads", type=int, default=2, help="threads for torch and OpenCV")
    parser.add_argument("--only", help="only cases whose label contains this text")
    parser.add_argument("--json", metavar="FILE", help="also write the numbers as JSON")
    args = parser.parse_args(argv)
    import cv2

    cv2.setNumThreads(args.threads)
    record = {"machine": machine_line(), "cases": []}
    print(record["machine"], "\n")
    # In memory where there is a tmpfs: writing 256 MiB files to a disk times its write-back.
    shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    with tempfile.TemporaryDirectory(dir=shm) as tmp:
        work, folder = Path(tmp), os.path.join(tmp, "server")
        os.mkdir(folder, 0o700)
        env_on = dict(
            os.environ,
            POOLCLI_SERVER="on",
            POOLCLI_SERVER_DIR=folder,
            OMP_NUM_THREADS=str(args.threads),
        )
        env_on.pop("POOLCLI_COMPILE", None)
        subprocess.run(poolcli_cmd() + ["server", "start"], env=env_on, check=True)
        try:
            if not _wait_for_kernel_worker(env_on):
                print("the server's kernel worker did not get ready", file=sys.stderr)
                return 1
            rows = []
            for case in cases(args.quick):
                if args.only and args.only not in case[0]:
                    continue
                found = one_case(work, case, env_on, args.repeat)
                record["cases"].append(found)
                t = found["seconds"]
                best = min(t["served"], t["served eager"])
                rows.append(
                    [
                        found["label"],
                        secs(t["served"]),
                        secs(t["served eager"]),
                        f"{secs(t[found['peer']])} {found['check']}",
                        f"{best / t[found['peer']]:.2f}×",
                    ]
                )
                print(rows[-1], flush=True)
        finally:
            subprocess.run(poolcli_cmd() + ["server", "stop"], env=env_on, capture_output=True)
    headers = ["case (whole command, .npy in and out)", "served", "served eager", "OpenCV"]
    print("\n" + table([*headers, "÷ OpenCV"], rows))
    if args.json:
        Path(args.json).write_text(json.dumps(record, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
