"""--indices / return_indices: torch's return_indices, the ONNX MaxPool Indices output (through
the onnx reference evaluator when it is installed) and the loop reference."""

from __future__ import annotations

import numpy as np
import pytest
import reference as ref
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import poolcli
from poolcli.errors import UsageError

MAX_POOL = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
LAYOUT = {1: "NCW", 2: "NCHW", 3: "NCDHW"}


def torch_indices(x, reduction, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """torch's values and indices; min as the max of the negation (ties pick the same cell)."""
    t = torch.from_numpy(np.asarray(x, dtype=np.float64))
    sign = 1 if reduction == "max" else -1
    nd = t.ndim - 2
    values, indices = MAX_POOL[nd](
        sign * t, kernel_size, stride, padding, dilation, ceil_mode=ceil_mode, return_indices=True
    )
    return (sign * values).numpy(), indices.numpy()


def ties(shape, seed=0, dtype=np.float32):
    """Few distinct values, so windows hold ties."""
    return np.random.default_rng(seed).integers(0, 3, shape).astype(dtype)


@pytest.mark.parametrize("reduction", ["max", "min"])
@pytest.mark.parametrize(
    "shape, window",
    [
        ((2, 3, 9), dict(kernel_size=3, stride=2, padding=1)),
        ((1, 2, 7, 8), dict(kernel_size=2)),
        ((1, 2, 7, 8), dict(kernel_size=3, stride=2, padding=1, dilation=2, ceil_mode=True)),
        ((1, 2, 7, 8), dict(kernel_size=(3, 2), stride=(1, 2), padding=(1, 0))),
        ((1, 1, 5, 6, 7), dict(kernel_size=2, stride=2, ceil_mode=True)),
        ((2, 1, 4, 5, 6), dict(kernel_size=3, stride=1, padding=1, dilation=1)),
    ],
)
def test_indices_match_torch(reduction, shape, window):
    x = ties(shape)
    out, indices = poolcli.pool(
        x, reduction, layout=LAYOUT[len(shape) - 2], return_indices=True, **window
    )
    values, expected = torch_indices(x, reduction, **window)
    np.testing.assert_array_equal(out, values.astype(np.float32))
    np.testing.assert_array_equal(indices, expected)
    assert indices.dtype == np.int64
    pads = window.get("padding", 0)
    pads = tuple((p, p) for p in pads) if isinstance(pads, tuple) else pads
    reference = ref.reference_indices(
        x,
        reduction,
        window["kernel_size"],
        window.get("stride"),
        pads,
        window.get("dilation"),
        window.get("ceil_mode", False),
    )
    np.testing.assert_array_equal(indices, reference)


def test_same_padding_indices_never_point_at_padding():
    """torch has no asymmetric padding: pad with -inf by hand, then move the indices back."""
    x = ties((1, 2, 6, 7), seed=3) - 5  # all negative: padded zeros would win if allowed
    out, indices = poolcli.pool(
        x, "max", kernel_size=4, stride=1, padding="same", return_indices=True, layout="NCHW"
    )
    padded = F.pad(torch.from_numpy(x), (1, 2, 1, 2), value=-np.inf)
    _, flat = F.max_pool2d(padded, 4, 1, return_indices=True)
    rows, cols = flat // padded.shape[-1] - 1, flat % padded.shape[-1] - 1
    np.testing.assert_array_equal(indices, (rows * 7 + cols).numpy())
    assert indices.min() >= 0 and indices.max() < 42


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(0, 1),
    st.integers(1, 2),
    st.booleans(),
    st.sampled_from(["max", "min"]),
    st.integers(0, 2**16),
)
def test_indices_property(nd, kernel, stride, padding, dilation, ceil_mode, reduction, seed):
    shape = (1, 2) + (7, 6, 5)[:nd]
    padding = min(padding, kernel // 2)
    x = ties(shape, seed, np.float64)
    out, indices = poolcli.pool(
        x,
        reduction,
        kernel_size=kernel,
        stride=stride,
        padding=padding,
        dilation=dilation,
        ceil_mode=ceil_mode,
        layout=LAYOUT[nd],
        return_indices=True,
    )
    _, expected = torch_indices(x, reduction, kernel, stride, padding, dilation, ceil_mode)
    np.testing.assert_array_equal(indices, expected)
    # Each index points at a cell that holds the output value.
    planes = x.reshape(*x.shape[:2], -1)
    picked = np.take_along_axis(planes, indices.reshape(*x.shape[:2], -1), -1)
    np.testing.assert_array_equal(picked.reshape(out.shape), out)


def test_integer_inputs_and_nan():
    x = ties((1, 1, 6, 6), 1, np.int32) - 1
    out, indices = poolcli.pool(
        x, "min", kernel_size=3, stride=2, layout="NCHW", return_indices=True
    )
    _, expected = torch_indices(x.astype(np.float64), "min", 3, 2)
    np.testing.assert_array_equal(indices, expected)
    assert out.dtype == np.int32
    y = ties((1, 1, 4, 4), 2, np.float32)
    y[0, 0, 1, 0] = np.nan
    _, indices = poolcli.pool(y, "max", kernel_size=2, layout="NCHW", return_indices=True)
    _, expected = F.max_pool2d(torch.from_numpy(y), 2, return_indices=True)
    np.testing.assert_array_equal(indices, expected.numpy())


def test_layouts_keep_the_output_layout():
    x = ties((6, 7, 3), 4)  # HWC
    out, indices = poolcli.pool(x, "max", kernel_size=2, layout="HWC", return_indices=True)
    _, expected = torch_indices(np.moveaxis(x, -1, 0)[None], "max", 2)
    assert indices.shape == out.shape
    np.testing.assert_array_equal(indices, np.moveaxis(expected[0], 0, -1))


def test_tensor_in_tensor_out():
    x = torch.from_numpy(ties((1, 2, 6, 6), 5))
    out, indices = poolcli.pool(x, "max", kernel_size=2, layout="NCHW", return_indices=True)
    _, expected = F.max_pool2d(x, 2, return_indices=True)
    assert isinstance(indices, torch.Tensor) and torch.equal(indices, expected)


def test_adaptive_indices_match_torch():
    x = ties((1, 2, 7, 9), 6)
    _, indices = poolcli.pool(x, "max", output_size=(3, 4), layout="NCHW", return_indices=True)
    _, expected = F.adaptive_max_pool2d(torch.from_numpy(x), (3, 4), return_indices=True)
    np.testing.assert_array_equal(indices, expected.numpy())


def onnx_indices(x, kernel, strides, pads, storage_order, dilations=None, ceil_mode=0):
    """ONNX MaxPool's Indices output, from the operator documentation's own reference."""
    import onnx
    from onnx import helper
    from onnx.reference import ReferenceEvaluator

    nd = x.ndim - 2
    attributes = dict(kernel_shape=[kernel] * nd, strides=[strides] * nd, pads=pads)
    attributes.update(storage_order=storage_order, ceil_mode=ceil_mode)
    if dilations:
        attributes["dilations"] = [dilations] * nd
    node = helper.make_node("MaxPool", ["x"], ["y", "i"], **attributes)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, list(x.shape))],
        [
            helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None),
            helper.make_tensor_value_info("i", onnx.TensorProto.INT64, None),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22)])
    return ReferenceEvaluator(model).run(None, {"x": x})


