"""Tests for poolcli.learn.shapes and the ``shape`` command: sizes against the real engine and
torch."""

import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from poolcli.engine.core import pool
from poolcli.errors import UsageError
from poolcli.learn import shapes

ROOT = Path(__file__).resolve().parents[2]
LAYOUTS = {1: "W", 2: "HW", 3: "DHW"}


def invoke(*args: str, width: int = 120):
    from poolcli.cli import app

    return CliRunner().invoke(app, list(args), env={"COLUMNS": str(width)})


def plain(text: str) -> str:
    """The error line of a usage error, without its hint."""
    (line,) = [line for line in text.splitlines() if line.startswith("poolcli: error: ")]
    return line


def sizes(size, *steps, channels=None):
    results = shapes.stack(size, [shapes.parse_layer(s) for s in steps], channels)
    return [r.output_size for r in results]


# --------------------------------------------------------------------------------------
# Golden cases


def test_lenet_stack_from_the_seeds():
    # 000_*.txt: Conv2d(1, 6, 5) -> pool 2 -> Conv2d(6, 16, 5) -> pool 2 -> Linear(16 * 4 * 4).
    results = shapes.stack(
        (28, 28),
        [shapes.parse_layer(s) for s in ("conv:k=5,c=6", "max:k=2,s=2", "conv:k=5,c=16", "avg:2")],
        channels=1,
    )
    assert [r.input_size for r in results] == [(28, 28), (24, 24), (12, 12), (8, 8)]
    assert [r.output_size for r in results] == [(24, 24), (12, 12), (8, 8), (4, 4)]
    assert [r.channels_out for r in results] == [6, 6, 16, 16]
    assert shapes.flat_size(results[-1].output_size, results[-1].channels_out) == 16 * 4 * 4
    assert results[0].formulas == (
        "H: floor((28 + 0 + 0 − 5) / 1) + 1 = 24",
        "W: floor((28 + 0 + 0 − 5) / 1) + 1 = 24",
    )
    assert results[1].formulas[0] == "H: floor((24 + 0 + 0 − 2) / 2) + 1 = 12"
    assert [r.kind for r in results] == ["conv", "pool", "conv", "pool"]


def test_lenet_matches_torch_modules():
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 6, 5),
        torch.nn.MaxPool2d(2, 2),
        torch.nn.Conv2d(6, 16, 5),
        torch.nn.AvgPool2d(2, 2),
    )
    shapes_seen = []
    x = torch.zeros(1, 1, 28, 28)
    for layer in net:
        x = layer(x)
        shapes_seen.append(tuple(x.shape[2:]))
    assert shapes_seen == sizes((28, 28), "conv:5", "pool:2", "conv:5", "pool:2")


@pytest.mark.parametrize(
    ("size", "step", "expected"),
    [
        ((5,), "pool:k=2,ceil", (3,)),  # the last window hangs over the end
        ((5,), "pool:k=2", (2,)),
        ((6,), "pool:k=3,s=2,p=1,ceil", (4,)),  # spec.output_size's doctest
        ((5,), "pool:k=2,s=2,p=1,ceil", (3,)),  # torch drops a 4th window starting in padding
        ((7, 7), "pool:k=3,s=2,p=same", (4, 4)),  # same: ceil(7 / 2)
        ((28, 28), "pool:k=2,p=same", (14, 14)),
        ((5, 6), "pool:k=3,s=1,p=same,d=2", (5, 6)),
        ((5,), "pool:k=2,p=valid", (2,)),
        ((10,), "pool:k=3,s=1,d=3", (4,)),  # effective kernel 7
        ((5, 7), "adaptive:o=2x3", (2, 3)),
        ((5, 7, 9), "global", (1, 1, 1)),
        ((8, 8), "pool:k=3x2,s=1,p=0:1x1:0", (7, 8)),
        ((7,), "conv:k=3,p=same,s=2", (4,)),  # TF SAME for a strided conv
    ],
)
def test_known_sizes(size, step, expected):
    assert sizes(size, step) == [expected]


def test_ceil_step_reports_the_dropped_window():
    (result,) = shapes.stack((5,), [shapes.parse_layer("pool:k=2,s=2,p=1,ceil")])
    assert result.axes[0].dropped_by_ceil == 1
    assert "dropped 1 window" in result.params
    assert result.formulas == ("W: ceil((5 + 1 + 1 − 2) / 2) + 1 − 1 = 3",)


