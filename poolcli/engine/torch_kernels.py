"""torch's own pooling kernels (max and avg on float tensors, and adaptive max/avg)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from poolcli.model.reductions import Reduction


def pool_torch(x, reduction, windows, count_include_pad) -> torch.Tensor:
    dims = len(windows)
    batch_shape = x.shape[:2]
    x = x.reshape(-1, *x.shape[2:]) if dims < 3 else x.reshape(-1, 1, *x.shape[2:])
    # torch's 1-D/2-D kernels take (C, *spatial); 3-D takes (N, C, D, H, W).
    if windows[0].bins is not None:
        size = tuple(a.out for a in windows)
        fn = {
            Reduction.MAX: (F.adaptive_max_pool1d, F.adaptive_max_pool2d, F.adaptive_max_pool3d),
            Reduction.AVG: (F.adaptive_avg_pool1d, F.adaptive_avg_pool2d, F.adaptive_avg_pool3d),
        }[reduction][dims - 1]
        y = fn(x, size)
    else:
        kernel = tuple(a.kernel for a in windows)
        stride = tuple(a.stride for a in windows)
        pad = tuple(a.pad_begin for a in windows)
        ceil = windows[0].ceil_mode
        if reduction is Reduction.MAX:
            fn = (F.max_pool1d, F.max_pool2d, F.max_pool3d)[dims - 1]
            y = fn(x, kernel, stride, pad, tuple(a.dilation for a in windows), ceil_mode=ceil)
        else:
            fn = (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d)[dims - 1]
            y = fn(x, kernel, stride, pad, ceil_mode=ceil, count_include_pad=count_include_pad)
    return y.reshape(*batch_shape, *y.shape[-dims:])
