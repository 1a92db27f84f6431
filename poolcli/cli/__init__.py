"""The ``poolcli`` command line: options -> WindowSpec -> core.run -> report, files, exit status.

One command per reduction (``poolcli max INPUT... -k 2``), sharing the options defined once
below. The commands are thin: :func:`make_call` checks the options (pure Python, so ``--help``,
``--version`` and usage errors never import torch, numpy or Pillow), :func:`process_input`
pools one input and returns an :class:`Outcome` (a result or an error), and :func:`execute`
prints what each outcome has to say and turns the outcomes into the exit status.

Exit status: 0 all inputs done; 1 at least one input failed (the others were still
processed); 2 the call is wrong (bad option value, or windows that do not fit an input);
130 interrupted. Messages on standard error: ``poolcli: error: FILE: reason``.
"""

import errno
import inspect
import math
import os
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Annotated, Any, NoReturn

import typer
from typer.core import TyperGroup

from poolcli import __version__
from poolcli.cli import analysis as analysis_cli
from poolcli.cli import learn as learn_cli
from poolcli.engine.devices import resolve_device
from poolcli.errors import (
    STDIN,
    ExitStatus,
    PoolError,
    UsageError,
    display_path,
    failure,
    internal_error,
    interrupted_status,
    stop_on_signals,
)
from poolcli.model.layout import Layout
from poolcli.model.reductions import Reduction
from poolcli.model.window import WindowSpec

THEN = "--then"


def _click_class(name: str) -> type:
    # Typer re-exports only BadParameter from its (vendored) Click; its bases are the classes
    # Click raises for every usage problem.
    return next(c for c in typer.BadParameter.__mro__ if c.__name__ == name)


ClickException = _click_class("ClickException")
_ClickUsageError = _click_class("UsageError")


class PoolcliGroup(TyperGroup):
    """Typer's command group, printing usage errors as plain lines instead of a boxed panel.

    Help keeps Typer's rich panels. A usage error reads::

        Usage: poolcli max [OPTIONS] INPUT...
        Try 'poolcli max -h' for help.

        Error: --kernel must be positive, got 0.
    """

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            args = list(sys.argv[1:] if args is None else args)
            if THEN in args:
                # Later steps of a chain: cut them off before Click parses the first command.
                from poolcli.model.steps import split_then

                try:
                    args, then = split_then(args)
                except UsageError as error:
                    raise _ClickUsageError(str(error)) from None
                extra["obj"] = {"then": tuple(then)}
            status = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except ClickException as error:
            error.show()
            status = error.exit_code
        except typer.Abort:
            status = ExitStatus.ERROR
        sys.exit(int(status or 0))


APP_SETTINGS = dict(
    cls=PoolcliGroup,
    name="poolcli",
    pretty_exceptions_enable=False,
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)
app = typer.Typer(**APP_SETTINGS)


# --------------------------------------------------------------------------------------------
# Options, defined once and shared by every reduction command.

WINDOW = "Window"
INPUT = "Input"
OUTPUT = "Output"
DEVICE = "Device"


class DType(str, Enum):
    float32 = "float32"
    float64 = "float64"
    float16 = "float16"
    bfloat16 = "bfloat16"


