"""A real Dask cluster on loopback: ``dask scheduler`` and ``dask worker`` processes, and
outputs byte-identical to pooling without them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import distributed  # noqa: F401  (the test extra installs it)
import numpy as np
import pytest

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(args, log):
    return subprocess.Popen(
        [sys.executable, "-m", *args],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    from distributed import Client

    log = open(tmp_path_factory.mktemp("dask") / "log.txt", "w")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler = _start(
        [
            "distributed.cli.dask_scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--dashboard-address",
            ":0",
        ],
        log,
    )
    worker = _start(
        [
            "distributed.cli.dask_worker",
            address,
            "--nthreads",
            "1",
            "--nworkers",
            "2",
            "--dashboard-address",
            ":0",
        ],
        log,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with Client(address, timeout="2s") as client:
                    client.wait_for_workers(2, timeout=60)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        yield address
    finally:
        for process in (worker, scheduler):
            process.terminate()
        for process in (worker, scheduler):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()


def test_blocks_of_one_array_on_the_cluster(cluster, run, tmp_path):
    x = np.random.default_rng(4).random((150, 130)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    common = ["stochastic", tmp_path / "x.npy", "-k", "3", "-s", "2", "-p", "1", "--seed", "9"]
    run(*common, "-o", tmp_path / "ref.npy")
    run(*common, "--max-memory", "40KiB", "--scheduler", cluster, "-o", tmp_path / "d.zarr")
    run(*common, "--max-memory", "40KiB", "--scheduler", cluster, "-o", tmp_path / "d.npy")
    assert (tmp_path / "d.npy").read_bytes() == (tmp_path / "ref.npy").read_bytes()
    import zarr

    np.testing.assert_array_equal(
        zarr.open_array(tmp_path / "d.zarr")[...], np.load(tmp_path / "ref.npy")
    )


def test_files_of_a_batch_on_the_cluster(cluster, run, tmp_path):
    for i in range(3):
        np.save(tmp_path / f"{i}.npy", np.arange(100 * (i + 1), dtype=np.int16).reshape(-1, 10))
    inputs = [tmp_path / f"{i}.npy" for i in range(3)]
    run("mode", *inputs, "-k", "2", "--scheduler", cluster, "-o", f"{tmp_path / 'out'}/")
    for i in range(3):
        run("mode", inputs[i], "-k", "2", "-o", tmp_path / f"ref{i}.npy")
        assert (tmp_path / "out" / f"{i}.npy").read_bytes() == (
            tmp_path / f"ref{i}.npy"
        ).read_bytes()


def test_no_scheduler_there_is_a_clear_error(run, tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((8, 8), np.float32))
    port = _free_port()
    process = run(
        "max",
        tmp_path / "x.npy",
        "-k",
        "2",
        "--scheduler",
        f"tcp://127.0.0.1:{port}",
        "-o",
        tmp_path / "o.npy",
        "--max-memory",
        "1KiB",
        code=2,
    )
    assert b"no Dask scheduler answers there" in process.stderr
