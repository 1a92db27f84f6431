"""The engine's dtype rules and NaN, on every path: exact integers, kept float types."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from oracle import ALL, MAX_POOL, assert_close, engine, expected, paths_for, rng, tt

from poolcli.engine.core import pool
from poolcli.errors import PoolError
from poolcli.model.options import PoolOptions

# ============================================================================ dtypes

INT_DTYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64]


def extreme_ints(dtype, shape, seed):
    info = np.iinfo(dtype)
    g = rng(seed)
    x = g.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)
    flat = x.reshape(-1)
    flat[:4] = [info.min, info.max, info.max - 1, info.min + 1]
    return x


@pytest.mark.parametrize("dtype", INT_DTYPES + [np.bool_])
@pytest.mark.parametrize("reduction", ["max", "min", "median", "mode"])
def test_order_reductions_keep_integer_dtype_exactly(dtype, reduction):
    shape = (1, 2, 5, 6)
    if dtype is np.bool_:
        x = rng(1).random(shape) > 0.5
    else:
        x = extreme_ints(dtype, shape, 2)
        if reduction == "mode":
            info = np.iinfo(dtype)
            x = rng(3).choice(np.array([info.min, info.max, 0, 1], dtype=dtype), shape)
    for window in (
        {"kernel_size": 2},
        {"kernel_size": 3, "stride": 1, "padding": 1},
        {"kernel_size": 2, "stride": 1, "padding": ((0, 1), (2, 0)), "dilation": 2},
        {"global_pool": True},
        {"output_size": 4},
    ):
        want = expected(x, reduction, **window)
        for path in paths_for(x, reduction, window):
            got = engine(x, reduction, path=path, **window)
            assert got.dtype == np.dtype(dtype), (window, path)
            np.testing.assert_array_equal(got, want.astype(dtype), err_msg=f"{window} {path}")


@pytest.mark.parametrize("dtype", INT_DTYPES + [np.bool_])
def test_integer_sums_are_exact_int64(dtype):
    shape = (1, 2, 5, 6)
    if dtype is np.bool_:
        x = rng(1).random(shape) > 0.5
    else:
        x = extreme_ints(dtype, shape, 4)
        if dtype in (np.int64, np.uint64):
            x = (x // 2**20).astype(dtype)  # keep 9-cell sums inside int64
    for window in (
        {"kernel_size": 2},
        {"kernel_size": 3, "stride": 1, "padding": 1},
        {"kernel_size": 2, "stride": 1, "padding": "same", "dilation": 2},
        {"global_pool": True},
        {"output_size": 4},
    ):
        want = expected(x, "sum", **window)
        for path in paths_for(x, "sum", window):
            got = engine(x, "sum", path=path, **window)
            assert got.dtype == np.int64, (window, path)
            assert got.tolist() == want.tolist(), (window, path)


@pytest.mark.parametrize("dtype", INT_DTYPES + [np.bool_])
@pytest.mark.parametrize("reduction", ["avg", "lp", "stochastic"])
def test_integer_inputs_give_float32_by_default_and_float64_on_request(dtype, reduction):
    shape = (1, 2, 4, 6)
    if dtype is np.bool_:
        x = rng(1).random(shape) > 0.5
    else:
        info = np.iinfo(dtype)
        low = 0 if reduction == "stochastic" else max(info.min, -1000)
        x = rng(5).integers(low, min(info.max, 1000), shape).astype(dtype)
    window = {"kernel_size": 3, "stride": 1, "padding": 1, "count_include_pad": True}
    want = expected(x, reduction, **window)
    for compute, out_dtype in (
        (None, np.float32),
        ("float32", np.float32),
        ("float64", np.float64),
    ):
        options = PoolOptions(dtype=compute, expectation=True)
        for path in paths_for(x, reduction, window):
            got = engine(x, reduction, path=path, options=options, **window)
            assert got.dtype == out_dtype, (compute, path)
            assert_close(got, want, out_dtype, f"{compute} {path}")


@pytest.mark.parametrize("dtype", [np.uint8, np.int8])
def test_8bit_avg_is_the_exact_sum_divided_once_in_float32(dtype):
    # Sums of 8-bit values are exact in float32, so whatever a path accumulates in, the result
    # must be the correctly rounded quotient of the exact sum, bit for bit.
    info = np.iinfo(dtype)
    x = rng(3).integers(info.min, info.max, (2, 3, 9, 11), endpoint=True).astype(dtype)
    windows = [
        {"kernel_size": 2},
        {"kernel_size": 3, "stride": 1, "padding": 1},
        {"kernel_size": (2, 3), "stride": (1, 2), "ceil_mode": True},
        {"kernel_size": 7, "stride": 1, "padding": 3},
    ]
    for window in windows:
        sums = engine(x, "sum", **window).astype(np.float32)
        counts = engine(np.ones_like(x), "sum", **window).astype(np.float32)
        for path in paths_for(x, "avg", window):
            got = engine(x, "avg", path=path, **window)
            np.testing.assert_array_equal(got, sums / counts, err_msg=f"{window} {path}")


def test_dtype_float16_for_integer_input():
    x = rng(1).integers(0, 50, (6, 6)).astype(np.int16)
    got = pool(x, "avg", kernel_size=2, dtype="float16")
    assert got.dtype == np.float16
    assert_close(got, expected(x[None, None], "avg", kernel_size=2)[0, 0], np.float16)


def test_uint8_mean_never_wraps():
    # scikit-image's test_func_kwargs_same_dtype: with a uint8 accumulator block_reduce gives
    # [[41, 16], [32, 31]] because the block sums (678, 835, 641, 381) wrap around 256.
    image = np.array(
        [[97, 123, 173, 227], [217, 241, 221, 214], [211, 11, 170, 53], [214, 205, 101, 57]],
        dtype=np.uint8,
    )
    got = pool(image, "avg", kernel_size=2)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, [[169.5, 208.75], [160.25, 95.25]])
    got = pool(image, "sum", kernel_size=2)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, [[678, 835], [641, 381]])
    full = np.full((16, 16), 255, dtype=np.uint8)
    assert pool(full, "sum", global_pool=True).tolist() == [[255 * 256]]
    assert pool(full, "avg", global_pool=True).tolist() == [[255.0]]


def test_integers_beyond_2_to_24_stay_exact():
    base = 2**40
    x = np.array([[base + 1, base + 2], [base + 3, base + 6]], dtype=np.int64)
    assert pool(x, "max", kernel_size=2).tolist() == [[base + 6]]
    assert pool(x, "min", kernel_size=2).tolist() == [[base + 1]]
    assert pool(x, "median", kernel_size=2).tolist() == [[base + 2]]
    assert pool(x, "sum", kernel_size=2).tolist() == [[4 * base + 12]]
    got = pool(x, "avg", kernel_size=2, dtype="float64")
    assert got.dtype == np.float64 and got.tolist() == [[base + 3.0]]
    big = np.array([2**62 + 1, 2**62 + 3], dtype=np.int64)
    assert pool(big, "max", kernel_size=2).tolist() == [2**62 + 3]
    u64 = np.array([2**64 - 1, 2**64 - 2, 2**63, 1], dtype=np.uint64)
    assert pool(u64, "max", kernel_size=2).tolist() == [2**64 - 1, 2**63]
    assert pool(u64, "min", kernel_size=2).tolist() == [2**64 - 2, 1]
    assert pool(u64, "median", kernel_size=2).tolist() == [2**64 - 2, 1]
    assert pool(u64, "mode", kernel_size=4).tolist() == [1]
    assert pool(u64, "max", kernel_size=2).dtype == np.uint64
    u32 = np.array([2**32 - 1, 2**32 - 2], dtype=np.uint32)
    assert pool(u32, "sum", kernel_size=2).tolist() == [2**33 - 3]
    assert pool(u32, "median", kernel_size=2).tolist() == [2**32 - 2]


def test_sums_that_cannot_fit_int64_are_refused_not_wrapped():
    x = np.array([2**62, 2**62, 2**62], dtype=np.int64)
    with pytest.raises(PoolError):
        pool(x, "sum", kernel_size=3)
    u64 = np.array([2**63, 1], dtype=np.uint64)
    with pytest.raises(PoolError):
        pool(u64, "sum", kernel_size=2)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("reduction", ALL)
def test_float_inputs_keep_their_dtype(dtype, reduction):
    x = rng(8).random((1, 2, 5, 6)).astype(dtype)
    window = {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}
    options = PoolOptions(expectation=True, dtype="float64")
    want = expected(x, reduction, **window)
    for path in paths_for(x, reduction, window):
        got = engine(x, reduction, path=path, options=options, **window)
        assert got.dtype == dtype, path
        assert_close(got, want, dtype, path)


@pytest.mark.parametrize("reduction", ALL)
def test_bfloat16_tensors(reduction):
    g = torch.Generator().manual_seed(0)
    x = torch.rand((1, 2, 6, 6), generator=g).to(torch.bfloat16)
    got = pool(x, reduction, kernel_size=2, stride=1, padding=1, layout="NCHW", expectation=True)
    assert isinstance(got, torch.Tensor) and got.dtype is torch.bfloat16
    want = expected(x.double().numpy(), reduction, kernel_size=2, stride=1, padding=1)
    np.testing.assert_allclose(got.double().numpy(), want, rtol=1e-2, atol=1e-2)


def test_half_precision_accumulates_in_float32():
    # 4096 ones summed in float16 one at a time would stall at 2048.
    x = np.ones((64, 64), dtype=np.float16)
    assert pool(x, "avg", global_pool=True).tolist() == [[1.0]]
    assert pool(x, "avg", kernel_size=64).tolist() == [[1.0]]
    t = torch.ones((64, 64), dtype=torch.bfloat16)
    assert pool(t, "avg", kernel_size=64).tolist() == [[1.0]]
    assert pool(t, "avg", global_pool=True).tolist() == [[1.0]]


@pytest.mark.parametrize("dtype", [">f4", ">f8", ">i2", ">i8", ">u2", ">u4", "<f4"])
@pytest.mark.parametrize("reduction", ["max", "avg", "sum", "median"])
def test_big_endian_and_read_only_arrays(dtype, reduction):
    native = rng(9).integers(0, 100, (5, 6)).astype(np.dtype(dtype).newbyteorder("="))
    for x in (native.astype(dtype), native.astype(dtype)[:, ::-1]):
        x.setflags(write=False)
        got = pool(x, reduction, kernel_size=2, stride=1, padding=1)
        plain = np.ascontiguousarray(x).astype(x.dtype.newbyteorder("="))
        want = pool(plain, reduction, kernel_size=2, stride=1, padding=1)
        np.testing.assert_array_equal(got, want)
        assert got.dtype == want.dtype and got.dtype.isnative


def test_memory_mapped_read_only_input(tmp_path):
    x = rng(10).random((7, 8)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    mapped = np.load(tmp_path / "x.npy", mmap_mode="r")
    np.testing.assert_array_equal(
        pool(mapped, "median", kernel_size=3, stride=1), pool(x, "median", kernel_size=3, stride=1)
    )
    np.testing.assert_array_equal(pool(mapped, "max", kernel_size=2), pool(x, "max", kernel_size=2))


def test_non_contiguous_inputs():
    base = rng(13).standard_normal((2, 3, 8, 10))
    for x in (base[:, :, ::2, 1::3], base.transpose(0, 1, 3, 2), base[..., ::-1]):
        for reduction in ("max", "avg", "median", "sum"):
            got = engine(x, reduction, kernel_size=2, stride=1, padding=1)
            want = engine(np.ascontiguousarray(x), reduction, kernel_size=2, stride=1, padding=1)
            np.testing.assert_array_equal(got, want)


def test_tensor_in_tensor_out():
    x = torch.arange(16.0).reshape(4, 4)
    got = pool(x, "max", kernel_size=2)
    assert isinstance(got, torch.Tensor)
    assert got.tolist() == [[5.0, 7.0], [13.0, 15.0]]
    ints = torch.arange(16, dtype=torch.int32).reshape(1, 1, 4, 4)
    got = pool(ints, "sum", kernel_size=2)
    assert isinstance(got, torch.Tensor) and got.dtype is torch.int64
    assert got.shape == (1, 1, 2, 2)


def test_bool_tensors():
    x = torch.tensor([[True, False, False, False], [False, False, True, True]])
    assert pool(x, "max", kernel_size=2).tolist() == [[True, True]]
    assert pool(x, "min", kernel_size=2).tolist() == [[False, False]]
    assert pool(x, "sum", kernel_size=2).tolist() == [[1, 2]]
    assert pool(x, "mode", kernel_size=2).tolist() == [[False, False]]  # 2:2 tie -> smaller


# ============================================================================ NaN


def test_nan_propagates_in_max_as_torch():
    x = rng(14).standard_normal((1, 2, 6, 6))
    x[0, 0, 1, 2] = np.nan
    x[0, 1, 5, 5] = np.nan
    for k, s, p in ((2, 2, 0), (3, 1, 1), (3, 2, 1)):
        want = MAX_POOL[2](tt(x), k, s, p).numpy()
        window = {"kernel_size": k, "stride": s, "padding": p}
        for path in paths_for(x, "max", window):
            np.testing.assert_array_equal(engine(x, "max", path=path, **window), want)


@pytest.mark.parametrize("reduction", ["min", "avg", "sum", "lp", "median"])
def test_nan_propagates(reduction):
    # The contract: NaN propagates for min, avg, sum, lp and median too. (mode has no NaN rule
    # in the contract and is not tested with NaN; stochastic refuses NaN, tested below.)
    x = rng(15).standard_normal((1, 2, 6, 6))
    x[0, 0, 1, 2] = np.nan
    for window in (
        {"kernel_size": 2},
        {"kernel_size": 3, "stride": 1, "padding": 1},
        {"global_pool": True},
        {"output_size": 4},
    ):
        want = expected(x, reduction, **window)
        assert np.isnan(want).any() and not np.isnan(want).all()
        for path in paths_for(x, reduction, window):
            got = engine(x, reduction, path=path, **window)
            np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=f"{window} {path}")
            assert_close(got, want, msg=f"{window} {path}")


def test_stochastic_refuses_nan():
    x = np.array([[1.0, np.nan], [2.0, 3.0]])
    with pytest.raises(PoolError):
        pool(x, "stochastic", kernel_size=2, seed=0)
