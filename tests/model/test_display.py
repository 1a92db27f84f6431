"""poolcli.model.display: shapes and values as people read them, against numpy's own digits."""

import subprocess
import sys

import numpy as np
import pytest
from conftest import subprocess_env

from poolcli.model.display import format_shape, format_value


def numpy_text(value, decimals=None) -> str:
    """What the report printed before formatting left numpy: numpy's shortest unique digits."""
    if value.dtype.kind == "b":
        return "1" if value else "0"
    if value.dtype.kind in "iu":
        return str(int(value))
    if np.isnan(value):
        return "nan"
    if np.isinf(value):
        return "inf" if value > 0 else "-inf"
    magnitude = abs(float(value))
    if magnitude >= 1e16 or 0 < magnitude < 1e-4:
        precision = None if decimals is None else max(decimals - 1, 0)
        return np.format_float_scientific(value, precision=precision, unique=True, trim="-")
    return np.format_float_positional(value, precision=decimals, unique=True, trim="-")


def random_floats(dtype, count: int, seed: int) -> np.ndarray:
    """Every bit pattern is as likely: tiny, huge, subnormal, NaN and infinite values too."""
    rng = np.random.default_rng(seed)
    bits = np.dtype(f"u{np.dtype(dtype).itemsize}")
    return np.frombuffer(rng.bytes(count * bits.itemsize), dtype=bits).view(dtype)


def test_shapes():
    assert format_shape((2, 28, 28)) == "2×28×28"
    assert format_shape([4, 4], ascii=True) == "4x4"
    assert format_shape((np.int64(3),)) == "3"
    assert format_shape(()) == "scalar"


@pytest.mark.parametrize("decimals", [None, 4])
def test_every_float16_reads_as_numpy_writes_it(decimals):
    values = np.arange(1 << 16, dtype=np.uint16).view(np.float16)
    for value in values:
        assert format_value(value, decimals=decimals) == numpy_text(value, decimals), value


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("decimals", [None, 0, 4])
def test_random_floats_read_as_numpy_writes_them(dtype, decimals):
    rng = np.random.default_rng(7)
    with np.errstate(over="ignore"):
        near_one = (rng.normal(size=3000) * 10.0 ** rng.integers(-6, 18, 3000)).astype(dtype)
    ties = (np.arange(-4000, 4000) / dtype(32)).astype(dtype)  # exact halves at 4 decimals
    for values in (random_floats(dtype, 6000, 1), near_one, ties):
        for value in values:
            text = format_value(value, value.dtype, decimals)
            assert text == numpy_text(value, decimals), (repr(value), decimals)


def test_rounded_mantissas_keep_numpys_point():
    # Rounded down to a whole mantissa numpy keeps the point; rounded up it does not.
    assert format_value(np.float64(1.00005e20), decimals=4) == "1.e+20"
    assert format_value(np.float64(2.99997e20), decimals=4) == "3e+20"


def test_plain_python_numbers_take_the_dtype_given():
    assert format_value(0.1, np.dtype(np.float32)) == "0.1"
    assert format_value(0.1) == "0.1"
    assert format_value(1 / 3, "float32") == "0.33333334"
    assert format_value(1e40, "float32") == "inf"  # float32 cannot hold it
    assert format_value(7, np.dtype(np.uint8)) == "7"
    assert format_value(2.0, "int64") == "2"
    assert format_value(0.5, "bfloat16") == "0.5"  # read as float32
    assert (format_value(True), format_value(np.bool_(False))) == ("1", "0")
    assert format_value(np.uint64(2**64 - 1)) == str(2**64 - 1)


def test_a_numpy_scalar_keeps_its_own_width():
    value = np.float64(0.1) + np.float64(1e-12)
    assert format_value(value, np.dtype(np.float32)) == numpy_text(value)


def test_formatting_imports_no_numpy():
    probe = (
        "import sys; from poolcli.model.display import format_value, format_shape; "
        "print(format_value(2.5, 'float32'), format_shape((2, 3)), 'numpy' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=subprocess_env()
    )
    assert done.stdout.split() == ["2.5", "2×3", "False"], done.stderr