@pytest.mark.parametrize("style, order", [("onnx", 0), ("onnx-col", 1)])
@pytest.mark.parametrize("shape", [(2, 3, 6, 7), (1, 2, 5, 6, 4)])
def test_onnx_styles_match_the_onnx_reference(style, order, shape):
    x = np.random.default_rng(7).standard_normal(shape).astype(np.float32)  # no ties
    nd = len(shape) - 2
    y, expected = onnx_indices(x, 3, 2, [1] * (2 * nd), order)
    out, indices = poolcli.pool(
        x,
        "max",
        kernel_size=3,
        stride=2,
        padding=1,
        layout=LAYOUT[nd],
        return_indices=True,
        index_style=style,
    )
    np.testing.assert_array_equal(out, y)
    np.testing.assert_array_equal(indices, expected)


def test_onnx_style_is_the_torch_style_plus_the_plane_offset():
    """Written from the ONNX docs: Indices count over the flattened N x C x D1 x ... tensor."""
    x = ties((2, 3, 6, 6), 8)
    _, plane = poolcli.pool(x, "max", kernel_size=2, layout="NCHW", return_indices=True)
    _, whole = poolcli.pool(
        x, "max", kernel_size=2, layout="NCHW", return_indices=True, index_style="onnx"
    )
    offsets = (np.arange(6).reshape(2, 3, 1, 1)) * 36
    np.testing.assert_array_equal(whole, plane + offsets)
    _, col = poolcli.pool(
        x, "max", kernel_size=2, layout="NCHW", return_indices=True, index_style="onnx-col"
    )
    rows, cols = plane // 6, plane % 6
    np.testing.assert_array_equal(col, rows + cols * 6 + offsets)


