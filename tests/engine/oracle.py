"""What the engine tests compare with: the engine called on one path, the loop reference for
the same call, and the paths that can compute a case."""

from __future__ import annotations

import itertools
import random

import numpy as np
import reference as ref
import torch
import torch.nn.functional as F

from poolcli.engine import ops
from poolcli.errors import PoolError
from poolcli.model.layout import Layout
from poolcli.model.options import PoolOptions
from poolcli.model.reductions import Reduction
from poolcli.model.window import WindowSpec, resolve

CANONICAL = {1: "NCW", 2: "NCHW", 3: "NCDHW"}
SHAPES = {1: (2, 3, 7), 2: (1, 2, 5, 6), 3: (1, 2, 4, 4, 5)}
MAX_POOL = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
AVG_POOL = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}
LP_POOL = {1: F.lp_pool1d, 2: F.lp_pool2d, 3: F.lp_pool3d}
TAP_REDUCTIONS = ("max", "min", "sum", "avg", "lp")
ALL = ("max", "avg", "min", "sum", "lp", "median", "stochastic", "mode")


def rng(seed=0):
    return np.random.default_rng(seed)


def engine(x, reduction, *, path="auto", layout=None, options=None, **window):
    """Pool ``x`` through ops.pool_array, forcing ``path``; returns the numpy result."""
    spec = WindowSpec.make(**window)
    x_shape = tuple(x.shape)
    layout = Layout.parse(layout or CANONICAL[len(x_shape) - 2])
    windows = resolve(spec, layout.spatial_shape(x_shape), layout.spatial)
    out, device = ops.pool_array(
        x,
        Reduction(reduction),
        windows,
        layout,
        count_include_pad=spec.count_include_pad,
        options=options or PoolOptions(),
        path=path,
    )
    assert device == "cpu"
    return out


def expected(x, reduction, *, norm_type=2.0, **window):
    """The loop reference for the same call (canonical layout)."""
    x = np.asarray(x)
    if window.get("global_pool"):
        return ref.reference_global(x, reduction, norm_type)
    if window.get("output_size") is not None:
        return ref.reference_adaptive(x, reduction, window["output_size"], norm_type)
    return ref.reference_pool(
        x,
        reduction,
        window["kernel_size"],
        window.get("stride"),
        window.get("padding"),
        window.get("dilation"),
        window.get("ceil_mode", False),
        window.get("count_include_pad", False),
        norm_type,
    )


def paths_for(x, reduction, window):
    """Every engine path that computes this case exactly (the tests force each one)."""
    paths = ["auto", "gather"]
    sliding = window.get("kernel_size") is not None
    if sliding and reduction in TAP_REDUCTIONS:
        paths.append("taps")
    if window.get("global_pool"):
        paths.append("global")
    floating = np.asarray(x).dtype.kind == "f" and np.asarray(x).dtype != np.float16
    if floating and reduction in ("max", "avg"):
        if window.get("output_size") is not None:
            paths.append("torch")
        elif sliding:
            spec = WindowSpec.make(**window)
            layout = Layout.parse(CANONICAL[np.asarray(x).ndim - 2])
            axes = resolve(spec, layout.spatial_shape(np.asarray(x).shape), layout.spatial)
            symmetric = all(a.pad_begin == a.pad_end <= a.kernel // 2 for a in axes)
            no_dilation = all(a.dilation == 1 for a in axes)
            if symmetric and (reduction == "max" or no_dilation):
                paths.append("torch")
    return paths


def assert_close(got, want, dtype=np.float64, msg=""):
    got = np.asarray(got)
    want = np.asarray(want)
    assert got.shape == want.shape, (got.shape, want.shape, msg)
    if got.dtype.kind in "iub" and want.dtype.kind in "iubO":
        np.testing.assert_array_equal(got, want.astype(got.dtype), err_msg=msg)
        return
    tol = {np.float64: 1e-12, np.float32: 2e-6, np.float16: 2e-3}[dtype]
    np.testing.assert_allclose(
        got.astype(np.float64),
        want.astype(np.float64),
        rtol=tol,
        atol=tol,
        equal_nan=True,
        err_msg=msg,
    )


def tt(x):
    return torch.from_numpy(np.ascontiguousarray(x))


def reference_cases(nd, count=40):
    """A fixed sample of windows torch cannot express: same, asymmetric and large padding."""
    cases = []
    pads = [0, 1, "same", "valid", ((0, 1),), ((2, 0),), ((1, 3),), ((3, 3),), ((0, 2), (1, 0))]
    for k, s, d, p, ceil in itertools.product(range(1, 5), (1, 2, 3), (1, 2), pads, (False, True)):
        if ceil and isinstance(p, str):
            continue
        if isinstance(p, tuple) and len(p) > nd:
            continue
        window = {"kernel_size": k, "stride": s, "dilation": d, "padding": p, "ceil_mode": ceil}
        try:
            resolve(WindowSpec.make(**window), SHAPES[nd][2:])
        except PoolError:
            continue
        cases.append(window)
    return random.Random(nd).sample(cases, count)


def reference_input(reduction, shape, seed):
    g = rng(seed)
    if reduction == "mode":
        return g.integers(0, 3, shape).astype(np.int64)  # many ties
    if reduction == "stochastic":
        return g.random(shape)
    return g.standard_normal(shape)
