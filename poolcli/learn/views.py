"""What the pictures and ``explain`` show of a result pooled over other axes (``--pool-axes``).

They know layouts of N, C, D, H, W. A result pooled over any letters is shown as the engine
sees it: the pooled axes as the spatial ones, the kept ``C`` as channels, every other axis
merged into N (one item per combination of them).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from poolcli.model.axes import AxesLayout
from poolcli.model.layout import Layout


def plain_view(array, result):
    """``(array, result)`` in a layout of N, C, D, H, W letters; unchanged when already so."""
    layout = result.layout
    if not isinstance(layout, AxesLayout):
        return array, result
    array = np.ascontiguousarray(layout.canonical(np.asarray(array)))
    output = np.ascontiguousarray(layout.canonical(np.asarray(result.output)))
    plain = Layout("NC" + "DHW"[-len(layout.spatial) :])
    view = dataclasses.replace(
        result,
        output=output,
        input_shape=array.shape,
        layout=plain,
        alpha=False,
        pixels=False,
    )
    return array, view
