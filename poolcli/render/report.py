"""What poolcli tells people about a result: statistics, the rich report and the --json document.

Everything here *builds* things (rich renderables, plain dicts); :mod:`poolcli.cli` prints them.

* :func:`array_stats` -- min / max / mean / NaN count of any array, in bounded memory;
* :func:`build_report` -- the report printed when no ``-o`` is given: a summary table, the
  resolved window per spatial axis with its output-size arithmetic, statistics of input and
  output, and the output values (as textbook matrices when the output is small, else the
  top-left corner);
* :func:`json_entry` / :func:`json_document` -- the ``--json`` document;
* :func:`format_value` / :func:`json_value` -- how single values are written.

Number formatting
-----------------
Integers print without decimals. Floats print with the fewest digits that identify the value
in its own dtype (``3.75``, ``13.5``, ``0.1`` for float32 0.1), in scientific notation when very
large or small. In JSON, NaN and infinities are written as the strings ``"NaN"``,
``"Infinity"`` and ``"-Infinity"`` (JSON numbers cannot hold them); every other value is a JSON
number that reads back to the exact value in the output's dtype.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from poolcli.model.reductions import Reduction
from poolcli.model.window import format_axes

if TYPE_CHECKING:
    from poolcli.model.layout import Layout
    from poolcli.model.options import PoolResult

#: Outputs at most this big are shown in full: rows and columns per matrix, channels, matrices.
SMALL_ROWS = 16
SMALL_COLS = 16
SMALL_CHANNELS = 4
SMALL_MATRICES = 16
#: The corner preview of a larger output: at most this many rows and columns.
PREVIEW_ROWS = 6
PREVIEW_COLS = 8
#: Matrices round floats to this many decimals (values that need more are marked rounded).
MATRIX_DECIMALS = 4
#: --json includes the values when the output has at most this many elements.
JSON_MAX_VALUES = 256

_CHUNK = 1 << 20
_ARROW = " → "


# --------------------------------------------------------------------------------------------
# Values


def _scalar(value, dtype: np.dtype):
    """A numpy scalar of a dtype numpy can format (bfloat16 and friends go through float32)."""
    if dtype.kind == "f" and dtype not in (np.float16, np.float32, np.float64, np.longdouble):
        return np.float32(value)
    return dtype.type(value) if not isinstance(value, np.generic) else value


def format_value(value, dtype=None, decimals: int | None = None) -> str:
    """One value as the report prints it: the shortest text that is exact in its dtype.

    ``decimals`` caps the digits after the point (the value is then rounded).

    >>> format_value(np.float32(3.75)), format_value(np.float32(0.1)), format_value(np.int64(7))
    ('3.75', '0.1', '7')
    >>> format_value(np.float64(float("nan"))), format_value(np.float32(1e-7))
    ('nan', '1e-07')
    >>> format_value(np.float32(59.189186), decimals=4), format_value(np.float32(3.3125), None, 4)
    ('59.1892', '3.3125')
    """
    dtype = np.dtype(dtype if dtype is not None else getattr(value, "dtype", type(value)))
    if dtype.kind == "b":
        return "1" if value else "0"
    if dtype.kind in "iu":
        return str(int(value))
    value = _scalar(value, dtype)
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    magnitude = abs(float(value))
    if magnitude >= 1e16 or 0 < magnitude < 1e-4:
        precision = None if decimals is None else max(decimals - 1, 0)
        return np.format_float_scientific(value, precision=precision, unique=True, trim="-")
    return np.format_float_positional(value, precision=decimals, unique=True, trim="-")


def format_mean(value: float) -> str:
    """A mean (float64) for the report: exact when short (8.5, 3.3125), else 7 digits.

    >>> format_mean(8.5), format_mean(1 / 3), format_mean(121.63916015625)
    ('8.5', '0.3333333', '121.6392')
    """
    text = format_value(np.float64(value))
    digits = len(text.split("e")[0].replace("-", "").replace(".", "").lstrip("0"))
    return text if digits <= 7 else format_value(np.float64(float(f"{value:.7g}")))


def json_value(value, dtype=None):
    """One value for the JSON document: int, bool, float or one of "NaN", "Infinity", "-Infinity".

    >>> json_value(np.float32(0.1)), json_value(np.uint8(255)), json_value(np.float64("-inf"))
    (0.1, 255, '-Infinity')
    """
    dtype = np.dtype(dtype if dtype is not None else getattr(value, "dtype", type(value)))
    if dtype.kind == "b":
        return bool(value)
    if dtype.kind in "iu":
        return int(value)
    text = format_value(value, dtype)
    if text == "nan":
        return "NaN"
    if text in ("inf", "-inf"):
        return "Infinity" if text == "inf" else "-Infinity"
    # The shortest decimal for the dtype, as a float: reads back to the same value in that dtype.
    return float(text)


def json_values(array) -> list:
    """The values of a (small) array as nested lists, in the array's own layout."""
    array = np.asarray(array)
    if array.ndim == 0:
        return json_value(array[()], array.dtype)
    return [json_values(part) for part in array]