Inputs = Annotated[
    list[str] | None,
    typer.Argument(
        metavar="INPUT...",
        help="Image or .npy files, folders or glob patterns; - reads one from standard input.",
        show_default=False,
    ),
]
Kernel = Annotated[
    str | None,
    typer.Option(
        "-k",
        "--kernel",
        metavar="K",
        rich_help_panel=WINDOW,
        help="Window size: 3, or one per spatial axis: 3x2 or 3,2.",
    ),
]
Stride = Annotated[
    str | None,
    typer.Option(
        "-s",
        "--stride",
        metavar="S",
        rich_help_panel=WINDOW,
        help="Step between windows, same form as --kernel. Default: the kernel.",
    ),
]
Padding = Annotated[
    str | None,
    typer.Option(
        "-p",
        "--padding",
        metavar="P",
        rich_help_panel=WINDOW,
        help="Padding per side: 1, 1x2, begin:end per axis (0:1x1:2), same or valid. Default 0.",
    ),
]
Dilation = Annotated[
    str | None,
    typer.Option(
        "-d",
        "--dilation",
        metavar="D",
        rich_help_panel=WINDOW,
        help="Spacing between the cells of a window, same form as --kernel. Default 1.",
    ),
]
Ceil = Annotated[
    bool,
    typer.Option(
        "--ceil",
        rich_help_panel=WINDOW,
        help="Round the number of windows up (torch's ceil_mode); not with same or valid.",
    ),
]
CountIncludePad = Annotated[
    bool,
    typer.Option(
        "--count-include-pad/--no-count-include-pad",
        rich_help_panel=WINDOW,
        show_default=False,
        help="Count padded cells in the divisor of a mean. Default: no (as ONNX, TensorFlow).",
    ),
]
GlobalPool = Annotated[
    bool,
    typer.Option(
        "--global",
        rich_help_panel=WINDOW,
        help="One window over all spatial axes: every spatial size becomes 1.",
    ),
]
OutputSize = Annotated[
    str | None,
    typer.Option(
        "--output-size",
        metavar="O",
        rich_help_panel=WINDOW,
        help="Adaptive pooling to this output size: 7 or 7x5 (torch's bin rule).",
    ),
]
LayoutOption = Annotated[
    str | None,
    typer.Option(
        "--layout",
        metavar="L",
        rich_help_panel=INPUT,
        help="Axes of a .npy input, from N C D H W: HW, CHW, HWC, NCHW, NHWC, NCW, NCDHW... "
        "Default: from the shape (HW, HWC or CHW, NCHW, NCDHW), printed in the report.",
    ),
]
StraightAlpha = Annotated[
    bool,
    typer.Option(
        "--straight-alpha",
        rich_help_panel=INPUT,
        help="RGBA images: pool alpha like any channel instead of weighting colour by it "
        "(matters for avg, sum, lp and stochastic).",
    ),
]
Output = Annotated[
    str | None,
    typer.Option(
        "-o",
        "--output",
        metavar="FILE",
        rich_help_panel=OUTPUT,
        help="Write the result: FILE.npy (exact), FILE.png or another image suffix (the input's "
        "bit depth), or - for .npy bytes on standard output. Without -o: print a report.",
    ),
]
Json = Annotated[
    bool,
    typer.Option(
        "--json",
        rich_help_panel=OUTPUT,
        help="Print one JSON document (parameters, shapes, statistics, small outputs' values) "
        "instead of the report.",
    ),
]
Quiet = Annotated[
    bool,
    typer.Option(
        "-q",
        "--quiet",
        rich_help_panel=OUTPUT,
        help="With -o, print nothing but warnings and errors.",
    ),
]
Device = Annotated[
    str,
    typer.Option(
        "--device",
        metavar="cpu|cuda|mps|auto",
        rich_help_panel=DEVICE,
        help="Where to compute. auto: a GPU when torch sees one, else the CPU. "
        "A device that is not there is an error.",
    ),
]
DTypeOption = Annotated[
    DType | None,
    typer.Option(
        "--dtype",
        rich_help_panel=DEVICE,
        show_default=False,
        help="Compute precision of avg, lp and stochastic; integer inputs come out in it. "
        "Default float32 (float64 inputs stay float64). Other reductions keep the input dtype.",
    ),
]
Debug = Annotated[
    bool,
    typer.Option("--debug", help="Show the Python traceback of unexpected errors."),
]
BATCH = "Batch"
Recursive = Annotated[
    bool,
    typer.Option("-r", "--recursive", rich_help_panel=BATCH, help="Descend into sub-folders."),
]
FilesFrom = Annotated[
    str | None,
    typer.Option(
        "--files-from",
        metavar="FILE",
        rich_help_panel=BATCH,
        help="Read input paths from FILE, one per line (- for standard input).",
    ),
]
Null = Annotated[
    bool,
    typer.Option(
        "-0",
        "--null",
        rich_help_panel=BATCH,
        help="--files-from paths end with NUL (find -print0).",
    ),
]
Include = Annotated[
    list[str] | None,
    typer.Option(
        "--include",
        metavar="GLOB",
        rich_help_panel=BATCH,
        help="Only files found in folders that match GLOB (name, or relative path with /).",
    ),
]
Exclude = Annotated[
    list[str] | None,
    typer.Option(
        "--exclude", metavar="GLOB", rich_help_panel=BATCH, help="Skip files that match GLOB."
    ),
]
DryRun = Annotated[
    bool,
    typer.Option(
        "--dry-run", rich_help_panel=BATCH, help="List what would be done and where it would go."
    ),
]
FormatOption = Annotated[
    str,
    typer.Option(
        "--format",
        metavar="png|tiff|npy|same",
        rich_help_panel=BATCH,
        help="Output format with -o DIR/ (same: the input's).",
    ),
]
NameTemplate = Annotated[
    str,
    typer.Option(
        "--name",
        metavar="TEMPLATE",
        rich_help_panel=BATCH,
        help="Output file names with -o DIR/; fields {stem} {name} {in_ext} {ext} {op} {k} {s} "
        "{p} {d}, e.g. {stem}_max2{ext}.",
    ),
]
Overwrite = Annotated[
    bool,
    typer.Option(
        "--overwrite",
        rich_help_panel=BATCH,
        help="Replace existing outputs (by default they are skipped, so a rerun resumes).",
    ),
]
PngCompression = Annotated[
    int,
    typer.Option(
        "--png-compression",
        min=0,
        max=9,
        metavar="0-9",
        rich_help_panel=BATCH,
        help="zlib level of PNG outputs: 0 fastest, 9 smallest.",
    ),
]
Jobs = Annotated[
    int | None,
    typer.Option(
        "-j",
        "--jobs",
        min=1,
        metavar="N",
        rich_help_panel=BATCH,
        help="Files read, pooled and written in parallel. Default: all cores.",
    ),
]
BatchSize = Annotated[
    int,
    typer.Option(
        "--batch-size",
        min=1,
        metavar="N",
        rich_help_panel=BATCH,
        help="On a GPU, same-shape files pooled together in one stack.",
    ),
]
FailFast = Annotated[
    bool,
    typer.Option("--fail-fast", rich_help_panel=BATCH, help="Stop at the first failing file."),
]
Jsonl = Annotated[
    bool,
    typer.Option(
        "--jsonl",
        rich_help_panel=BATCH,
        help="Print one JSON line per finished file (input, output, shapes, status, seconds).",
    ),
]
Viz = Annotated[
    str | None,
    typer.Option(
        "--viz",
        metavar="FILE.png",
        rich_help_panel=OUTPUT,
        help="Also draw the input and output side by side into a picture.",
    ),
]
ExplainFlag = Annotated[
    bool,
    typer.Option(
        "--explain",
        rich_help_panel=OUTPUT,
        help="Print the size arithmetic and every window (cells and result) before the result.",
    ),
]
NormType = Annotated[
    float,
    typer.Option(
        "--norm-type",
        metavar="P",
        rich_help_panel=WINDOW,
        help="The p of (Σ|x|^p)^(1/p); a positive number.",
    ),
]
Seed = Annotated[
    int | None,
    typer.Option(
        "--seed",
        metavar="N",
        rich_help_panel=WINDOW,
        help="Random seed: the same seed gives the same samples on every device.",
    ),
]
Expectation = Annotated[
    bool,
    typer.Option(
        "--expectation",
        rich_help_panel=WINDOW,
        help="Give the expected value Σx²/Σx instead of sampling (inference behaviour).",
    ),
]


