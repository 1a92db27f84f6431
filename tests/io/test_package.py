"""The io package's shape: cheap to import, every public name where callers find it."""

import subprocess
import sys

import pytest

import poolcli.io

LOADED = "print(sorted(m for m in ('torch', 'numpy', 'PIL') if m in sys.modules))"


def heavy_modules_after(statement: str) -> str:
    code = f"import sys; {statement}; {LOADED}"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.mark.parametrize(
    "statement",
    [
        "import poolcli.io",
        "import poolcli.io.guard",
        "import poolcli.io.atomic",
        "import poolcli.io.formats",
        "import poolcli.io.loaded",
        "from poolcli.io import IMAGE_SUFFIXES, atomic_write, output_format, clean_stale_temps",
    ],
)
def test_light_parts_load_no_numpy_pillow_or_torch(statement):
    assert heavy_modules_after(statement) == "[]"


def test_reading_loads_numpy_but_neither_pillow_nor_torch_until_an_image_is_read():
    assert heavy_modules_after("from poolcli.io import read_input, write_output") == "['numpy']"


@pytest.mark.parametrize("name", poolcli.io.__all__)
def test_every_public_name_comes_from_its_module(name):
    value = getattr(poolcli.io, name)
    home = __import__(f"poolcli.io.{poolcli.io._HOMES[name]}", fromlist=[name])
    assert getattr(home, name) is value
    assert name in dir(poolcli.io)


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'read_inputs'"):
        poolcli.io.read_inputs  # noqa: B018
