"""No file poolcli writes is ever one of its inputs or another file of the same call.

Every case hashes the inputs before and after: a refusal must leave them as they were.
"""

import hashlib
import os

import numpy as np
import pytest

from poolcli.io.guard import WriteGuard


def digest(*paths) -> list[str]:
    return [hashlib.sha256(read(p)).hexdigest() for p in paths]


def read(path) -> bytes:
    with open(path, "rb") as f:
        return f.read()


@pytest.fixture
def photo(image):
    return image(np.arange(48, dtype=np.uint8).reshape(4, 4, 3), "photo.png")


@pytest.mark.parametrize(
    "extra",
    [
        ["--viz", "photo.png"],
        ["--viz", "./photo.png"],
        ["-o", "out.png", "--viz", "photo.png"],
    ],
)
def test_viz_never_writes_over_the_input(cli, photo, extra):
    before = digest(photo)
    result = cli("max", photo, "-k", "2", *extra, code=2)
    assert "--viz photo.png is the input file; poolcli never overwrites its input" in (
        result.stderr.replace("./", "")
    )
    assert digest(photo) == before


def test_viz_through_a_link_to_the_input_is_refused(cli, photo, workdir):
    os.link(photo, "hard.png")
    os.symlink(photo, "soft.png")
    before = digest(photo)
    for link in ("hard.png", "soft.png"):
        cli("max", photo, "-k", "2", "--viz", link, code=2)
    assert digest(photo) == before


def test_viz_and_output_cannot_be_the_same_file(cli, photo, workdir):
    result = cli("max", photo, "-k", "2", "-o", "out.png", "--viz", "out.png", code=2)
    assert "--viz out.png is also the file -o writes" in result.stderr
    assert not os.path.exists("out.png")


@pytest.mark.parametrize("command", [["grad"], ["compare", "--ops", "max,avg"]])
def test_learning_commands_guard_their_pictures_too(cli, photo, command):
    before = digest(photo)
    cli(*command, photo, "-k", "2", "--viz", photo, code=2)
    assert digest(photo) == before


def test_grad_output_and_picture_are_told_apart(cli, seed_npy, workdir):
    result = cli("grad", seed_npy, "-k", "2", "--unpool", "-o", "k.png", "--viz", "k.png", code=2)
    assert "is also the file -o writes" in result.stderr


def test_batch_pictures_into_the_input_folder_are_refused(cli, image, workdir):
    os.mkdir("in")
    names = [image(np.full((4, 4), v, np.uint8), f"in/{v}.png") for v in (1, 2)]
    before = digest(*names)
    result = cli("max", "in", "-k", "2", "-o", "out/", "--viz", "in/", code=2)
    assert "poolcli never writes over its inputs" in result.stderr
    assert digest(*names) == before
    assert not os.path.exists("out")


def test_batch_picture_of_an_array_cannot_replace_an_image_beside_it(cli, image, npy, workdir):
    os.mkdir("in")
    picture = image(np.full((4, 4), 7, np.uint8), "in/a.png")
    npy(np.ones((4, 4)), "in/a.npy")
    before = digest(picture)
    cli("max", "in/a.npy", "-k", "2", "--viz", "in/", code=2)
    assert digest(picture) == before


def test_batch_picture_cannot_be_an_output(cli, image, workdir):
    os.mkdir("in")
    image(np.full((4, 4), 7, np.uint8), "in/a.png")
    result = cli("max", "in", "-k", "2", "-o", "out/", "--viz", "out/", code=2)
    assert "would be written twice" in result.stderr
    assert not os.path.exists("out")


def test_batch_keeps_existing_pictures_unless_overwrite(cli, image, workdir):
    os.mkdir("in")
    image(np.full((4, 4), 7, np.uint8), "in/a.png")
    os.mkdir("viz")
    with open("viz/a.png", "wb") as f:
        f.write(b"mine")
    result = cli("max", "in", "-k", "2", "-o", "out/", "--viz", "viz/")
    assert read("viz/a.png") == b"mine"
    assert "viz/a.png: picture exists (overwrite replaces it)" in result.stderr
    assert os.path.exists("out/a.png")
    # Only pictures to draw: an existing one means nothing is left to do for that input.
    result = cli("max", "in", "-k", "2", "--viz", "viz/", "--jsonl")
    assert '"status":"skipped"' in result.stdout
    assert read("viz/a.png") == b"mine"
    cli("max", "in", "-k", "2", "--viz", "viz/", "--overwrite")
    assert read("viz/a.png").startswith(b"\x89PNG")


def test_guard_tells_inputs_from_files_of_the_call(tmp_path):
    a = tmp_path / "a.png"
    a.write_bytes(b"x")
    guard = WriteGuard()
    guard.add_input(str(a))
    assert guard.claim(str(tmp_path / "b.png"), "-o") is None
    assert guard.claim(str(tmp_path / "b.png"), "-o") is None  # the same claim again is fine
    assert guard.claim(str(tmp_path / "b.png"), "--viz").role == "-o"
    assert guard.claim(str(tmp_path / "sub" / ".." / "a.png"), "-o").role == "input"
    assert guard.claim(str(tmp_path / "b.png"), "-o", owner=1).role == "-o"
