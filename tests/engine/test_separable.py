"""The separable passes and the shared median networks against the loop reference, on long
windows too (the doubling passes start at ``separable.DOUBLING_FROM`` taps per axis)."""

from __future__ import annotations

import numpy as np
import reference as ref
from hypothesis import given, settings
from hypothesis import strategies as st
from test_fuzz import assert_matches

from poolcli.engine import ops, separable
from poolcli.model.layout import Layout
from poolcli.model.reductions import Reduction
from poolcli.model.window import WindowSpec, resolve


@st.composite
def long_windows(draw):
    nd = draw(st.integers(1, 3))
    kernel = tuple(draw(st.integers(1, 12)) for _ in range(nd))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    sizes = tuple(
        draw(st.integers(1, d * (k - 1) + 4)) if nd < 3 else draw(st.integers(1, 6))
        for k, d in zip(kernel, dilation)
    )
    stride = tuple(draw(st.integers(1, 4)) for _ in range(nd))
    pads = tuple((draw(st.integers(0, k)), draw(st.integers(0, k))) for k in kernel)
    ceil, include = draw(st.booleans()), draw(st.booleans())
    return sizes, kernel, stride, pads, dilation, ceil, include


@settings(max_examples=120, deadline=None)
@given(
    window=long_windows(),
    reduction=st.sampled_from(sorted(r.value for r in separable.SEPARABLE)),
    dtype=st.sampled_from([np.uint8, np.int16, np.int64, np.float32, np.float64]),
    seed=st.integers(0, 2**32 - 1),
)
def test_separable_equals_the_reference(window, reduction, dtype, seed):
    sizes, kernel, stride, pads, dilation, ceil, include = window
    x = np.random.default_rng(seed).integers(-3 if dtype != np.uint8 else 0, 4, (2, *sizes))
    x = x.astype(dtype)
    spec = WindowSpec.make(
        kernel_size=kernel,
        stride=stride,
        padding=pads,
        dilation=dilation,
        ceil_mode=ceil,
        count_include_pad=include,
    )
    layout = Layout.parse("C" + "DHW"[-len(sizes) :])
    try:
        axes = resolve(spec, sizes, layout.spatial)
    except Exception:  # noqa: BLE001 - windows that do not fit are refused before the engine
        return
    got, _ = ops.pool_array(
        x, Reduction(reduction), axes, layout, count_include_pad=include, path="separable"
    )
    want = ref.reference_pool(
        x[None], reduction, kernel, stride, pads, dilation, ceil, include, 2.0
    )[0]
    assert_matches(got, want, x.dtype, f"{reduction} {x.dtype} {window}")
