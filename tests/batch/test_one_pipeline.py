"""A file given alone and the same file inside a folder: same exit status, message and bytes.

Both go through the one per-input function of poolcli.batch; these cases are the ones where
the two once disagreed (contract: "Exit status: input-dependent failures").
"""

import os

import numpy as np
import pytest

CASES = {
    "good array": ("x.npy", np.arange(16, dtype=np.int64).reshape(4, 4), [], 0),
    "good image": ("x.png", np.arange(48, dtype=np.uint8).reshape(4, 4, 3), [], 0),
    "kernel larger than the input": ("x.npy", np.ones((3, 3)), ["-k", "5"], 1),
    "layout that does not fit the image": (
        "x.png",
        np.zeros((4, 4, 3), np.uint8),
        ["--layout", "CHW"],
        1,
    ),
    "layout that does not fit the array": ("x.npy", np.ones((4, 4)), ["--layout", "NCHW"], 1),
    "not an image": ("x.png", b"not a png", [], 1),
    "negative input to stochastic": ("x.npy", -np.ones((4, 4)), ["--seed", "1"], 1),
}


def _write(path, content):
    from PIL import Image

    if isinstance(content, bytes):
        with open(path, "wb") as f:
            f.write(content)
    elif path.endswith(".png"):
        Image.fromarray(content).save(path)
    else:
        with open(path, "wb") as f:
            np.save(f, content)


def _messages(stderr: str) -> list[str]:
    """The lines about the input (the batch adds its summary; paths differ by folder)."""
    return [
        line.replace("in/", "")
        for line in stderr.splitlines()
        if line.startswith("poolcli: ") and "batch" not in line
    ]


@pytest.mark.parametrize("case", sorted(CASES))
def test_alone_and_in_a_folder_agree(case, cli, workdir):
    name, content, options, status = CASES[case]
    op = "stochastic" if "--seed" in options else "max"
    if "-k" not in options:
        options = ["-k", "2", *options]
    os.mkdir("in")
    _write(f"in/{name}", content)
    suffix = os.path.splitext(name)[1]
    alone = cli(op, f"in/{name}", *options, "-o", f"alone{suffix}", "-q", code=status)
    folder = cli(op, "in", *options, "-o", "out/", "-q", code=status)
    assert _messages(alone.stderr) == _messages(folder.stderr)
    if status == 0:
        with open(f"alone{suffix}", "rb") as a, open(f"out/{name}", "rb") as b:
            assert a.read() == b.read()
    else:
        assert not os.path.exists(f"out/{name}")
