"""What the reports of ``grad``, ``compare`` and ``invariance`` share: the heading that names
the op, the input and its window, and the number format of their statistics."""

from __future__ import annotations

from poolcli.model.display import format_shape
from poolcli.render import report


def result_heading(result, name: str, shape, dtype) -> str:
    """``max over x.npy: 4×4 int64, layout HW (guessed); kernel 2x2, stride 2x2 → 2×2``."""
    layout = f"layout {result.layout}" + (" (guessed)" if result.layout_guessed else "")
    out = tuple(w.out for w in result.windows)
    return (
        f"{report.describe_op(result)} over {name}: {format_shape(shape)} {dtype}, {layout}; "
        f"{report.describe_window(result)} → {format_shape(out)}"
    )


def format_statistic(value: float) -> str:
    """A statistic for a table: 6 significant digits."""
    return "nan" if value != value else f"{value:.6g}"
