"""Every command-line option, declared once: its flags, value, default, help and panel.

The command line builds each command's options from these declarations (``poolcli.cli``
turns a :class:`Flag` into a Typer option), and a ``--then`` step reads its words with the
same declarations (:data:`STEP_FLAGS`), so an option is spelled, typed and explained in one
place. Adding an option is one :class:`Flag` here; a step takes it when it names the
:func:`~poolcli.model.steps.make_step` keyword it sets (``step_key``).

Pure Python: no Typer, numpy or torch.
"""

from __future__ import annotations

from typing import Any

from poolcli.model.batch_flags import BATCH_FLAGS
from poolcli.model.block_flags import BLOCK_FLAGS, PYRAMID_FLAGS
from poolcli.model.flag import DEVICE, INPUT, LEARN, OUTPUT, REDUCTION, WINDOW, DType, Flag
from poolcli.model.reductions import Reduction
from poolcli.model.variant_flags import DATA_FLAGS, VARIANT_FLAGS


def _flags(*declared: Flag) -> dict[str, Flag]:
    return {flag.name: flag for flag in declared}


FLAGS: dict[str, Flag] = _flags(
    # Inputs
    Flag(
        "inputs",
        (),
        list[str] | None,
        None,
        "Image or .npy files, folders or glob patterns; - reads one from standard input.",
        metavar="INPUT...",
        argument=True,
    ),
    Flag(
        "input_path",
        (),
        str | None,
        None,
        "Image or .npy file; - reads one from standard input.",
        metavar="INPUT",
        argument=True,
    ),
    # Window
    Flag(
        "kernel",
        ("-k", "--kernel"),
        str | None,
        None,
        "Window size: 3, or one per spatial axis: 3x2 or 3,2.",
        WINDOW,
        "K",
        step_key="kernel_size",
    ),
    Flag(
        "stride",
        ("-s", "--stride"),
        str | None,
        None,
        "Step between windows, same form as --kernel. Default: the kernel.",
        WINDOW,
        "S",
        step_key="stride",
    ),
    Flag(
        "padding",
        ("-p", "--padding"),
        str | None,
        None,
        "Padding per side: 1, 1x2, begin:end per axis (0:1x1:2), same or valid. Default: 0.",
        WINDOW,
        "P",
        step_key="padding",
    ),
    Flag(
        "dilation",
        ("-d", "--dilation"),
        str | None,
        None,
        "Spacing between the cells of a window, same form as --kernel. Default: 1.",
        WINDOW,
        "D",
        step_key="dilation",
    ),
    Flag(
        "ceil",
        ("--ceil",),
        bool,
        False,
        "Round the number of windows up (torch's ceil_mode).",
        WINDOW,
        step_key="ceil_mode",
    ),
    Flag(
        "count_include_pad",
        ("--count-include-pad",),
        bool,
        False,
        "avg: count padded cells in the divisor. Default: no.",
        WINDOW,
        negative="--no-count-include-pad",
        step_key="count_include_pad",
        applies_if="divides_by_count",
        why_not="only avg divides by a count of cells",
    ),
    Flag(
        "global_pool",
        ("--global",),
        bool,
        False,
        "One window over all spatial axes: every spatial size becomes 1.",
        WINDOW,
        step_key="global_pool",
    ),
    Flag(
        "output_size",
        ("--output-size",),
        str | None,
        None,
        "Adaptive pooling to this output size: 7 or 7x5 (torch's bin rule).",
        WINDOW,
        "O",
        step_key="output_size",
    ),
    # What a reduction takes beyond the window
    Flag(
        "norm_type",
        ("--norm-type",),
        float | None,
        None,
        "lp: the p of (Σ|x|^p)^(1/p), default 2; gem: the p of (mean x^p)^(1/p), default 3. "
        "A positive number.",
        REDUCTION,
        "P",
        step_key="norm_type",
    ),
    Flag(
        "seed",
        ("--seed",),
        int | None,
        None,
        "stochastic, --fractional-windows: random seed; the same seed gives the same samples on "
        "every device.",
        REDUCTION,
        "N",
        step_key="seed",
    ),
    Flag(
        "expectation",
        ("--expectation",),
        bool,
        False,
        "stochastic: give the expected value Σx²/Σx instead of sampling (inference).",
        REDUCTION,
        step_key="expectation",
    ),
    Flag(
        "op",
        ("--op",),
        Reduction,
        Reduction.MAX,
        "The reduction: max, avg, min, sum, lp, median, stochastic, mode or gem. Default: max.",
        LEARN,
        "OP",
    ),
    # Input
    Flag(
        "layout",
        ("--layout",),
        str | None,
        None,
        "Axes of a .npy input from N C D H W: HWC, NCHW, NHWC, NCDHW... Default: guessed "
        "from the shape, and said.",
        INPUT,
        "L",
    ),
    Flag(
        "straight_alpha",
        ("--straight-alpha",),
        bool,
        False,
        "RGBA: pool alpha like any channel, not weighting colour.",
        INPUT,
        step_key="straight_alpha",
    ),
    # Output
    Flag(
        "output",
        ("-o", "--output"),
        str | None,
        None,
        "FILE.npy (exact), an image (FILE.png, .tif, .jpg...) or - (standard output). "
        "Without -o: a report.",
        OUTPUT,
        "FILE",
    ),
    Flag(
        "json",
        ("--json",),
        bool,
        False,
        "Print one JSON document instead of the report.",
        OUTPUT,
    ),
    Flag("quiet", ("-q", "--quiet"), bool, False, "Print nothing but warnings and errors.", OUTPUT),
    Flag(
        "quality",
        ("--quality",),
        int | None,
        None,
        "JPEG, WebP quality. Default: JPEG 95, WebP lossless.",
        OUTPUT,
        "1-100",
        minimum=1,
        maximum=100,
        formats=("jpeg", "webp"),
    ),
    Flag(
        "normalize",
        ("--normalize",),
        bool,
        False,
        "Image outputs: stretch the result's min..max over 0..255.",
        OUTPUT,
    ),
    Flag(
        "viz",
        ("--viz",),
        str | None,
        None,
        "Also draw input and output: .png, .svg, .gif (windows in turn), .html (a page).",
        OUTPUT,
        "FILE.png",
    ),
    Flag(
        "viz_scale",
        ("--viz-scale",),
        int,
        1,
        "Draw --viz .png/.gif N times as large.",
        OUTPUT,
        "N",
        minimum=1,
    ),
    Flag(
        "viz_channels",
        ("--channels",),
        str | None,
        None,
        "--viz channels: 0,2,5 or 0-7. Default: 0-3.",
        OUTPUT,
        "LIST",
    ),
    Flag(
        "explain",
        ("--explain",),
        bool,
        False,
        "Print the size arithmetic and every window first.",
        OUTPUT,
    ),
    # Device
    Flag(
        "device",
        ("--device",),
        str,
        "auto",
        "cpu, cuda, mps or auto (a GPU when torch sees one). A missing device is an error. "
        "Default: auto.",
        DEVICE,
        "DEV",
    ),
    Flag(
        "dtype",
        ("--dtype",),
        DType | None,
        None,
        "Precision of means and sums: float32 (default), float64, float16, bfloat16; avg also "
        "takes the input's integer type (uint8...), rounding half to even.",
        DEVICE,
        "TYPE",
        step_key="dtype",
        applies_if="computes_in_dtype",
        why_not="it keeps the input's dtype, since each result is one of the input's values "
        "(torch.amax takes no dtype either). Cast the output instead",
    ),
    Flag("debug", ("--debug",), bool, False, "Show the Python traceback of unexpected errors."),
    *BATCH_FLAGS,
    *BLOCK_FLAGS,
    *PYRAMID_FLAGS,
    # The learning commands' own
    Flag(
        "size",
        (),
        str | None,
        None,
        "Input size per spatial axis: 100, 28x28 or 16x28x28.",
        metavar="SIZE",
        argument=True,
    ),
    Flag(
        "steps",
        (),
        list[str] | None,
        None,
        "Layers, in order (syntax above).",
        metavar="STEP...",
        argument=True,
    ),
    Flag(
        "channels",
        ("-c", "--channels"),
        int | None,
        None,
        "Channels of the input, followed through conv c= to the flattened size.",
        OUTPUT,
        "C",
        minimum=1,
    ),
    Flag(
        "windows",
        ("--windows",),
        int,
        32,
        "List at most N windows per channel / batch item. Default: 32.",
        LEARN,
        "N",
        minimum=1,
    ),
    Flag(
        "slices",
        ("--slices",),
        int,
        3,
        "Explain at most N channels / batch items (one index of each). Default: 3.",
        LEARN,
        "N",
        minimum=1,
    ),
    Flag(
        "ops",
        ("--ops",),
        str | None,
        None,
        "Reductions, comma-separated (max,avg,min,sum,lp,median,stochastic,mode,gem), or all. "
        "Default: max,avg,min,median,lp.",
        LEARN,
        "OP,OP,...",
    ),
    Flag(
        "upstream",
        ("--upstream",),
        str | None,
        None,
        "dL/d(output): an array with the pooled output's shape. Default: ones.",
        LEARN,
        "FILE.npy",
    ),
    Flag(
        "unpool",
        ("--unpool",),
        bool,
        False,
        "Put each output value back on its winning cell instead (max, min, median, mode, "
        "sampled stochastic): what pooling kept.",
        LEARN,
    ),
    Flag(
        "shifts",
        ("--shifts",),
        str,
        "1,2,3",
        "Shifts in cells, each tried along every spatial axis. Default: 1,2,3.",
        LEARN,
        "S,S,...",
    ),
    Flag(
        "noise",
        ("--noise",),
        float,
        0.01,
        "Noise sigma as a fraction of the input's range; 0 leaves noise out. Default: 0.01.",
        LEARN,
        "F",
    ),
    *VARIANT_FLAGS,
    *DATA_FLAGS,
)

