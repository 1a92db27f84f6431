"""A lying ``.npy`` header fails its input with one clear message, from a file or from
standard input alike: never an internal error, never a warning from numpy."""

import io
import struct

import numpy as np
import pytest

from poolcli.errors import PoolError
from poolcli.io import read_input


def npy_header(shape, descr="<f8", version=1) -> bytes:
    text = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape!r}, }}"
    length = 2 if version == 1 else 4
    text += " " * (-(len(text) + 9 + length) % 64) + "\n"
    size = struct.pack("<H" if version == 1 else "<I", len(text))
    return b"\x93NUMPY" + bytes([version, 0]) + size + text.encode()


HOSTILE = {
    "overflowing count": (
        (2**40, 2**40),
        "is a corrupt .npy file: its header promises 1099511627776x1099511627776 values of "
        "float64 (9671406556917033397649408 bytes), more than any array can hold.",
    ),
    "overflowing bytes": (
        (2**62,),
        "is a corrupt .npy file: its header promises (4611686018427387904,) values of "
        "float64 (36893488147419103232 bytes), more than any array can hold.",
    ),
    "negative length": (
        (-3, 4),
        "is a corrupt .npy file: its header gives the shape -3x4, with a negative length.",
    ),
    "negative after zero": (
        (0, -1),
        "is a corrupt .npy file: its header gives the shape 0x-1, with a negative length.",
    ),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_lying_shape_is_refused_alike_from_a_file_and_from_stdin(tmp_path, case):
    shape, message = HOSTILE[case]
    data = npy_header(shape) + bytes(64)
    path = tmp_path / "lying.npy"
    path.write_bytes(data)
    for args, name in (((str(path),), str(path)), (("-", io.BytesIO(data)), "<stdin>")):
        with pytest.raises(PoolError) as error:
            read_input(*args)
        assert (error.value.path, error.value.message) == (name, message)


@pytest.mark.parametrize("case", ["overflowing count", "negative length"])
def test_the_command_line_says_so_without_calling_it_a_bug(run, tmp_path, case):
    shape, message = HOSTILE[case]
    data = npy_header(shape) + bytes(64)
    (tmp_path / "lying.npy").write_bytes(data)
    from_file = run("max", "lying.npy", "-k", "2", code=1, cwd=tmp_path)
    from_stdin = run("max", "-", "-k", "2", code=1, input=data)
    assert from_file.stderr.decode() == f"poolcli: error: lying.npy: {message}\n"
    assert from_stdin.stderr.decode() == f"poolcli: error: <stdin>: {message}\n"


def test_a_header_longer_than_numpy_allows_is_not_read_on(tmp_path):
    # A version 2 header may claim 4 GiB: poolcli reads none of it past numpy's own limit.
    data = b"\x93NUMPY\x02\x00" + struct.pack("<I", 2**32 - 1)
    stream = io.BytesIO(data + bytes(1 << 20))
    with pytest.raises(PoolError) as error:
        read_input("-", stream)
    assert error.value.message == "is a corrupt .npy file: its header cannot be read."
    assert stream.tell() <= 64  # the bytes that tell the format


def test_a_version_2_header_is_read(tmp_path):
    data = npy_header((2, 3), "<i2", version=2) + np.arange(6, dtype="<i2").tobytes()
    assert read_input("-", io.BytesIO(data)).array.tolist() == [[0, 1, 2], [3, 4, 5]]