def test_adaptive_formula_lists_the_bins():
    (result,) = shapes.stack((5,), [shapes.parse_layer("adaptive:3")])
    assert result.formulas == ("W: adaptive: 5 cells into 3 bins: [0,2) [1,4) [3,5)",)


def test_global_formula():
    (result,) = shapes.stack((5, 7), [shapes.parse_layer("global")])
    assert result.formulas == ("H: global: 5 → 1", "W: global: 7 → 1")


def test_step_from_window_options():
    from poolcli.model.window import WindowSpec

    spec = WindowSpec.make(kernel_size="3", stride=2, padding="0:1", ceil_mode=True)
    step = shapes.Layer.from_spec(spec)
    assert step.text == "-k 3 -s 2 -p 0:1 --ceil"
    (result,) = shapes.stack((7,), [step])
    assert result.output_size == (4,)


# --------------------------------------------------------------------------------------
# Against the engine and torch, over random parameters

AXIS = st.integers(1, 3)


@st.composite
def pool_case(draw):
    ndim = draw(AXIS)
    size = tuple(draw(st.integers(1, 9)) for _ in range(ndim))
    per = draw(st.booleans())  # one value per axis, or one for all

    def values(lo, hi):
        if per:
            return tuple(draw(st.integers(lo, hi)) for _ in range(ndim))
        return (draw(st.integers(lo, hi)),)

    kernel = values(1, 4)
    stride = draw(st.one_of(st.none(), st.just(values(1, 3))))
    dilation = draw(st.one_of(st.none(), st.just(values(1, 3))))
    padding = draw(
        st.one_of(
            st.none(),
            st.just("same"),
            st.just("valid"),
            st.just(tuple((draw(st.integers(0, 2)),) * 2 for _ in range(ndim))),
            st.just(tuple((draw(st.integers(0, 3)), draw(st.integers(0, 3))) for _ in range(ndim))),
        )
    )
    ceil = draw(st.booleans()) and padding not in ("same", "valid")
    return size, kernel, stride, dilation, padding, ceil


def step_text(kind, kernel, stride, dilation, padding, ceil):
    fmt = "x".join
    parts = [f"k={fmt(map(str, kernel))}"]
    if stride is not None:
        parts.append(f"s={fmt(map(str, stride))}")
    if dilation is not None:
        parts.append(f"d={fmt(map(str, dilation))}")
    if padding is not None:
        text = padding if isinstance(padding, str) else fmt(f"{b}:{e}" for b, e in padding)
        parts.append(f"p={text}")
    if ceil:
        parts.append("ceil")
    return f"{kind}:" + ",".join(parts)


@settings(max_examples=120, deadline=None)
@given(pool_case())
def test_pool_step_matches_the_engine(case):
    size, kernel, stride, dilation, padding, ceil = case
    text = step_text("pool", kernel, stride, dilation, padding, ceil)
    x = np.arange(int(np.prod(size)), dtype=np.float32).reshape(size)
    try:
        expected = pool(
            x,
            "max",
            kernel_size=kernel,
            stride=stride,
            padding=padding,
            dilation=dilation,
            ceil_mode=ceil,
            layout=LAYOUTS[len(size)],
        ).shape
    except UsageError as engine_error:
        event("the engine refuses the window")
        with pytest.raises(UsageError) as info:
            shapes.stack(size, [shapes.parse_layer(text)])
        assert info.value.option == "STEP"
        # The same problem is found: both name the same kind of mismatch.
        assert ("larger than the padded input" in str(engine_error)) == (
            "larger than the padded input" in str(info.value)
        )
        return
    (result,) = shapes.stack(size, [shapes.parse_layer(text)])
    assert result.output_size == expected


