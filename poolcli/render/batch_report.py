"""A batch's summary for people: its rows and table, the failure lines, and a progress
bar on standard error. Building, not printing (the progress bar draws itself while it runs).
"""

from __future__ import annotations

import os
import sys
from typing import IO, TYPE_CHECKING

from poolcli.errors import display_path

if TYPE_CHECKING:  # read here, made by the batch
    from poolcli.batch.results import FileResult, Summary


def format_bytes(count: int) -> str:
    """``1536`` -> ``'1.5 KiB'``.

    >>> format_bytes(0), format_bytes(1536), format_bytes(5 * 2**30)
    ('0 B', '1.5 KiB', '5.0 GiB')
    """
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{int(size)} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def summary_rows(summary: Summary) -> list[tuple[str, str]]:
    """The end-of-run summary as (label, value) rows, for a table or plain lines."""
    rows = [
        ("processed", str(summary.done)),
        ("skipped", skipped_text(summary)),
        ("failed", str(summary.failed)),
    ]
    if summary.not_started:
        why = "interrupted" if summary.interrupted else "stopped at the first failure"
        rows.append(("not started", f"{summary.not_started} ({why})"))
    if summary.ignored:
        rows.append(("ignored", f"{summary.ignored} (not images or .npy, hidden, or excluded)"))
    if summary.folders_not_searched:
        rows.append(("not searched", folders_text(summary.folders_not_searched)))
    rows += [
        ("bytes in / out", f"{format_bytes(summary.bytes_in)} / {format_bytes(summary.bytes_out)}"),
        ("wall time", f"{summary.seconds:.2f} s"),
        ("files/s", f"{summary.files_per_second:.1f}"),
    ]
    return rows


#: A skip's reason as the summary says it: what happened, then what to do about it.
SKIP_WORDS = {"output exists (overwrite replaces it)": "outputs exist; --overwrite to replace"}


def skipped_text(summary: Summary) -> str:
    """``'30 (outputs exist; --overwrite to replace)'``: the count with its reasons.

    >>> from poolcli.batch.results import Summary
    >>> skipped_text(Summary(4, skipped=3, skip_reasons={
    ...     "output exists (overwrite replaces it)": 2, "Permission denied.": 1}))
    '3 (2 outputs exist; --overwrite to replace; 1 Permission denied)'
    """
    reasons = summary.skip_reasons
    if not summary.skipped or not reasons:
        return str(summary.skipped)
    words = [(SKIP_WORDS.get(r, r.rstrip(".")), n) for r, n in reasons.items()]
    if len(words) == 1:
        return f"{summary.skipped} ({words[0][0]})"
    return f"{summary.skipped} ({'; '.join(f'{n} {text}' for text, n in words)})"


def folders_text(count: int) -> str:
    """``'3 sub-folders; -r to descend'``.

    >>> folders_text(1)
    '1 sub-folder; -r to descend'
    """
    return f"{count} sub-folder{'s' if count != 1 else ''}; -r to descend"


def summary_table(summary: Summary):
    """A ``rich`` table of :func:`summary_rows` (print it on standard error)."""
    from rich.table import Table

    table = Table(title="poolcli batch", show_header=False, title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("value", overflow="fold")
    for label, value in summary_rows(summary):
        table.add_row(label, value)
    return table


def failure_lines(summary: Summary) -> list[str]:
    """Every failure, as ``poolcli: error: PATH: reason`` lines."""
    return [r.message for r in summary.failures if r.message]


class Progress:
    """A progress bar on standard error for a batch: files done / total, files/s, ETA, file.

    A real ``rich.progress.Progress`` when ``enabled`` (default: standard error is a terminal);
    otherwise it does nothing. Use as a context manager and call :meth:`advance` per result::

        with Progress(batch.summary.total) as progress:
            for result in batch:
                progress.advance(result)
    """

    def __init__(self, total: int, *, enabled: bool | None = None, console=None):
        if enabled is None:
            enabled = sys.stderr.isatty()
        self.total = total
        self.enabled = enabled
        self._console = console
        self._progress = None
        self._task = None

    def __enter__(self) -> Progress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                ProgressColumn,
                TextColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as RichProgress
            from rich.text import Text

            class Rate(ProgressColumn):
                def render(self, task) -> Text:
                    speed = task.finished_speed or task.speed
                    return Text(f"{speed:.1f} files/s" if speed else "- files/s")

            console = self._console or Console(stderr=True)
            self._progress = RichProgress(
                TextColumn("pooling"),
                BarColumn(),
                MofNCompleteColumn(),
                Rate(),
                TimeRemainingColumn(),
                TextColumn("{task.fields[current]}", markup=False),
                console=console,
                transient=False,
            )
            self._progress.start()
            self._task = self._progress.add_task("pooling", total=self.total, current="")
        return self

    def advance(self, result: FileResult) -> None:
        if self._progress is not None:
            current = display_path(os.path.basename(result.input))
            self._progress.update(self._task, advance=1, current=current)

    def message(self, text: str, stream: IO[str] | None = None) -> None:
        """Print a line on standard error (or ``stream``) without breaking the bar."""
        if self._progress is not None:
            self._progress.console.print(text, markup=False, highlight=False, soft_wrap=True)
        else:
            stream = stream if stream is not None else sys.stderr
            stream.write(text + "\n")
            stream.flush()

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
