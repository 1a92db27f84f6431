"""The ``grad``, ``compare`` and ``invariance`` commands, added to the app by :func:`add_commands`.

Each reads its one input exactly as ``poolcli REDUCTION`` does
(:func:`poolcli.cli.single.process_input`), calls :mod:`poolcli.engine.grad`,
:mod:`poolcli.learn.compare` or :mod:`poolcli.learn.invariance`, and prints what
:mod:`poolcli.render.grad_report`, :mod:`~poolcli.render.compare_report`,
:mod:`~poolcli.render.invariance_report` and :mod:`~poolcli.render.documents` build of the
result. Their options come from the one option table.
"""

import dataclasses
import os
from typing import Any

import typer

from poolcli.cli.call import make_call
from poolcli.cli.options import add_command
from poolcli.cli.single import Printer, process_input
from poolcli.engine.devices import resolve_device
from poolcli.errors import ExitStatus, PoolError, UsageError, display_path
from poolcli.model.flag import LEARN
from poolcli.model.flags import FLAGS, WINDOW_OPTIONS

SHOW = LEARN
PANEL = "Learning"

GRAD_HELP = (
    "Show the gradient of a pooling op with respect to its input.\n\n"
    "Computed by torch autograd through the same engine as the reduction commands, for the "
    "upstream gradient dL/d(output) given with --upstream (default: ones). Where the gradient "
    "goes, per --op (overlapping windows add up):\n\n"
    "  max, min     the window's largest (smallest) cell; of tied cells, the first\n"
    "               in window order, as torch's max_pool\n"
    "  avg          1/|R| to each cell the mean counts (padding only with\n"
    "               --count-include-pad; padding itself receives nothing)\n"
    "  sum          the whole value to every real cell\n"
    "  lp           sign(x)·|x|^(p−1)/y^(p−1); NaN where a window is all 0\n"
    "  median       the one cell holding the median\n"
    "  mode         the one cell the most frequent value is taken from\n"
    "  stochastic   the sampled cell; with --expectation (2x·Σx − Σx²)/(Σx)²\n\n"
    "Small inputs print input, output and gradient as matrices; -o writes the gradient as "
    ".npy (float64). --unpool instead puts each output value back on the cell it came from "
    "(zeros elsewhere, as F.max_unpool) and shows what pooling kept; -o then writes that in "
    "the input's type, so an image input can give an image.\n\n"
    "Examples:\n"
    "  poolcli grad sample_data/seed001_4x4.npy -k 2\n"
    "  poolcli grad x.npy --op avg -k 3 -s 1 -p 1 --upstream up.npy -o dx.npy\n"
    "  poolcli grad photo.png -k 2 --unpool -o kept.png --viz kept_viz.png\n"
)

COMPARE_HELP = (
    "Compare several reductions over the same windows of one input.\n\n"
    "Pools INPUT with each op of --ops (default max,avg,min,median,lp; all for every one) and "
    "prints min, max, mean and standard deviation of each output, and for each pair of ops "
    "the mean and largest |a − b| over the output cells. --viz draws the input and one panel "
    "per op on one colour scale.\n\n"
    "Examples:\n"
    "  poolcli compare sample_data/seed001_4x4.npy -k 2\n"
    "  poolcli compare photo.png --ops max,avg,median -k 4 --viz ops.png\n"
    "  poolcli compare x.npy --ops all -k 3 -s 2 --json\n"
)

INVARIANCE_HELP = (
    "Measure how much each op's output changes when the input shifts or gets noisy.\n\n"
    "For each shift s of --shifts along each spatial axis, the op is applied to the input "
    "without its last s cells and to the input without its first s cells (the same content "
    "moved by s, cropped to the overlap: nothing wraps around), and the outputs are compared "
    "cell by cell. --noise adds Gaussian noise of sigma = noise × the input's range (seeded "
    "by --seed; integer inputs stay integers, non-negative inputs stay non-negative). "
    "Reported per op: the share of output cells exactly unchanged, and the mean and largest "
    '|change| divided by the input\'s range. The "input" rows measure the input itself: the '
    "baseline pooling should improve on.\n\n"
    "Examples:\n"
    "  poolcli invariance photo.png -k 2\n"
    "  poolcli invariance x.npy -k 2 --ops max,avg --shifts 1,2,4 --noise 0.05\n"
    "  poolcli invariance photo.png -k 3 -s 2 --viz invariance.png\n"
)


