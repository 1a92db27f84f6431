"""The command-line behaviour of a batch: the dry-run listing, and a run told as it goes
(failures, warnings, ``--jsonl``, progress, the summary), ending in its exit status.
"""

from __future__ import annotations

import json
import sys
from typing import IO

from poolcli.batch.plan import Plan
from poolcli.batch.results import FileResult, Summary
from poolcli.batch.run import Batch
from poolcli.errors import PoolError, error_line
from poolcli.render.batch_report import Progress, failure_lines, summary_table
from poolcli.render.documents import batch_json, jsonl_line


def report_plan(plan: Plan, *, json_output: bool = False, out: IO[str] | None = None) -> int:
    """Print a dry run: ``INPUT -> OUTPUT`` lines, or the plan as JSON; returns the exit
    status the run would have as far as the plan tells: 1 when an input is bound to fail.

    Folders not searched and ignored files are counted in a last line, with a hint.
    """
    out = out if out is not None else sys.stdout
    status = 1 if plan.count("fail") else 0
    if json_output:
        out.write(json.dumps(plan.to_dict(), indent=2, ensure_ascii=False) + "\n")
        return status
    for line in plan.lines():
        out.write(line + "\n")
    notes = [f"{plan.count('run')} to pool", f"{plan.count('skip')} to skip"]
    if plan.count("fail"):
        notes.append(f"{plan.count('fail')} failing")
    if plan.ignored:
        notes.append(f"{len(plan.ignored)} other files ignored")
    if plan.folders_not_searched:
        count = plan.folders_not_searched
        notes.append(f"{count} sub-folder{'s' if count != 1 else ''} not searched (-r to descend)")
    out.write(f"dry run: {', '.join(notes)}; nothing written.\n")
    return status


def report_batch(
    run: Batch,
    *,
    json_output: bool = False,
    jsonl: bool = False,
    quiet: bool = False,
    progress: bool | None = None,
    out: IO[str] | None = None,
    err: IO[str] | None = None,
) -> int:
    """Run ``run`` and tell the user as it goes; returns the exit status: 0, 1, or 130 after
    Ctrl-C (128 + the signal after SIGTERM or SIGHUP).

    * every failure at once on ``err`` as ``poolcli: error: PATH: reason``, and every warning
      as ``poolcli: warning: PATH: text``;
    * ``jsonl``: one JSON line per file on ``out`` as soon as it is finished;
    * a progress bar on ``err`` when it is a terminal (``progress=None``), never with
      ``quiet``, ``json_output`` or ``jsonl`` changing nothing about it;
    * at the end, unless ``quiet``: the summary table on ``err`` and the failures again;
    * ``json_output``: the :func:`~poolcli.render.documents.batch_json` on ``out`` at the end.

    Ctrl-C, SIGTERM and SIGHUP stop the run (workers stopped, no partial files), print
    ``poolcli: interrupted.`` and the summary of what was finished. Only the JSON goes to
    ``out``.
    """
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    show = _progress(run, err, progress, quiet)
    results: list[FileResult] = []
    interrupted = False
    try:
        with run, show:
            for result in run:
                show.advance(result)
                if json_output:
                    results.append(result)
                _tell(result, show, out if jsonl else None, err)
    except KeyboardInterrupt:
        interrupted = True
    except PoolError as error:  # the run itself broke (worker processes that cannot start)
        err.write(error_line(error) + "\n")
        err.flush()
        return 1
    if interrupted:
        err.write("poolcli: interrupted.\n")
    if not quiet or interrupted:
        print_summary(run.summary, err)
    if json_output:
        doc = batch_json(results, run.summary, run.plan.steps)
        out.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    err.flush()
    out.flush()
    return run.summary.exit_status


def _progress(run: Batch, err: IO[str], progress: bool | None, quiet: bool) -> Progress:
    """A progress bar on ``err`` when it is a terminal (or ``progress``), never when ``quiet``."""
    from rich.console import Console

    if progress is None:
        progress = err.isatty()
    return Progress(
        run.summary.total,
        enabled=bool(progress) and not quiet,
        console=Console(file=err, highlight=False) if progress and not quiet else None,
    )


def _tell(result: FileResult, show: Progress, jsonl: IO[str] | None, err: IO[str]) -> None:
    """What one result says at once: its ``--jsonl`` line, its warnings, its failure."""
    if jsonl is not None:
        jsonl.write(jsonl_line(result) + "\n")
        jsonl.flush()
    for warning in result.warnings:
        show.message(f"poolcli: warning: {warning}", err)
    if result.message:
        show.message(result.message, err)


def print_summary(summary: Summary, err: IO[str]) -> None:
    """The summary table, then every failure again when there were several inputs."""
    from rich.console import Console

    console = Console(file=err, highlight=False, markup=False, emoji=False)
    console.print(summary_table(summary))
    if summary.failures and summary.total > 1:
        err.write(f"{len(summary.failures)} failed:\n")
        for line in failure_lines(summary):
            err.write(f"  {line}\n")