# --------------------------------------------------------------------------------------------
# Statistics


@dataclass(frozen=True)
class Stats:
    """Summary of an array. ``min``/``max`` are in the array's dtype (exact for integers),
    ``mean`` is float64; all three ignore NaN and are NaN when every value is NaN."""

    dtype: str
    count: int
    nan: int
    min: Any
    max: Any
    mean: float

    def as_json(self) -> dict:
        dtype = np.dtype(self.dtype) if self.dtype != "bfloat16" else np.dtype(np.float32)
        return {
            "min": None if self.min is None else json_value(self.min, dtype),
            "max": None if self.max is None else json_value(self.max, dtype),
            "mean": None if self.mean is None else json_value(np.float64(self.mean)),
            "nan": self.nan,
        }


def array_stats(array) -> Stats:
    """Min, max, mean and NaN count of ``array``, reading it in chunks (memory stays bounded).

    >>> s = array_stats(np.array([[1, 3], [5, np.nan]]))
    >>> (s.min, s.max, s.mean, s.nan)
    (np.float64(1.0), np.float64(5.0), np.float64(3.0), 1)
    """
    if not isinstance(array, np.ndarray):  # a torch tensor
        array = array.detach().cpu().numpy()
    dtype_name = str(array.dtype)
    if array.dtype.kind == "b":
        array = array.view(np.uint8)
    elif array.dtype.kind == "f" and array.dtype.itemsize == 2 and array.dtype != np.float16:
        array = array.astype(np.float32)  # bfloat16 (ml_dtypes): numpy cannot reduce it
    if array.size == 0:
        return Stats(dtype_name, 0, 0, None, None, None)
    with np.errstate(all="ignore"):  # inf - inf in a sum is NaN, which is the right mean
        return _reduce_chunks(array, dtype_name)


def _reduce_chunks(array: np.ndarray, dtype_name: str) -> Stats:
    floating = array.dtype.kind == "f"
    lo = hi = None
    total = np.float64(0)
    count = nans = 0
    chunks = np.nditer(
        array,
        flags=["external_loop", "buffered", "zerosize_ok"],
        op_flags=[["readonly"]],
        buffersize=_CHUNK,
        order="K",
    )
    for chunk in chunks:
        if floating:
            missing = np.isnan(chunk)
            n_missing = int(np.count_nonzero(missing))
            if n_missing:
                nans += n_missing
                chunk = chunk[~missing]
            if chunk.size == 0:
                continue
        cmin, cmax = chunk.min(), chunk.max()
        lo = cmin if lo is None or cmin < lo else lo
        hi = cmax if hi is None or cmax > hi else hi
        total += chunk.sum(dtype=np.float64)
        count += chunk.size
    if lo is None:  # every value is NaN
        nan = array.dtype.type("nan")
        return Stats(dtype_name, array.size, nans, nan, nan, np.float64("nan"))
    if array.dtype.kind in "iu":
        lo, hi = array.dtype.type(lo), array.dtype.type(hi)
    return Stats(dtype_name, array.size, nans, lo, hi, total / count)


# --------------------------------------------------------------------------------------------
# Matrices


def _aligned(texts: list[str]) -> list[str]:
    """Pad formatted numbers to one width, decimal points lined up (``' 3.75'``, ``'13.5 '``)."""
    plain = [t for t in texts if "." in t or t.lstrip("-").isdigit()]
    if len(plain) != len(texts) or any("e" in t for t in texts):
        width = max(map(len, texts))
        return [t.rjust(width) for t in texts]
    heads = [t.split(".")[0] for t in texts]
    tails = [t[len(h) :] for h, t in zip(heads, texts, strict=True)]
    head_w = max(map(len, heads))
    tail_w = max(map(len, tails))
    return [h.rjust(head_w) + t.ljust(tail_w) for h, t in zip(heads, tails, strict=True)]


