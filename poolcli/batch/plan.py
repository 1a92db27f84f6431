"""The plan of a batch: every input with its output, its picture and what the run will do
with it, checked before anything is written (no output is an input or written twice).

Outputs go to the output folder / (the source's relative folder) / (the ``name`` template
rendered, see :data:`~poolcli.batch.names.NAME_FIELDS`): a file named on the command line
lands at the top of the folder, a file found in folder ``F`` at its path below ``F``, a glob
match at its path below the pattern's fixed part, a ``files_from`` entry at its own relative
path (its name only when the path is absolute or climbs with ``..``).
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import IO

from poolcli.batch.names import DEFAULT_NAME, FORMATS, check_name_template, name_fields, output_rel
from poolcli.batch.sources import Expansion, Source, expand_inputs
from poolcli.errors import UsageError, display_path
from poolcli.io.formats import is_zarr_store
from poolcli.model.steps import Step, as_steps, chain_label


def is_inside(path: str, root: str) -> bool:
    """True when ``path``, with every symbolic link in it resolved, is ``root`` or below it."""
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    return os.path.commonpath([real_root, real]) == real_root


@dataclass(frozen=True)
class Task:
    """One source with its output and what the run will do: ``run``, ``skip`` or ``fail``.

    ``reason`` says why a task is skipped (the output exists, the file is unreadable) or
    fails (its output would leave the folder through a symbolic link...).
    """

    index: int
    source: Source
    output: str | None
    action: str = "run"
    reason: str | None = None
    #: Where ``--viz DIR/`` draws this input (``None``: no picture, or it exists already).
    picture: str | None = None


@dataclass
class Plan:
    """Every input with its output and action, checked before anything is written."""

    tasks: list[Task]
    steps: tuple[Step, ...]
    output_dir: str | None
    ignored: list[tuple[str, str]] = field(default_factory=list)
    folders_not_searched: int = 0

    def count(self, action: str) -> int:
        return sum(1 for t in self.tasks if t.action == action)

    def lines(self) -> list[str]:
        """The dry-run listing: ``INPUT -> OUTPUT`` per input, with skips and failures said."""
        lines = []
        for t in self.tasks:
            target = display_path(t.output) if t.output else "(not written)"
            line = f"{display_path(t.source.path)} -> {target}"
            if t.action == "skip":
                line += f"  [skip: {t.reason}]"
            elif t.action == "fail":
                line += f"  [error: {t.reason}]"
            lines.append(line)
        return lines

    def to_dict(self) -> dict:
        """The plan as JSON-ready values (for ``--dry-run --json``)."""
        from poolcli.render.schema import step_json

        return {
            "steps": [step_json(s) for s in self.steps],
            "chain": chain_label(self.steps),
            "output_dir": self.output_dir,
            "files": [
                {
                    "input": t.source.path,
                    "output": t.output,
                    "action": t.action,
                    "reason": t.reason,
                }
                for t in self.tasks
            ],
            "to_run": self.count("run"),
            "to_skip": self.count("skip"),
            "failing": self.count("fail"),
            "ignored": len(self.ignored),
        }


def plan_batch(
    inputs: Iterable[str] | Expansion,
    steps: Step | Sequence[Step],
    output_dir: str | None = None,
    *,
    format: str = "same",
    name: str = DEFAULT_NAME,
    overwrite: bool = False,
    recursive: bool = False,
    files_from: str | IO[bytes] | None = None,
    null: bool = False,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    viz_dir: str | None = None,
    indices_dir: str | None = None,
    viz_format: str = "png",
) -> Plan:
    """Find the inputs and map each to its output (see the module's notes); refuse a batch
    that would go wrong. Without ``output_dir`` nothing is written.

    Parameters
    ----------
    inputs
        Items for :func:`expand_inputs`, or an :class:`Expansion` already made.
    steps
        The op or chain (used by the ``{op}``, ``{k}``... fields).
    format, name : str
        The outputs' suffix (``png``, ``tiff``, ``npy``, ``same``) and name template.
    overwrite : bool
        Replace existing outputs and pictures; else they are skipped (so a rerun resumes).
    viz_dir, indices_dir, viz_format : str, optional
        Where ``--viz DIR/`` draws (``viz_format``: png, svg, gif, html) and ``--indices DIR/``
        writes, mirroring relative paths.

    Raises
    ------
    UsageError
        A bad format or template; outputs or pictures that collide with each other, leave the
        folder or are inputs (refused even with ``overwrite``); an output folder that is a file.
    """
    steps = as_steps(steps)
    _check_output_options(output_dir, format, name, viz_format)
    found = inputs
    if not isinstance(inputs, Expansion):
        found = expand_inputs(
            inputs,
            recursive=recursive,
            files_from=files_from,
            null=null,
            include=include,
            exclude=exclude,
            skip_dirs=[d for d in (output_dir, viz_dir, indices_dir) if d is not None],
        )
    sources = enumerate(found.sources)
    tasks = [_task(i, s, steps, output_dir, format, name, overwrite) for i, s in sources]
    tasks = [_with_picture(task, viz_dir, overwrite, viz_format) for task in tasks]
    tasks += _missing_tasks(found.missing, start=len(tasks))
    _check_writes(tasks, overwrite)
    return Plan(tasks, steps, output_dir, found.ignored, found.folders_not_searched)


def _check_output_options(output_dir: str | None, format: str, name: str, viz_format) -> None:
    _check_viz_format(viz_format)
    if format not in FORMATS:
        raise UsageError(
            f"--format {format} is not one of {', '.join(FORMATS)}.", option="--format"
        )
    if output_dir is None and (format != "same" or name != DEFAULT_NAME):
        option = "--format" if format != "same" else "--name"
        raise UsageError(f"{option} needs an output folder (-o DIR/).", option=option)
    if output_dir is not None:
        check_name_template(name)
        if os.path.exists(output_dir) and not os.path.isdir(output_dir):
            raise UsageError(
                f"-o {output_dir} is a file, but a batch writes into a folder. "
                "Give a folder name (it is created when missing).",
                option="-o",
            )


def _missing_tasks(missing: list[tuple[str, str]], start: int) -> list[Task]:
    """Named inputs that do not exist and patterns that match nothing: failed tasks."""
    return [
        Task(start + i, Source(item, posixpath.basename(item), "file"), None, "fail", reason)
        for i, (item, reason) in enumerate(missing)
    ]


def _task(index, source, steps, output_dir, format, template, overwrite) -> Task:
    if output_dir is None:
        action, reason = ("skip", source.unreadable) if source.unreadable else ("run", None)
        return Task(index, source, None, action, reason)
    ext = FORMATS[format]
    in_ext = os.path.splitext(source.rel)[1]
    if ext is None and not in_ext:
        return Task(
            index,
            source,
            None,
            "fail",
            "has no suffix, so --format same cannot tell the output's; use --format png, "
            "tiff or npy.",
        )
    rel = output_rel(source, template, name_fields(source, steps, ext))
    output = os.path.join(output_dir, *rel.split("/"))
    if source.unreadable:
        return Task(index, source, output, "skip", source.unreadable)
    if not is_inside(os.path.dirname(output), output_dir):
        return Task(index, source, output, "fail", outside_reason(output_dir))
    if os.path.isdir(output) and not is_zarr_store(output):
        return Task(index, source, output, "fail", f"its output {output} is a folder.")
    if os.path.lexists(output) and not overwrite:
        return Task(index, source, output, "skip", "output exists (overwrite replaces it)")
    return Task(index, source, output, "run")


#: What ``--viz-format`` takes: the suffixes of the pictures ``--viz DIR/`` draws.
VIZ_FORMATS = ("png", "svg", "gif", "html")


def _check_viz_format(viz_format: str) -> None:
    if viz_format not in VIZ_FORMATS:
        raise UsageError(
            f"--viz-format {viz_format} is not one of {', '.join(VIZ_FORMATS)}.",
            option="--viz-format",
        )


def viz_path(source: Source, viz_dir: str, viz_format: str = "png") -> str:
    """Where ``--viz DIR/`` draws ``source``: its relative path under DIR, with the suffix
    of ``viz_format``."""
    stem, _ = os.path.splitext(source.rel)
    return os.path.join(viz_dir, *f"{stem}.{viz_format}".split("/"))


def _with_picture(task: Task, viz_dir: str | None, overwrite: bool, viz_format: str) -> Task:
    """``task`` with the picture ``--viz DIR/`` draws of its input."""
    if viz_dir is None or task.action == "fail":
        return task
    picture = viz_path(task.source, viz_dir, viz_format)
    if task.output is None and task.action == "run":
        # The picture is all this input writes: it is planned as outputs are.
        if os.path.lexists(picture) and not overwrite:
            return replace(task, picture=picture, action="skip", reason=PICTURE_EXISTS)
    return replace(task, picture=picture)


PICTURE_EXISTS = "picture exists (overwrite replaces it)"


def outside_reason(output_dir: str) -> str:
    return (
        f"its output would be written outside the output folder {output_dir} through a "
        "symbolic link; refused."
    )


def _check_writes(tasks: list[Task], overwrite: bool) -> None:
    """Refuse the whole batch when a file it writes is an input, or is written twice."""
    from poolcli.io.guard import WriteGuard  # the io package loads numpy

    guard = WriteGuard()
    for t in tasks:
        guard.add_input(t.source.path, owner=t)
    for t in tasks:
        for role, path in (("-o", t.output), ("--viz", t.picture)):
            if path is None:
                continue
            clash = guard.claim(path, role, owner=t)
            if clash is None:
                continue
            option = "-o" if role == "-o" else "--viz"
            if clash.role == "input":
                hint = f"Choose another {option} folder or --name."
                if clash.owner is not t:  # typically the output of an earlier run
                    hint = (
                        f"Choose another {option} folder or --name, or leave such files out "
                        "with --exclude."
                    )
                raise UsageError(
                    f"{display_path(t.source.path)} would be written to {display_path(path)}, "
                    f"which is the input {display_path(clash.path)}; poolcli never writes "
                    f"over its inputs, even with --overwrite. {hint}",
                    option=option,
                )
            first = clash.owner.source.path if isinstance(clash.owner, Task) else clash.path
            if clash.role == role == "-o":
                raise UsageError(
                    f"{display_path(first)} and {display_path(t.source.path)} would "
                    f"both be written to {display_path(path)}. Use a --name template that "
                    'tells them apart, such as "{stem}{in_ext}{ext}".',
                    option="--name",
                )
            raise UsageError(
                f"{display_path(path)} would be written twice: as the {clash.role} file of "
                f"{display_path(first)} and the {role} file of {display_path(t.source.path)}. "
                "Give --viz a folder of its own.",
                option="--viz",
            )


def named_task(index: int, path: str, output: str | None, picture: str | None) -> Task:
    """The task of an input given alone: its output and picture are the files the call
    names (``-o FILE``, ``--viz FILE``), already checked by the caller."""
    return Task(index, Source(path, posixpath.basename(path), "file"), output, picture=picture)
