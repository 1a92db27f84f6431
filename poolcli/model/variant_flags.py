"""The options of data-aware pooling and of the pooling variants, declared as the rest of
:mod:`poolcli.model.flags` (which adds them to its table): missing data and linear light;
indices, any axis, BlurPool, fractional windows and spatial pyramid pooling."""

from __future__ import annotations

from poolcli.model.flag import OUTPUT, REDUCTION, WINDOW, Flag, IndexStyle
from poolcli.model.options import NanRule

DATA = "Missing data"

VARIANT_FLAGS = (
    Flag(
        "indices",
        ("--indices",),
        str | None,
        None,
        "Also write where each winner lies: FILE.npy (DIR/ for a batch).",
        OUTPUT,
        "FILE.npy",
    ),
    Flag(
        "index_style",
        ("--index-style",),
        IndexStyle,
        IndexStyle.torch,
        "How --indices counts: torch (per plane), onnx, onnx-col. Default: torch.",
        OUTPUT,
        "STYLE",
    ),
    Flag(
        "pool_axes",
        ("--pool-axes",),
        str | None,
        None,
        "Pool these layout letters, not D, H, W (T in TCHW; C: maxout).",
        WINDOW,
        "LETTERS",
        step_key="pool_axes",
    ),
    Flag(
        "blur",
        ("--blur",),
        int | None,
        None,
        "max: BlurPool, a binomial blur of 3 or 5 taps after a stride-1 max.",
        REDUCTION,
        "3|5",
        step_key="blur",
    ),
    Flag(
        "fractional",
        ("--fractional-windows",),
        bool,
        False,
        "Fractional windows (Graham) to --output-size or --output-ratio.",
        WINDOW,
        step_key="fractional",
    ),
    Flag(
        "output_ratio",
        ("--output-ratio",),
        str | None,
        None,
        "--fractional-windows: the output size as a fraction: 0.5 or 0.7x0.5.",
        WINDOW,
        "R",
        step_key="output_ratio",
    ),
    Flag(
        "spp",
        ("--spp",),
        str | None,
        None,
        "Spatial pyramid pooling: adaptive pools of sizes 1,2,4 in one vector.",
        WINDOW,
        "N,N,...",
        step_key="spp",
    ),
)

DATA_FLAGS = (
    Flag(
        "nan",
        ("--nan",),
        NanRule,
        NanRule.PROPAGATE,
        "omit: leave NaN cells out, as padding is. Default: propagate (as torch).",
        DATA,
        "RULE",
        step_key="nan",
    ),
    Flag(
        "nodata",
        ("--nodata",),
        float | None,
        None,
        "Leave cells equal to V out; all-V windows give V.",
        DATA,
        "V",
        step_key="nodata",
    ),
    Flag(
        "mask",
        ("--mask",),
        str | None,
        None,
        "Leave out the cells where FILE (.npy or image) is 0.",
        DATA,
        "FILE",
    ),
    Flag(
        "valid_count",
        ("--valid-count",),
        str | None,
        None,
        "Also write how many cells each output cell used.",
        DATA,
        "FILE.npy",
    ),
    Flag(
        "linear_light",
        ("--linear-light",),
        bool,
        False,
        "avg, gem, stochastic: average sRGB in linear light.",
        DATA,
        step_key="linear_light",
    ),
    Flag(
        "srgb_max",
        ("--srgb-max",),
        float | None,
        None,
        "sRGB white for --linear-light. Default: bit depth.",
        DATA,
        "MAX",
        step_key="srgb_max",
    ),
)
