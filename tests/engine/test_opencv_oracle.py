"""OpenCV as a second oracle for the sliding windows of images: dilate, erode, medianBlur and
blur against poolcli on the valid region (the windows that hold no padding)."""

from __future__ import annotations

import cv2
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from poolcli.engine.core import pool

OPENCV = {
    "max": lambda x, k: cv2.dilate(x, np.ones((k, k), np.uint8)),
    "min": lambda x, k: cv2.erode(x, np.ones((k, k), np.uint8)),
    "median": lambda x, k: cv2.medianBlur(x, k),
    "avg": lambda x, k: cv2.blur(x, (k, k)),
}


@settings(max_examples=40, deadline=None)
@given(
    reduction=st.sampled_from(sorted(OPENCV)),
    k=st.sampled_from([3, 5]),
    rgb=st.booleans(),
    floats=st.booleans(),
    height=st.integers(5, 40),
    width=st.integers(5, 40),
    seed=st.integers(0, 2**32 - 1),
)
def test_sliding_windows_equal_opencv(reduction, k, rgb, floats, height, width, seed):
    generator = np.random.default_rng(seed)
    shape = (height, width, 3) if rgb else (height, width)
    x = generator.integers(0, 256, shape).astype(np.uint8)
    if floats:
        x = (x.astype(np.float32) - 128) / 7  # ties and negative values
    got = pool(x, reduction, kernel_size=k, stride=1, layout="HWC" if rgb else "HW")
    h = k // 2
    want = OPENCV[reduction](x, k)[h:-h, h:-h]
    if reduction == "avg" and not floats:
        # OpenCV rounds the 8-bit mean to uint8; k * k is odd, so there are no halves.
        np.testing.assert_array_equal(np.rint(got).astype(np.uint8), want)
    elif reduction == "avg":
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    else:
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
