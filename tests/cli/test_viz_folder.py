"""``--viz DIR/`` in folder runs: the picture format (``--viz-format``), ``--viz-scale`` and
``--channels`` reach every input's picture as they reach ``--viz FILE``; the options of
pictures are refused where nothing is drawn."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image


@pytest.fixture
def folder(workdir, npy):
    """in/a.npy (6x8) and in/sub/b.npy (3 channels of 4x4, CHW)."""
    rng = np.random.default_rng(3)
    (workdir / "in" / "sub").mkdir(parents=True)
    npy(rng.random((6, 8)).astype(np.float32), "in/a.npy")
    npy(rng.random((3, 4, 4)).astype(np.float32), "in/sub/b.npy")
    return workdir


def _size(path) -> tuple[int, int]:
    with Image.open(path) as image:
        return image.size


def _names(root) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.*"))


@pytest.mark.parametrize("fmt", ["svg", "gif", "html"])
def test_viz_format_names_the_pictures_of_a_folder_run(cli, folder, fmt):
    cli("max", "in", "-r", "-k", "2", "-o", "out/", "--viz", "pics/", "--viz-format", fmt, "-q")
    assert _names(folder / "pics") == [f"a.{fmt}", f"sub/b.{fmt}"]
    # Each is the picture --viz FILE draws of the same input.
    cli("max", "in/a.npy", "-k", "2", "--viz", f"one.{fmt}", "-q")
    if fmt == "gif":
        with Image.open(folder / "pics" / "a.gif") as ours, Image.open("one.gif") as single:
            assert (ours.n_frames, ours.size) == (single.n_frames, single.size)
    else:
        ours = (folder / "pics" / f"a.{fmt}").read_text()
        single = (folder / f"one.{fmt}").read_text()
        assert ours == single.replace(f"one.{fmt}", f"a.{fmt}")


def test_viz_scale_and_channels_reach_every_picture_of_a_folder_run(cli, folder):
    base = ("max", "in", "-r", "-k", "2", "--channels", "1-2", "--viz")
    cli(*base, "small/", "-q")
    cli(*base, "big/", "--viz-scale", "2", "-q")
    for name in ("a.png", "sub/b.png"):
        small, big = _size(folder / "small" / name), _size(folder / "big" / name)
        assert big == (2 * small[0], 2 * small[1])
    cli(*base, "svgs/", "--viz-format", "svg", "-q")
    text = (folder / "svgs" / "sub" / "b.svg").read_text()
    assert ">channel 1<" in text and ">channel 2<" in text and ">channel 0<" not in text


@pytest.mark.parametrize(
    "extra, words",
    [
        (["--viz-scale", "2"], "--viz-scale 2"),
        (["--channels", "0"], "--channels"),
        (["--viz-format", "svg"], "--viz-format svg"),
    ],
)
def test_picture_options_without_viz_are_refused(cli, folder, extra, words):
    result = cli("max", "in", "-r", "-k", "2", "-o", "out/", *extra, code=2)
    assert result.stderr.startswith(
        f"poolcli: error: {words} is for the --viz picture, but nothing is drawn: add "
        "--viz FILE.png (--viz DIR/ for a batch).\n"
    )
    assert not (folder / "out").exists()


def test_an_unknown_viz_format_is_refused(cli, folder):
    result = cli("max", "in", "-r", "-k", "2", "--viz", "p/", "--viz-format", "jpg", code=2)
    assert result.stderr.startswith(
        "poolcli: error: --viz-format jpg is not one of png, svg, gif, html.\n"
    )
