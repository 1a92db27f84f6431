"""Reductions block by block: ``poolcli max big.zarr -k 2 -o out.zarr --max-memory 1GiB``.

A reduction command comes here when it gives ``--max-memory`` or ``--scheduler``, or reads or
writes Zarr. Each input still goes through :func:`poolcli.batch.task.process_task` (which
hands it to :mod:`poolcli.batch.blockwise`); several inputs with ``--scheduler`` run as Dask
tasks, one file each. A progress bar per input is drawn on standard error when it is a
terminal.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from typing import Any

import typer

from poolcli.batch.results import SKIPPED
from poolcli.cli.edge import worst
from poolcli.errors import STDIN, ExitStatus, UsageError, display_path, error_line
from poolcli.model.display import format_shape
from poolcli.model.reductions import Reduction


def wanted(args: dict[str, Any]) -> bool:
    """Whether this call goes block by block."""
    from poolcli.batch.blockwise import wants_blocks

    if args.get("max_memory") is not None or args.get("scheduler") is not None:
        return True
    return args.get("format") == "zarr" or wants_blocks(
        args.get("inputs") or (), args.get("output")
    )


def run_blockwise(reduction: Reduction, args: dict[str, Any], then=()) -> int:
    """Check the call, pool each input block by block, print one line (or JSON) for each."""
    from poolcli.batch.plan import named_task
    from poolcli.batch.task import Job
    from poolcli.blocks.schedule import check_reachable, check_scheduler
    from poolcli.engine.devices import check_device_name, resolve_device
    from poolcli.model.blocks import parse_size

    if then:
        raise UsageError("--then cannot go with --max-memory, --scheduler or Zarr files.")
    inputs = tuple(args.get("inputs") or ())
    if not inputs and args.get("files_from") is None:
        raise UsageError("Give at least one INPUT.", option="INPUT")
    scheduler = check_scheduler(args.get("scheduler"))
    check_reachable(scheduler)
    memory = args.get("max_memory")
    step = _step(reduction, args)
    plan = _plan(inputs, args.get("output"), step, args)
    if plan is not None and args.get("dry_run"):
        from poolcli.batch.blockwise import blocks_problem
        from poolcli.batch.precheck import precheck_plan
        from poolcli.cli.batch_report import report_plan

        plan = precheck_plan(plan, args.get("layout"), blocks_problem)
        return report_plan(plan, json_output=bool(args.get("json")))
    several = plan is not None
    tasks = plan.tasks if several else [named_task(0, inputs[0], args.get("output"), None)]
    job = Job(
        steps=(step,),
        layout=args.get("layout"),
        device=resolve_device(check_device_name(args.get("device") or "auto")),
        overwrite=True if not several else bool(args.get("overwrite")),
        debug=bool(args.get("debug")),
        max_memory=parse_size(memory) if memory is not None else None,
        scheduler=None if several else scheduler,
        blockwise=True,
    )
    started = time.perf_counter()
    results = _run(tasks, job, scheduler if several else None, args)
    if several:
        return _report_batch(results, args, plan, step, time.perf_counter() - started)
    return _report_single(results[0], args, step, job.device)


def _step(reduction: Reduction, args: dict[str, Any]):
    from poolcli.cli.call import _window
    from poolcli.model.options import PoolOptions
    from poolcli.model.steps import Step

    defaults = {"kernel": None, "stride": None, "padding": None, "dilation": None}
    dtype = args.get("dtype")
    options = PoolOptions(
        norm_type=args.get("norm_type") or 2.0,
        seed=args.get("seed"),
        expectation=bool(args.get("expectation")),
        dtype=dtype.value if dtype is not None else None,
        straight_alpha=bool(args.get("straight_alpha")),
    )
    return Step(reduction, _window({**defaults, **args}), options)


def _plan(inputs: tuple[str, ...], output: str | None, step, args: dict[str, Any]):
    """The batch's plan (folders, globs, several inputs, -o DIR/: outputs named by --format
    and --name, existing ones skipped unless --overwrite), or ``None`` for one input given
    alone."""
    from poolcli.batch.names import DEFAULT_NAME
    from poolcli.batch.plan import plan_batch
    from poolcli.cli.call import names_batch

    if output == STDIN or STDIN in inputs:
        raise UsageError(
            "--max-memory, --scheduler and Zarr read and write files, not standard streams.",
            option="-o",
        )
    batch = {key: args.get(key) for key in ("files_from", "jsonl", "dry_run")}
    if len(inputs) == 1 and not names_batch(inputs, output, batch):
        _check_single_format(output, args.get("format") or "same")
        return None
    if output is not None and not output.endswith(("/", os.sep)) and not os.path.isdir(output):
        raise UsageError(f"-o {output}: with several inputs give a folder, -o DIR/.", option="-o")
    folder = output.rstrip("/" + os.sep) or output if output else None
    plan = plan_batch(
        inputs,
        step,
        folder,
        format=args.get("format") or "same",
        name=args.get("name") or DEFAULT_NAME,
        overwrite=bool(args.get("overwrite")),
        recursive=bool(args.get("recursive")),
        include=tuple(args.get("include") or ()),
        exclude=tuple(args.get("exclude") or ()),
        files_from=sys.stdin.buffer if batch["files_from"] == STDIN else batch["files_from"],
        null=bool(args.get("null")),
    )
    if not plan.tasks:
        raise UsageError(f"{', '.join(inputs)}: holds no .npy, .tif or .zarr inputs.")
    if folder is not None and not args.get("dry_run"):
        os.makedirs(folder, exist_ok=True)
    return plan


def _check_single_format(output: str | None, chosen: str) -> None:
    """``--format`` with one input must agree with ``-o``'s suffix (it names the file)."""
    from poolcli.io.lazy import lazy_format

    if chosen == "same":
        return
    if output is None:
        raise UsageError(
            f"--format {chosen} chooses the format of written files, but without -o nothing "
            "is written. Add -o FILE or -o DIR/.",
            option="--format",
        )
    written = lazy_format(output) or os.path.splitext(output)[1].lstrip(".").lower()
    if written != chosen:
        raise UsageError(
            f"--format {chosen} disagrees with -o {output}, which names a .{written} file. "
            f"Give the file a .{chosen} suffix, or leave out --format.",
            option="--format",
        )