#: The options every reduction command takes, in the order --help lists them (the
#: reduction's own options, ReductionInfo.options, come after the window).
WINDOW_OPTIONS = (
    "kernel",
    "stride",
    "padding",
    "dilation",
    "ceil",
    "count_include_pad",
    "global_pool",
    "output_size",
)
#: The windowings and options of indices, any axis and the pooling variants.
VARIANT_OPTIONS = (
    "pool_axes",
    "fractional",
    "output_ratio",
    "seed",
    "spp",
    "indices",
    "index_style",
)
REDUCTION_COMMAND_OPTIONS = (
    "inputs",
    *WINDOW_OPTIONS,
    *VARIANT_OPTIONS,
    "layout",
    "straight_alpha",
    "output",
    "json",
    "quiet",
    "quality",
    "normalize",
    "viz",
    "viz_scale",
    "viz_channels",
    "explain",
    *(flag.name for flag in BATCH_FLAGS),
    *(flag.name for flag in BLOCK_FLAGS),
    "device",
    "dtype",
    "debug",
)

#: The data-aware options (missing data, linear light), every reduction command's.
DATA_OPTIONS = ("nan", "nodata", "mask", "valid_count", "linear_light", "srgb_max")
REDUCTION_COMMAND_OPTIONS = (*REDUCTION_COMMAND_OPTIONS, *DATA_OPTIONS)
#: Spelling -> option, for the options a ``--then`` step takes.
STEP_FLAGS: dict[str, Flag] = {
    spelling: flag
    for flag in FLAGS.values()
    if flag.step_key is not None
    for spelling in (*flag.flags, *((flag.negative,) if flag.negative else ()))
}


def defaults(names) -> dict[str, Any]:
    """The default value of each named option (what a command gets when it is not given)."""
    return {name: FLAGS[name].default for name in names}
