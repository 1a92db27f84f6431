"""poolcli unpool: torch's max_unpool1d/2d/3d, ONNX MaxUnpool (the onnx reference evaluator)
and the loop reference."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
import reference as ref
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import helper
from onnx.reference import ReferenceEvaluator

import poolcli
from poolcli.engine.unpool import default_size, unpool
from poolcli.errors import PoolError
from poolcli.model.layout import Layout

UNPOOL = {1: F.max_unpool1d, 2: F.max_unpool2d, 3: F.max_unpool3d}
LAYOUT = {1: "NCW", 2: "NCHW", 3: "NCDHW"}


@pytest.mark.parametrize(
    "shape, kernel, stride, padding",
    [
        ((2, 3, 9), 3, 2, 1),
        ((1, 2, 6, 8), 2, 2, 0),
        ((1, 2, 7, 7), 3, 2, 1),
        ((1, 1, 4, 6, 6), 2, 2, 0),
    ],
)
def test_unpool_matches_torch(shape, kernel, stride, padding):
    nd = len(shape) - 2
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    y, i = poolcli.pool(
        x,
        "max",
        kernel_size=kernel,
        stride=stride,
        padding=padding,
        layout=LAYOUT[nd],
        return_indices=True,
    )
    plane = tuple(default_size(s, kernel, stride, (padding, padding)) for s in y.shape[2:])
    out = unpool(y, i, Layout(LAYOUT[nd]), plane)
    expected = UNPOOL[nd](torch.from_numpy(y), torch.from_numpy(i), kernel, stride, padding)
    np.testing.assert_array_equal(out, expected.numpy())
    np.testing.assert_array_equal(out, ref.reference_unpool(y, i, plane))
    # With the input's own size (torch's output_size).
    sized = unpool(y, i, Layout(LAYOUT[nd]), shape[2:])
    expected = UNPOOL[nd](
        torch.from_numpy(y), torch.from_numpy(i), kernel, stride, padding, output_size=shape[2:]
    )
    np.testing.assert_array_equal(sized, expected.numpy())


def test_unpool_keeps_the_layout():
    x = np.random.default_rng(2).standard_normal((6, 8, 3)).astype(np.float32)
    y, i = poolcli.pool(x, "max", kernel_size=2, layout="HWC", return_indices=True)
    out = unpool(y, i, Layout("HWC"), (6, 8))
    kept = np.moveaxis(out, -1, 0)
    expected = F.max_unpool2d(
        torch.from_numpy(np.moveaxis(y, -1, 0).copy()),
        torch.from_numpy(np.moveaxis(i, -1, 0).copy()),
        2,
    )
    np.testing.assert_array_equal(kept, expected.numpy())


def onnx_unpool(x, indices, kernel, strides, pads, output_shape=None):
    nd = x.ndim - 2
    inputs = ["x", "i"] + (["shape"] if output_shape is not None else [])
    node = helper.make_node(
        "MaxUnpool", inputs, ["y"], kernel_shape=[kernel] * nd, strides=[strides] * nd, pads=pads
    )
    infos = [
        helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, list(x.shape)),
        helper.make_tensor_value_info("i", onnx.TensorProto.INT64, list(x.shape)),
    ]
    feeds = {"x": x, "i": indices}
    if output_shape is not None:
        infos.append(helper.make_tensor_value_info("shape", onnx.TensorProto.INT64, [x.ndim]))
        feeds["shape"] = np.array(output_shape, dtype=np.int64)
    graph = helper.make_graph(
        [node], "g", infos, [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)]
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 22)])
    return ReferenceEvaluator(model).run(None, feeds)[0]


@pytest.mark.parametrize("output_shape", [None, (2, 3, 7, 9)])
def test_onnx_unpool_matches_the_onnx_reference(output_shape):
    x = np.random.default_rng(3).standard_normal((2, 3, 6, 8)).astype(np.float32)
    y, i = poolcli.pool(
        x, "max", kernel_size=2, layout="NCHW", return_indices=True, index_style="onnx"
    )
    out = unpool(y, i, Layout("NCHW"), (6, 8), "onnx", output_shape and output_shape[2:])
    np.testing.assert_array_equal(out, onnx_unpool(y, i, 2, 2, [0] * 4, output_shape))


def test_onnx_docs_example_with_output_shape():
    """The MaxUnpool example of the ONNX operator docs (with_output_shape)."""
    x = np.array([[[[5, 6], [7, 8]]]], dtype=np.float32)
    i = np.array([[[[5, 7], [13, 15]]]], dtype=np.int64)
    out = unpool(x, i, Layout("NCHW"), (4, 4), "onnx", (5, 5))
    np.testing.assert_array_equal(out, onnx_unpool(x, i, 2, 2, [0] * 4, (1, 1, 5, 5)))


def test_onnx_col_round_trip():
    x = np.random.default_rng(4).standard_normal((1, 2, 6, 6)).astype(np.float32)
    y, i = poolcli.pool(
        x, "max", kernel_size=2, layout="NCHW", return_indices=True, index_style="onnx-col"
    )
    y2, i2 = poolcli.pool(x, "max", kernel_size=2, layout="NCHW", return_indices=True)
    col = unpool(y, i, Layout("NCHW"), (6, 6), "onnx-col")
    np.testing.assert_array_equal(col, unpool(y2, i2, Layout("NCHW"), (6, 6)))


def test_out_of_range():
    y = np.ones((1, 1, 2, 2), np.float32)
    i = np.array([[[[0, 1], [2, 99]]]])
    with pytest.raises(PoolError, match="index 99 is outside the 4x4"):
        unpool(y, i, Layout("NCHW"), (4, 4))


# ---------------------------------------------------------------------------- the command


def test_unpool_command_round_trip(cli, npy, workdir):
    x = np.random.default_rng(5).standard_normal((2, 3, 6, 8)).astype(np.float32)
    path = npy(x)
    cli("max", path, "-k", "2", "--indices", "i.npy", "-o", "y.npy", "--layout", "NCHW")
    result = cli("unpool", "y.npy", "--indices", "i.npy", "-k", "2", "-o", "back.npy")
    assert "wrote back.npy" in result.stderr
    back = np.load(workdir / "back.npy")
    y, i = np.load(workdir / "y.npy"), np.load(workdir / "i.npy")
    expected = F.max_unpool2d(torch.from_numpy(y), torch.from_numpy(i), 2)
    np.testing.assert_array_equal(back, expected.numpy())
    cli("unpool", "y.npy", "--indices", "i.npy", "--output-size", "7x9", "-o", "sized.npy")
    sized = F.max_unpool2d(torch.from_numpy(y), torch.from_numpy(i), 2, output_size=(7, 9))
    np.testing.assert_array_equal(np.load(workdir / "sized.npy"), sized.numpy())
    document = json.loads(
        cli("unpool", "y.npy", "--indices", "i.npy", "-k", "2", "-o", "j.npy", "--json").stdout
    )
    assert document["output_array"]["shape"] == [2, 3, 6, 8]
    assert document["layout"] == "NCHW" and document["indices"] == "i.npy"
    cli("unpool", "y.npy", "--indices", "i.npy", "-k", "2", "-o", "-", "--json", code=2)


def test_unpool_command_errors(cli, npy, workdir):
    y = npy(np.ones((1, 1, 2, 2), np.float32), "y.npy")
    npy(np.array([[[[0, 1], [2, 99]]]]), "i.npy")
    npy(np.zeros((1, 1, 3, 3), np.int64), "wrong.npy")
    result = cli("unpool", y, "--indices", "i.npy", "-k", "2", "-o", "o.npy", code=1)
    assert "i.npy: index 99 is outside" in result.stderr
    result = cli("unpool", y, "--indices", "wrong.npy", "-k", "2", "-o", "o.npy", code=1)
    assert "wrong.npy: indices have shape 1x1x3x3 but y.npy has 1x1x2x2" in result.stderr
    assert not (workdir / "o.npy").exists()
    result = cli("unpool", y, "--indices", "missing.npy", "-k", "2", "-o", "o.npy", code=1)
    assert "missing.npy" in result.stderr
    cli("unpool", y, "-k", "2", "-o", "o.npy", code=2)
    cli("unpool", y, "--indices", "i.npy", "-o", "o.npy", code=2)
    cli("unpool", y, "--indices", "i.npy", "-k", "2", "-o", "y.npy", code=2)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 3), st.integers(1, 3), st.integers(0, 2**16), st.sampled_from(["max", "min"]))
def test_unpool_keeps_exactly_the_winners(nd, kernel, seed, reduction):
    """Pool, then unpool into the input's size: each winner is back in its cell, with the
    loop reference's indices, and every other cell is 0."""
    shape = (1, 2) + (6, 5, 4)[:nd]
    x = np.random.default_rng(seed).integers(1, 5, shape).astype(np.int32)  # ties, no zeros
    y, i = poolcli.pool(x, reduction, kernel_size=kernel, layout=LAYOUT[nd], return_indices=True)
    np.testing.assert_array_equal(i, ref.reference_indices(x, reduction, kernel))
    back = poolcli.unpool(y, i, output_size=shape[2:], layout=LAYOUT[nd])
    assert back.dtype == x.dtype
    kept = back != 0
    np.testing.assert_array_equal(back[kept], x[kept])
    assert kept.sum() == len(np.unique(i.reshape(2, -1)[0])) + len(np.unique(i.reshape(2, -1)[1]))
