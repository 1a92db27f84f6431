"""What ``shape`` prints: the steps of a stack as a table (or, on a narrow console, one block
per step) with the sizes in and out, and the ``shape --json`` document."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from poolcli.learn import shapes
from poolcli.model.window import WindowSpec, format_axes
from poolcli.render.schema_plain import window_json


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


def _step_json(result: shapes.StepResult) -> dict:
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


def _given_window(step: shapes.Step) -> WindowSpec:
    """A step's window as given (a conv step's windows slide as a pooling layer's do)."""
    if step.kind == "global":
        return WindowSpec(global_pool=True)
    if step.kind == "adaptive":
        return WindowSpec(output_size=step.output_size)
    return WindowSpec(
        kernel_size=step.kernel_size,
        stride=step.stride,
        padding=step.padding if step.padding is not None else ((0, 0),),
        dilation=step.dilation or (1,),
        ceil_mode=step.ceil_mode,
    )


class ShapeTable:
    """The steps as a table where the formulas fit the console, else one block per step, then
    the sizes in and out."""

    def __init__(self, spatial, results):
        self.spatial = spatial
        self.results = results

    def __rich_console__(self, console, options):
        results = self.results
        with_channels = any(
            r.channels_in is not None or r.channels_out is not None for r in results
        )
        rows = []
        for r in results:
            size = f"{format_axes(r.input_size)} → {format_axes(r.output_size)}"
            if with_channels:
                size += f"\nC {_channels(r.channels_in)} → {_channels(r.channels_out)}"
            step = Text(r.step.text)
            step.append("\n" + r.params, style="dim")
            rows.append((str(r.index), step, size, Text("\n".join(r.formulas))))
        widest = max(len(line) for r in results for line in r.formulas)
        if options.max_width >= widest + 40:
            table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
            table.add_column("#", justify="right")
            table.add_column("step")
            table.add_column("size", no_wrap=True)
            table.add_column("output-size formula", no_wrap=True)
            for row in rows:
                table.add_row(*row)
            yield table
        else:
            # Narrow terminals: one block per step, so no formula is cut in two.
            for index, step, size, formulas in rows:
                head = Text(f"{index}. ", style="bold")
                head.append(step.plain.split("\n")[0], style="bold")
                head.append("   " + size.replace("\n", "   "))
                yield head
                yield Text("   " + step.plain.split("\n", 1)[1], style="dim")
                for line in formulas.plain.split("\n"):
                    yield Text("   " + line)
        last = results[-1]
        summary = Text(
            f"{format_axes(self.spatial)} → {format_axes(last.output_size)}", style="bold"
        )
        count = len(results)
        summary.append(f" after {count} step{'s' if count > 1 else ''}")
        if last.channels_out is not None:
            dims = "×".join(map(str, (last.channels_out, *last.output_size)))
            flat = shapes.flat_size(last.output_size, last.channels_out)
            summary.append(f"; flattened: {dims} = {flat} values")
        yield summary


def _channels(value) -> str:
    return "?" if value is None else str(value)