def add_commands(app: typer.Typer) -> None:
    """Add ``grad``, ``compare`` and ``invariance`` to ``app``."""
    window = [*WINDOW_OPTIONS, "norm_type", "seed", "expectation"]
    grad_output = FLAGS["output"].but(
        help="Write the gradient (FILE.npy, float64), or with --unpool what was kept (.npy, or "
        "an image suffix for image inputs)."
    )
    viz = FLAGS["viz"].but(help="Also draw a picture to FILE.png (or .svg: vectors).")
    ending = ["layout", "straight_alpha", viz, "viz_scale", "json", "device", "dtype", "debug"]
    grad = ["input_path", "op", *window, "upstream", "unpool", "layout", "straight_alpha"]
    grad += [grad_output, viz, "viz_scale", "json", "quiet", "device", "debug"]
    add_command(app, "grad", grad, _grad_command, help=GRAD_HELP, panel=PANEL)
    compare = ["input_path", "ops", *window, *ending]
    add_command(app, "compare", compare, _compare_command, help=COMPARE_HELP, panel=PANEL)
    seed = FLAGS["seed"].but(
        type=int,
        default=0,
        panel=SHOW,
        help="Seed of the noise and of stochastic sampling. Default: 0.",
    )
    invariance = ["input_path", "ops", "shifts", "noise", seed]
    invariance += [name for name in window if name != "seed"] + ["blur", *ending]
    invariance.insert(invariance.index("viz_scale") + 1, "viz_channels")
    add_command(
        app, "invariance", invariance, _invariance_command, help=INVARIANCE_HELP, panel=PANEL
    )


def _grad_command(ctx: typer.Context, args: dict[str, Any]) -> int:
    if args["upstream"] is not None and args["unpool"]:
        raise UsageError(
            "--upstream and --unpool do not go together: unpooling has no gradient.",
            option="--upstream",
        )
    call = make_call(args["op"], args)
    device = resolve_device(call.device)
    return _grad(call, device, upstream=args["upstream"], unpool=args["unpool"])


def _compare_command(ctx: typer.Context, args: dict[str, Any]) -> int:
    from poolcli.learn.compare import parse_ops

    ops = parse_ops(args["ops"])
    call = make_call(ops[0], args)
    return _compare(call, resolve_device(call.device), ops=ops)


def _invariance_command(ctx: typer.Context, args: dict[str, Any]) -> int:
    from poolcli.learn.compare import parse_ops
    from poolcli.learn.invariance import check_noise
    from poolcli.model.window import parse_ints

    ops = parse_ops(args["ops"])
    shifts = parse_ints(args["shifts"], "--shifts")
    check_noise(args["noise"])
    call = make_call(ops[0], args)
    device = resolve_device(call.device)
    return _invariance(call, device, ops=ops, shifts=shifts, noise=args["noise"])


def _short(name: str) -> str:
    """A file's name without its folders, for titles."""
    return os.path.basename(name) or name


def _load(call, device):
    """Read the one input as the reduction commands do; returns (outcome, printer)."""
    _check_still(call)
    printer = Printer()
    reading = dataclasses.replace(call, output=None, viz=None, json=False)
    outcome = process_input(call.inputs[0], reading, device)
    for warning in outcome.warnings:
        printer.warning(warning)
    if outcome.error:
        printer.error(outcome.error)
    return outcome, printer


def _layout(call, loaded):
    """The layout as given to process_input: an image's own, else --layout (None: guessed)."""
    return loaded.layout or call.layout


def _failed(printer, error: PoolError, name: str):
    """Report an error found after the input was read; returns the exit status."""
    if error.path is None:
        error.path = name
    printer.error(str(error))
    return ExitStatus.USAGE if isinstance(error, UsageError) else ExitStatus.ERROR


def _save_viz(call, picture) -> None:
    from poolcli.render import pictures as visualize

    visualize.save_viz(call.viz, picture, call.viz_scale)


def _check_still(call) -> None:
    """A usage error for a --viz animation or page, which only the reduction commands draw."""
    if call.viz is not None:
        from poolcli.render.viz_files import check_viz_path

        check_viz_path(call.viz, allowed=())


# --------------------------------------------------------------------------------------------
# grad


