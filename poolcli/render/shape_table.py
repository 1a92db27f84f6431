"""What ``shape`` prints: the steps of a stack as a table (or, on a narrow console, one block
per step) with the sizes in and out, and the ``shape --json`` document."""

from __future__ import annotations

from typing import NamedTuple

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from poolcli.learn import shapes
from poolcli.model.window import WindowSpec, format_axes
from poolcli.render.schema_plain import window_json

#: How far a step's window and formulas sit under its line in the narrow form.
_INDENT = 3


def shape_json(spatial, channels, results) -> dict:
    """The ``shape --json`` document: the sizes in and out, and each step with its window
    resolved, in the one schema's spelling (:func:`~poolcli.render.schema_plain.window_json`)."""
    last = results[-1]
    return {
        "input_size": list(spatial),
        "channels": channels,
        "output_size": list(last.output_size),
        "output_channels": last.channels_out,
        # C*D*H*W, as a fully connected layer after the stack sees it (needs the channels).
        "flat_size": shapes.flat_size(last.output_size, last.channels_out)
        if last.channels_out is not None
        else None,
        "steps": [_step_json(r) for r in results],
    }


def _step_json(result: shapes.LayerResult) -> dict:
    return {
        "step": result.index,
        "text": result.step.text,
        "kind": result.kind,
        "input_size": list(result.input_size),
        "output_size": list(result.output_size),
        "channels_in": result.channels_in,
        "channels_out": result.channels_out,
        "window": window_json(_given_window(result.step), result.axes),
    }


def _given_window(step: shapes.Layer) -> WindowSpec:
    """A step's window as given (a conv step's windows slide as a pooling layer's do)."""
    if step.kind == "global":
        return WindowSpec(global_pool=True)
    if step.kind == "spp":
        return WindowSpec(spp=step.output_size)
    if step.kind == "adaptive":
        return WindowSpec(output_size=step.output_size)
    return WindowSpec(
        kernel_size=step.kernel_size,
        stride=step.stride,
        padding=step.padding if step.padding is not None else ((0, 0),),
        dilation=step.dilation or (1,),
        ceil_mode=step.ceil_mode,
    )


class _Row(NamedTuple):
    """One step as the table and the blocks show it."""

    index: str
    text: str
    params: str
    sizes: tuple[str, ...]
    formulas: tuple[str, ...]


class ShapeTable:
    """The steps of a stack as a table where it fits the console, else one block per step (so
    that no formula is cut in two), then the sizes in and out."""

    def __init__(self, spatial: tuple[int, ...], results: list[shapes.LayerResult]):
        self.spatial = spatial
        self.results = results

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        rows = _rows(self.results)
        table = _table(rows)
        needed = Measurement.get(console, options.update(width=10_000), table).maximum
        if needed <= options.max_width:
            yield table
        else:
            yield from _blocks(rows, console, options.max_width)
        yield _summary(self.spatial, self.results)


def _rows(results: list[shapes.LayerResult]) -> list[_Row]:
    with_channels = any(r.channels_in is not None or r.channels_out is not None for r in results)
    rows = []
    for r in results:
        sizes = (f"{format_axes(r.input_size)} → {format_axes(r.output_size)}",)
        if with_channels:
            sizes += (f"C {_channels(r.channels_in)} → {_channels(r.channels_out)}",)
        rows.append(_Row(str(r.index), r.step.text, r.params, sizes, r.formulas))
    return rows


def _table(rows: list[_Row]) -> Table:
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    table.add_column("#", justify="right")
    table.add_column("step")
    table.add_column("size", no_wrap=True)
    table.add_column("output-size formula", no_wrap=True)
    for row in rows:
        step = Text(row.text)
        step.append("\n" + row.params, style="dim")
        table.add_row(row.index, step, "\n".join(row.sizes), Text("\n".join(row.formulas)))
    return table


def _blocks(rows: list[_Row], console: Console, width: int):
    """Narrow consoles: a bold line per step, its window and formulas indented below it (a
    line too long for the console wraps inside the indent)."""
    for row in rows:
        head = Text(f"{row.index}. ", style="bold")
        head.append(row.text, style="bold")
        head.append("   " + "   ".join(row.sizes))
        yield head
        yield from _indented(Text(row.params, style="dim"), console, width)
        for line in row.formulas:
            yield from _indented(Text(line), console, width)


def _indented(text: Text, console: Console, width: int):
    for line in text.wrap(console, max(width - _INDENT, 1)):
        line.rstrip()
        yield Text(" " * _INDENT) + line


def _summary(spatial: tuple[int, ...], results: list[shapes.LayerResult]) -> Text:
    """``28x28 → 4x4 after 4 steps; flattened: 16×4×4 = 256 values``."""
    last = results[-1]
    summary = Text(f"{format_axes(spatial)} → {format_axes(last.output_size)}", style="bold")
    count = len(results)
    summary.append(f" after {count} step{'s' if count > 1 else ''}")
    if last.channels_out is not None:
        dims = "×".join(map(str, (last.channels_out, *last.output_size)))
        flat = shapes.flat_size(last.output_size, last.channels_out)
        summary.append(f"; flattened: {dims} = {flat} values")
    return summary


def _channels(value) -> str:
    return "?" if value is None else str(value)
