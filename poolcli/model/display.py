"""How shapes and single values are written for people: the one place for the report, the
explanation, the pictures and the messages.

* :func:`format_shape` -- ``4×4``; ``4x4`` where only ASCII will do.
* :func:`format_value` -- the shortest text that is exact in the value's own dtype: integers
  without decimals, floats with the fewest digits that identify the value among the floats of
  its width (``3.75``, ``13.5``, ``0.1`` for float32 0.1), in scientific notation when very
  large or small, and ``nan``, ``inf``, ``-inf``. The digits are numpy's
  (``format_float_positional`` / ``format_float_scientific`` with ``unique=True, trim="-"``),
  so text does not change with the code that writes it.

Pure Python: a numpy scalar or dtype is read through its ``dtype.kind`` and ``itemsize``, so
formatting never imports numpy.
"""

from __future__ import annotations

import functools
import math
import re
import struct
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal, localcontext

#: struct codes of the float widths that are not Python's own (float16, float32).
_PACK = {2: "e", 4: "f"}
#: Significant digits that always identify a float16, float32 value.
_MOST_DIGITS = {2: 5, 4: 9}
#: Enough digits for every float64 exactly (the longest has 767 significant digits).
_PRECISION = 1100
_NAME = re.compile(r"(u?int|float|complex)(\d+)")


def format_shape(shape, *, ascii: bool = False) -> str:
    """An array's shape: ``4×4``, or ``4x4`` with ``ascii`` (for pictures, whose fonts draw
    plain ASCII, and where ``×`` already means something else); ``scalar`` for ``()``.

    >>> format_shape((2, 28, 28)), format_shape((4, 4), ascii=True), format_shape(())
    ('2×28×28', '4x4', 'scalar')
    """
    if not len(shape):
        return "scalar"
    return ("x" if ascii else "×").join(str(size) for size in shape)


def format_value(value, dtype=None, decimals: int | None = None) -> str:
    """One value as the report prints it: the shortest text that is exact in its dtype.

    ``dtype`` (a numpy dtype, a dtype name or a Python type) says how to read a plain Python
    number; a numpy scalar keeps its own float width. ``decimals`` caps the digits after the
    point (the value is then rounded).

    >>> format_value(3.75, "float32"), format_value(0.1, "float32"), format_value(7)
    ('3.75', '0.1', '7')
    >>> format_value(float("nan")), format_value(1e-7, "float32"), format_value(True)
    ('nan', '1e-07', '1')
    >>> format_value(59.189186, "float32", decimals=4), format_value(3.3125, None, 4)
    ('59.1892', '3.3125')
    """
    kind, size = _kind_and_width(value, dtype)
    if kind == "b":
        return "1" if value else "0"
    if kind in "iu":
        return str(int(value))
    number = _in_width(float(value), size)
    if math.isnan(number):
        return "nan"
    if math.isinf(number):
        return "inf" if number > 0 else "-inf"
    magnitude = abs(number)
    with localcontext() as context:
        context.prec = _PRECISION
        if magnitude >= 1e16 or 0 < magnitude < 1e-4:
            precision = None if decimals is None else max(decimals - 1, 0)
            return _scientific(number, size, precision)
        return _positional(number, size, decimals)


# --------------------------------------------------------------------------------------------
# What the value is


def _kind_and_width(value, dtype) -> tuple[str, int]:
    """The dtype kind (``b``, ``i``, ``u`` or ``f``) that decides the text, and the width in
    bytes of the float the value is: its own for a numpy scalar, else the dtype's."""
    own = getattr(value, "dtype", None)
    mine = _dtype_facts(own) if own is not None else _python_facts(value)
    declared = _dtype_facts(dtype) if dtype is not None else mine
    if declared[1] == -4:  # bfloat16 and friends: read as float32
        return "f", 4
    width = mine[1] if own is not None and mine[0] == "f" else declared[1]
    return declared[0], width if width in (2, 4) else 8


def _python_facts(value) -> tuple[str, int]:
    if isinstance(value, bool):
        return "b", 1
    if isinstance(value, int):
        return "i", 8
    return "f", 8


