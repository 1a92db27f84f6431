"""What poolcli tells people about a result: the rich report printed when no ``-o`` is given.

Everything here *builds* things (rich renderables); :mod:`poolcli.cli` prints them.
:func:`build_report` puts together a summary table, the resolved window per spatial axis with
its output-size arithmetic, statistics of input and output (:mod:`poolcli.render.stats`), and
the output values (:mod:`poolcli.render.matrices`). The ``--json`` document is built from
:mod:`poolcli.render.schema`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from poolcli.model.display import format_shape, format_value
from poolcli.model.reductions import Reduction
from poolcli.model.window import format_axes
from poolcli.render.documents import json_document
from poolcli.render.matrices import (
    PREVIEW_COLS,
    PREVIEW_ROWS,
    Matrix,
    is_small,
    matrix_slices,
    values_block,
)
from poolcli.render.schema import dumps, failure_json, json_value, result_json
from poolcli.render.stats import Stats, array_stats, format_mean

if TYPE_CHECKING:
    from poolcli.model.options import PoolResult


# The commands import these from here as well as the report's own names.
__all__ = [
    "PREVIEW_COLS",
    "PREVIEW_ROWS",
    "Matrix",
    "Stats",
    "array_stats",
    "build_report",
    "describe_op",
    "describe_window",
    "dumps",
    "format_mean",
    "format_value",
    "is_small",
    "json_document",
    "json_entry",
    "json_error",
    "json_value",
    "layout_reason",
    "matrix_slices",
    "stats_table",
    "summary_table",
    "window_table",
]

# The names the commands call for the --json document's entries.
json_entry = result_json
json_error = failure_json

_ARROW = " → "


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
    elif reduction is Reduction.GEM:
        text += f", p = {format_value(np.float64(options.norm_type))}"
    return text + data_text(options)


def data_text(options) -> str:
    """The data-aware options in words, e.g. ``, NaN left out, -9999 = no data``."""
    parts = []
    if str(options.nan) == "omit":
        parts.append("NaN left out")
    if options.nodata is not None:
        parts.append(f"{format_value(np.float64(options.nodata))} = no data")
    if options.mask is not None:
        parts.append("masked")
    if options.linear_light:
        parts.append("in linear light")
    return "".join(f", {part}" for part in parts)


def describe_window(result: PoolResult) -> str:
    """The windowing of the call, as one line."""
    from poolcli.model.axes import AxesLayout

    text = _describe_windows(result)
    if isinstance(result.layout, AxesLayout):
        text += f", over {', '.join(result.layout.spatial)}"
    if result.options.blur:
        text += f"; BlurPool: max at stride 1, then a binomial blur {result.options.blur} strided"
    return text


def _describe_windows(result: PoolResult) -> str:
    spec = result.spec
    windows = result.windows
    names = ", ".join(w.name for w in windows)
    if spec.mode == "spp":
        levels = ",".join(map(str, spec.spp))
        return f"spatial pyramid of adaptive pools {levels}, concatenated"
    if spec.mode == "fractional":
        samples = ", ".join(f"{u:.4g}" for u in spec.samples)
        kernel = format_axes(tuple(w.kernel for w in windows))
        outs = format_axes(tuple(w.out for w in windows))
        return f"fractional: kernel {kernel} to {outs} (samples {samples})"
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
    shapes = format_shape(result.input_shape) + _ARROW + format_shape(result.output.shape)
    table.add_row("shape", shapes)
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
