"""The worked examples of the tutorial articles in shared/seeds/, as golden tests.

Each test names its article. Where an article prints a wrong value, the test checks the
correct one and a comment says which printed value is corrected and why.
"""

from __future__ import annotations

import numpy as np
import torch

from poolcli.engine.core import pool
from poolcli.model.window import output_size

# The matrices the articles use.
ONE_TO_16_A = np.array([[1, 3, 2, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]])
ONE_TO_16_B = np.arange(1, 17).reshape(4, 4)
MIXED_001 = np.array([[1, 3, 2, 4], [5, 6, 8, 7], [4, 2, 1, 0], [9, 7, 3, 2]])
MIXED_003 = np.array([[1, 3, 2, 4], [5, 6, 7, 8], [2, 4, 1, 3], [0, 1, 2, 4]])


def check(got, want, dtype):
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, np.array(want, dtype=dtype))


# ----------------------------------------------------------------- 000_f3540b0409f9ddcb.txt


def test_000_max_pooling_4x4():
    # Section 3.1: 2x2 windows, stride 2. Printed [[6, 8], [14, 16]]: correct.
    check(pool(ONE_TO_16_A, "max", kernel_size=2, stride=2), [[6, 8], [14, 16]], np.int64)


def test_000_average_pooling_4x4_corrected():
    # Section 3.2 prints [[4.5, 6.5], [11.5, 14.5]] for this matrix. Only 11.5 is right:
    # (1+3+5+6)/4 = 3.75, (2+4+7+8)/4 = 5.25, (9+10+13+14)/4 = 11.5, (11+12+15+16)/4 = 13.5.
    got = pool(ONE_TO_16_A, "avg", kernel_size=2, stride=2)
    check(got, [[3.75, 5.25], [11.5, 13.5]], np.float32)


def test_000_single_2x2_window():
    # Sections 4.1 and 4.2: [[1, 3], [5, 6]] -> max 6, average (1+3+5+6)/4 = 3.75. Correct.
    window = np.array([[1, 3], [5, 6]])
    check(pool(window, "max", kernel_size=2), [[6]], np.int64)
    check(pool(window, "avg", kernel_size=2), [[3.75]], np.float32)


def test_000_lenet_sizes():
    # Section 5.3: conv 5x5 -> max pool 2x2 -> conv 5x5 -> avg pool 2x2, then a 16*4*4 linear
    # layer, so a 28x28 input: 28 -> 24 -> 12 -> 8 -> 4. (A 5x5 convolution without padding
    # has the same size arithmetic as a 5x5 window with stride 1.)
    assert output_size(28, 5, 1) == 24
    assert output_size(24, 2, 2) == 12
    assert output_size(12, 5, 1) == 8
    assert output_size(8, 2, 2) == 4
    features = torch.rand(1, 6, 24, 24)
    pooled = pool(features, "max", kernel_size=2, stride=2)
    assert tuple(pooled.shape) == (1, 6, 12, 12)
    assert torch.equal(pooled, torch.nn.functional.max_pool2d(features, 2, 2))
    features = torch.rand(1, 16, 8, 8)
    pooled = pool(features, "avg", kernel_size=2, stride=2)
    assert tuple(pooled.shape) == (1, 16, 4, 4)
    assert torch.allclose(pooled, torch.nn.functional.avg_pool2d(features, 2, 2))


# ----------------------------------------------------------------- 001_677143ffc804cd72.txt


def test_001_max_pool_1_to_16():
    # Section 2.1: nn.MaxPool2d(2, 2) on 1..16 as (1, 1, 4, 4) float32. Printed
    # [[6., 8.], [14., 16.]]: correct.
    x = torch.tensor(ONE_TO_16_B, dtype=torch.float32).reshape(1, 1, 4, 4)
    got = pool(x, "max", kernel_size=2, stride=2)
    assert isinstance(got, torch.Tensor) and got.dtype is torch.float32
    assert got.tolist() == [[[[6.0, 8.0], [14.0, 16.0]]]]


def test_001_max_pool_worked_windows():
    # Section 2.1.1: windows [[1,3],[5,6]] -> 6, [[2,4],[8,7]] -> 8, [[4,2],[9,7]] -> 9,
    # [[1,0],[3,2]] -> 3, so [[6, 8], [9, 3]]. Correct (also as the float32 tensor printed).
    check(pool(MIXED_001, "max", kernel_size=2, stride=2), [[6, 8], [9, 3]], np.int64)
    x = torch.tensor(MIXED_001, dtype=torch.float32).reshape(1, 1, 4, 4)
    assert pool(x, "max", kernel_size=2, stride=2).tolist() == [[[[6.0, 8.0], [9.0, 3.0]]]]


def test_001_avg_pool_1_to_16():
    # Section 2.2: nn.AvgPool2d(2, 2) on 1..16. Printed [[3.5, 5.5], [11.5, 13.5]]: correct.
    x = torch.tensor(ONE_TO_16_B, dtype=torch.float32).reshape(1, 1, 4, 4)
    got = pool(x, "avg", kernel_size=2, stride=2)
    assert got.tolist() == [[[[3.5, 5.5], [11.5, 13.5]]]]
    check(pool(ONE_TO_16_B, "avg", kernel_size=2), [[3.5, 5.5], [11.5, 13.5]], np.float32)