@functools.lru_cache(maxsize=64)
def _dtype_facts(dtype) -> tuple[str, int]:
    """(kind, itemsize) of a numpy dtype, a dtype name, a numpy scalar type or a Python type;
    itemsize -4 marks a float that numpy cannot format itself (bfloat16)."""
    if isinstance(dtype, type) and dtype in (bool, int, float):
        return _python_facts(dtype())
    kind, itemsize = getattr(dtype, "kind", None), getattr(dtype, "itemsize", None)
    if isinstance(kind, str) and kind in "biuf" and isinstance(itemsize, int):
        return kind, itemsize
    name = dtype if isinstance(dtype, str) else getattr(dtype, "name", None)
    if not isinstance(name, str):
        name = getattr(dtype, "__name__", "")
    name = name.rstrip("_")
    if name in ("bfloat16", "float8_e4m3fn", "float8_e5m2"):
        return "f", -4
    if name == "bool":
        return "b", 1
    match = _NAME.fullmatch(name)
    if match:
        kind = {"uint": "u", "int": "i", "float": "f", "complex": "c"}[match[1]]
        return kind, int(match[2]) // 8
    return "f", 8


def _in_width(number: float, size: int) -> float:
    """``number`` rounded to the nearest float of ``size`` bytes (as numpy converts it)."""
    if size not in _PACK or not math.isfinite(number):
        return number
    try:
        return struct.unpack(_PACK[size], struct.pack(_PACK[size], number))[0]
    except OverflowError:
        return math.copysign(math.inf, number)


# --------------------------------------------------------------------------------------------
# Digits


def _shortest(number: float, size: int) -> Decimal:
    """The shortest decimal that reads back as ``number`` among the floats of ``size`` bytes;
    of two as short, the nearer, and on a tie the one whose last digit is even."""
    if size not in _PACK:
        return Decimal(repr(number))
    code = _PACK[size]
    if number == 0 or math.frexp(number)[0] in (0.5, -0.5):
        return _shortest_at_power_of_two(number, code)
    # Away from powers of two the gaps to both neighbours are equal, so the correctly rounded
    # decimal of each length is the one to try; a length that reads back stays so when longer.
    low, high = 1, _MOST_DIGITS[size]
    while low < high:
        digits = (low + high) // 2
        if _text_reads_back(f"{number:.{digits - 1}e}", code, number):
            high = digits
        else:
            low = digits + 1
    return Decimal(f"{number:.{low - 1}e}")


def _shortest_at_power_of_two(number: float, code: str) -> Decimal:
    """:func:`_shortest` where the gap below is half the gap above: the nearest decimal may
    not read back while the other neighbour does."""
    exact = Decimal(number)
    top = exact.adjusted()
    for digits in range(1, 18):
        unit = Decimal(1).scaleb(top - digits + 1)
        down = exact.quantize(unit, rounding=ROUND_DOWN)
        fits = [c for c in (down, down + unit.copy_sign(exact)) if _reads_back(c, code, number)]
        if fits:
            return min(fits, key=lambda c: (abs(c - exact), c.as_tuple().digits[-1] % 2))
    return exact


def _reads_back(candidate: Decimal, code: str, number: float) -> bool:
    return _text_reads_back(str(candidate), code, number)


def _text_reads_back(text: str, code: str, number: float) -> bool:
    try:
        return struct.unpack(code, struct.pack(code, float(text)))[0] == number
    except OverflowError:
        return False


def _positional(number: float, size: int, decimals: int | None) -> str:
    digits = _shortest(number, size)
    if decimals is not None and -digits.as_tuple().exponent > decimals:
        digits = Decimal(number).quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_EVEN)
    text = format(digits, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _scientific(number: float, size: int, precision: int | None) -> str:
    sign, digits, exponent = _shortest(number, size).normalize().as_tuple()
    power = exponent + len(digits) - 1
    if precision is not None and len(digits) - 1 > precision:
        mantissa, power = _rounded_mantissa(Decimal(number), power, precision)
    else:
        text = "".join(map(str, digits))
        mantissa = ("-" if sign else "") + text[0] + ("." + text[1:] if len(text) > 1 else "")
    return f"{mantissa}e{'-' if power < 0 else '+'}{abs(power):02d}"


def _rounded_mantissa(exact: Decimal, power: int, precision: int) -> tuple[str, int]:
    """The mantissa of ``exact`` rounded to ``precision`` decimals (and the power of ten, one
    more when rounding carries to 10). Like numpy, a mantissa rounded down to a whole number
    keeps its point (``1.e+16``); one rounded up does not (``3e+13``)."""
    unit = Decimal(1).scaleb(-precision)
    rounded = exact.scaleb(-power).quantize(unit, ROUND_HALF_EVEN)
    if abs(rounded) >= 10:
        power += 1
        rounded = exact.scaleb(-power).quantize(unit, ROUND_HALF_EVEN)
    text = format(rounded, "f").rstrip("0")
    if text.endswith(".") and rounded != exact.scaleb(-power).quantize(unit, ROUND_DOWN):
        text = text[:-1]
    return text, power
