"""The public API (poolcli.pool, engine.core.run) raises only PoolError for what a user passes."""

from __future__ import annotations

import numpy as np
import pytest
import reference as ref

import poolcli


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
