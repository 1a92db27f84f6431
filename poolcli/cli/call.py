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
from poolcli.model.applies import check_applies, check_format_options, check_single
from poolcli.model.batch_flags import BATCH_FLAGS
from poolcli.model.flags import DATA_OPTIONS, FLAGS, REDUCTION_COMMAND_OPTIONS, defaults
from poolcli.model.layout import Layout
from poolcli.model.options import check_norm_type
from poolcli.model.reductions import Reduction, default_norm_type
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
    quality: int | None = None
    normalize: bool = False
    then: tuple = ()
    batch: dict[str, Any] = field(default_factory=dict)
    pool_axes: str | None = None
    blur: int | None = None
    indices: str | None = None
    index_style: str = "torch"
    #: The data-aware options (--nan, --nodata, --mask, --valid-count, --linear-light,
    #: --srgb-max) by PoolOptions field name.
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def stdout_format(self) -> str:
        """What ``-o -`` writes: ``npy`` (the default), ``png`` or ``tiff`` (``--format``)."""
        chosen = self.batch.get("format") or "same"
        return "npy" if chosen == "same" else chosen

    def steps(self, device: str) -> list:
        """The chain to apply: this command's op, then every ``--then`` step."""
        from poolcli.model.steps import Step

        return [Step(self.reduction, self.spec, self.pool_options(device)), *self.then]

    @property
    def is_batch(self) -> bool:
        """Folders, globs, --files-from, -o DIR/, --jsonl or --dry-run make a batch run."""
        return names_batch(self.inputs, self.output, self.batch)

    def pool_options(self, device: str):
        from poolcli.model.options import PoolOptions

        return PoolOptions(
            norm_type=self.norm_type,
            seed=self.seed,
            expectation=self.expectation,
            device=device,
            dtype=self.dtype,
            straight_alpha=self.straight_alpha,
            **self.data,
            pool_axes=self.pool_axes,
            blur=self.blur,
        )


def names_batch(inputs, output: str | None, batch: dict[str, Any]) -> bool:
    """Whether a call is a batch run: folders (not Zarr stores), globs, --files-from,
    -o DIR/, --jsonl or --dry-run (``batch``: the batch options by name)."""
    from poolcli.io.formats import is_zarr_store

    if batch.get("files_from") is not None or batch.get("jsonl") or batch.get("dry_run"):
        return True
    if output is not None and output != STDIN and _names_folder(output):
        return True
    return any(
        path != STDIN
        and (
            (os.path.isdir(path) and not is_zarr_store(path))
            or (_is_glob(path) and not os.path.exists(path))
        )
        for path in inputs
    )


def _names_folder(path: str) -> bool:
    from poolcli.io.formats import is_zarr_store

    return path.endswith(("/", os.sep)) or (os.path.isdir(path) and not is_zarr_store(path))


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
    args = {**defaults(REDUCTION_COMMAND_OPTIONS), "norm_type": None, **args}
    if "input_path" in args:
        if args["input_path"] is None:  # optional for Typer, so that help shows no {INPUT}
            raise UsageError(
                "Give an INPUT: an image or .npy file, or - for standard input.", option="INPUT"
            )
        args["inputs"] = [args["input_path"]]
    inputs = _checked_inputs(args)
    norm_type = default_norm_type(reduction, args["norm_type"])
    check_norm_type(norm_type)
    if args.get("explain") and args["json"]:
        raise UsageError("--explain prints text; it cannot go with --json.", option="--explain")
    dtype = args["dtype"]
    spec = _window(args)
    call = Call(
        reduction=reduction,
        inputs=inputs,
        spec=spec,
        layout=_layout(args),
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
        quality=args.get("quality"),
        normalize=bool(args.get("normalize")),
        then=tuple(then),
        batch={key: args.get(key) for key in BATCH_OPTIONS},
        data=data_options(reduction, args, then),
        pool_axes=args.get("pool_axes"),
        blur=args.get("blur"),
        indices=args.get("indices"),
        index_style=str(getattr(args.get("index_style"), "value", args.get("index_style"))),
    )
    _check_variants(call)
    _check_files(call)
    check_applies(reduction, args)
    _check_output_options(call, args)
    return call


def _channels(text: str | None) -> tuple[int, ...] | None:
    from poolcli.render.viz_files import parse_channels

    return parse_channels(text) if text is not None else None


def data_options(reduction: Reduction, args: dict[str, Any], then=()) -> dict[str, Any]:
    """The data-aware options of a call, checked, by :class:`PoolOptions` field name."""
    from poolcli.model.missing import check_data_options
    from poolcli.model.options import PoolOptions

    data = {name: args.get(name, FLAGS[name].default) for name in DATA_OPTIONS}
    data["nan"] = str(data["nan"])
    check_data_options(reduction, PoolOptions(**data))
    mask, counts = data["mask"], data["valid_count"]
    if mask is not None and mask != STDIN and not os.path.isfile(mask):
        raise UsageError(f"--mask {mask}: there is no such file.", option="--mask")
    if counts is not None and then:
        raise UsageError(
            f"--valid-count {counts} counts the cells of one op; it does not go with --then.",
            option="--valid-count",
        )
    if counts is not None and len(tuple(args.get("inputs") or ())) != 1:
        raise UsageError(f"--valid-count {counts} takes one input file.", option="--valid-count")
    return data


