"""Help topics drawn from the option table: ``poolcli help batch`` lists the options every
reduction command takes for folders and batches, which each command's own help leaves out
to stay short."""

from __future__ import annotations

from rich import box
from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from poolcli.model.flag import Flag

BATCH_INTRO = (
    "Every reduction command takes these options when it reads several inputs (a folder, "
    "several files, --files-from) and writes to a folder (-o DIR/):\n"
    "  poolcli max photos/ -r -k 2 -o small/ -j 2\n"
)


def _spellings(flag: Flag) -> str:
    return ", ".join(sorted(flag.flags, key=len))


def options_panel(title: str, intro: str, flags: list[Flag]) -> Group:
    """``flags`` as a panel like the commands' own help: spellings, value, help."""
    table = Table(box=None, show_header=False, padding=(0, 1), expand=True)
    table.add_column(no_wrap=True, style="bold cyan")
    table.add_column(no_wrap=True, style="yellow")
    table.add_column(ratio=1)
    for flag in flags:
        table.add_row(_spellings(flag), flag.metavar or "", flag.help)
    return Group(Text(intro), Panel(table, title=title, title_align="left", box=box.ROUNDED))
