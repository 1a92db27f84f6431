"""Checking a call: the options of one command -> a :class:`Call`, or a UsageError.

Pure Python (no torch, numpy or Pillow), so ``--help``, ``--version`` and usage errors stay
fast.
"""

import os
import sys
from dataclasses import dataclass, field
from typing import Any

from poolcli.engine.devices import check_device_name
from poolcli.errors import STDIN, PoolError, UsageError
from poolcli.model.batch_flags import BATCH_FLAGS
from poolcli.model.flags import REDUCTION_COMMAND_OPTIONS, defaults
from poolcli.model.layout import Layout
from poolcli.model.options import check_norm_type
from poolcli.model.reductions import Reduction
from poolcli.model.window import WindowSpec


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
    viz_scale: int = 1
    channels: tuple[int, ...] | None = None
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


def _names_folder(path: str) -> bool:
    return path.endswith(("/", os.sep)) or os.path.isdir(path)


def _is_glob(path: str) -> bool:
    """A pattern that matches files (a missing file whose name has [ or * is just missing)."""
    import glob

    return any(c in path for c in "*?[") and bool(glob.glob(path, recursive=True))


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


#: The options that only batch runs read, kept together in :attr:`Call.batch`.
BATCH_OPTIONS = tuple(flag.name for flag in BATCH_FLAGS)


def make_call(reduction: Reduction, args: dict[str, Any], then=()) -> Call:
    """Check the options of one command and build the :class:`Call`; raises UsageError.

    ``args`` holds the command's option values by name (a command that lacks a reduction
    command's option gets its default); ``then`` the later steps of a chain
    (``--then avg -k 2``), already parsed.
    """
    args = {**defaults(REDUCTION_COMMAND_OPTIONS), "norm_type": 2.0, **args}
    if "input_path" in args:
        args["inputs"] = [args["input_path"]]
    inputs = _checked_inputs(args)
    norm_type = args["norm_type"]
    check_norm_type(norm_type)
    if args.get("explain") and args["json"]:
        raise UsageError("--explain prints text; it cannot go with --json.", option="--explain")
    dtype = args["dtype"]
    call = Call(
        reduction=reduction,
        inputs=inputs,
        spec=_window(args),
        layout=Layout.parse(args["layout"]) if args["layout"] is not None else None,
        output=args["output"],
        json=args["json"],
        quiet=args["quiet"],
        debug=args["debug"],
        device=check_device_name(args["device"]),
        norm_type=norm_type,
        seed=args.get("seed"),
        expectation=args.get("expectation", False),
        dtype=dtype.value if dtype is not None else None,
        straight_alpha=args["straight_alpha"],
        viz=args.get("viz"),
        viz_scale=args.get("viz_scale") or 1,
        channels=_channels(args.get("viz_channels")),
        explain=bool(args.get("explain")),
        then=tuple(then),
        batch={key: args.get(key) for key in BATCH_OPTIONS},
    )
    _check_files(call)
    return call


def _channels(text: str | None) -> tuple[int, ...] | None:
    from poolcli.render.viz_files import parse_channels

    return parse_channels(text) if text is not None else None


def _checked_inputs(args: dict[str, Any]) -> tuple[str, ...]:
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
    return inputs


def _window(args: dict[str, Any]) -> WindowSpec:
    return WindowSpec.make(
        kernel_size=args["kernel"],
        stride=args["stride"],
        padding=args["padding"],
        dilation=args["dilation"],
        ceil_mode=args["ceil"],
        count_include_pad=args["count_include_pad"],
        global_pool=args["global_pool"],
        output_size=args["output_size"],
    )


def _check_files(call: Call) -> None:
    """The files a call writes: -o and --viz of the right kind, never an input."""
    if call.is_batch:
        if call.output == STDIN:
            raise UsageError(
                "-o - writes one array to standard output; with several inputs give -o DIR/.",
                option="--output",
            )
        if call.viz is not None and not _names_folder(call.viz):
            raise UsageError(
                f"--viz {call.viz}: with several inputs give a folder (--viz DIR/), one "
                "picture per input.",
                option="--viz",
            )
        return
    _check_output(call.output, call.inputs, call.json)
    if call.viz is not None:
        from poolcli.render.viz_files import check_viz_path

        check_viz_path(call.viz)
    check_writes(call.inputs, {"-o": call.output, "--viz": call.viz})
