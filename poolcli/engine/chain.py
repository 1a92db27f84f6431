"""Running a chain of steps on one array: each step's output is the next step's input.

Running a chain gives exactly what running the steps one after another gives
(:func:`poolcli.engine.core.run` on the previous output, with the same layout), with no
start-up cost or file in between.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from poolcli.model.layout import Layout
from poolcli.model.options import PoolResult
from poolcli.model.steps import Step, as_steps, make_step  # noqa: F401  (make_step: doctest)


@dataclass
class ChainResult:
    """A chain applied to one array: the final output and every step's :class:`PoolResult`.

    ``results[i].output`` is the input of step ``i + 1``.
    """

    results: list[PoolResult]

    @property
    def final(self) -> PoolResult:
        return self.results[-1]

    @property
    def output(self):
        return self.results[-1].output

    @property
    def layout(self) -> Layout:
        return self.results[-1].layout

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.results[0].input_shape

    @property
    def input_dtype(self) -> str:
        return self.results[0].input_dtype


def run_chain(
    array,
    steps: Step | Sequence[Step],
    layout: str | Layout | None = None,
    *,
    device: str = "cpu",
    alpha: bool = False,
    pixels: bool = False,
) -> ChainResult:
    """Apply ``steps`` to ``array`` one after another.

    Parameters
    ----------
    array : numpy.ndarray or torch.Tensor
        The input, laid out as ``layout`` (default: the default-layout rule).
    steps : Step or sequence of Step
        The ops, first to last.
    layout : str or Layout, optional
        Layout of ``array``; later steps use the layout the previous step kept.
    device : str
        Where every step runs (``cpu``, ``cuda``...).
    alpha : bool
        The last channel is an image's straight alpha (see :func:`poolcli.engine.core.run`); it
        stays so through the chain.
    pixels : bool
        The C axis holds the channels of one pixel (see :func:`poolcli.engine.core.run`).

    Returns
    -------
    ChainResult

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(16).reshape(4, 4)
    >>> run_chain(x, [make_step("max", kernel_size=2), make_step("sum", kernel_size=2)]).output
    array([[40]])
    """
    from poolcli.engine import core

    results: list[PoolResult] = []
    current = array
    for step in as_steps(steps):
        options = dataclasses.replace(step.options, device=device)
        result = core.run(
            current, step.reduction, step.spec, layout, options, alpha=alpha, pixels=pixels
        )
        results.append(result)
        current, layout = result.output, result.layout
    return ChainResult(results)
