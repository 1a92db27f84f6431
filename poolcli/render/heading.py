"""What the reports of ``grad``, ``compare`` and ``invariance`` share: the heading that names
the op, the input and its window, and the number format of their statistics."""

from __future__ import annotations

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text

from poolcli.model.display import format_shape
from poolcli.render import report


class Heading:
    """A bold heading made of parts, put on as few lines as fit the console: a narrow terminal
    breaks it between facts rather than inside one."""

    def __init__(self, parts: tuple[str, ...]):
        self.parts = parts

    @property
    def plain(self) -> str:
        return " ".join(self.parts)

    def lines(self, width: int) -> list[str]:
        """The parts packed into lines of at most ``width`` cells (a longer part on its own)."""
        lines = [self.parts[0]]
        for part in self.parts[1:]:
            joined = f"{lines[-1]} {part}"
            if cell_len(joined) <= width:
                lines[-1] = joined
            else:
                lines.append(part)
        return lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in self.lines(options.max_width):
            yield Text(line, style="bold", overflow="fold")


def result_heading(title: str, result, shape, dtype) -> Heading:
    """``max over x.npy: 4×4 int64, layout HW (guessed); kernel 2x2, stride 2x2 → 2×2``:
    ``title`` (here ``max over x.npy``), the input's shape and dtype, and the window of
    ``result``."""
    layout = f"layout {result.layout}" + (" (guessed)" if result.layout_guessed else "")
    out = tuple(w.out for w in result.windows)
    return Heading(
        (
            f"{title}:",
            f"{format_shape(shape)} {dtype}, {layout};",
            f"{report.describe_window(result)} → {format_shape(out)}",
        )
    )


def format_statistic(value: float) -> str:
    """A statistic for a table: 6 significant digits."""
    return "nan" if value != value else f"{value:.6g}"