@settings(max_examples=80, deadline=None)
@given(pool_case())
def test_pool_step_matches_torch_where_torch_can(case):
    size, kernel, stride, dilation, padding, ceil = case
    ndim = len(size)
    assume(padding not in ("same", "valid"))
    k = kernel * ndim if len(kernel) == 1 else kernel
    d = (dilation or (1,)) * (ndim if dilation is None or len(dilation) == 1 else 1)
    pads = padding or ((0, 0),) * ndim
    # torch pads symmetrically, at most half the kernel.
    assume(all(b == e and b <= kk // 2 for (b, e), kk in zip(pads, k, strict=True)))
    text = step_text("max", kernel, stride, dilation, padding, ceil)
    pool_nd = (F.max_pool1d, F.max_pool2d, F.max_pool3d)[ndim - 1]
    x = torch.zeros((1, 1, *size))
    try:
        y = pool_nd(
            x, k, stride=stride or k, padding=tuple(b for b, _ in pads), dilation=d, ceil_mode=ceil
        )
    except RuntimeError:
        y = None
    try:
        (result,) = shapes.stack(size, [shapes.parse_layer(text)])
    except UsageError:
        event("poolcli refuses the window")
        # Where torch runs, poolcli refuses only windows made of padding (torch gives -inf),
        # and (in ceil mode) a kernel longer than the padded input, which torch lets through.
        longer = any(
            dd * (kk - 1) + 1 > n + 2 * b
            for n, kk, dd, (b, _) in zip(size, k, d, pads, strict=True)
        )
        assert y is None or bool(torch.isinf(y).any()) or (ceil and longer)
        return
    assert y is not None
    assert result.output_size == tuple(y.shape[2:])


@st.composite
def conv_case(draw):
    ndim = draw(AXIS)
    size = tuple(draw(st.integers(1, 9)) for _ in range(ndim))
    kernel = draw(st.integers(1, 4))
    stride = draw(st.integers(1, 3))
    dilation = draw(st.integers(1, 2))
    padding = draw(st.one_of(st.integers(0, 3), st.just("same"), st.just("valid")))
    if padding == "same":
        stride = 1  # torch's Conv allows 'same' with stride 1 only
    return size, kernel, stride, dilation, padding


@settings(max_examples=100, deadline=None)
@given(conv_case())
def test_conv_step_matches_torch_conv(case):
    size, kernel, stride, dilation, padding = case
    ndim = len(size)
    text = f"conv:k={kernel},s={stride},d={dilation},p={padding}"
    conv_nd = (F.conv1d, F.conv2d, F.conv3d)[ndim - 1]
    x = torch.zeros((1, 1, *size))
    w = torch.zeros((1, 1) + (kernel,) * ndim)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # 'same' with an even kernel warns about a copy
            y = conv_nd(x, w, stride=stride, padding=padding, dilation=dilation)
    except RuntimeError:
        event("torch refuses the conv")
        with pytest.raises(UsageError, match="larger than the padded input"):
            shapes.stack(size, [shapes.parse_layer(text)])
        return
    (result,) = shapes.stack(size, [shapes.parse_layer(text)])
    assert result.output_size == tuple(y.shape[2:])


@settings(max_examples=60, deadline=None)
@given(
    size=st.tuples(st.integers(1, 12), st.integers(1, 12)),
    out=st.tuples(st.integers(1, 6), st.integers(1, 6)),
)
def test_adaptive_step_matches_torch_bins(size, out):
    (result,) = shapes.stack(size, [shapes.parse_layer(f"adaptive:o={out[0]}x{out[1]}")])
    # torch's adaptive bins, found from an adaptive max over an index ramp along each axis.
    for axis, n in enumerate(size):
        ramp = torch.arange(n, dtype=torch.float32).reshape(1, 1, n)
        ends = F.adaptive_max_pool1d(ramp, out[axis])[0, 0].long().tolist()
        starts = (-F.adaptive_max_pool1d(-ramp, out[axis]))[0, 0].long().tolist()
        bins = [(s, e + 1) for s, e in zip(starts, ends, strict=True)]
        assert list(result.axes[axis].bins) == bins
    assert result.output_size == out


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["conv:3", "conv:3,p=1", "pool:2", "pool:2,ceil", "pool:3,s=1,p=same", "conv:2,s=2"]
        ),
        min_size=1,
        max_size=4,
    )
)
def test_stack_matches_layers_run_in_turn(names):
    size = (16, 13)
    x = torch.zeros((1, 1, *size))
    try:
        results = shapes.stack(size, [shapes.parse_layer(n) for n in names])
    except UsageError:
        event("the stack does not fit")
        assume(False)
    for name, result in zip(names, results, strict=True):
        step = shapes.parse_layer(name)
        if step.kind == "conv":
            pad = step.padding[0][0] if step.padding else 0
            w = torch.zeros((1, 1, step.kernel_size[0], step.kernel_size[0]))
            x = F.conv2d(x, w, stride=step.stride or 1, padding=pad)
        else:
            y = pool(
                x.numpy()[0, 0],
                "max",
                kernel_size=step.kernel_size,
                stride=step.stride,
                padding=step.padding,
                ceil_mode=step.ceil_mode,
            )
            x = torch.from_numpy(y)[None, None]
        assert result.output_size == tuple(x.shape[2:])


