"""The public API (poolcli.pool, engine.core.run) raises only PoolError for what a user passes."""

from __future__ import annotations

import numpy as np
import pytest
import reference as ref
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import poolcli
from poolcli.engine.core import run
from poolcli.errors import PoolError, UsageError
from poolcli.model.options import PoolOptions
from poolcli.model.window import WindowSpec


@pytest.mark.parametrize("layout", ["NCDHW", "DHW"])
@pytest.mark.parametrize("thin", [1, 2])
def test_a_3d_strided_average_over_an_axis_thinner_than_the_kernel(layout, thin):
    # torch's avg_pool3d refuses an axis shorter than the kernel even with padding.
    canonical = np.random.default_rng(thin).random((1, 2, thin, 5, 6)).astype(np.float32)
    x = canonical if layout == "NCDHW" else canonical[0, 0]
    got = poolcli.pool(x, "avg", kernel_size=3, stride=2, padding=1, layout=layout)
    want = ref.reference_pool(canonical, "avg", 3, 2, 1)
    want = want if layout == "NCDHW" else want[0, 0]
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_an_unknown_reduction_is_a_usage_error_naming_the_known_ones():
    with pytest.raises(UsageError, match="foo is not a reduction: use one of max, avg"):
        poolcli.pool(np.zeros((4, 4)), "foo", kernel_size=2)
    assert poolcli.pool(np.ones((2, 2)), " MAX ", kernel_size=2).tolist() == [[1.0]]


@pytest.mark.parametrize(
    ("options", "words"),
    [
        (PoolOptions(dtype="int64"), "--dtype 'int64' is not a compute type"),
        (PoolOptions(dtype=["float32"]), "--dtype"),
        (PoolOptions(norm_type="2"), "--norm-type must be a positive number, got '2'"),
        (PoolOptions(norm_type=-1.0), "--norm-type must be a positive number, got -1"),
        (PoolOptions(seed="7"), "--seed must be a whole number"),
        (PoolOptions(seed=2**64), "--seed"),
        (PoolOptions(seed=1.5), "--seed"),
        (PoolOptions(memory_limit=0), "memory limit"),
        (PoolOptions(device=3), "--device"),
        (PoolOptions(device="tpu"), "--device"),
    ],
)
def test_bad_options_are_usage_errors(options, words):
    with pytest.raises(UsageError, match=words):
        run(np.zeros((4, 4)), "stochastic", WindowSpec.make(kernel_size=2), options=options)


@pytest.mark.parametrize(
    "array",
    [
        torch.zeros(4, 4, dtype=torch.complex64),
        np.zeros((4, 4), complex),
        np.array([["a", "b"], ["c", "d"]]),
        np.zeros((4, 4), object),
        np.zeros((0, 4)),
        np.zeros(()),
        np.zeros((1,) * 6),
        None,
        "text",
    ],
)
def test_inputs_that_cannot_be_pooled_are_pool_errors(array):
    for reduction in ("max", "mode", "sum"):
        with pytest.raises(PoolError):
            poolcli.pool(array, reduction, global_pool=True)


def test_nested_lists_are_pooled_as_arrays():
    assert poolcli.pool([[1, 2], [3, 4]], "max", kernel_size=2).tolist() == [[4]]


def test_a_huge_stride_or_dilation_that_cannot_matter_is_harmless():
    x = np.arange(4.0)
    assert poolcli.pool(x, "max", kernel_size=2, stride=10**20).tolist() == [1.0]
    assert poolcli.pool(x, "sum", kernel_size=1, dilation=10**20).tolist() == x.tolist()


ARRAYS = [
    np.arange(16.0).reshape(4, 4),
    np.arange(48, dtype=np.uint8).reshape(4, 4, 3),
    np.ones((1, 2, 3, 4, 4), np.float32),
    np.zeros((2, 0, 4)),
    np.array([1, -2, 3], np.int64),
    np.zeros((2, 2), np.float16),
    np.zeros((3, 3), bool),
    torch.ones(3, 5, dtype=torch.bfloat16),
]
# Window values stay small: absurd sizes are the window model's to refuse.
JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 6),
    st.floats(allow_nan=True),
    st.text(max_size=5),
    st.sampled_from(["same", "valid", "1:0", "2x2", "3x2x1", "float64", "cpu", "HW", "NCHW"]),
    st.lists(st.integers(-1, 4), max_size=4),
    st.tuples(st.tuples(st.integers(0, 3), st.integers(0, 3))),
    st.binary(max_size=2),
    st.just({"a": 1}),
)
KEYS = (
    "kernel_size",
    "stride",
    "padding",
    "dilation",
    "ceil_mode",
    "count_include_pad",
    "global_pool",
    "output_size",
    "layout",
    "norm_type",
    "seed",
    "expectation",
    "device",
    "dtype",
)
REDUCTIONS = st.one_of(st.sampled_from([r.value for r in poolcli.Reduction]), JUNK)


@settings(max_examples=400, deadline=None)
@given(
    array=st.sampled_from(ARRAYS),
    reduction=REDUCTIONS,
    kernel=st.one_of(st.integers(1, 3), JUNK),
    params=st.dictionaries(st.sampled_from(KEYS), JUNK, max_size=4),
)
def test_pool_raises_only_pool_errors(array, reduction, kernel, params):
    params.setdefault("kernel_size", kernel)
    try:
        result = poolcli.pool(array, reduction, **params)
    except PoolError as error:
        assert str(error) and "Traceback" not in str(error)
        return
    assert type(result) is type(array) and result.ndim == array.ndim
