"""Every command on sample_data/, byte for byte: stdout, stderr and each file written.

The hashes in ``golden.json`` were recorded before the package was split into layers; a
change that alters what users see must change them on purpose. To record them again after
such a change: ``POOLCLI_RECORD_GOLDEN=1 .venv/bin/python -m pytest tests/golden``, then read
the diff of ``golden.json`` and say in the commit which outputs changed and why.
"""

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import TERMINAL_SETTINGS

SAMPLES = Path(__file__).resolve().parents[2] / "sample_data"
GOLDEN = Path(__file__).with_name("golden.json")
RECORD = os.environ.get("POOLCLI_RECORD_GOLDEN") == "1"

#: name -> (arguments, files the command writes). Inputs are relative to a copy of sample_data.
COMMANDS = {
    "max-report": (["max", "seed_4x4.npy", "-k", "2"], []),
    "avg-report": (["avg", "seed_4x4.npy", "-k", "3", "-s", "1", "-p", "same"], []),
    "avg-json": (["avg", "seed_4x4.npy", "-k", "2", "--json"], []),
    "min-dilated": (["min", "seed_4x4.npy", "-k", "2", "-s", "1", "-d", "2", "--json"], []),
    "sum-volume": (["sum", "volume.npy", "-k", "2", "-o", "out.npy"], ["out.npy"]),
    "lp-signal": (["lp", "signal.npy", "-k", "3", "-s", "2", "--norm-type", "3", "--json"], []),
    "stochastic": (["stochastic", "seed_4x4.npy", "-k", "2", "--seed", "0", "--json"], []),
    "stochastic-exp": (["stochastic", "seed_4x4.npy", "-k", "2", "--expectation"], []),
    "median-gradient": (
        ["median", "gradient.png", "-k", "3", "-s", "1", "-p", "same", "-o", "out.png"],
        ["out.png"],
    ),
    "max-photo": (["max", "photo.png", "-k", "2", "-o", "out.png"], ["out.png"]),
    "avg-photo-viz": (
        ["avg", "photo.png", "-k", "4", "--viz", "viz.png", "-q", "-o", "out.png"],
        ["out.png", "viz.png"],
    ),
    "max-seed-viz": (["max", "seed_4x4.npy", "-k", "2", "--viz", "viz.png"], ["viz.png"]),
    "mode-labels": (["mode", "labels.png", "-k", "4", "-o", "out.png"], ["out.png"]),
    "avg-rgba": (["avg", "rgba.png", "-k", "2", "-o", "out.png"], ["out.png"]),
    "max-gray16": (["max", "gray16.png", "-k", "2", "-o", "out.png"], ["out.png"]),
    "adaptive": (["max", "checkerboard.png", "--output-size", "5x3", "-o", "out.npy"], ["out.npy"]),
    "global-features": (["avg", "features.npy", "--global", "--json"], []),
    "ceil-report": (["max", "seed_4x4.npy", "-k", "3", "-s", "2", "--ceil"], []),
    "explain-flag": (["max", "seed_4x4.npy", "-k", "2", "--explain"], []),
    "then-chain": (
        ["max", "photo.png", "-k", "2", "--then", "avg", "-k", "2", "-o", "out.png"],
        ["out.png"],
    ),
    "shape": (["shape", "28x28", "conv:k=5,c=6", "max:k=2", "conv:k=5,c=16", "max:k=2"], []),
    "explain": (["explain", "seed_4x4.npy", "--op", "avg", "-k", "3", "-s", "2", "-p", "1"], []),
    "grad": (["grad", "seed_4x4.npy", "--op", "max", "-k", "2", "-o", "g.npy"], ["g.npy"]),
    "grad-unpool-viz": (
        ["grad", "seed_4x4.npy", "-k", "2", "--unpool", "--viz", "g.png"],
        ["g.png"],
    ),
    "compare": (["compare", "seed_4x4.npy", "--ops", "max,avg,median", "-k", "2"], []),
    "compare-viz": (
        ["compare", "photo.png", "--ops", "max,avg", "-k", "4", "--viz", "c.png"],
        ["c.png"],
    ),
    "invariance": (["invariance", "photo.png", "--ops", "max,avg", "-k", "2", "--json"], []),
    "invariance-small": (["invariance", "seed_4x4.npy", "--ops", "max,avg", "-k", "2"], []),
    "batch": (
        ["avg", ".", "-k", "2", "-o", "out/", "-j", "1", "-q"],
        ["out/photo.png", "out/labels.png", "out/seed_4x4.npy", "out/volume.npy", "out/rgba.png"],
    ),
    "error-kernel": (["max", "seed_4x4.npy", "-k", "5"], []),
    "error-missing": (["max", "nothere.png", "-k", "2"], []),
}


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _outcome(tmp_path, monkeypatch, args, files) -> dict:
    from typer.testing import CliRunner

    from poolcli.cli import app

    work = tmp_path / "samples"
    shutil.copytree(SAMPLES, work, ignore=shutil.ignore_patterns("*.py"))
    monkeypatch.chdir(work)
    env = {name: None for name in TERMINAL_SETTINGS}
    env["COLUMNS"] = "100"
    result = CliRunner().invoke(app, args, env=env)
    return {
        "exit": result.exit_code,
        "stdout": _digest(result.stdout_bytes),
        "stderr": _digest(result.stderr_bytes),
        **{name: _digest((work / name).read_bytes()) for name in files},
    }


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_outputs_are_unchanged(name, tmp_path, monkeypatch):
    args, files = COMMANDS[name]
    got = _outcome(tmp_path, monkeypatch, args, files)
    recorded = json.loads(GOLDEN.read_text()) if GOLDEN.exists() else {}
    if RECORD:
        recorded[name] = got
        GOLDEN.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")
        return
    assert got == recorded[name], f"poolcli {' '.join(args)} changed what it prints or writes"
