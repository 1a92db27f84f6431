"""A dry run's look at its inputs: which ones the real run would fail, found without pooling.

:func:`precheck_plan` reads every input the plan would pool (numpy and Pillow; never torch)
and follows its shape through the chain's window arithmetic, so that ``--dry-run`` names an
unreadable input, or one too small for its window, with the message the real run would
print, and exits with the real run's status.
"""

from __future__ import annotations

from dataclasses import replace

from poolcli.batch.plan import Plan, Task
from poolcli.errors import PoolError


def precheck_plan(plan: Plan, layout: str | None = None, problem=None) -> Plan:
    """``plan`` with each input that is bound to fail marked ``fail``, with its reason.
    ``problem(task, steps, layout)`` finds the reason (default: :func:`input_problem`; a
    run block by block passes :func:`poolcli.batch.blockwise.blocks_problem`)."""
    problem = problem or _input_problem
    return replace(plan, tasks=[_checked(task, plan, layout, problem) for task in plan.tasks])


def _input_problem(task: Task, steps, layout: str | None) -> str | None:
    return input_problem(task.source.path, steps, layout)


def _checked(task: Task, plan: Plan, layout: str | None, problem) -> Task:
    if task.action != "run":
        return task
    reason = problem(task, plan.steps, layout)
    return task if reason is None else replace(task, action="fail", reason=reason)


def input_problem(path: str, steps, layout: str | None = None) -> str | None:
    """Why pooling the file ``path`` with ``steps`` would fail (``None``: no reason known)."""
    from poolcli import io
    from poolcli.batch.task import input_layout

    try:
        loaded = io.read_input(path)
        follow_shape(tuple(loaded.array.shape), input_layout(loaded, layout), steps)
    except PoolError as error:
        return error.message
    except OSError as error:
        return f"cannot be read: {error.strerror or error}."
    return None


def follow_shape(shape: tuple[int, ...], layout: str | None, steps) -> tuple[int, ...]:
    """The shape ``steps`` make of ``shape`` in ``layout`` (``None``: guessed); an input too
    small for a window is the :class:`PoolError` the run would raise."""
    from poolcli.model.options import resolve_layout
    from poolcli.model.window import output_shape

    chosen, _ = resolve_layout(shape, layout)
    for step in steps:
        spatial = output_shape(step.spec, chosen.spatial_shape(shape))
        shape = chosen.with_spatial(shape, spatial)
    return shape