class Matrix:
    """A 2-D block of values printed like a textbook matrix, fitted to the console width.

    ``total_rows``/``total_cols`` are the sizes of the full matrix when ``values`` is only its
    top-left corner; hidden rows and columns are shown as ``…``. Columns that do not fit the
    width are dropped the same way.
    """

    def __init__(self, values, title: str, total_rows: int, total_cols: int, indent: int = 2):
        self.values = np.asarray(values)
        self.title = title
        self.total_rows = total_rows
        self.total_cols = total_cols
        self.indent = indent

    def _cells(self) -> list[list[str]]:
        dtype = self.values.dtype
        flat = [format_value(v, dtype, MATRIX_DECIMALS) for v in self.values.reshape(-1)]
        flat = _aligned(flat) if flat else flat
        cols = self.values.shape[1]
        return [flat[r * cols : (r + 1) * cols] for r in range(self.values.shape[0])]

    def _width(self, shown: int, cell_w: int, more: bool) -> int:
        return self.indent + shown * cell_w + (shown - 1) * 2 + (3 if more else 0)

    def _fit(self, width: int) -> tuple[list[list[str]], bool]:
        cells = self._cells()
        if not cells or not cells[0]:
            return cells, False
        cell_w = len(cells[0][0])
        shown = len(cells[0])
        more = shown < self.total_cols
        while shown > 1 and self._width(shown, cell_w, more) > width:
            shown -= 1
            more = True
        return [row[:shown] for row in cells], more

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        rows, more_cols = self._fit(width)
        yield Text(self.title, style="bold", overflow="fold")
        pad = " " * self.indent
        for row in rows:
            line = pad + "  ".join(row)
            line = line + "  …" if more_cols else line.rstrip()
            yield Text(line, overflow="crop", no_wrap=True)
        if len(rows) < self.total_rows:
            yield Text(pad + "…", no_wrap=True)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        rows, more = self._fit(options.max_width)
        cell_w = len(rows[0][0]) if rows and rows[0] else 0
        longest = self._width(len(rows[0]) if rows else 0, cell_w, more)
        return Measurement(min(longest, 8), max(longest, len(self.title)))


def _slice_title(letters: str, index: tuple[int, ...], channel_names) -> str:
    """``"item 0, channel R"`` for the matrix at ``index`` of the non-matrix axes ``letters``."""
    parts = []
    for letter, i in zip(letters, index, strict=True):
        if letter == "N":
            parts.append(f"item {i}")
        elif letter == "C":
            named = channel_names and i < len(channel_names)
            parts.append(f"channel {channel_names[i] if named else i}")
        else:
            parts.append(f"depth {i}")
    return ", ".join(parts)


def matrix_slices(array, layout: Layout, channel_names=None):
    """``array`` (laid out as ``layout``) as titled 2-D matrices, in canonical order.

    Yields ``(title, matrix)``; a 1-D spatial array gives one row per matrix.
    """
    out = np.asarray(array).transpose(layout.to_canonical())
    letters = "".join(c for c in "NCDHW" if c in layout.letters)
    if layout.spatial == "W":
        out = out[..., np.newaxis, :]
        letters = letters[:-1] + "HW"
    for index in np.ndindex(*out.shape[:-2]):
        yield _slice_title(letters[:-2], index, channel_names), out[index]


def is_small(shape: tuple[int, ...], layout: Layout) -> bool:
    """Whether an array of ``shape`` is printed whole: a few small matrices."""
    spatial = layout.spatial_shape(tuple(shape))
    rows, cols = (1, spatial[0]) if len(spatial) == 1 else spatial[-2:]
    channels = shape[layout.channel_axis] if layout.channel_axis is not None else 1
    matrices = int(np.prod(shape)) // max(rows * cols, 1)
    return (
        rows <= SMALL_ROWS
        and cols <= SMALL_COLS
        and channels <= SMALL_CHANNELS
        and matrices <= SMALL_MATRICES
    )


def _rounded(values: np.ndarray) -> bool:
    """True when some value needs more than MATRIX_DECIMALS decimals."""
    if values.dtype.kind not in "f":
        return False
    return any(
        format_value(v, values.dtype) != format_value(v, values.dtype, MATRIX_DECIMALS)
        for v in values.reshape(-1)
    )