def _grad(call, device: str, *, upstream: str | None, unpool: bool):
    from poolcli import io
    from poolcli.engine import grad
    from poolcli.render import grad_report

    viz = call.viz
    outcome, printer = _load(call, device)
    if outcome.error:
        return outcome.status
    loaded = outcome.loaded
    layout = _layout(call, loaded)
    options = call.pool_options(device)
    try:
        if unpool:
            result = grad.unpool(
                loaded.array, call.reduction, call.spec, layout, options, alpha=loaded.has_alpha
            )
        else:
            up = io.read_input(upstream).array if upstream is not None else None
            result = grad.gradient(
                loaded.array,
                call.reduction,
                call.spec,
                layout,
                options,
                up,
                alpha=loaded.has_alpha,
            )
        notes = _write_grad(io, call.output, result, loaded, unpool)
        if viz is not None:
            _save_viz(call, grad_report.grad_picture(loaded, result, _short(outcome.name), unpool))
    except PoolError as error:
        return _failed(printer, error, outcome.name)
    for note in notes:
        printer.warning(f"{display_path(call.output)}: {note}")
    if call.json:
        from poolcli.render.learn_json import grad_json

        _print_json(grad_json(result, outcome.name, loaded.array, unpool))
    if call.output is not None:
        what = "what pooling kept" if unpool else "the gradient"
        printer.message(f"wrote {display_path(call.output)}: {what} of {outcome.name}")
    elif call.json:
        pass
    elif unpool:
        printer.report(grad_report.unpool_report(loaded.array, result, outcome.name))
    else:
        printer.report(grad_report.grad_report(loaded.array, result, outcome.name))
    if viz is not None:
        printer.message(f"wrote {display_path(viz)}")
    return ExitStatus.OK


def _write_grad(io, path, result, loaded, unpool: bool) -> list[str]:
    if path is None:
        return []
    if unpool:
        return io.write_output(path, result.kept, loaded, layout=str(result.pooled.layout)).warnings
    io.check_not_input(path, loaded)
    if io.output_format(path) != "NPY":
        raise UsageError(
            f"-o {path}: the gradient is written as .npy (exact float64 values); "
            "--viz FILE.png draws it.",
            option="-o",
        )
    return io.write_output(path, result.grad).warnings


# --------------------------------------------------------------------------------------------
# compare


def _compare(call, device: str, *, ops):
    from poolcli.learn import compare
    from poolcli.render import documents
    from poolcli.render.compare_report import compare_report

    viz = call.viz
    outcome, printer = _load(call, device)
    if outcome.error:
        return outcome.status
    loaded = outcome.loaded
    try:
        result = compare.compare(
            loaded.array,
            ops,
            call.spec,
            _layout(call, loaded),
            call.pool_options(device),
            alpha=loaded.has_alpha,
        )
        if viz is not None:
            from poolcli.render import pictures as visualize

            picture = visualize.render_compare(loaded, list(result.results.values()))
            _save_viz(call, picture)
    except PoolError as error:
        return _failed(printer, error, outcome.name)
    if call.json:
        _print_json(documents.compare_json(result, outcome.name, loaded.array))
    else:
        printer.report(compare_report(result, outcome.name, loaded.array))
    if viz is not None:
        printer.message(f"wrote {display_path(viz)}")
    return ExitStatus.OK


def _print_json(document: dict) -> None:
    from poolcli.render.schema import dumps

    typer.echo(dumps(document))


# --------------------------------------------------------------------------------------------
# invariance


def _invariance(call, device: str, *, ops, shifts, noise: float):
    from poolcli.learn import invariance
    from poolcli.render import documents, invariance_report

    viz = call.viz
    outcome, printer = _load(call, device)
    if outcome.error:
        return outcome.status
    loaded = outcome.loaded
    try:
        result = invariance.measure(
            loaded.array,
            ops,
            call.spec,
            _layout(call, loaded),
            call.pool_options(device),
            shifts=shifts,
            noise=noise,
            seed=call.seed,
            alpha=loaded.has_alpha,
        )
        if viz is not None:
            options = call.pool_options(device)
            example = invariance.shift_example(
                loaded.array, result, options, alpha=loaded.has_alpha
            )
            image = loaded.image if loaded.kind == "image" else None
            chart = invariance_report.invariance_chart(
                result, _short(outcome.name), example, image=image, channels=call.channels
            )
            _save_viz(call, chart)
    except PoolError as error:
        return _failed(printer, error, outcome.name)
    if call.json:
        _print_json(documents.invariance_json(result, outcome.name, loaded.array))
    else:
        report = invariance_report.invariance_report(
            result, outcome.name, loaded.array, outcome.result
        )
        printer.report(report)
    if viz is not None:
        printer.message(f"wrote {display_path(viz)}")
    return ExitStatus.OK
