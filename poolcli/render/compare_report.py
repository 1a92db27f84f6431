"""What ``compare`` prints: each op's output statistics and the pairwise differences."""

from __future__ import annotations

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from poolcli.render.heading import format_statistic, result_heading


def compare_report(result, name: str, array):
    """Statistics of each op's output and their differences, from a Comparison of ``array``."""
    first = result.first
    ops = ", ".join(str(op) for op in result.ops)
    heading = result_heading(f"compare {ops} on {name}", first, array.shape, array.dtype)
    stats = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, title_justify="left")
    for column in ("op", "min", "max", "mean", "std"):
        stats.add_column(column, justify="left" if column == "op" else "right")
    with_nan = any(s.nan for s in result.stats)
    if with_nan:
        stats.add_column("NaN", justify="right")
    for s in result.stats:
        cells = [format_statistic(v) for v in (s.min, s.max, s.mean, s.std)]
        stats.add_row(str(s.op), *cells, *([str(s.nan)] if with_nan else []))
    pairs = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for column in ("ops", "mean |a − b|", "max |a − b|"):
        pairs.add_column(column, justify="left" if column == "ops" else "right")
    for p in result.pairs:
        pairs.add_row(f"{p.a} − {p.b}", format_statistic(p.mean_abs), format_statistic(p.max_abs))
    blocks = [heading]
    blocks += [Text(""), Text("Each output", style="bold"), stats]
    if result.pairs:
        blocks += [Text(""), Text("Differences, cell by cell", style="bold"), pairs]
    return Group(*blocks)