# --------------------------------------------------------------------------------------------
# Checking the call (pure Python: no torch, numpy or Pillow).


@dataclass(frozen=True)
class Call:
    """One invocation, checked: what to pool, how, and where the results go."""

    reduction: Reduction
    inputs: tuple[str, ...]
    spec: WindowSpec
    layout: Layout | None
    output: str | None
    json: bool
    quiet: bool
    debug: bool
    device: str
    norm_type: float = 2.0
    seed: int | None = None
    expectation: bool = False
    dtype: str | None = None
    straight_alpha: bool = False
    viz: str | None = None
    explain: bool = False
    then: tuple = ()
    batch: dict[str, Any] = field(default_factory=dict)

    def steps(self, device: str) -> list:
        """The chain to apply: this command's op, then every ``--then`` step."""
        from poolcli.model.steps import Step

        return [Step(self.reduction, self.spec, self.pool_options(device)), *self.then]

    @property
    def is_batch(self) -> bool:
        """Folders, globs, --files-from, -o DIR/, --jsonl or --dry-run make a batch run."""
        b = self.batch
        if b.get("files_from") is not None or b.get("jsonl") or b.get("dry_run"):
            return True
        if self.output is not None and self.output != STDIN and _names_folder(self.output):
            return True
        return any(
            path != STDIN and (os.path.isdir(path) or (_is_glob(path) and not os.path.exists(path)))
            for path in self.inputs
        )

    def pool_options(self, device: str):
        from poolcli.model.options import PoolOptions

        return PoolOptions(
            norm_type=self.norm_type,
            seed=self.seed,
            expectation=self.expectation,
            device=device,
            dtype=self.dtype,
            straight_alpha=self.straight_alpha,
        )