def test_001_global_average_corrected():
    # Section 3.1 prints 4.2500 for nn.AdaptiveAvgPool2d((1, 1)) on this matrix. The sum is
    # 10 + 26 + 7 + 21 = 64 over 16 cells, so the global average is 4.0.
    check(pool(MIXED_001, "avg", global_pool=True), [[4.0]], np.float32)
    check(pool(MIXED_001, "avg", output_size=1), [[4.0]], np.float32)
    x = torch.tensor(MIXED_001, dtype=torch.float32).reshape(1, 1, 4, 4)
    assert pool(x, "avg", output_size=(1, 1)).tolist() == [[[[4.0]]]]


def test_001_global_max():
    # Section 3.2: nn.AdaptiveMaxPool2d((1, 1)) -> 9. Correct.
    check(pool(MIXED_001, "max", global_pool=True), [[9]], np.int64)
    x = torch.tensor(MIXED_001, dtype=torch.float32).reshape(1, 1, 4, 4)
    assert pool(x, "max", output_size=1).tolist() == [[[[9.0]]]]


# ----------------------------------------------------------------- 002_835bc6268218f267.txt


def test_002_seven_by_seven_to_three_by_three():
    # Section 2.1: pooling shrinks a 7x7 feature map to 3x3 (a 3x3 window with stride 2, or a
    # 2x2 window with stride 2: both give floor((7 - k) / 2) + 1 = 3).
    assert output_size(7, 3, 2) == 3
    assert output_size(7, 2, 2) == 3
    x = np.arange(49).reshape(7, 7)
    check(pool(x, "max", kernel_size=3, stride=2), [[16, 18, 20], [30, 32, 34], [44, 46, 48]],
          np.int64)  # fmt: skip
    assert pool(x, "avg", kernel_size=2, stride=2).shape == (3, 3)


def test_002_global_average_keeps_one_value_per_channel():
    # Section 3.1.3 says GlobalAvgPool averages each channel and then adds the channel means
    # into one output. It does not: global average pooling gives one mean per channel.
    x = np.stack([np.full((4, 4), 1.0), np.full((4, 4), 2.0), np.full((4, 4), 6.0)])  # CHW
    got = pool(x, "avg", global_pool=True, layout="CHW")
    assert got.shape == (3, 1, 1)
    assert got.ravel().tolist() == [1.0, 2.0, 6.0]


def test_002_average_pooling_halves_the_size():
    # Section 3.1.3: 2x2 average pooling halves height and width, channels unchanged.
    got = pool(np.ones((3, 8, 10)), "avg", kernel_size=2, layout="CHW")
    assert got.shape == (3, 4, 5)


def test_002_sequence_pooling():
    # Section 3.2.1: MaxPooling, MinPooling and SumPooling over the tokens of a sequence turn
    # (tokens, embedding) into one vector of the embedding size. As NWC: W tokens, C features.
    tokens = np.array([[[1, -2, 0], [4, 5, -6], [-7, 8, 9], [3, 0, 2]]])  # N=1, W=4, C=3
    for reduction, want in {
        "max": [4, 8, 9],
        "min": [-7, -2, -6],
        "sum": [1, 11, 5],
    }.items():
        got = pool(tokens, reduction, global_pool=True, layout="NWC")
        assert got.shape == (1, 1, 3)
        assert got.ravel().tolist() == want, reduction


# ----------------------------------------------------------------- 003_4f3d48f65b6934e7.txt


def test_003_max_and_average():
    # "使用 2x2 最大池化，步幅为 2": [[6, 8], [4, 4]], and average [[3.75, 5.25], [1.75, 2.5]].
    # Both correct.
    check(pool(MIXED_003, "max", kernel_size=2, stride=2), [[6, 8], [4, 4]], np.int64)
    check(pool(MIXED_003, "avg", kernel_size=2, stride=2), [[3.75, 5.25], [1.75, 2.5]], np.float32)


def test_003_global_max():
    # "Global Max Pooling 的结果是 8": correct.
    check(pool(MIXED_003, "max", global_pool=True), [[8]], np.int64)
    x = torch.tensor(MIXED_003, dtype=torch.float32).reshape(1, 1, 4, 4)
    assert pool(x, "max", output_size=1).tolist() == [[[[8.0]]]]


def test_003_global_average_corrected():
    # The article prints 3.25 for Global Average Pooling. The sum is 10 + 26 + 10 + 7 = 53 over
    # 16 cells, so the global average is 53/16 = 3.3125 (the mean of its own 2x2 averages
    # 3.75, 5.25, 1.75 and 2.5 is 3.3125 too).
    check(pool(MIXED_003, "avg", global_pool=True), [[3.3125]], np.float32)
    x = torch.tensor(MIXED_003, dtype=torch.float32).reshape(1, 1, 4, 4)
    assert pool(x, "avg", output_size=1).tolist() == [[[[3.3125]]]]


# ----------------------------------------------------------------- 004_5f9af3a58cb3e397.txt


def test_004_hwc_definition():
    # Section 3: Y[i, j, k] = rho(X[s_i:e_i, s_j:e_j, k]) on an H x W x C map, with the usual
    # 3x3 window and stride 2. Check every output cell of an HWC array against that formula.
    x = np.random.default_rng(4).integers(0, 100, (7, 9, 3))
    got = pool(x, "max", kernel_size=3, stride=2, layout="HWC")
    assert got.shape == (3, 4, 3)
    for i in range(3):
        for j in range(4):
            for k in range(3):
                assert got[i, j, k] == x[2 * i : 2 * i + 3, 2 * j : 2 * j + 3, k].max()
    got = pool(x, "avg", kernel_size=2, stride=2, layout="HWC")
    assert got.shape == (3, 4, 3)
    assert got[1, 2, 0] == x[2:4, 4:6, 0].mean()