def values_block(result: PoolResult, channel_names=None) -> list:
    """Renderables showing the output values: all of them when small, else a corner preview."""
    if result.output.size == 0:
        return [Text("The output is empty.")]
    blocks: list = []
    shown = []
    if is_small(result.output.shape, result.layout):
        for title, matrix in matrix_slices(result.output, result.layout, channel_names):
            heading = "output" + (f" · {title}" if title else "")
            if blocks:
                blocks.append(Text(""))
            blocks.append(Matrix(matrix, heading, matrix.shape[0], matrix.shape[1]))
            shown.append(matrix)
    else:
        title, matrix = next(matrix_slices(result.output, result.layout, channel_names))
        corner = matrix[:PREVIEW_ROWS, :PREVIEW_COLS]
        heading = "output, top-left corner" + (f" · {title}" if title else "")
        blocks.append(Matrix(corner, heading, matrix.shape[0], matrix.shape[1]))
        shown.append(corner)
        shape = _shape(result.output.shape)
        blocks.append(
            Text(
                f"The output ({shape}) is too large to show in full; write it with "
                "-o FILE.npy to see every value.",
                style="dim",
            )
        )
    if any(_rounded(m) for m in shown):
        blocks.append(
            Text(
                f"Values are rounded to {MATRIX_DECIMALS} decimals; --json or -o FILE.npy "
                "give them exactly.",
                style="dim",
            )
        )
    return blocks


# --------------------------------------------------------------------------------------------
# The report


def _shape(shape) -> str:
    return "×".join(map(str, shape)) if len(shape) else "scalar"


def layout_reason(shape: tuple[int, ...], layout) -> str:
    """Why the default layout rule chose ``layout`` for an array of ``shape``.

    >>> layout_reason((32, 32, 3), "HWC"), layout_reason((4, 4), "HW")
    ('3-D, last axis has 3 entries', '2-D array')
    """
    if len(shape) == 3:
        if str(layout) == "HWC":
            return f"3-D, last axis has {shape[-1]} entries"
        return "3-D, channels first"
    return f"{len(shape)}-D array"


def describe_op(result: PoolResult) -> str:
    """The reduction and the options that change its meaning, in words."""
    reduction = result.reduction
    options = result.options
    text = str(reduction)
    if reduction is Reduction.AVG:
        counted = result.spec.count_include_pad
        has_pad = any(w.pad_begin or w.pad_end for w in result.windows)
        if has_pad:
            text += ", padding counted in the mean" if counted else ", padding not counted"
    elif reduction is Reduction.LP:
        text += f", p = {format_value(np.float64(options.norm_type))}"
    elif reduction is Reduction.STOCHASTIC:
        if options.expectation:
            text += ", expectation Σx²/Σx"
        else:
            text += ", sampled" + (f" with seed {options.seed}" if options.seed is not None else "")
    elif reduction is Reduction.MEDIAN:
        text += " (lower median)"
    elif reduction is Reduction.MODE:
        text += " (ties: the smallest)"
    return text


def describe_window(result: PoolResult) -> str:
    """The windowing of the call, as one line."""
    spec = result.spec
    windows = result.windows
    names = ", ".join(w.name for w in windows)
    if spec.mode == "global":
        return f"global: one window over {names}"
    if spec.mode == "adaptive":
        return f"adaptive to {format_axes(tuple(w.out for w in windows))}"
    parts = [
        f"kernel {format_axes(tuple(w.kernel for w in windows))}",
        f"stride {format_axes(tuple(w.stride for w in windows))}",
    ]
    if any(w.dilation != 1 for w in windows):
        parts.append(f"dilation {format_axes(tuple(w.dilation for w in windows))}")
    pads = tuple((w.pad_begin, w.pad_end) for w in windows)
    if isinstance(spec.padding, str):
        parts.append(f"padding {spec.padding} ({format_axes(pads)})")
    elif any(b or e for b, e in pads):
        parts.append(f"padding {format_axes(pads)}")
    if spec.ceil_mode:
        parts.append("ceil mode")
    return ", ".join(parts)


def _yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