DEVICES = ("auto", "cpu", "cuda", "mps")


def _names_folder(path: str) -> bool:
    return path.endswith(("/", os.sep)) or os.path.isdir(path)


def _is_glob(path: str) -> bool:
    """A pattern that matches files (a missing file whose name has [ or * is just missing)."""
    import glob

    return any(c in path for c in "*?[") and bool(glob.glob(path, recursive=True))


def _check_device(name: str) -> str:
    text = name.strip().lower()
    base, _, index = text.partition(":")
    if base in DEVICES and (not index or (base == "cuda" and index.isdigit())):
        return text
    raise UsageError(
        f"--device {name} is not a device: use cpu, cuda, cuda:N, mps or auto.", option="--device"
    )


def check_writes(inputs: tuple[str, ...], files: dict[str, str | None]) -> None:
    """Refuse a call that would write over one of its inputs, or write one file twice.

    ``files`` maps each writing option (``-o``, ``--viz``) to its file (``None``: not given).
    """
    from poolcli.io.guard import WriteGuard

    guard = WriteGuard()
    for path in inputs:
        if path != STDIN:
            guard.add_input(path)
    for option, path in files.items():
        if path is None or path == STDIN:
            continue
        clash = guard.claim(path, option)
        if clash is not None and clash.role == "input":
            raise UsageError(
                f"{option} {path} is the input file; poolcli never overwrites its input. "
                "Choose another name.",
                option=option,
            )
        if clash is not None:
            raise UsageError(
                f"{option} {path} is also the file {clash.role} writes; give each its own name.",
                option=option,
            )


def _check_output(output: str | None, inputs: tuple[str, ...], json: bool) -> None:
    if output is None:
        return
    if len(inputs) > 1:
        raise UsageError(
            f"-o {output} takes one input, but {len(inputs)} were given. Give one input, or "
            "leave out -o to print a report for each.",
            option="-o",
        )
    if output == STDIN:
        if json:
            raise UsageError(
                "--json and -o - both write to standard output: choose one.", option="-o"
            )
        if sys.stdout.isatty():
            raise UsageError(
                "-o - writes binary .npy data to standard output, which is a terminal here. "
                "Redirect it (> out.npy, or | another command) or use -o FILE.npy.",
                option="-o",
            )
        return
    if output.endswith(("/", os.sep)) or os.path.isdir(output):
        raise UsageError(
            f"-o {output} is a directory; give a file name such as out.npy or out.png.",
            option="-o",
        )
    from poolcli.io import output_format

    try:
        output_format(output)
    except PoolError as error:
        raise UsageError(f"-o {output} {error.message}", option="-o") from None


