"""Spatial pyramid pooling seen level by level, for ``--explain``: an SPP result is the
adaptive pools of each level joined per channel, so each level is explained as the adaptive
pooling it is (:func:`spp_levels`)."""

from __future__ import annotations

from poolcli.engine.core import run
from poolcli.model.options import PoolResult
from poolcli.model.window import WindowSpec


def spp_levels(array, result: PoolResult) -> list[tuple[int, PoolResult]]:
    """Each level ``n`` of ``result`` (an ``--spp`` result of ``array``) and the adaptive
    pooling to ``n`` cells per axis that it holds, run by the same engine."""
    levels = []
    for n in result.spec.spp:
        spec = WindowSpec.make(output_size=n, count_include_pad=result.spec.count_include_pad)
        level = run(
            array,
            result.reduction,
            spec,
            result.input_layout or result.layout,
            result.options,
            alpha=result.alpha,
            pixels=result.pixels,
        )
        levels.append((n, level))
    return levels