def window_table(result: PoolResult) -> Table:
    """The resolved window per spatial axis."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, padding=(0, 1, 0, 0))
    adaptive = result.spec.mode == "adaptive"
    table.add_column("axis")
    table.add_column("size", justify="right")
    if adaptive:
        table.add_column("bins (begin:end)", overflow="fold")
        table.add_column("out", justify="right")
        for w in result.windows:
            bins = w.bins or ()
            shown = ", ".join(f"{b}:{e}" for b, e in bins[:6]) + (", …" if len(bins) > 6 else "")
            table.add_row(w.name, str(w.size), shown, str(w.out))
        return table
    for name in ("kernel", "dilation", "reach", "stride", "pad", "ceil", "out"):
        table.add_column(name, justify="left" if name in ("pad", "ceil") else "right")
    for w in result.windows:
        ceil = _yes_no(w.ceil_mode)
        if w.extra_end:
            ceil += f" (+{w.extra_end})"
        table.add_row(
            w.name,
            str(w.size),
            str(w.kernel),
            str(w.dilation),
            str(w.effective_kernel),
            str(w.stride),
            f"{w.pad_begin}:{w.pad_end}",
            ceil,
            str(w.out),
        )
    return table


def _narrow_windows(result: PoolResult) -> Text:
    """The per-axis window as short lines, for consoles too narrow for the table."""
    lines = []
    for w in result.windows:
        lines.append(f"{w.name}: size {w.size}, out {w.out}")
        if w.bins is not None:
            lines.append(f"   adaptive bins, the longest {w.kernel} cells")
            continue
        text = f"   kernel {w.kernel}"
        if w.dilation != 1:
            text += f" (dilation {w.dilation}, reach {w.effective_kernel})"
        text += f", stride {w.stride}, pad {w.pad_begin}:{w.pad_end}"
        if w.ceil_mode:
            text += ", ceil" + (f" (+{w.extra_end})" if w.extra_end else "")
        lines.append(text)
    return Text("\n".join(lines), overflow="fold")


class _WindowsBlock:
    """The window table when it fits the console, else the same facts as lines."""

    def __init__(self, result: PoolResult):
        self.result = result

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        table = window_table(self.result)
        needed = Measurement.get(console, options.update(width=10_000), table).maximum
        yield table if needed <= options.max_width else _narrow_windows(self.result)
        for w in self.result.windows:
            yield Text(f"out {w.name} = {w.formula()}", overflow="fold")


def stats_table(rows: list[tuple[str, Stats]]) -> Table:
    """min / max / mean (and NaN count when there are NaNs) of input and output."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, padding=(0, 1, 0, 0))
    table.add_column("")
    for name in ("min", "max", "mean"):
        table.add_column(name, justify="right", overflow="fold")
    with_nan = any(s.nan for _, s in rows)
    if with_nan:
        table.add_column("NaN", justify="right")
    for label, s in rows:
        if s.count == 0:
            cells = ["–", "–", "–"]
        else:
            dtype = np.dtype(s.dtype) if s.dtype != "bfloat16" else np.dtype(np.float32)
            cells = [
                format_value(s.min, dtype),
                format_value(s.max, dtype),
                format_mean(s.mean),
            ]
        table.add_row(label, *cells, *([str(s.nan)] if with_nan else []))
    return table


def summary_table(
    result: PoolResult,
    path: str,
    *,
    source: str | None = None,
    layout_reason: str | None = None,
) -> Table:
    """Input, layout, shapes, dtypes, op, window and device as a two-column table."""
    table = Table(
        box=box.ROUNDED,
        show_header=False,
        padding=(0, 1),
        title_justify="left",
    )
    table.add_column("", style="bold", no_wrap=True)
    table.add_column("", overflow="fold")
    table.add_row("input", Text(path, style="cyan"))
    if source:
        table.add_row("source", Text(source))
    layout = Text(str(result.layout))
    if result.layout_guessed:
        reason = f": {layout_reason}" if layout_reason else ""
        layout.append(f" (guessed{reason}; set --layout)", style="yellow")
    table.add_row("layout", layout)
    table.add_row("shape", _shape(result.input_shape) + _ARROW + _shape(result.output.shape))
    table.add_row("dtype", f"{result.input_dtype}{_ARROW}{result.output.dtype}")
    table.add_row("op", describe_op(result))
    table.add_row("window", describe_window(result))
    if result.premultiplied:
        table.add_row("alpha", "colour weighted by alpha (premultiplied); --straight-alpha: off")
    table.add_row("device", str(result.device))
    return table


def build_report(
    result: PoolResult,
    path: str,
    *,
    input_stats: Stats | None = None,
    output_stats: Stats | None = None,
    source: str | None = None,
    layout_reason: str | None = None,
    channel_names: tuple[str, ...] | None = None,
) -> Group:
    """The whole report for one input, ready for ``console.print``.

    ``input_stats`` come from the caller (who has the input array); ``output_stats`` are
    computed when not given. ``source`` describes the file (e.g. ``"PNG, 8-bit RGBA"``),
    ``channel_names`` label the matrices of image channels (``("R", "G", "B", "A")``).
    """
    output_stats = output_stats or array_stats(result.output)
    stats_rows = [("input", input_stats)] if input_stats is not None else []
    stats_rows.append(("output", output_stats))
    parts: list = [
        summary_table(result, path, source=source, layout_reason=layout_reason),
        Text(""),
        _WindowsBlock(result),
        Text(""),
        stats_table(stats_rows),
        Text(""),
        *values_block(result, channel_names),
    ]
    return Group(*parts)


