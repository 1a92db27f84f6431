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
from poolcli.model.flag import DEVICE, INPUT, LEARN, OUTPUT, REDUCTION, WINDOW, DType, Flag
from poolcli.model.reductions import Reduction


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
        str,
        ...,
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
        "Round the number of windows up (torch's ceil_mode); not with same or valid.",
        WINDOW,
        step_key="ceil_mode",
    ),
    Flag(
        "count_include_pad",
        ("--count-include-pad",),
        bool,
        False,
        "Count padded cells in the divisor of a mean. Default: no (as ONNX, TensorFlow).",
        WINDOW,
        negative="--no-count-include-pad",
        step_key="count_include_pad",
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
        float,
        2.0,
        "lp: the p of (Σ|x|^p)^(1/p); a positive number. Default: 2.",
        REDUCTION,
        "P",
        step_key="norm_type",
    ),
    Flag(
        "seed",
        ("--seed",),
        int | None,
        None,
        "stochastic: random seed; the same seed gives the same samples on every device.",
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
        "The reduction: max, avg, min, sum, lp, median, stochastic or mode. Default: max.",
        LEARN,
        "OP",
    ),
    # Input
    Flag(
        "layout",
        ("--layout",),
        str | None,
        None,
        "Axes of a .npy input, from N C D H W: HW, CHW, HWC, NCHW, NHWC, NCW, NCDHW... "
        "Default: from the shape (HW, HWC or CHW, NCHW, NCDHW), printed in the report.",
        INPUT,
        "L",
    ),
    Flag(
        "straight_alpha",
        ("--straight-alpha",),
        bool,
        False,
        "RGBA images: pool alpha like any channel instead of weighting colour by it "
        "(matters for avg, sum, lp and stochastic).",
        INPUT,
        step_key="straight_alpha",
    ),
    # Output
    Flag(
        "output",
        ("-o", "--output"),
        str | None,
        None,
        "Write the result: FILE.npy (exact), FILE.png or another image suffix (the input's "
        "bit depth), or - for .npy bytes on standard output. Without -o: print a report.",
        OUTPUT,
        "FILE",
    ),
    Flag(
        "json",
        ("--json",),
        bool,
        False,
        "Print one JSON document (parameters, shapes, statistics, small outputs' values) "
        "instead of the report.",
        OUTPUT,
    ),
    Flag("quiet", ("-q", "--quiet"), bool, False, "Print nothing but warnings and errors.", OUTPUT),
    Flag(
        "viz",
        ("--viz",),
        str | None,
        None,
        "Also draw the input and output side by side into a picture: .png, .svg (vectors), "
        ".gif (the window sliding, one frame per output cell) or .html (a page to explore "
        "the windows, offline).",
        OUTPUT,
        "FILE.png",
    ),
    Flag(
        "viz_scale",
        ("--viz-scale",),
        int,
        1,
        "Draw a --viz .png or .gif N times as large (sharp text and lines). Default: 1.",
        OUTPUT,
        "N",
        minimum=1,
    ),
    Flag(
        "viz_channels",
        ("--channels",),
        str | None,
        None,
        "The channels a --viz picture shows, e.g. 0,2,5 or 0-7. Default: the first 4.",
        OUTPUT,
        "LIST",
    ),
    Flag(
        "explain",
        ("--explain",),
        bool,
        False,
        "Print the size arithmetic and every window (cells and result) before the result.",
        OUTPUT,
    ),
    # Device
    Flag(
        "device",
        ("--device",),
        str,
        "auto",
        "Where to compute. auto: a GPU when torch sees one, else the CPU. A device that is "
        "not there is an error. Default: auto.",
        DEVICE,
        "cpu|cuda|mps|auto",
    ),
    Flag(
        "dtype",
        ("--dtype",),
        DType | None,
        None,
        "Compute precision of avg, lp and stochastic; integer inputs come out in it. "
        "Default: float32 (float64 inputs stay float64). Other reductions keep the input dtype.",
        DEVICE,
        step_key="dtype",
    ),
    Flag("debug", ("--debug",), bool, False, "Show the Python traceback of unexpected errors."),
    *BATCH_FLAGS,
    # The learning commands' own
    Flag(
        "size",
        (),
        str,
        ...,
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
        "Reductions, comma-separated (max,avg,min,sum,lp,median,stochastic,mode), or all. "
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
REDUCTION_COMMAND_OPTIONS = (
    "inputs",
    *WINDOW_OPTIONS,
    "layout",
    "straight_alpha",
    "output",
    "json",
    "quiet",
    "viz",
    "viz_scale",
    "viz_channels",
    "explain",
    *(flag.name for flag in BATCH_FLAGS),
    "device",
    "dtype",
    "debug",
)

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