def make_call(reduction: Reduction, args: dict[str, Any], then=()) -> Call:
    """Check the options of one command and build the :class:`Call`; raises UsageError.

    ``then`` holds the later steps of a chain (``--then avg -k 2``), already parsed.
    """
    inputs = tuple(args["inputs"] or ())
    if not inputs and args.get("files_from") is None:
        raise UsageError(
            "Give at least one INPUT (a file, folder or glob pattern), or --files-from FILE.",
            option="INPUT",
        )
    if inputs.count(STDIN) > 1:
        raise UsageError("- (standard input) can be given only once.", option="INPUT")
    if STDIN in inputs and sys.stdin is not None and sys.stdin.isatty():
        raise UsageError(
            "- reads standard input, which is a terminal here: pipe or redirect a file into "
            "poolcli (poolcli max - -k 2 < x.npy).",
            option="INPUT",
        )
    spec = WindowSpec.make(
        kernel_size=args["kernel"],
        stride=args["stride"],
        padding=args["padding"],
        dilation=args["dilation"],
        ceil_mode=args["ceil"],
        count_include_pad=args["count_include_pad"],
        global_pool=args["global_pool"],
        output_size=args["output_size"],
    )
    layout = Layout.parse(args["layout"]) if args["layout"] is not None else None
    norm_type = args.get("norm_type", 2.0)
    if not (math.isfinite(norm_type) and norm_type > 0):
        raise UsageError(
            f"--norm-type must be a positive number, got {norm_type:g}.", option="--norm-type"
        )
    batch = {
        key: args.get(key)
        for key in (
            "recursive",
            "files_from",
            "null",
            "include",
            "exclude",
            "dry_run",
            "format",
            "name",
            "overwrite",
            "png_compression",
            "jobs",
            "batch_size",
            "fail_fast",
            "jsonl",
        )
    }
    probe = Call(
        reduction=reduction,
        inputs=inputs,
        spec=spec,
        layout=layout,
        output=args["output"],
        json=args["json"],
        quiet=args["quiet"],
        debug=args["debug"],
        device="cpu",
        batch=batch,
    )
    if not probe.is_batch:
        _check_output(args["output"], inputs, args["json"])
    elif args["output"] == STDIN:
        raise UsageError(
            "-o - writes one array to standard output; with several inputs give -o DIR/.",
            option="--output",
        )
    viz = args.get("viz")
    if viz is not None:
        if probe.is_batch:
            if not _names_folder(viz):
                raise UsageError(
                    f"--viz {viz}: with several inputs give a folder (--viz DIR/), one picture "
                    "per input.",
                    option="--viz",
                )
        else:
            from poolcli.render.pictures import check_viz_path

            check_viz_path(viz)
    if not probe.is_batch:
        check_writes(inputs, {"-o": args["output"], "--viz": viz})
    if args.get("explain") and args["json"]:
        raise UsageError("--explain prints text; it cannot go with --json.", option="--explain")
    dtype = args["dtype"]
    return Call(
        reduction=reduction,
        inputs=inputs,
        spec=spec,
        layout=layout,
        output=args["output"],
        json=args["json"],
        quiet=args["quiet"],
        debug=args["debug"],
        device=_check_device(args["device"]),
        norm_type=norm_type,
        seed=args.get("seed"),
        expectation=args.get("expectation", False),
        dtype=dtype.value if dtype is not None else None,
        straight_alpha=args["straight_alpha"],
        viz=viz,
        explain=bool(args.get("explain")),
        then=tuple(then),
        batch=batch,
    )


# --------------------------------------------------------------------------------------------
# Running: one input at a time.


@dataclass
class Outcome:
    """What became of one input: a result, or an error with its exit status."""

    path: str
    name: str
    loaded: Any = None
    result: Any = None
    written: str | None = None
    input_stats: Any = None
    steps: list = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    status: ExitStatus = ExitStatus.OK


class _Stream:
    """A binary stream seen as a plain object, so that numpy writes to it with ``write()``.

    For real files numpy takes a fast path whose failure says only "N requested and M
    written". Here every byte is written or an error raised: a buffered stream may accept
    part of the data when its pipe closes, and only the next write raises BrokenPipeError,
    which ends the run quietly.
    """

    def __init__(self, raw):
        self.raw = raw

    def write(self, data) -> int:
        view = memoryview(data).cast("B")
        total = len(view)
        while view:
            written = self.raw.write(view)
            if not written:
                raise BrokenPipeError(errno.EPIPE, "standard output accepts no more data")
            view = view[written:]
        return total

    def flush(self) -> None:
        self.raw.flush()


def _drop_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null so the final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, AttributeError, ValueError):  # no real file descriptor (tests)
        pass


def process_input(path: str, call: Call, device: str) -> Outcome:
    """Read, pool and (with -o) write one input. Errors come back in the Outcome.

    Python warnings raised on the way (numpy, torch, Pillow) become the outcome's warnings, so
    they print as one ``poolcli: warning: FILE: ...`` line each, not as source locations.
    """
    name = display_path(path)
    outcome = Outcome(path=path, name=name)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        try:
            _process(path, call, device, outcome)
        finally:
            seen = set()
            for warning in caught:
                text = str(warning.message).strip().splitlines()[0] if str(warning.message) else ""
                if text and text not in seen:
                    seen.add(text)
                    outcome.warnings.append(f"{name}: {text}")
    return outcome