def _run(tasks, job, scheduler, args):
    """Pool every task; with ``--jsonl`` each file's line is printed as soon as it is done,
    as a batch in memory prints it."""
    from poolcli.batch import blockwise
    from poolcli.batch.task import process_task
    from poolcli.blocks.schedule import run_tasks
    from poolcli.render.documents import jsonl_line

    results = []

    def finished(result) -> None:
        results.append(result)
        if args.get("jsonl"):
            typer.echo(jsonl_line(result))

    with _progress(bool(args.get("quiet")) or bool(args.get("json"))) as bar:
        blockwise.set_progress(bar)
        try:
            run_tasks(process_task, [(task, job) for task in tasks], scheduler, finished)
        finally:
            blockwise.set_progress(None)
    return sorted(results, key=lambda r: [t.source.path for t in tasks].index(r.input))


class _progress:
    """A rich progress bar per input on standard error (a no-op when it is not a terminal)."""

    def __init__(self, quiet: bool) -> None:
        self.bar = None
        self.tasks: dict[str, Any] = {}
        if not quiet and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import Progress

            self.bar = Progress(console=Console(stderr=True), transient=False)

    def __enter__(self):
        if self.bar is None:
            return None
        self.bar.__enter__()
        return self.update

    def update(self, name: str, done: int, total: int) -> None:
        if name not in self.tasks:
            self.tasks[name] = self.bar.add_task(f"{name} blocks", total=total)
        self.bar.update(self.tasks[name], completed=done)

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)


def _tell(result, args) -> int:
    """Print what one result says (its failure, warnings, and its line unless -q, --json or
    --jsonl); returns its exit status. A skip is told by the batch summary, as in memory."""
    if result.error:
        typer.echo(error_line(result.error), err=True)
        return ExitStatus.ERROR
    if result.status == SKIPPED:
        return ExitStatus.OK
    for warning in result.warnings:
        typer.echo(f"poolcli: warning: {warning}", err=True)
    if not args.get("json") and not args.get("jsonl") and not args.get("quiet"):
        typer.echo(_line(result, result.detail or {}))
    return ExitStatus.OK


def _report_batch(results, args, plan, step, seconds: float) -> int:
    """A batch's lines, then the batch summary (unless -q) and its ``--json`` document, as a
    batch in memory ends (:mod:`poolcli.cli.batch_report`)."""
    from poolcli.batch.results import Summary
    from poolcli.cli.batch_report import print_summary
    from poolcli.render.documents import batch_json

    statuses = [_tell(result, args) for result in results]
    summary = Summary.of_plan(plan)
    for result in results:
        summary.add(result)
    summary.seconds = seconds
    if not args.get("quiet"):
        print_summary(summary, sys.stderr)
    if args.get("json"):
        document = batch_json(results, summary, (step,))
        typer.echo(json.dumps(document, indent=2, ensure_ascii=False))
    return worst(statuses)


def _report_single(result, args, step, device: str) -> int:
    """One input's line, or its ``--json`` document: the one an input pooled in memory gives
    (:func:`~poolcli.render.documents.json_document`)."""
    from poolcli.render.report import dumps, json_document
    from poolcli.version import __version__

    status = _tell(result, args)
    if args.get("json"):
        entries = [_entry(result, step, device, status)]
        typer.echo(dumps(json_document((step,), entries, device=device, version=__version__)))
    return status


def _entry(result, step, device: str, status: int) -> dict[str, Any]:
    """The ``files`` entry of one input pooled block by block. The input is never whole in
    memory, so its statistics are null; so are the output's when it was written and is too
    large for its values to be shown (else it is read back, as small as the values are)."""
    from poolcli.render.schema import JSON_MAX_VALUES, failure_json, pooled_json, window_json

    name = display_path(result.input)
    if result.error:
        return failure_json(name, result.error, int(status))
    detail = result.detail
    array = detail["array"]
    if array is None and math.prod(result.output_shape) <= JSON_MAX_VALUES:
        from poolcli.io.lazy import open_lazy

        with open_lazy(result.output) as written:
            array = written.read(...)
    return pooled_json(
        name,
        result.output,
        array,
        layout=result.layout,
        layout_guessed=detail["layout_guessed"],
        shapes=(result.input_shape, result.output_shape),
        dtypes=(result.input_dtype, result.output_dtype),
        input_stats=None,
        window=window_json(step.spec, detail["windows"]),
        device=device,
        premultiplied=detail["premultiplied"],
    )


def _line(result, detail) -> str:
    blocks = detail.get("blocks")
    text = (
        f"{display_path(result.input)}: {format_shape(result.input_shape)} {result.input_dtype} "
        f"({result.layout}) -> {format_shape(result.output_shape)} {result.output_dtype} in "
        f"{blocks} block{'s' if blocks != 1 else ''}"
    )
    if result.output is not None:
        return f"{text}, written to {display_path(result.output)}"
    array = detail.get("array")
    if array is not None and array.size <= 256:
        return f"{text}:\n{array}"
    return text