# --------------------------------------------------------------------------------------
# Step syntax errors


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ("pooling:k=2", "unknown kind 'pooling'"),
        ("pool", "pool steps need a kernel, such as pool:k=2."),
        ("pool:k=0", "k=0 is not valid: use a positive whole number"),
        ("pool:k=2x", "k=2x is not valid"),
        ("pool:k=2,s=-1", "s=-1 is not valid"),
        ("pool:k=2,p=1:2:3", "p=1:2:3 is not valid: use N, begin:end, same or valid"),
        ("pool:k=2,,s=1", "has an empty argument."),
        ("pool:k=2,q=1", "unknown key 'q'."),
        ("pool:k=2,k=3", "kernel is given twice."),
        ("pool:2,3", "'3' is not KEY=VALUE."),
        ("conv:k=3,ceil", "conv steps take no ceil"),
        ("global:k=2", "global steps take no kernel."),
        ("adaptive", "adaptive steps need an output size, such as adaptive:o=7."),
        ("pool:k=2,p=same,ceil", "ceil cannot be combined with p=same."),
        ("conv:k=3,c=4x4", "c= is one number"),
        ("pool:k=", "k= needs a value."),
    ],
)
def test_bad_step_is_a_usage_error(step, message):
    with pytest.raises(UsageError) as info:
        shapes.parse_layer(step)
    assert message in str(info.value)
    assert str(info.value).startswith(f'step "{step}": ')
    result = invoke("shape", "28x28", step)
    assert result.exit_code == 2
    assert message in plain(result.stderr)
    assert "Traceback" not in result.output + result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["4x4", "conv:k=5"],
            'step 1 "conv:k=5" does not fit its input 4x4: k=5 (reaching 5 cells)'
            " is larger than the padded input 4.",
        ),
        (
            ["28x28", "pool:2", "pool:k=3x3x3"],
            'step 2 "pool:k=3x3x3" does not fit its input 14x14: k=3x3x3 has 3 values but the input'
            " has 2 spatial axes (H, W).",
        ),
        (["4x4", "pool:k=1,p=1"], "the padding leaves window 0 on axis H with only padding"),
        (["4", "-k", "5"], "--kernel 5 is larger than the padded input 4."),
        (["28x28", "-k", "2", "pool:k=2"], "Give window options (-k, -s, ...) for one pooling"),
        (["28x28"], "Nothing to compute"),
        (["28x28x3x3", "-k", "2"], "SIZE 28x28x3x3 has 4 axes"),
        (["28xa", "-k", "2"], "SIZE 28xa is not valid"),
        (["28x28", "-k", "2", "--ceil", "-p", "same"], "--ceil cannot be combined with --padding"),
    ],
)
def test_shape_usage_errors(args, message):
    result = invoke("shape", *args)
    assert result.exit_code == 2, result.output
    assert message in plain(result.stderr)
    assert "Traceback" not in result.stderr


# --------------------------------------------------------------------------------------
# The command


def test_usage_error_text():
    result = invoke("shape", "28x28", "conv:5", "pool:k=0")
    assert result.exit_code == 2
    assert result.stderr == (
        'poolcli: error: step "pool:k=0": k=0 is not valid: use a positive whole number, or one '
        "per axis joined with x, such as 3x2.\n"
        "Try 'poolcli shape --help' for its options.\n"
    )
    assert result.stdout == ""


def test_shape_command_prints_every_step():
    result = invoke(
        "shape", "28x28", "conv:k=5,c=6", "max:k=2", "conv:k=5,c=16", "max:k=2", "-c", "1"
    )
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    for arrow in ("28x28 → 24x24", "24x24 → 12x12", "12x12 → 8x8", "8x8 → 4x4"):
        assert arrow in out
    assert "H: floor((28 + 0 + 0 − 5) / 1) + 1 = 24" in out
    assert "flattened: 16×4×4 = 256 values" in out
    assert "\x1b[" not in out  # no colour codes when not a terminal