def _process(path: str, call: Call, device: str, outcome: Outcome) -> None:
    from poolcli import io
    from poolcli.engine import core

    name = outcome.name
    try:
        stdin = sys.stdin.buffer if path == STDIN else None
        loaded = io.read_input(path, stdin=stdin)
        outcome.loaded = loaded
        outcome.warnings += [f"{name}: {warning}" for warning in loaded.warnings]
        layout = call.layout
        image_layout = loaded.layout
        if image_layout is not None:
            if layout is not None and str(layout) != str(image_layout):
                raise UsageError(
                    f"--layout {layout} does not apply: images are always read as "
                    f"{image_layout}. Leave out --layout.",
                    option="--layout",
                )
            layout = image_layout
        if call.then:
            from poolcli.engine.chain import run_chain

            chain = run_chain(
                loaded.array, call.steps(device), layout, device=device, alpha=loaded.has_alpha
            )
            outcome.steps = chain.results
            outcome.result = chain.final
        else:
            outcome.result = core.run(
                loaded.array,
                call.reduction,
                call.spec,
                layout,
                call.pool_options(device),
                alpha=loaded.has_alpha,
            )
            outcome.steps = [outcome.result]
        if call.json or call.output is None:
            from poolcli.render.report import array_stats

            outcome.input_stats = array_stats(loaded.array)
        if call.output == STDIN:
            io.write_npy_stream(_Stream(sys.stdout.buffer), outcome.result.output)
            outcome.written = STDIN
        elif call.output is not None:
            notes = io.write_output(
                call.output, outcome.result.output, loaded, layout=str(outcome.result.layout)
            )
            outcome.warnings += [f"{display_path(call.output)}: {note}" for note in notes]
            outcome.written = call.output
        if call.viz is not None:
            from poolcli.render import pictures as visualize

            visualize.write_viz(call.viz, loaded, outcome.result)
    except (KeyboardInterrupt, BrokenPipeError, typer.Exit):
        raise
    except Exception as error:
        if call.debug and not isinstance(error, (PoolError, MemoryError, OSError)):
            raise
        failed = failure(error, name)
        outcome.error, outcome.status = failed.message, failed.status


# --------------------------------------------------------------------------------------------
# Printing


class Printer:
    """The two consoles (results to stdout, messages to stderr), made when a command runs."""

    def __init__(self) -> None:
        from rich.console import Console

        self.out = Console(highlight=False, emoji=False, markup=False)
        self.err = Console(highlight=False, emoji=False, markup=False, stderr=True)
        self.count = 0

    @staticmethod
    def message(text: str) -> None:
        typer.echo(f"poolcli: {text}", err=True)

    def error(self, text: str) -> None:
        self.message(f"error: {text}")

    def warning(self, text: str) -> None:
        self.message(f"warning: {text}")

    def report(self, renderable) -> None:
        if self.count:
            self.out.print()
        self.out.print(renderable)
        self.count += 1


def _shape(shape) -> str:
    return "×".join(map(str, shape))


CHANNEL_NAMES = {1: ("L",), 2: ("L", "A"), 3: ("R", "G", "B"), 4: ("R", "G", "B", "A")}


def _image_facts(loaded) -> tuple[str | None, tuple[str, ...] | None]:
    """A one-line description of an image input (``PNG, 8-bit RGBA``) and its channel names."""
    image = getattr(loaded, "image", None)
    if image is None:
        return None, None
    depth = f"{image.bits}-bit" + (" float" if image.floating else "")
    text = f"{image.format}, {depth} {image.mode}"
    if image.icc_profile:
        text += ", ICC profile"
    return text, CHANNEL_NAMES.get(image.channels)


def show_outcome(printer: Printer, call: Call, outcome: Outcome) -> None:
    """Print the error, warnings, note or report of one input."""
    from poolcli.render import report

    if outcome.error:
        for warning in outcome.warnings:
            printer.warning(warning)
        printer.error(outcome.error)
        return
    for warning in outcome.warnings:
        printer.warning(warning)
    result = outcome.result
    if call.json:
        return
    if call.explain:
        from poolcli.learn.explain import render_explanation

        # With -o -, standard output carries the .npy bytes.
        console = printer.err if call.output == STDIN else printer.out
        console.print(render_explanation(outcome.loaded.array, result), soft_wrap=True)
    if outcome.written is not None:
        if not call.quiet:
            target = (
                "standard output" if outcome.written == STDIN else display_path(outcome.written)
            )
            first = outcome.steps[0]
            layout = f"layout {first.layout}" + (" (guessed)" if first.layout_guessed else "")
            ops = " then ".join(str(step.reduction) for step in outcome.steps)
            printer.message(
                f"wrote {target}: {ops} of {outcome.name}, "
                f"{_shape(first.input_shape)} {first.input_dtype} → "
                f"{_shape(result.output.shape)} {result.output.dtype}, {layout}"
            )
        return
    source, channels = _image_facts(outcome.loaded)
    input_stats = outcome.input_stats
    for number, step in enumerate(outcome.steps, 1):
        name = outcome.name
        if len(outcome.steps) > 1:
            name = f"{outcome.name} (step {number} of {len(outcome.steps)}: {step.reduction})"
        printer.report(
            report.build_report(
                step,
                name,
                input_stats=input_stats,
                source=source if number == 1 else None,
                layout_reason=report.layout_reason(step.input_shape, step.layout)
                if step.layout_guessed and number == 1
                else None,
                channel_names=channels,
            )
        )
        input_stats = report.array_stats(step.output)