#: What ``--format`` takes, and the formats ``-o -`` can write.
FORMATS = ("png", "tiff", "npy", "same")
STDOUT_FORMATS = ("npy", "png", "tiff")


def _check_output_options(call: Call, args: dict[str, Any]) -> None:
    """Refuse the output options nothing would read: batch-only options with one result,
    ``--format`` against the suffix of ``-o``, a format's own options for other formats."""
    chosen = args.get("format") or "same"
    if chosen not in FORMATS:
        raise UsageError(
            f"--format {chosen} is not one of {', '.join(FORMATS)}.", option="--format"
        )
    if call.is_batch:
        check_format_options(args, None if chosen == "same" else (chosen,))
        return
    output = call.output
    if output is None:
        check_single(args, "the report (no -o)")
        if chosen != "same":
            raise UsageError(
                f"--format {chosen} chooses the format of written files, but without -o nothing "
                "is written. Add -o FILE, -o - or -o DIR/.",
                option="--format",
            )
        check_format_options(args, ())
        return
    if output == STDIN:
        check_single(args, "standard output")
        check_format_options(args, (call.stdout_format,))
        return
    check_single(args, f"-o {output}")
    from poolcli.io.formats import output_format

    written = output_format(output).lower()
    if chosen != "same" and chosen != written:
        raise UsageError(
            f"--format {chosen} disagrees with -o {output}, which names a .{written} file. "
            f"Give the file a .{chosen} suffix, or leave out --format.",
            option="--format",
        )
    check_format_options(args, (written,))


def _layout(args: dict[str, Any]) -> Layout | None:
    """``--layout``: N, C, D, H, W letters, or any letters with ``--pool-axes``."""
    if args["layout"] is None:
        return None
    from poolcli.model.axes import AxesLayout, parse_letters, parse_pool_axes
    from poolcli.model.layout import LETTERS

    letters = parse_letters(args["layout"])
    if args.get("pool_axes") is None and set(letters) <= set(LETTERS):
        return Layout.parse(args["layout"])
    pooled = args.get("pool_axes") or "".join(c for c in letters if c in "DHW")
    if not pooled:
        raise UsageError(
            f"--layout {args['layout']} has no D, H or W axis: say which axes to pool with "
            "--pool-axes.",
            option="--pool-axes",
        )
    return AxesLayout(letters, parse_pool_axes(pooled, letters))


def _check_variants(call: Call) -> None:
    """``--pool-axes``, ``--blur``, ``--indices``: the checks that need no input."""
    from poolcli.model.steps import check_variant_options

    options = call.pool_options("cpu")
    check_variant_options(call.reduction, call.spec, options)
    picture = os.path.splitext(call.viz or "")[1].lower()
    if call.spec.mode == "spp" and picture in (".gif", ".html", ".htm"):
        raise UsageError(
            f"--viz {call.viz}: --spp joins several poolings; a {picture} follows one. Draw "
            "the levels as .png or .svg, or one level with --output-size N.",
            option="--viz",
        )
    if call.indices is None:
        return
    steps = call.steps("cpu")
    last = steps[-1]
    if not last.reduction.info.winner or last.options.blur is not None or last.spec.spp:
        raise UsageError(
            f"--indices needs a last step whose result is one input cell (max, min, median, "
            f"mode, seeded stochastic), not {last.label}.",
            option="--indices",
        )
    if call.is_batch:
        if not _names_folder(call.indices):
            raise UsageError(
                f"--indices {call.indices}: with several inputs give a folder (--indices DIR/).",
                option="--indices",
            )
    elif not call.indices.endswith(".npy"):
        raise UsageError(
            f"--indices {call.indices}: indices are written as .npy; name the file FILE.npy.",
            option="--indices",
        )


def _check_viz_options(call: Call) -> None:
    """Refuse the options of --viz pictures without --viz."""
    # Without a folder run, --viz-format is refused as every batch option is.
    viz_format = call.batch.get("viz_format") if call.is_batch else None
    given = (
        [f"--viz-scale {call.viz_scale}"] * (call.viz_scale != 1)
        + ["--channels"] * (call.channels is not None)
        + [f"--viz-format {viz_format}"] * (viz_format is not None)
    )
    if call.viz is None and given:
        raise UsageError(
            f"{given[0]} is for the --viz picture, but nothing is drawn: add --viz FILE.png "
            "(--viz DIR/ for a batch).",
            option=given[0].split(" ")[0],
        )


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
    extra = {key: args.get(key) for key in ("fractional", "output_ratio", "spp")}
    return WindowSpec.make(
        **extra,
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
    _check_viz_options(call)
    if call.is_batch:
        if call.data.get("valid_count") is not None:
            raise UsageError(
                "--valid-count writes the counts of one input; give one file, not a batch.",
                option="--valid-count",
            )
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
    counts = call.data.get("valid_count")
    writes = {"-o": call.output, "--viz": call.viz, "--valid-count": counts}
    check_writes(call.inputs, {**writes, "--indices": call.indices})