def test_shape_window_options_form():
    result = invoke("shape", "7x7", "-k", "3", "-s", "2", "-p", "1", "--ceil")
    assert result.exit_code == 0, result.stderr
    assert "7x7 → 4x4" in result.stdout
    assert "H: ceil((7 + 1 + 1 − 3) / 2) + 1 = 4" in result.stdout


@pytest.mark.parametrize("width", [60, 80, 120])
def test_shape_formulas_are_never_cut(width):
    result = invoke(
        "shape", "224x224", "conv:k=7,s=2,p=3", "pool:k=3,s=2,p=1", "adaptive:o=7", width=width
    )
    assert result.exit_code == 0, result.stderr
    assert "H: floor((224 + 3 + 3 − 7) / 2) + 1 = 112" in result.stdout
    assert "W: floor((112 + 1 + 1 − 3) / 2) + 1 = 56" in result.stdout
    assert all(len(line) <= width for line in result.stdout.splitlines())


def test_shape_json():
    result = invoke("shape", "28x28", "conv:5,c=6", "pool:2", "--json", "-c", "1")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["input_size"] == [28, 28]
    assert doc["output_size"] == [12, 12]
    assert doc["flat_size"] == 6 * 12 * 12
    assert doc["output_channels"] == 6
    without = json.loads(invoke("shape", "28x28", "-k", "2", "--json").stdout)
    assert without["flat_size"] is None and without["output_size"] == [14, 14]
    assert [s["output_size"] for s in doc["steps"]] == [[24, 24], [12, 12]]
    assert [s["kind"] for s in doc["steps"]] == ["conv", "pool"]
    conv = doc["steps"][0]["window"]
    assert (conv["kernel_size"], conv["stride"], conv["padding"]) == ([5, 5], [1, 1], [[0, 0]] * 2)
    assert conv["axes"][0]["formula"] == "floor((28 + 0 + 0 − 5) / 1) + 1 = 24"
    # Lists of numbers on one line, as every --json document writes them.
    assert '"input_size": [28, 28],' in result.stdout


@pytest.mark.parametrize(
    "step, options",
    [
        ("pool:2", ["-k", "2"]),
        ("max:k=3,s=2,p=1,ceil", ["-k", "3", "-s", "2", "-p", "1", "--ceil"]),
        ("pool:k=3,p=same,d=2", ["-k", "3", "-p", "same", "-d", "2"]),
        ("adaptive:o=5x3", ["--output-size", "5x3"]),
        ("global", ["--global"]),
    ],
)
def test_shape_json_writes_a_window_as_the_reduction_commands_do(npy, cli, step, options):
    """Each step's window is the one schema's: what max --json writes for the same window."""
    doc = json.loads(invoke("shape", "24x20", step, "--json").stdout)
    pooled = json.loads(cli("max", npy(np.zeros((24, 20))), *options, "--json").stdout)
    assert doc["steps"][0]["window"] == pooled["files"][0]["window"]


def test_shape_help_documents_the_step_syntax():
    result = invoke("shape", "--help")
    assert result.exit_code == 0
    for text in (
        "pool:k=2,s=2,p=same,d=1,ceil",
        "conv:k=5,s=1,p=0,d=1,c=16",
        "global",
        "adaptive:o=7",
        "poolcli shape 28x28 -k 2",
    ):
        assert text in result.stdout


def test_shape_never_imports_torch():
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from poolcli.cli import app\n"
        "run = CliRunner().invoke\n"
        "r = run(app, ['shape', '28x28', 'conv:5', 'pool:2', '-c', '1'])\n"
        "assert r.exit_code == 0, r.output\n"
        "r = run(app, ['shape', '28x28', 'pool:0'])\n"
        "assert r.exit_code == 2, r.output\n"
        "r = run(app, ['shape', '28x28', '-k', '2', '--json'])\n"
        "assert r.exit_code == 0, r.output\n"
        "for command in ('shape', 'explain'):\n"
        "    r = run(app, [command, '--help'])\n"
        "    assert r.exit_code == 0, r.output\n"
        "heavy = sorted(m for m in ('torch', 'numpy', 'PIL') if m in sys.modules)\n"
        "print(','.join(heavy) or 'none')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "none", out.stdout + out.stderr


def test_python_m_poolcli_shape():
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "poolcli",
            "shape",
            "28x28",
            "conv:k=5",
            "pool:k=2",
            "conv:k=5",
            "pool:k=2",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert "28x28 → 4x4 after 4 steps" in out.stdout