# --------------------------------------------------------------------------------------------
# JSON


def json_parameters(result_or_spec, options) -> dict:
    """The call's parameters, as given (before they are resolved against an input)."""
    spec = getattr(result_or_spec, "spec", result_or_spec)
    padding = spec.padding if isinstance(spec.padding, str) else [list(p) for p in spec.padding]
    return {
        "kernel_size": list(spec.kernel_size) if spec.kernel_size else None,
        "stride": list(spec.stride) if spec.stride else None,
        "padding": padding,
        "dilation": list(spec.dilation),
        "ceil_mode": spec.ceil_mode,
        "count_include_pad": spec.count_include_pad,
        "global_pool": spec.global_pool,
        "output_size": list(spec.output_size) if spec.output_size else None,
        "norm_type": options.norm_type,
        "seed": options.seed,
        "expectation": options.expectation,
        "dtype": options.dtype,
        "straight_alpha": options.straight_alpha,
    }


def json_windows(result: PoolResult) -> list[dict]:
    rows = []
    for w in result.windows:
        row = {
            "axis": w.name,
            "size": w.size,
            "out": w.out,
            "kernel": w.kernel,
            "formula": w.formula(),
        }
        if w.bins is not None:
            row["bins"] = [list(b) for b in w.bins]
        else:
            row.update(
                effective_kernel=w.effective_kernel,
                stride=w.stride,
                dilation=w.dilation,
                padding=[w.pad_begin, w.pad_end],
                ceil_mode=w.ceil_mode,
                ceil_extra_cells=w.extra_end,
            )
        rows.append(row)
    return rows


def json_entry(
    result: PoolResult,
    path: str,
    *,
    input_stats: Stats | None = None,
    output_path: str | None = None,
) -> dict:
    """One input's part of the --json document."""
    output = result.output
    entry = {
        "path": path,
        "ok": True,
        "layout": str(result.layout),
        "layout_guessed": result.layout_guessed,
        "input": {
            "shape": list(result.input_shape),
            "dtype": result.input_dtype,
            "stats": input_stats.as_json() if input_stats is not None else None,
        },
        "output": {
            "path": output_path,
            "shape": list(output.shape),
            "dtype": str(output.dtype),
            "stats": array_stats(output).as_json(),
            "values": json_values(output) if output.size <= JSON_MAX_VALUES else None,
        },
        "windows": json_windows(result),
        "device": str(result.device),
        "premultiplied_alpha": result.premultiplied,
    }
    return entry


def json_error(path: str, message: str, exit_status: int) -> dict:
    """One failed input's part of the --json document."""
    return {"path": path, "ok": False, "error": message, "exit_status": exit_status}


def dumps(document: dict) -> str:
    """JSON text with two-space indents, but every list of plain values on one line.

    >>> print(dumps({"values": [[1, 2], [3, 4]]}))
    {
      "values": [
        [1, 2],
        [3, 4]
      ]
    }
    """
    import json

    leaves: list[str] = []

    def mark(node):
        if isinstance(node, dict):
            return {k: mark(v) for k, v in node.items()}
        if isinstance(node, list):
            if node and all(not isinstance(v, (list, dict)) for v in node):
                leaves.append(json.dumps(node, ensure_ascii=False))
                # NUL cannot occur in a path or message, so the marker is unambiguous.
                return f"\0{len(leaves) - 1}\0"
            return [mark(v) for v in node]
        return node

    text = json.dumps(mark(document), indent=2, ensure_ascii=False)
    for i, leaf in enumerate(leaves):
        text = text.replace(json.dumps(f"\0{i}\0"), leaf, 1)
    return text


def json_document(
    reduction: Reduction | str,
    parameters: dict,
    entries: list[dict],
    *,
    device: str | None,
    version: str,
) -> dict:
    """The --json document: the call (op, parameters, device) and one entry per input."""
    return {
        "poolcli": version,
        "op": str(Reduction(reduction)),
        "parameters": parameters,
        "device": device,
        "inputs": entries,
    }
