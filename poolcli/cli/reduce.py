"""The reduction commands: ``poolcli max INPUT... -k 2`` and the seven others.

One command per row of the reductions table, each taking the options every reduction takes
(:data:`poolcli.model.flags.REDUCTION_COMMAND_OPTIONS`) plus the reduction's own.
"""

import os
import sys
from typing import Any

import typer

from poolcli.cli.call import Call, make_call
from poolcli.cli.options import add_command
from poolcli.cli.single import execute
from poolcli.engine.devices import resolve_device
from poolcli.errors import STDIN, ExitStatus, UsageError, display_path, error_line
from poolcli.model.flags import REDUCTION_COMMAND_OPTIONS
from poolcli.model.reductions import Reduction

PANEL = "Reductions"


def add_reduction_commands(app: typer.Typer) -> None:
    """Register ``poolcli REDUCTION`` for every reduction."""
    for reduction in Reduction:
        info = reduction.info
        chain = f"Chain more ops with --then: poolcli {reduction} x.npy -k 2 --then avg -k 2"
        batch = "Folders and batches (-r, -j, --name, --overwrite...): poolcli help batch"
        examples = (f"Example: {e}" for e in info.examples)
        help = "\n\n".join([info.summary, *examples, chain, batch])
        options = list(REDUCTION_COMMAND_OPTIONS)
        options[options.index("output_size") + 1 : 1] = info.options
        options = list(
            dict.fromkeys(options)
        )  # --seed: stochastic's own, and --fractional-windows's
        add_command(app, reduction.value, options, _body(reduction), help=help, panel=PANEL)


def _body(reduction: Reduction):
    def body(ctx: typer.Context, args: dict[str, Any]) -> int:
        return run_reduction(reduction, args, (ctx.obj or {}).get("then", ()))

    return body


def run_reduction(reduction: Reduction, args: dict[str, Any], then=()) -> int:
    """Check the call, then pool its one input (or several), or run its batch."""
    from poolcli.cli import blockwise

    if blockwise.wanted(args):
        return blockwise.run_blockwise(reduction, args, then)
    call = make_call(reduction, args, then)
    if call.seed is not None and reduction is not Reduction.STOCHASTIC and not call.spec.fractional:
        raise UsageError(
            f"--seed applies only to stochastic and --fractional-windows, not {reduction}.",
            option="--seed",
        )
    if call.is_batch and call.device in ("auto", "cpu") and call.batch["jobs"] != 1:
        from poolcli import batch

        batch.start_workers_early()  # before this process imports torch itself
    device = resolve_device(call.device)
    return execute_batch(call, device) if call.is_batch else execute(call, device)


def execute_batch(call: Call, device: str) -> int:
    """Run a batch (folders, globs, several files into -o DIR/) through poolcli.batch."""
    from poolcli import batch
    from poolcli.cli.batch_report import report_batch, report_plan

    options = call.batch
    output_dir = call.output.rstrip("/" + os.sep) or call.output if call.output else None
    run = batch.iter_batch(
        call.inputs,
        call.steps(device),
        output_dir,
        recursive=bool(options["recursive"]),
        files_from=sys.stdin.buffer if options["files_from"] == STDIN else options["files_from"],
        null=bool(options["null"]),
        include=tuple(options["include"] or ()),
        exclude=tuple(options["exclude"] or ()),
        format=options["format"] or "same",
        name=options["name"] or batch.DEFAULT_NAME,
        overwrite=bool(options["overwrite"]),
        png_compression=6 if options["png_compression"] is None else options["png_compression"],
        quality=call.quality,
        normalize=call.normalize,
        layout=str(call.layout) if call.layout is not None else None,
        device=device,
        jobs=options["jobs"],
        batch_size=options["batch_size"] or batch.DEFAULT_BATCH_SIZE,
        fail_fast=bool(options["fail_fast"]),
        debug=call.debug,
        viz_dir=call.viz,
        viz_format=options["viz_format"] or "png",
        viz_scale=call.viz_scale,
        viz_channels=call.channels,
        indices_dir=call.indices,
        index_style=call.index_style,
    )
    if not run.plan.tasks:
        where = ", ".join(display_path(path) for path in call.inputs) or options["files_from"]
        hint = "" if options["recursive"] else " (sub-folders need --recursive)"
        typer.echo(error_line(f"{where}: holds no images or .npy files{hint}."), err=True)
        return ExitStatus.ERROR
    if options["dry_run"]:
        from poolcli.batch.precheck import precheck_plan

        plan = precheck_plan(run.plan, str(call.layout) if call.layout is not None else None)
        return report_plan(plan, json_output=call.json)
    with run:
        return report_batch(
            run, json_output=call.json, jsonl=bool(options["jsonl"]), quiet=call.quiet
        )
