"""What ``invariance`` shows: the change of each op's output under each shift and noise, as a
table and as two charts."""

from __future__ import annotations

import numpy as np
from PIL import Image
from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from poolcli.errors import UsageError
from poolcli.learn import invariance
from poolcli.render import pictures as visualize
from poolcli.render.drawing import shifted
from poolcli.render.heading import format_statistic, result_heading


def invariance_report(result, name: str, array, pooled):
    """Every change of an InvarianceResult measured on ``array``, one row per perturbation;
    ``pooled`` is the first op's result, whose window the heading names."""
    heading = result_heading(f"invariance on {name}", pooled, array.shape, array.dtype)
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for column in ("op", "change", "unchanged", "mean |Δ|", "max |Δ|"):
        table.add_column(column, justify="left" if column in ("op", "change") else "right")
    groups = [None, *result.ops]
    for k, op in enumerate(groups):
        rows = result.for_op(op)
        for j, c in enumerate(rows):
            table.add_row(
                ("input" if op is None else str(op)) if j == 0 else "",
                c.perturbation.label,
                f"{c.unchanged:.1%}",
                format_statistic(c.mean_change),
                format_statistic(c.max_change),
                end_section=j == len(rows) - 1 and k < len(groups) - 1,
            )
    noise = ""
    if any(p.kind == "noise" for p in result.perturbations):
        noise = f"; noise σ = {format_statistic(result.sigma)} (seed {result.seed})"
    return Group(
        heading,
        Text(
            f"Changes are relative to the input's range "
            f"({format_statistic(result.input_range)}){noise}. Edges: {invariance.EDGE_RULE}.",
            overflow="fold",
        ),
        Text(""),
        table,
    )


def _noise_text(result, field: str) -> str:
    """What noise did, per op, for a chart's title (empty without noise)."""
    parts = []
    for op in (None, *result.ops):
        changes = [c for c in result.for_op(op) if c.perturbation.kind == "noise"]
        if changes:
            value = 100 * np.mean([getattr(c, field) for c in changes])
            parts.append(f"{'input' if op is None else op} {value:.3g}%")
    return f"; with noise: {', '.join(parts)}" if parts else ""


def invariance_chart(result, name: str, example=None, *, image=None, channels=None):
    """Two charts side by side, against the shift (mean over the axes), one line per op:
    the share of output cells unchanged, and the mean change relative to the input's range;
    under them, with ``example`` (:func:`poolcli.learn.invariance.shift_example`), one op's
    output before and after a shift, and what changed (``image``, ``channels``: as for
    :func:`shift_picture`)."""
    shifts = sorted({int(p.amount) for p in result.perturbations if p.kind == "shift"})
    if not shifts:
        raise UsageError("--viz draws the shifts; give at least one with --shifts.", option="--viz")
    charts = []
    for field, title, unit in (
        ("unchanged", "output cells unchanged by a shift", "unchanged (%)"),
        ("mean_change", "mean change, relative to the input's range", "mean |change| (%)"),
    ):
        series = {}
        for op in (None, *result.ops):
            changes = [c for c in result.for_op(op) if c.perturbation.kind == "shift"]
            series["input" if op is None else str(op)] = [
                100 * np.mean([getattr(c, field) for c in changes if c.perturbation.amount == s])
                for s in shifts
            ]
        charts.append(
            visualize.line_chart(
                series,
                shifts,
                title=f"{name}: {title}{_noise_text(result, field)}",
                x_label="shift (cells, mean over axes)",
                y_label=unit,
            )
        )
    width = sum(c.image.width for c in charts)
    picture = Image.new("RGB", (width, max(c.image.height for c in charts)), "white")
    picture.paste(charts[0].image, (0, 0))
    picture.paste(charts[1].image, (charts[0].image.width, 0))
    ops = charts[0].ops + shifted(charts[1].ops, charts[0].image.width, 0)
    top = visualize.Picture(picture, ops=ops)
    if example is None or len(result.layout.spatial) != 2:
        return top
    from poolcli.render.zoom import stack

    return stack([top], [shift_picture(example, result.layout, image, channels)])


def shift_picture(example, layout, image=None, channels=None):
    """An op's output before and after a shift, and the difference: one row per channel
    (the first few, or ``channels``), as the other pictures draw them; a grey image
    (``image``: its :class:`~poolcli.io.ImageInfo`) in grey."""
    s, axis = int(example.shift.amount), example.shift.axis
    before, after = example.before, example.after
    columns = [
        visualize.Column(f"{example.op} output", before),
        visualize.Column(f"{example.op} output, input shifted by {s} along {axis}", after),
        visualize.Column(
            "after - before", after.astype(np.float64) - before, scale="change", cmap="diverging"
        ),
    ]
    changed = int(np.count_nonzero(after != before))
    title = (
        f"{example.op}: shifting the input {s} cell{'s' * (s != 1)} along {axis} changes "
        f"{changed} of {before.size} output values"
    )
    # A colour image's own colours would not fit the change panel: its channels get rows.
    grey = image if image is not None and image.channels == 1 else None
    return visualize.render_columns(columns, layout, title=title, image=grey, channels=channels)