def execute(call: Call, device: str) -> ExitStatus:
    """Process every input, print as it goes, and return the exit status."""
    from poolcli.render import report

    printer = Printer()
    entries = []
    status = ExitStatus.OK
    for path in call.inputs:
        outcome = process_input(path, call, device)
        show_outcome(printer, call, outcome)
        if call.json:
            if outcome.error:
                entries.append(report.json_error(outcome.name, outcome.error, int(outcome.status)))
            else:
                entries.append(
                    report.json_entry(
                        outcome.result,
                        outcome.name,
                        input_stats=outcome.input_stats,
                        output_path=outcome.written,
                    )
                )
        status = max(status, outcome.status, key=_severity)
    if call.json:
        parameters = report.json_parameters(call.spec, call.pool_options(device))
        document = report.json_document(
            call.reduction, parameters, entries, device=device, version=__version__
        )
        typer.echo(report.dumps(document))
    return status


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
        layout=str(call.layout) if call.layout is not None else None,
        device=device,
        jobs=options["jobs"],
        batch_size=options["batch_size"] or batch.DEFAULT_BATCH_SIZE,
        fail_fast=bool(options["fail_fast"]),
        debug=call.debug,
        viz_dir=call.viz,
    )
    if not run.plan.tasks:
        where = ", ".join(display_path(path) for path in call.inputs) or options["files_from"]
        hint = "" if options["recursive"] else " (sub-folders need --recursive)"
        typer.echo(f"poolcli: error: {where}: holds no images or .npy files{hint}.", err=True)
        return ExitStatus.ERROR
    if options["dry_run"]:
        return report_plan(run.plan, json_output=call.json)
    with run:
        return report_batch(
            run, json_output=call.json, jsonl=bool(options["jsonl"]), quiet=call.quiet
        )


def _severity(status: ExitStatus) -> int:
    return {ExitStatus.OK: 0, ExitStatus.ERROR: 1, ExitStatus.USAGE: 2}.get(status, 3)


def usage_error(ctx: typer.Context, error: UsageError) -> Exception:
    """A UsageError as Click's, so that it prints after the usage line and exits 2."""
    return _ClickUsageError(str(error), ctx=ctx)


def run_guarded(ctx: typer.Context, debug: bool, body: Callable[[], int]) -> NoReturn:
    """Run a command's ``body`` and turn what happens into the exit status: the one place.

    A UsageError is a usage message (2); Ctrl-C is 130; a closed standard output ends quietly
    (1); anything unexpected is one line saying it is a bug (1), or its traceback with --debug.
    """
    try:
        try:
            status = body()
        except UsageError as error:
            raise usage_error(ctx, error) from None
    except KeyboardInterrupt as stop:
        typer.echo("poolcli: interrupted.", err=True)
        raise typer.Exit(interrupted_status(stop)) from None
    except BrokenPipeError:
        # The reader of standard output went away (| head): nothing more to say to it.
        _drop_stdout()
        raise typer.Exit(ExitStatus.ERROR) from None
    except (typer.Exit, ClickException):
        raise
    except Exception as error:
        if debug:
            raise
        typer.echo(f"poolcli: error: {internal_error(None, error)}", err=True)
        raise typer.Exit(ExitStatus.ERROR) from None
    raise typer.Exit(int(status))


def run_command(ctx: typer.Context, reduction: Reduction, args: dict[str, Any]) -> None:
    """The body every reduction command shares."""
    args = {k: v for k, v in args.items() if k != "ctx"}

    def body() -> int:
        call = make_call(reduction, args, (ctx.obj or {}).get("then", ()))
        if call.is_batch and call.device in ("auto", "cpu") and call.batch["jobs"] != 1:
            from poolcli import batch

            batch.start_workers_early()  # before this process imports torch itself
        device = resolve_device(call.device)
        return execute_batch(call, device) if call.is_batch else execute(call, device)

    run_guarded(ctx, args.get("debug", False), body)