def test_no_indices_for_mixing_reductions():
    x = ties((4, 4))
    with pytest.raises(UsageError, match="return_indices needs a reduction"):
        poolcli.pool(x, "avg", kernel_size=2, return_indices=True)
    with pytest.raises(UsageError, match="return_indices does not go with blur="):
        poolcli.pool(x, "max", kernel_size=2, blur=3, return_indices=True)
    with pytest.raises(UsageError, match="return_indices does not go with spp="):
        poolcli.pool(x, "max", spp=(1, 2), return_indices=True)
    with pytest.raises(UsageError, match="index_style tf is not valid"):
        poolcli.pool(x, "max", kernel_size=2, return_indices=True, index_style="tf")


@pytest.mark.parametrize("dtype", [np.uint8, np.int64, np.float16, np.float64])
def test_indices_of_every_dtype(dtype):
    x = ties((1, 2, 7, 6), 9).astype(dtype)
    out, indices = poolcli.pool(
        x, "max", kernel_size=3, stride=2, padding=1, layout="NCHW", return_indices=True
    )
    assert out.dtype == x.dtype
    _, expected = torch_indices(x.astype(np.float64), "max", 3, 2, 1)
    np.testing.assert_array_equal(indices, expected)


def test_bfloat16_tensor_indices():
    x = torch.from_numpy(ties((1, 2, 6, 6), 10)).to(torch.bfloat16)
    _, indices = poolcli.pool(x, "max", kernel_size=2, layout="NCHW", return_indices=True)
    _, expected = F.max_pool2d(x.float(), 2, return_indices=True)
    assert torch.equal(indices, expected)


@pytest.mark.parametrize("order", [0, 1])
def test_onnx_styles_with_dilation_and_ceil(order):
    x = np.random.default_rng(11).standard_normal((1, 2, 9, 8)).astype(np.float32)
    y, expected = onnx_indices(x, 2, 2, [0, 0, 0, 0], order, dilations=2, ceil_mode=1)
    out, indices = poolcli.pool(
        x,
        "max",
        kernel_size=2,
        stride=2,
        dilation=2,
        ceil_mode=True,
        layout="NCHW",
        return_indices=True,
        index_style="onnx" if order == 0 else "onnx-col",
    )
    np.testing.assert_array_equal(out, y)
    np.testing.assert_array_equal(indices, expected)


@pytest.mark.parametrize("reduction", ["max", "min"])
def test_several_nan_the_last_wins_as_in_torch(reduction):
    x = ties((1, 2, 6, 7), 12, np.float64)
    x[x == 2] = np.nan
    out, indices = poolcli.pool(
        x, reduction, kernel_size=3, stride=2, padding=1, layout="NCHW", return_indices=True
    )
    values, expected = torch_indices(x, reduction, 3, 2, 1)
    np.testing.assert_array_equal(indices, expected)
    np.testing.assert_array_equal(out, values)
    np.testing.assert_array_equal(indices, ref.reference_indices(x, reduction, 3, 2, 1))


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(0, 1),
    st.integers(1, 2),
    st.booleans(),
    st.booleans(),
    st.sampled_from(["max", "min"]),
    st.integers(0, 2**16),
)
def test_torch_and_gather_paths_agree(
    nd, kernel, stride, padding, dilation, ceil, adaptive, op, seed
):
    """The indices come from torch's kernels where they can, else from the engine's gather:
    the same answer, NaN and ties included."""
    from poolcli.engine.core import run
    from poolcli.engine.indices import gathered_winners, spatial_positions, torch_indices
    from poolcli.model.window import WindowSpec

    x = ties((1, 2) + (7, 6, 5)[:nd], seed, np.float64)
    x[x == 2] = np.nan
    if adaptive:
        spec = WindowSpec.make(output_size=(3, 4, 2)[:nd])
    else:
        spec = WindowSpec.make(
            kernel_size=kernel,
            stride=stride,
            padding=min(padding, kernel // 2),
            dilation=dilation,
            ceil_mode=ceil,
        )
    result = run(x, op, spec, LAYOUT[nd])
    fast = torch_indices(x, result)
    assert fast is not None
    slow = spatial_positions(gathered_winners(x, result), result.windows)
    assert torch.equal(fast, slow)