# --------------------------------------------------------------------------------------------
# Commands


def _version(value: bool) -> None:
    if value:
        typer.echo(f"poolcli {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Pool images and .npy arrays: max, avg, min, sum, lp, median, stochastic, mode.

    Example: poolcli max photo.png -k 2 -o half.png

    Example: poolcli avg x.npy -k 3 -s 1 -p same
    """


#: Options every reduction command takes, in the order --help lists them.
COMMON_OPTIONS = (
    ("kernel", Kernel, None),
    ("stride", Stride, None),
    ("padding", Padding, None),
    ("dilation", Dilation, None),
    ("ceil", Ceil, False),
    ("count_include_pad", CountIncludePad, False),
    ("global_pool", GlobalPool, False),
    ("output_size", OutputSize, None),
    ("layout", LayoutOption, None),
    ("straight_alpha", StraightAlpha, False),
    ("output", Output, None),
    ("json", Json, False),
    ("quiet", Quiet, False),
    ("viz", Viz, None),
    ("explain", ExplainFlag, False),
    ("recursive", Recursive, False),
    ("files_from", FilesFrom, None),
    ("null", Null, False),
    ("include", Include, None),
    ("exclude", Exclude, None),
    ("dry_run", DryRun, False),
    ("format", FormatOption, "same"),
    ("name", NameTemplate, "{stem}{ext}"),
    ("overwrite", Overwrite, False),
    ("png_compression", PngCompression, 6),
    ("jobs", Jobs, None),
    ("batch_size", BatchSize, 16),
    ("fail_fast", FailFast, False),
    ("jsonl", Jsonl, False),
    ("device", Device, "auto"),
    ("dtype", DTypeOption, None),
    ("debug", Debug, False),
)
#: The options a reduction adds (ReductionInfo.options names them), by parameter name.
REDUCTION_OPTIONS = {
    "norm_type": (NormType, 2.0),
    "seed": (Seed, None),
    "expectation": (Expectation, False),
}


def _add_reduction_command(reduction: Reduction) -> None:
    """Register ``poolcli REDUCTION``: the shared options plus the reduction's own."""

    def command(ctx: typer.Context, **args: Any) -> None:
        run_command(ctx, reduction, args)

    info = reduction.info
    options = COMMON_OPTIONS + tuple((n, *REDUCTION_OPTIONS[n]) for n in info.options)
    keyword = inspect.Parameter.POSITIONAL_OR_KEYWORD
    parameters = [
        inspect.Parameter("ctx", keyword, annotation=typer.Context),
        inspect.Parameter("inputs", keyword, annotation=Inputs, default=None),
        *(inspect.Parameter(n, keyword, annotation=a, default=d) for n, a, d in options),
    ]
    # Typer reads the signature and the annotations; one function serves all eight commands.
    command.__signature__ = inspect.Signature(parameters)
    command.__annotations__ = {p.name: p.annotation for p in parameters}
    chain = f"Chain more ops with --then: poolcli {reduction} x.npy -k 2 --then avg -k 2"
    command.__doc__ = "\n\n".join([info.summary, *(f"Example: {e}" for e in info.examples), chain])
    command.__name__ = reduction.value
    app.command(reduction.value)(command)


for _reduction in Reduction:
    _add_reduction_command(_reduction)


learn_cli.register(app)
analysis_cli.register(app)


def main() -> None:
    """Entry point of the ``poolcli`` script and ``python -m poolcli``."""
    stop_on_signals()
    try:
        _app_for(sys.argv[1:])(prog_name="poolcli")
    except KeyboardInterrupt as stop:
        typer.echo("poolcli: interrupted.", err=True)
        sys.exit(interrupted_status(stop))


def _app_for(argv: list[str]) -> typer.Typer:
    """The app, holding only the command that ``argv`` names when it names one.

    Typer builds every command's options before running one; with a single command it builds
    a thirteenth of them, which takes about 0.1 s off every call. Help, errors and behaviour
    are the same.
    """
    name = argv[0] if argv else None
    chosen = [info for info in app.registered_commands if info.name == name]
    if not chosen:
        return app
    single = typer.Typer(**APP_SETTINGS)
    single.registered_callback = app.registered_callback
    single.registered_commands = chosen
    return single
