"""Batches: many inputs, one chain of ops, outputs mirrored into a folder, in parallel and safely.

The pieces, in the order a run uses them:

* :func:`expand_inputs` turns files, folders (``recursive`` to descend), glob patterns and a
  ``files_from`` list into :class:`Source` entries; files in folders that are not inputs
  (unsupported suffix, hidden, filtered out) are counted, unreadable ones are kept so the run
  can report them as skipped.
* :func:`plan_batch` maps every source to its output path (``output_dir`` mirroring the
  sources' relative paths, ``format`` and the ``name`` template, see :data:`NAME_FIELDS`) and
  refuses, before anything is written, outputs that collide, that are inputs, or that a
  template would put outside the folder. The :class:`Plan` is also the ``--dry-run`` listing.
* :func:`iter_batch` runs a plan: a :class:`Batch`, which is an iterator of
  :class:`FileResult` (one per input, in input order) with a live :class:`Summary`. On the
  CPU, work runs in ``jobs`` worker processes (read -> pool -> write one file each, at most
  ``2 * jobs`` files in flight), or serially for ``jobs=1``. On a GPU, this process owns the
  device: threads read and write, and same-shape files are pooled as one stack
  (``batch_size``). Outputs are byte-identical whatever ``jobs`` is.
* :func:`json_document` and :func:`jsonl_line` turn results into ``--json`` / ``--jsonl``
  text; :class:`Progress` is a progress bar on standard error (a no-op off a terminal).

Safety: every output is written by :func:`poolcli.io.atomic_write`, to a temporary name in its
own folder (``.NAME.poolcli-tmp-PID-XXXXXXXX.SUFFIX``), and renamed over the final name only
when complete.
A Ctrl-C removes the temporary files of the files being written; a run killed outright
leaves at most such temporary files, which the next run into the same folder deletes (when
the process that made them is gone) and never mistakes for outputs. Existing outputs are
skipped unless ``overwrite``, so running the same command again resumes an interrupted run.

Only the standard library is imported here; numpy, Pillow and torch load when a batch runs.
Scripts that use several jobs need the usual ``if __name__ == "__main__":`` guard, since
worker processes start from a fresh interpreter (forkserver) that imports the main module.
"""

from __future__ import annotations

import contextlib
import fnmatch
import glob
import itertools
import json
import os
import posixpath
import signal
import stat
import string
import sys
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import IO, Any

from poolcli.engine.devices import resolve_device
from poolcli.errors import ExitStatus, PoolError, UsageError, display_path, failure
from poolcli.model.reductions import Reduction
from poolcli.model.steps import Step, as_steps, chain_label, padding_text
from poolcli.model.window import format_axes

#: Suffixes of the files taken from folders and glob matches (case does not matter).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif")
INPUT_SUFFIXES = (".npy", *IMAGE_SUFFIXES)
#: ``format`` -> output suffix; ``same`` keeps the input's suffix.
FORMATS = {"png": ".png", "tiff": ".tiff", "npy": ".npy", "same": None}
DEFAULT_NAME = "{stem}{ext}"
#: Same-shape files pooled together on a GPU (``--batch-size``).
DEFAULT_BATCH_SIZE = 16
DEFAULT_PNG_COMPRESSION = 6
#: Fields of the ``name`` template.
NAME_FIELDS = {
    "stem": "the input's name without its suffix (photo for photo.png)",
    "name": "the input's whole name (photo.png)",
    "in_ext": "the input's suffix with its dot (.png)",
    "ext": "the output's suffix with its dot, from --format (.png, .tiff, .npy)",
    "op": "the reduction(s): max, or max-avg for a chain",
    "k": "the kernel: 2, 3x2; global for --global, o7x7 for --output-size",
    "s": "the stride (the kernel when not given)",
    "p": "the padding: 0, 1x2, 0:1x1:2, same, valid",
    "d": "the dilation",
}
DONE, SKIPPED, FAILED = "done", "skipped", "failed"


# --------------------------------------------------------------------------------------------
# Inputs


@dataclass(frozen=True)
class Source:
    """One input file of a batch.

    ``path`` is the file to read (as given or found); ``rel`` the relative path (``/``
    separators) its output mirrors under the output folder; ``origin`` says how it was found:
    ``file`` (named), ``dir`` (in a folder), ``glob`` (a pattern's match) or ``list``
    (``files_from``). ``unreadable`` gives the reason a file found in a folder cannot be read;
    such a file is reported as skipped, not failed.
    """

    path: str
    rel: str
    origin: str
    unreadable: str | None = None


@dataclass
class Expansion:
    """What :func:`expand_inputs` found.

    ``sources`` are the inputs, in order. ``ignored`` lists ``(path, why)`` for files seen in
    folders (or glob matches) that are not inputs: ``hidden``, ``unsupported suffix`` or
    ``excluded`` (by include/exclude). ``missing`` lists ``(item, reason)`` for named inputs
    that do not exist and patterns that match nothing: each becomes a failed result.
    ``folders_not_searched`` counts subfolders left out without ``recursive``.
    """

    sources: list[Source] = field(default_factory=list)
    ignored: list[tuple[str, str]] = field(default_factory=list)
    missing: list[tuple[str, str]] = field(default_factory=list)
    folders_not_searched: int = 0


def read_file_list(source: str | IO[bytes], *, null: bool = False) -> Iterator[str]:
    """Paths from a list file: one per line, or NUL-separated with ``null`` (``find -print0``).

    ``source`` is a path, ``"-"`` (standard input) or a binary stream. Empty entries are
    skipped; with lines, a trailing ``\\r`` is dropped. Names are decoded as the file system
    does (``os.fsdecode``), so any file name survives.

    >>> import io
    >>> list(read_file_list(io.BytesIO(b"a.png\\0dir/b c.npy\\0"), null=True))
    ['a.png', 'dir/b c.npy']
    """
    if isinstance(source, str):
        if source == "-":
            stream = sys.stdin.buffer
        else:
            try:
                stream = open(source, "rb")  # noqa: SIM115 - closed below
            except OSError as error:
                raise UsageError(
                    f"--files-from {source} cannot be read: {error.strerror}.",
                    option="--files-from",
                ) from None
            with stream:
                yield from read_file_list(stream, null=null)
            return
    else:
        stream = source
    sep = b"\0" if null else b"\n"
    pending = b""
    while True:
        chunk = stream.read(1 << 16)
        if not chunk:
            break
        pending += chunk
        *entries, pending = pending.split(sep)
        for entry in entries:
            name = _list_entry(entry, null)
            if name:
                yield name
    name = _list_entry(pending, null)
    if name:
        yield name


def _list_entry(entry: bytes, null: bool) -> str:
    if not null and entry.endswith(b"\r"):
        entry = entry[:-1]
    return os.fsdecode(entry)


def _matches(patterns: Sequence[str], rel: str) -> bool:
    """A pattern with ``/`` matches the relative path, one without matches the file name."""
    name = posixpath.basename(rel)
    return any(fnmatch.fnmatchcase(rel if "/" in p else name, p) for p in patterns)


class _Collector:
    def __init__(self, recursive, include, exclude, skip_dirs):
        self.recursive = recursive
        self.include = tuple(include)
        self.exclude = tuple(exclude)
        self.skip_dirs = {os.path.realpath(d) for d in skip_dirs}
        self.out = Expansion()
        self.seen: set[str] = set()

    def add(self, path: str, rel: str, origin: str) -> None:
        """Add one file. Found files (``dir``, ``glob``) must be visible, have a supported
        suffix and pass include/exclude; ``list`` entries only include/exclude."""
        why = None
        if origin in ("dir", "glob"):
            why = self._why_not(rel)
        elif origin == "list":
            why = self._excluded(rel)
        if why:
            self.out.ignored.append((path, why))
            return
        key = os.path.realpath(path)
        if key in self.seen:
            return
        self.seen.add(key)
        unreadable = _unreadable(path) if origin in ("dir", "glob") else None
        self.out.sources.append(Source(path, rel, origin, unreadable))

    def _why_not(self, rel: str) -> str | None:
        name = posixpath.basename(rel)
        if name.startswith("."):
            return "hidden"
        if os.path.splitext(name)[1].lower() not in INPUT_SUFFIXES:
            return "unsupported suffix"
        return self._excluded(rel)

    def _excluded(self, rel: str) -> str | None:
        if self.include and not _matches(self.include, rel):
            return "excluded"
        if self.exclude and _matches(self.exclude, rel):
            return "excluded"
        return None

    def walk(self, root: str, prefix: str = "") -> None:
        """Add the files of folder ``root``; their ``rel`` is ``prefix`` + path below root."""
        try:
            entries = sorted(os.scandir(root), key=lambda e: e.name)
        except OSError as error:
            self.out.missing.append((root, f"cannot be listed: {error.strerror}."))
            return
        for entry in entries:  # in name order, descending into folders where they come
            rel = posixpath.join(prefix, entry.name) if prefix else entry.name
            try:
                is_dir = entry.is_dir()  # follows a symlink to a folder
            except OSError:
                is_dir = False
            if not is_dir:
                self.add(entry.path, rel, "dir")
            elif not self.recursive:
                self.out.folders_not_searched += 1
            elif entry.name.startswith("."):
                self.out.ignored.append((entry.path, "hidden"))
            elif entry.is_symlink():
                # Not followed: a link back up the tree would never end.
                self.out.ignored.append((entry.path, "symbolic link to a folder"))
            elif os.path.realpath(entry.path) in self.skip_dirs:
                continue  # the output folder, inside the input folder
            else:
                self.walk(entry.path, rel)


def _unreadable(path: str) -> str | None:
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return "is a broken symbolic link."
    except OSError as error:
        return f"cannot be read: {error.strerror}."
    if not stat.S_ISREG(info.st_mode):
        return "is not a regular file."
    if not os.access(path, os.R_OK):
        return "Permission denied."
    return None


def _glob_base(pattern: str) -> str:
    """The folder part of ``pattern`` before its first wildcard (relative paths start there)."""
    parts = pattern.replace(os.sep, "/").split("/")
    fixed = []
    for part in parts[:-1]:
        if glob.has_magic(part):
            break
        fixed.append(part)
    return "/".join(fixed) if fixed else ""


def _list_rel(path: str) -> str:
    """``rel`` of a list entry: the path itself when it stays below here, else the name."""
    norm = posixpath.normpath(path.replace(os.sep, "/"))
    if posixpath.isabs(norm) or norm == ".." or norm.startswith("../"):
        return posixpath.basename(norm)
    return norm


def expand_inputs(
    items: Iterable[str] = (),
    *,
    recursive: bool = False,
    files_from: str | IO[bytes] | None = None,
    null: bool = False,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    skip_dirs: Sequence[str] = (),
) -> Expansion:
    """Find the input files of a batch.

    Parameters
    ----------
    items : iterable of str
        Files (always taken, whatever their suffix: the content decides how they are read),
        folders (their supported files; subfolders too with ``recursive``; hidden files and
        folders and symbolic links to folders are left out) and glob patterns (``*``, ``?``,
        ``[ab]``, ``**`` for any depth), used when no file has that exact name.
    files_from : str or binary stream, optional
        A list of paths (see :func:`read_file_list`); ``"-"`` reads standard input. Folders in
        the list are searched only with ``recursive``.
    null : bool
        The list is NUL-separated.
    include, exclude : sequence of str
        Glob patterns filtering the files found in folders, by glob and in the list (not the
        files named in ``items``). A pattern with ``/`` matches the path relative to the
        folder searched, one without matches the file name. A file is taken when it matches
        some ``include`` (if any are given) and no ``exclude``.
    skip_dirs : sequence of str
        Folders never searched (the output folder, so that a second run does not take the
        first run's outputs as inputs).

    Returns
    -------
    Expansion
        Each file once (the first time it is met), in the order found; folders are listed in
        name order.

    Raises
    ------
    UsageError
        For ``-`` among the items (standard input cannot be part of a batch) or an unreadable
        ``files_from``.
    """
    c = _Collector(recursive, include, exclude, skip_dirs)
    for item in items:
        if item == "-":
            raise UsageError(
                "- (standard input) cannot be part of a batch: give it as the only input, or "
                "use --files-from - to read a list of paths from standard input.",
                option="INPUT",
            )
        _expand_item(c, item)
    if files_from is not None:
        for path in read_file_list(files_from, null=null):
            if os.path.isdir(path):
                if recursive:
                    c.walk(path, _list_rel(path))
                else:
                    c.out.folders_not_searched += 1
            elif os.path.lexists(path):
                c.add(path, _list_rel(path), "list")
            else:
                c.out.missing.append((path, "No such file."))
    return c.out


def _expand_item(c: _Collector, item: str) -> None:
    if os.path.isdir(item):
        c.walk(item)
    elif os.path.lexists(item):
        c.add(item, os.path.basename(item), "file")
    elif glob.has_magic(item):
        matches = sorted(glob.glob(item, recursive=True))
        if not matches:
            c.out.missing.append((item, "matches no files."))
        base = _glob_base(item)
        for match in matches:
            rel = posixpath.relpath(match.replace(os.sep, "/"), base or ".")
            if os.path.isdir(match):
                if "**" not in item:  # ** already lists what is below
                    c.walk(match, rel)
            else:
                c.add(match, rel, "glob")
    else:
        c.out.missing.append((item, "No such file."))


# --------------------------------------------------------------------------------------------
# Outputs


def name_fields(source: Source, steps: Sequence[Step], ext: str | None) -> dict[str, str]:
    """The values of the ``name`` template's fields for one source (see :data:`NAME_FIELDS`)."""
    name = posixpath.basename(source.rel)
    stem, in_ext = os.path.splitext(name)

    def joined(values):
        return "-".join(values)

    def kernel(spec):
        if spec.global_pool:
            return "global"
        if spec.output_size is not None:
            return "o" + format_axes(spec.output_size)
        return format_axes(spec.kernel_size)

    specs = [s.spec for s in steps]
    return {
        "stem": stem,
        "name": name,
        "in_ext": in_ext,
        "ext": ext if ext is not None else in_ext,
        "op": joined(str(s.reduction) for s in steps),
        "k": joined(kernel(s) for s in specs),
        "s": joined(
            format_axes(s.stride or s.kernel_size) if s.kernel_size else kernel(s) for s in specs
        ),
        "p": joined(padding_text(s) for s in specs),
        "d": joined(format_axes(s.dilation) for s in specs),
    }


def check_name_template(template: str) -> None:
    """Refuse a template with unknown fields or broken braces (a UsageError naming ``--name``)."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as error:
        raise UsageError(
            f"--name {template} is not a valid template: {error}.", option="--name"
        ) from None
    fields = ", ".join("{" + f + "}" for f in NAME_FIELDS)
    for _, name, _, _ in parsed:
        if name is None:
            continue
        if name not in NAME_FIELDS:
            raise UsageError(
                f"--name {template} uses {{{name}}}, which is not a field; use {fields}.",
                option="--name",
            )
    if not any(name for _, name, _, _ in parsed):
        raise UsageError(
            f"--name {template} has no field, so every input would get the same name; "
            "use {stem}, as in {stem}_small{ext}.",
            option="--name",
        )


def _render_name(template: str, fields: dict[str, str]) -> str:
    try:
        return template.format(**fields)
    except (ValueError, KeyError, IndexError) as error:
        raise UsageError(
            f"--name {template} is not a valid template: {error}.", option="--name"
        ) from None


def output_rel(source: Source, template: str, fields: dict[str, str]) -> str:
    """The output's path below the output folder (``/`` separators), checked to stay inside."""
    from poolcli.io import OUTPUT_SUFFIXES

    rendered = _render_name(template, fields)
    folder = posixpath.dirname(source.rel)
    if not rendered or rendered.endswith(("/", os.sep)):
        raise UsageError(
            f"--name {template} gives the folder name {rendered!r} for {source.path}; "
            "it must give a file name.",
            option="--name",
        )
    unix = rendered.replace(os.sep, "/")
    if posixpath.isabs(unix) or os.path.isabs(rendered):
        raise UsageError(
            f"--name {template} gives the absolute path {rendered} for {source.path}; outputs "
            "stay inside the output folder, so the name must be relative.",
            option="--name",
        )
    rel = posixpath.normpath(posixpath.join(folder, unix))
    if rel == ".." or rel.startswith("../") or rel == ".":
        raise UsageError(
            f"--name {template} would write {source.path} outside the output folder "
            f"(as {rel}); outputs stay inside it.",
            option="--name",
        )
    suffix = posixpath.splitext(rel)[1].lower()
    if suffix not in OUTPUT_SUFFIXES:
        said = f"the suffix {suffix}" if suffix else "no suffix"
        raise UsageError(
            f"--name {template} gives {posixpath.basename(rel)} for {source.path}, with {said}; "
            f"end the template with {{ext}} or one of {', '.join(OUTPUT_SUFFIXES)}.",
            option="--name",
        )
    return rel


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
        return {
            "steps": [s.to_dict() for s in self.steps],
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
) -> Plan:
    """Find the inputs and map each to its output; refuse a batch that would go wrong.

    Outputs go to ``output_dir`` / (the source's relative folder) / (``name`` rendered, see
    :data:`NAME_FIELDS`): a file named on the command line lands at the top of the folder, a
    file found in folder ``F`` at its path below ``F``, a glob match at its path below the
    pattern's fixed part, a ``files_from`` entry at its own relative path (its name only when
    the path is absolute or climbs with ``..``). Without ``output_dir`` nothing is written.

    Parameters
    ----------
    inputs
        Items for :func:`expand_inputs`, or an :class:`Expansion` already made.
    steps
        The op or chain (used by the ``{op}``, ``{k}``... fields).
    format : str
        ``png``, ``tiff``, ``npy`` or ``same`` (the input's own suffix); sets ``{ext}``.
    name : str
        The output name template, default ``"{stem}{ext}"``.
    overwrite : bool
        Replace existing outputs and pictures; without it they are skipped (so a rerun
        resumes).
    viz_dir : str, optional
        Also draw every input into this folder (``--viz DIR/``), mirroring relative paths.

    Returns
    -------
    Plan

    Raises
    ------
    UsageError
        An unknown format or template field; a template that leaves the folder or gives no
        output suffix; two inputs mapped to one output; an output that is one of the inputs
        (refused even with ``overwrite``); a picture that is an input or an output; an
        output folder that is a file.
    """
    steps = as_steps(steps)
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
    if isinstance(inputs, Expansion):
        found = inputs
    else:
        found = expand_inputs(
            inputs,
            recursive=recursive,
            files_from=files_from,
            null=null,
            include=include,
            exclude=exclude,
            skip_dirs=[d for d in (output_dir, viz_dir) if d is not None],
        )
    tasks = [
        _task(i, source, steps, output_dir, format, name, overwrite)
        for i, source in enumerate(found.sources)
    ]
    tasks = [_with_picture(task, viz_dir, overwrite) for task in tasks]
    start = len(tasks)
    for i, (item, reason) in enumerate(found.missing):
        tasks.append(
            Task(start + i, Source(item, posixpath.basename(item), "file"), None, "fail", reason)
        )
    _check_writes(tasks, overwrite)
    return Plan(tasks, steps, output_dir, found.ignored, found.folders_not_searched)


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
        return Task(index, source, output, "fail", _outside_reason(output_dir))
    if os.path.isdir(output):
        return Task(index, source, output, "fail", f"its output {output} is a folder.")
    if os.path.lexists(output) and not overwrite:
        return Task(index, source, output, "skip", "output exists (overwrite replaces it)")
    return Task(index, source, output, "run")


def _with_picture(task: Task, viz_dir: str | None, overwrite: bool) -> Task:
    """``task`` with the picture ``--viz DIR/`` draws of its input."""
    if viz_dir is None or task.action == "fail":
        return task
    picture = viz_path(task.source, viz_dir)
    if task.output is None and task.action == "run":
        # The picture is all this input writes: it is planned as outputs are.
        if os.path.lexists(picture) and not overwrite:
            return replace(task, picture=picture, action="skip", reason=PICTURE_EXISTS)
    return replace(task, picture=picture)


PICTURE_EXISTS = "picture exists (overwrite replaces it)"


def _outside_reason(output_dir: str) -> str:
    return (
        f"its output would be written outside the output folder {output_dir} through a "
        "symbolic link; refused."
    )


def _check_writes(tasks: list[Task], overwrite: bool) -> None:
    """Refuse the whole batch when a file it writes is an input, or is written twice."""
    from poolcli.io.guard import WriteGuard

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


# --------------------------------------------------------------------------------------------
# Results


@dataclass
class FileResult:
    """What became of one input.

    ``status`` is ``done``, ``skipped`` (``reason`` says why: the output exists, the file is
    unreadable) or ``failed`` (``error`` is ``"PATH: reason"``; :attr:`message` adds the
    ``poolcli: error:`` prefix). ``usage`` marks a failure caused by the options (windows
    that do not fit this input). Shapes and dtypes are the chain's input and final output;
    ``seconds`` is the time spent on this file, ``bytes_in`` / ``bytes_out`` the file sizes.
    """

    input: str
    output: str | None
    status: str
    error: str | None = None
    reason: str | None = None
    input_shape: tuple[int, ...] | None = None
    output_shape: tuple[int, ...] | None = None
    input_dtype: str | None = None
    output_dtype: str | None = None
    layout: str | None = None
    seconds: float = 0.0
    bytes_in: int = 0
    bytes_out: int = 0
    warnings: list[str] = field(default_factory=list)
    usage: bool = False

    @property
    def message(self) -> str | None:
        """``poolcli: error: PATH: reason`` for a failure, else ``None``."""
        return f"poolcli: error: {self.error}" if self.error else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (shapes as lists)."""
        return {
            "input": self.input,
            "output": self.output,
            "status": self.status,
            "error": self.error,
            "reason": self.reason,
            "input_shape": list(self.input_shape) if self.input_shape is not None else None,
            "output_shape": list(self.output_shape) if self.output_shape is not None else None,
            "input_dtype": self.input_dtype,
            "output_dtype": self.output_dtype,
            "layout": self.layout,
            "seconds": round(self.seconds, 6),
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "warnings": list(self.warnings),
        }


@dataclass
class Summary:
    """Counts of a batch so far (final once the iteration ends).

    ``total`` inputs planned; ``done`` + ``skipped`` + ``failed`` of them reported;
    ``not_started`` the rest (after Ctrl-C or ``fail_fast``). ``ignored`` counts files in
    folders that were not inputs. ``seconds`` is the wall time from the first result asked.
    """

    total: int
    ignored: int = 0
    done: int = 0
    skipped: int = 0
    failed: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    stopped: bool = False
    failures: list[FileResult] = field(default_factory=list)

    @property
    def not_started(self) -> int:
        return self.total - self.done - self.skipped - self.failed

    @property
    def files_per_second(self) -> float:
        return self.done / self.seconds if self.seconds > 0 else 0.0

    @property
    def exit_status(self) -> int:
        """130 after Ctrl-C, else 1 when an input failed, else 0."""
        if self.interrupted:
            return ExitStatus.INTERRUPTED
        return ExitStatus.ERROR if self.failed else ExitStatus.OK

    def add(self, result: FileResult) -> None:
        if result.status == DONE:
            self.done += 1
        elif result.status == SKIPPED:
            self.skipped += 1
        else:
            self.failed += 1
            self.failures.append(result)
        self.bytes_in += result.bytes_in
        self.bytes_out += result.bytes_out

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "processed": self.done,
            "skipped": self.skipped,
            "failed": self.failed,
            "not_started": self.not_started,
            "ignored": self.ignored,
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "seconds": round(self.seconds, 6),
            "files_per_second": round(self.files_per_second, 3),
            "interrupted": self.interrupted,
            "stopped_at_first_failure": self.stopped,
            "exit_status": self.exit_status,
        }


def jsonl_line(result: FileResult) -> str:
    """One ``--jsonl`` line (no newline): the result as compact JSON."""
    return json.dumps(result.to_dict(), ensure_ascii=False, separators=(",", ":"))


def json_document(
    results: Iterable[FileResult], summary: Summary, steps: Sequence[Step] = ()
) -> dict[str, Any]:
    """The ``--json`` document of a batch: the chain, every file, the summary."""
    from poolcli import __version__

    steps = tuple(steps)
    return {
        "poolcli": __version__,
        "chain": chain_label(steps) if steps else None,
        "steps": [s.to_dict() for s in steps],
        "files": [r.to_dict() for r in results],
        "summary": summary.to_dict(),
    }


# --------------------------------------------------------------------------------------------
# Doing one file (in a worker process, a thread, or the caller's own process)


@dataclass(frozen=True)
class Job:
    """What every file of a batch shares; sent once to each worker process."""

    steps: tuple[Step, ...]
    layout: str | None = None
    device: str = "cpu"
    overwrite: bool = False
    png_compression: int = DEFAULT_PNG_COMPRESSION
    output_dir: str | None = None
    debug: bool = False
    torch_threads: int | None = 1
    viz_dir: str | None = None


def viz_path(source: Source, viz_dir: str) -> str:
    """Where ``--viz DIR/`` draws ``source``: its relative path under DIR, as ``.png``."""
    stem, _ = os.path.splitext(source.rel)
    return os.path.join(viz_dir, *f"{stem}.png".split("/"))


def write_output(path: str, array, source, layout: str | None, png_compression: int) -> list[str]:
    """:func:`poolcli.io.write_output` at the batch's PNG compression level."""
    from poolcli import io

    written = io.write_output(path, array, source, layout=layout, png_compression=png_compression)
    return written.warnings


def _result(task: Task, status: str, **values) -> FileResult:
    return FileResult(input=task.source.path, output=task.output, status=status, **values)


def process_task(task: Task, job: Job) -> FileResult:
    """Read, pool and write one file. Problems with the file come back as a failed result.

    The output is written under a temporary name and renamed when complete; on any
    exception (Ctrl-C included) the temporary file is removed.
    """
    start = time.perf_counter()
    name = display_path(task.source.path)
    if task.action == "skip":
        return _result(task, SKIPPED, reason=task.reason)
    if task.action == "fail":
        return _result(task, FAILED, error=f"{name}: {task.reason}")
    return _guarded(task, job, lambda values: _process(task, job, values), start)


def _guarded(task: Task, job: Job, work, start: float) -> FileResult:
    """Run ``work(values)`` for one file; its problems become a failed :class:`FileResult`."""
    name = display_path(task.source.path)
    values: dict[str, Any] = {}
    try:
        work(values)
    except Exception as error:
        if job.debug and not isinstance(error, (PoolError, MemoryError, OSError)):
            raise
        failed = failure(error, name)
        values.update(error=failed.message, usage=failed.status == ExitStatus.USAGE)
    values["seconds"] = time.perf_counter() - start
    if values.get("status") == SKIPPED:
        return _result(task, **values)
    status = FAILED if "error" in values else DONE
    values.pop("status", None)
    if status == FAILED:
        values["bytes_out"] = 0
    return _result(task, status, **values)


def _process(task: Task, job: Job, values: dict[str, Any]) -> None:
    from poolcli.engine.chain import run_chain

    loaded = _read(task, job, values)
    if loaded is None:
        return
    layout = loaded.layout if loaded.layout is not None else job.layout
    chain = run_chain(loaded.array, job.steps, layout, device=job.device, alpha=loaded.has_alpha)
    _finish(task, job, values, loaded, chain.final, chain.output, str(chain.layout))


def _read(task: Task, job: Job, values: dict[str, Any]):
    """Read one input (``None`` when its output appeared meanwhile and is skipped)."""
    from poolcli import io

    output = task.output
    if output is not None and not job.overwrite and os.path.lexists(output):
        # Written since the plan was made (another run into the same folder).
        values.update(status=SKIPPED, reason="output exists (overwrite replaces it)")
        return None
    values["bytes_in"] = os.stat(task.source.path).st_size
    loaded = io.read_input(task.source.path)
    values.update(input_shape=tuple(loaded.array.shape), input_dtype=str(loaded.array.dtype))
    values["warnings"] = list(loaded.warnings)
    return loaded


def _finish(task: Task, job: Job, values: dict[str, Any], loaded, final, out, layout: str):
    """Record the output's facts, draw ``--viz`` and write the output of one input."""
    values.update(output_shape=tuple(out.shape), output_dtype=str(out.dtype), layout=layout)
    if task.picture is not None:
        _draw(task, job, values, loaded, final)
    if task.output is None:
        return
    values["warnings"] += _write_safely(task.output, out, loaded, layout, job)
    values["bytes_out"] = os.stat(task.output).st_size


def _draw(task: Task, job: Job, values: dict[str, Any], loaded, final) -> None:
    """Draw ``--viz DIR/``'s picture of one input; an existing one stays (unless overwrite)."""
    from poolcli.render import pictures

    picture = task.picture
    if not job.overwrite and os.path.lexists(picture):
        values["warnings"].append(f"{display_path(picture)}: {PICTURE_EXISTS}.")
        return
    if not is_inside(os.path.dirname(picture), job.viz_dir):
        raise PoolError(_outside_reason(job.viz_dir), path=display_path(picture))
    os.makedirs(os.path.dirname(picture), exist_ok=True)
    pictures.write_viz(picture, loaded, final)


def _write_safely(output: str, array, loaded, layout: str, job: Job) -> list[str]:
    folder = os.path.dirname(output)
    root = job.output_dir
    if root is not None and not is_inside(folder, root):
        raise PoolError(_outside_reason(root), path=display_path(output))
    os.makedirs(folder, exist_ok=True)
    if root is not None and not is_inside(folder, root):  # a link made meanwhile
        raise PoolError(_outside_reason(root), path=display_path(output))
    return write_output(output, array, loaded, layout, job.png_compression)


# --------------------------------------------------------------------------------------------
# Workers

_JOB: Job | None = None
_BUSY = False


def _set_torch_threads(threads: int | None) -> int | None:
    """Set torch's intra-op threads; returns the old count (``None``: left alone)."""
    if threads is None:
        return None
    import torch

    old = torch.get_num_threads()
    if old != threads:
        torch.set_num_threads(threads)
    return old


def _stop_signal(signum, frame):
    """SIGTERM in a worker: stop the file being written (its temporary file is removed)."""
    if _BUSY:
        raise KeyboardInterrupt
    os._exit(0)  # idle: nothing to clean up


def _init_worker(job: Job) -> None:
    """Worker process set-up: Ctrl-C is the parent's business; SIGTERM stops the file cleanly."""
    global _JOB
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _stop_signal)
    _JOB = job
    _set_torch_threads(job.torch_threads)


def _worker_task(task: Task) -> FileResult:
    global _BUSY
    if _JOB is None:
        raise RuntimeError("worker not initialised")
    _BUSY = True
    try:
        return process_task(task, _JOB)
    except KeyboardInterrupt:
        os._exit(1)  # stopped by the parent; the temporary file is already gone
    finally:
        _BUSY = False


def _process_context():
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        # Workers fork from a server that has imported torch once, instead of each importing it.
        ctx.set_forkserver_preload(
            ["poolcli.batch", "poolcli.io.read", "poolcli.io.write", "poolcli.engine.ops"]
        )
        return ctx
    return multiprocessing.get_context("spawn")


def start_workers_early() -> None:
    """Start the forkserver now: it imports torch (over a second) while this process is still
    starting up, instead of after it, so worker processes are ready sooner."""
    context = _process_context()
    if context.get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


# --------------------------------------------------------------------------------------------
# Running a batch

EXECUTORS = ("auto", "serial", "processes", "threads", "stacked")


class Batch:
    """A batch run: an iterator of :class:`FileResult`, one per planned input, in input order.

    Made by :func:`iter_batch`, which plans at once (so usage errors are raised before any
    file is touched); work starts with the first ``next()``. :attr:`summary` is updated as
    results are taken. On Ctrl-C (``KeyboardInterrupt`` while waiting for results), the
    workers are stopped, temporary files removed, the results already finished are still
    yielded, ``summary.interrupted`` is set and the ``KeyboardInterrupt`` is raised again.
    """

    def __init__(
        self,
        plan: Plan,
        job: Job,
        *,
        jobs: int,
        executor: str,
        fail_fast: bool,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ):
        self.plan = plan
        self.job = job
        self.jobs = jobs
        self.batch_size = batch_size
        self.executor = executor
        self.fail_fast = fail_fast
        self.summary = Summary(total=len(plan.tasks), ignored=len(plan.ignored))
        self._started: float | None = None
        self._gen: Iterator[FileResult] | None = None
        self._pool = None  # the executor of a pooled run (for tests and debugging)

    def __iter__(self) -> Batch:
        return self

    def __next__(self) -> FileResult:
        if self._gen is None:
            self._started = time.perf_counter()
            self._gen = self._run()
        try:
            result = next(self._gen)
        except KeyboardInterrupt:
            self.summary.interrupted = True
            self._tick()
            raise
        except StopIteration:
            self._tick()
            raise
        self.summary.add(result)
        self._tick()
        if self.fail_fast and result.status == FAILED:
            self.summary.stopped = True
        return result

    def close(self) -> None:
        """Stop the run (workers stopped, temporary files removed); safe to call twice."""
        if self._gen is not None:
            self._gen.close()

    def __enter__(self) -> Batch:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None and issubclass(exc_type, KeyboardInterrupt):
            self.summary.interrupted = True
        self.close()

    def _tick(self) -> None:
        if self._started is not None:
            self.summary.seconds = time.perf_counter() - self._started

    @property
    def kind(self) -> str:
        """The executor this run uses: ``serial``, ``processes`` or ``threads``."""
        runnable = self.plan.count("run")
        if self.executor != "auto":
            return self.executor
        if self.job.device != "cpu" and self.batch_size > 1 and runnable > 1:
            return "stacked"
        if self.jobs <= 1 or runnable <= 1:
            return "serial"
        return "processes" if self.job.device == "cpu" else "threads"

    def _run(self) -> Iterator[FileResult]:
        from poolcli.io import clean_stale_temps

        for folder in sorted({os.path.dirname(t.output) for t in self.plan.tasks if t.output}):
            clean_stale_temps(folder, self.plan.output_dir)
        kind = self.kind
        if kind == "serial":
            yield from self._serial()
        elif kind == "stacked":
            yield from self._stacked()
        else:
            yield from self._pooled(kind)

    def _stacked(self) -> Iterator[FileResult]:
        """GPU runs: read ``batch_size`` files in threads, pool the same-shape ones as one
        stack (one transfer each way instead of one per file), write in threads."""
        from concurrent.futures import ThreadPoolExecutor

        old = _set_torch_threads(self.job.torch_threads)
        tasks = iter(self.plan.tasks)
        try:
            with ThreadPoolExecutor(max(1, self.jobs), thread_name_prefix="poolcli") as pool:
                while group := list(itertools.islice(tasks, self.batch_size)):
                    for result in _run_group(group, self.job, pool):
                        yield result
                        if self.fail_fast and result.status == FAILED:
                            return
        finally:
            if old is not None:
                _set_torch_threads(old)

    def _serial(self) -> Iterator[FileResult]:
        old = _set_torch_threads(self.job.torch_threads) if self.plan.count("run") else None
        try:
            for task in self.plan.tasks:
                result = process_task(task, self.job)
                yield result
                if self.fail_fast and result.status == FAILED:
                    return
        finally:
            if old is not None:
                _set_torch_threads(old)

    def _pooled(self, kind: str) -> Iterator[FileResult]:
        from concurrent.futures import FIRST_COMPLETED, Future, wait

        workers = max(1, min(self.jobs, self.plan.count("run")))
        limit = 2 * workers
        tasks = iter(self.plan.tasks)
        pending: deque[tuple[Task, Future | FileResult]] = deque()
        pool = self._pool = self._make_pool(kind, workers)
        old = _set_torch_threads(self.job.torch_threads) if kind == "threads" else None
        stop = False
        breaks = 0
        retries: dict[int, int] = {}
        try:
            while True:
                # Results are yielded in input order, but workers do not wait for that: files
                # that finished (or were skipped) behind a slow one queue up, up to a bound.
                # With fail_fast they count as in flight, so at most 2 * jobs files start
                # after a failure.
                while (
                    not stop
                    and len(pending) < limit + 256
                    and sum(
                        isinstance(p, Future) and (self.fail_fast or not p.done())
                        for _, p in pending
                    )
                    < limit
                ):
                    task = next(tasks, None)
                    if task is None:
                        break
                    if task.action == "run":
                        try:
                            future = self._submit(pool, kind, task)
                        except Exception as error:
                            if not _broken(error):
                                raise
                            pool = self._restart(pool, kind, workers, pending, retries, True)
                            future = self._submit(pool, kind, task)
                        pending.append((task, future))
                    else:
                        pending.append((task, process_task(task, self.job)))
                if not pending:
                    return
                task, item = pending[0]
                if isinstance(item, Future) and not item.done():
                    # Wake when any file finishes, to give its worker the next one.
                    running = [p for _, p in pending if isinstance(p, Future) and not p.done()]
                    wait(running, return_when=FIRST_COMPLETED)
                    continue
                if isinstance(item, Future):
                    try:
                        result = item.result()
                    except KeyboardInterrupt:
                        raise
                    except Exception as error:
                        if self.job.debug or not _broken(error):
                            raise
                        # A worker died (killed, out of memory): every file in flight is
                        # lost with it. Each is tried once more in a new pool; a file that
                        # breaks the pool twice fails.
                        breaks += 1
                        if breaks > 2:
                            raise PoolError(
                                "the worker processes stopped unexpectedly three times in a "
                                "row. Run with one job to work in this process (a script "
                                "using several jobs needs the if __name__ == '__main__': "
                                "guard)."
                            ) from None
                        retry = retries.get(task.index, 0) == 0
                        pool = self._restart(pool, kind, workers, pending, retries, retry)
                        if retry:
                            continue
                        result = _result(
                            task,
                            FAILED,
                            error=f"{display_path(task.source.path)}: the worker process "
                            "pooling it stopped unexpectedly (killed, or out of memory).",
                        )
                else:
                    result = item
                if isinstance(item, Future) and result.status != FAILED:
                    breaks = 0
                pending.popleft()
                yield result
                if self.fail_fast and result.status == FAILED:
                    # Start nothing more; files already handed to workers finish (their
                    # futures are not cancelled: Python 3.11's pool can trip over those).
                    stop = True
        except (KeyboardInterrupt, GeneratorExit) as stop_error:
            finished = [
                p.result() if isinstance(p, Future) else p
                for _, p in pending
                if not isinstance(p, Future)
                or (p.done() and not p.cancelled() and p.exception() is None)
            ]
            self._abort(pool, kind, pending)
            pool = None
            if isinstance(stop_error, KeyboardInterrupt):
                # Report what was finished before the interrupt; its outputs are complete.
                yield from finished
            raise
        finally:
            if pool is not None:
                pool.shutdown(wait=True)
            if old is not None:
                _set_torch_threads(old)

    def _make_pool(self, kind: str, workers: int):
        from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

        if kind == "threads":
            return ThreadPoolExecutor(workers, thread_name_prefix="poolcli")
        return ProcessPoolExecutor(
            workers, mp_context=_process_context(), initializer=_init_worker, initargs=(self.job,)
        )

    def _submit(self, pool, kind: str, task: Task):
        if kind == "threads":
            return pool.submit(process_task, task, self.job)
        return pool.submit(_worker_task, task)

    def _restart(self, pool, kind, workers, pending, retries, with_head: bool):
        """A worker died: start a new pool and resubmit the files in flight that did not
        finish (the head of ``pending`` too when ``with_head``); counts the retries."""
        from concurrent.futures import Future

        pool.shutdown(wait=False, cancel_futures=True)
        new = self._pool = self._make_pool(kind, workers)
        for i, (task, item) in enumerate(pending):
            if (i == 0 and not with_head) or not isinstance(item, Future):
                continue
            if item.done() and not item.cancelled() and item.exception() is None:
                continue
            retries[task.index] = retries.get(task.index, 0) + 1
            pending[i] = (task, self._submit(new, kind, task))
        return new

    def _abort(self, pool, kind: str, pending) -> None:
        """Stop now: cancel queued files, stop the workers, remove their temporary files."""
        from concurrent.futures import Future

        if kind == "processes":
            # No future is cancelled first: when the workers die, Python 3.11's pool sets an
            # exception on every pending future and fails (in its own thread) on cancelled ones.
            processes = list((getattr(pool, "_processes", None) or {}).values())
            for process in processes:
                with contextlib.suppress(Exception):
                    process.terminate()  # SIGTERM: the worker removes its temporary file
            deadline = time.monotonic() + 5
            for process in processes:
                process.join(max(0.0, deadline - time.monotonic()))
                if process.is_alive():
                    process.kill()
                    process.join(1)
            pool.shutdown(wait=True, cancel_futures=True)
        else:
            # Threads cannot be stopped: they finish their file (each write is atomic).
            for _, item in pending:
                if isinstance(item, Future):
                    item.cancel()
            pool.shutdown(wait=True, cancel_futures=True)
        from poolcli.io import clean_stale_temps

        for folder in {os.path.dirname(t.output) for t, _ in pending if t.output}:
            clean_stale_temps(folder, self.plan.output_dir)


def _stackable(job: Job) -> bool:
    """Stacking changes nothing per file, except the random draws of stochastic sampling and
    the per-file pictures of --viz, which are made one by one."""
    sampling = any(
        s.reduction is Reduction.STOCHASTIC and not s.options.expectation for s in job.steps
    )
    return job.viz_dir is None and not sampling


def _run_group(group: list[Task], job: Job, pool) -> list[FileResult]:
    """One group of a stacked run: results in task order."""
    from poolcli.engine.chain import run_chain
    from poolcli.model.options import resolve_layout

    start = time.perf_counter()
    results: dict[int, FileResult] = {}
    ready: list[tuple[Task, dict, Any, str]] = []

    def read(task: Task):
        box: dict[str, Any] = {}

        def work(values):
            box.update(values=values, loaded=_read(task, job, values))

        return task, box, _guarded(task, job, work, start)

    for task, box, result in pool.map(read, [t for t in group if t.action == "run"]):
        loaded = box.get("loaded")
        if result.status != DONE or loaded is None:
            results[task.index] = result
            continue
        given = loaded.layout if loaded.layout is not None else job.layout
        try:
            layout = str(resolve_layout(tuple(loaded.array.shape), given)[0])
        except PoolError:
            layout = None  # let the file's own run report it
        ready.append((task, box["values"], loaded, layout))
    for task in group:
        if task.action != "run":
            results[task.index] = process_task(task, job)

    by_shape: dict[tuple, list] = {}
    for item in ready:
        task, values, loaded, layout = item
        key = (loaded.array.shape, str(loaded.array.dtype), layout, loaded.has_alpha)
        by_shape.setdefault(key, []).append(item)

    writes = []
    for (_, _, layout, alpha), items in by_shape.items():
        stacked = None
        if len(items) > 1 and layout is not None and "N" not in layout and _stackable(job):
            import numpy as np

            try:
                arrays = np.stack([loaded.array for _, _, loaded, _ in items])
                chain = run_chain(arrays, job.steps, "N" + layout, device=job.device, alpha=alpha)
                stacked = chain.output
            except PoolError:
                stacked = None  # pooled one by one below, so each file gets its own error
        for i, (task, values, loaded, _) in enumerate(items):
            out = stacked[i] if stacked is not None else None
            writes.append((task, values, loaded, out))

    def finish(item):
        task, values, loaded, out = item

        def work(v):
            v.update(values)
            if out is None:
                item_layout = loaded.layout if loaded.layout is not None else job.layout
                chain = run_chain(
                    loaded.array,
                    job.steps,
                    item_layout,
                    device=job.device,
                    alpha=loaded.has_alpha,
                )
                _finish(task, job, v, loaded, chain.final, chain.output, str(chain.layout))
            else:
                _finish(task, job, v, loaded, None, out, v.get("layout") or _layout_of(loaded, job))

        return task, _guarded(task, job, work, start)

    for task, result in pool.map(finish, writes):
        results[task.index] = result
    return [results[t.index] for t in group]


def _layout_of(loaded, job: Job) -> str:
    from poolcli.model.options import resolve_layout

    given = loaded.layout if loaded.layout is not None else job.layout
    return str(resolve_layout(tuple(loaded.array.shape), given)[0])


def _broken(error: BaseException) -> bool:
    from concurrent.futures.process import BrokenProcessPool

    return isinstance(error, BrokenProcessPool)


def iter_batch(
    inputs: Iterable[str] | Plan,
    steps: Step | Sequence[Step] | None = None,
    output_dir: str | None = None,
    *,
    recursive: bool = False,
    files_from: str | IO[bytes] | None = None,
    null: bool = False,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    format: str = "same",
    name: str = DEFAULT_NAME,
    overwrite: bool = False,
    png_compression: int = DEFAULT_PNG_COMPRESSION,
    layout: str | None = None,
    device: str = "cpu",
    jobs: int | None = None,
    executor: str = "auto",
    fail_fast: bool = False,
    torch_threads: int | None = 1,
    debug: bool = False,
    viz_dir: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> Batch:
    """Pool many files: plan at once, then iterate to run, one :class:`FileResult` per input.

    Parameters
    ----------
    inputs
        Files, folders and glob patterns (see :func:`expand_inputs`), or a :class:`Plan`
        from :func:`plan_batch` (then the planning options below are not used).
    steps
        One :class:`~poolcli.model.steps.Step` or a chain of them, applied to every input.
    output_dir
        Output folder (created when missing); ``None`` pools without writing.
    recursive, files_from, null, include, exclude
        As :func:`expand_inputs`.
    format, name, overwrite
        As :func:`plan_batch`.
    png_compression : int
        zlib level 0-9 of PNG outputs (default 6, as Pillow and libpng): lower is faster
        and bigger.
    layout : str, optional
        Layout of ``.npy`` inputs (images are always HW or HWC); default: from the shape.
    device : str
        ``cpu``, ``cuda``, ``cuda:N``, ``mps`` or ``auto``.
    jobs : int, optional
        Files worked on at once (default: ``os.cpu_count()``). Outputs do not depend on it.
    executor : str
        ``auto`` (serial for one job or one file; worker processes on the CPU; on a GPU,
        ``stacked`` groups of ``batch_size`` files in this process, so that one process owns
        the device), or ``serial``, ``processes``, ``threads``, ``stacked``.
    fail_fast : bool
        Stop at the first failed file: no file is started after it; the few already handed
        to workers (at most ``2 * jobs``) finish and are reported.
    torch_threads : int or None
        torch's intra-op threads per worker (and in this process while a serial run lasts);
        default 1, so that workers do not compete for cores and results are the same for
        every ``jobs``. ``None`` leaves torch's setting alone.
    debug : bool
        Raise unexpected errors (with their traceback) instead of reporting them per file.
    viz_dir : str, optional
        Also draw every input and its output (``--viz DIR/``), mirroring relative paths.
    batch_size : int
        On a GPU (or with ``executor="stacked"``), files read together; those of the same
        shape, dtype and layout are stacked and pooled in one call. Outputs are the same.

    Returns
    -------
    Batch
        An iterator of results with a live :attr:`Batch.summary`.

    Raises
    ------
    UsageError
        Before any work, for a batch that cannot be done (see :func:`plan_batch`), a bad
        option value, or a device that is not there.

    Examples
    --------
    >>> from poolcli.model.steps import make_step
    >>> batch = iter_batch(["sample_data/seed_4x4.npy"], make_step("max", kernel_size=2))
    >>> [(r.status, r.input_shape, r.output_shape) for r in batch]
    [('done', (4, 4), (2, 2))]
    >>> batch.summary.done, int(batch.summary.exit_status)
    (1, 0)
    """
    if not 0 <= png_compression <= 9:
        raise UsageError(
            f"--png-compression must be 0 to 9, got {png_compression}.",
            option="--png-compression",
        )
    if executor not in EXECUTORS:
        raise UsageError(f"executor must be one of {', '.join(EXECUTORS)}, got {executor}.")
    jobs = (os.cpu_count() or 1) if jobs is None else jobs
    if jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {jobs}.", option="--jobs")
    if torch_threads is not None and torch_threads < 1:
        raise UsageError(f"torch_threads must be at least 1, got {torch_threads}.")
    if isinstance(inputs, Plan):
        plan = inputs
    else:
        if steps is None:
            raise UsageError("A batch needs an op: give steps.")
        plan = plan_batch(
            inputs,
            steps,
            output_dir,
            format=format,
            name=name,
            overwrite=overwrite,
            recursive=recursive,
            files_from=files_from,
            null=null,
            include=include,
            exclude=exclude,
            viz_dir=os.path.abspath(viz_dir) if viz_dir is not None else None,
        )
    if layout is not None:
        from poolcli.model.layout import Layout

        layout = str(Layout.parse(layout))
    job = Job(
        steps=plan.steps,
        layout=layout,
        device=resolve_device(device),
        overwrite=overwrite,
        png_compression=png_compression,
        output_dir=plan.output_dir,
        debug=debug,
        torch_threads=torch_threads,
        viz_dir=os.path.abspath(viz_dir) if viz_dir is not None else None,
    )
    if batch_size < 1:
        raise UsageError(
            f"--batch-size must be at least 1, got {batch_size}.", option="--batch-size"
        )
    return Batch(
        plan, job, jobs=jobs, executor=executor, fail_fast=fail_fast, batch_size=batch_size
    )


def run_batch(*args, **kwargs) -> tuple[list[FileResult], Summary]:
    """Run :func:`iter_batch` to the end; returns every result and the summary."""
    batch = iter_batch(*args, **kwargs)
    with batch:
        results = list(batch)
    return results, batch.summary


# --------------------------------------------------------------------------------------------
# Summary for people


def format_bytes(count: int) -> str:
    """``1536`` -> ``'1.5 KiB'``.

    >>> format_bytes(0), format_bytes(1536), format_bytes(5 * 2**30)
    ('0 B', '1.5 KiB', '5.0 GiB')
    """
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{int(size)} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def summary_rows(summary: Summary) -> list[tuple[str, str]]:
    """The end-of-run summary as (label, value) rows, for a table or plain lines."""
    rows = [
        ("processed", str(summary.done)),
        ("skipped", str(summary.skipped)),
        ("failed", str(summary.failed)),
    ]
    if summary.not_started:
        why = "interrupted" if summary.interrupted else "stopped at the first failure"
        rows.append(("not started", f"{summary.not_started} ({why})"))
    if summary.ignored:
        rows.append(("ignored", f"{summary.ignored} (not images or .npy, hidden, or excluded)"))
    rows += [
        ("bytes in / out", f"{format_bytes(summary.bytes_in)} / {format_bytes(summary.bytes_out)}"),
        ("wall time", f"{summary.seconds:.2f} s"),
        ("files/s", f"{summary.files_per_second:.1f}"),
    ]
    return rows


def summary_table(summary: Summary):
    """A ``rich`` table of :func:`summary_rows` (print it on standard error)."""
    from rich.table import Table

    table = Table(title="poolcli batch", show_header=False, title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("value", overflow="fold")
    for label, value in summary_rows(summary):
        table.add_row(label, value)
    return table


def failure_lines(summary: Summary) -> list[str]:
    """Every failure, as ``poolcli: error: PATH: reason`` lines."""
    return [r.message for r in summary.failures if r.message]


# --------------------------------------------------------------------------------------------
# Progress on standard error


class Progress:
    """A progress bar on standard error for a batch: files done / total, files/s, ETA, file.

    A real ``rich.progress.Progress`` when ``enabled`` (default: standard error is a terminal);
    otherwise it does nothing. Use as a context manager and call :meth:`advance` per result::

        with Progress(batch.summary.total) as progress:
            for result in batch:
                progress.advance(result)
    """

    def __init__(self, total: int, *, enabled: bool | None = None, console=None):
        if enabled is None:
            enabled = sys.stderr.isatty()
        self.total = total
        self.enabled = enabled
        self._console = console
        self._progress = None
        self._task = None

    def __enter__(self) -> Progress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                ProgressColumn,
                TextColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as RichProgress
            from rich.text import Text

            class Rate(ProgressColumn):
                def render(self, task) -> Text:
                    speed = task.finished_speed or task.speed
                    return Text(f"{speed:.1f} files/s" if speed else "- files/s")

            console = self._console or Console(stderr=True)
            self._progress = RichProgress(
                TextColumn("pooling"),
                BarColumn(),
                MofNCompleteColumn(),
                Rate(),
                TimeRemainingColumn(),
                TextColumn("{task.fields[current]}", markup=False),
                console=console,
                transient=False,
            )
            self._progress.start()
            self._task = self._progress.add_task("pooling", total=self.total, current="")
        return self

    def advance(self, result: FileResult) -> None:
        if self._progress is not None:
            current = display_path(os.path.basename(result.input))
            self._progress.update(self._task, advance=1, current=current)

    def message(self, text: str, stream: IO[str] | None = None) -> None:
        """Print a line on standard error (or ``stream``) without breaking the bar."""
        if self._progress is not None:
            self._progress.console.print(text, markup=False, highlight=False, soft_wrap=True)
        else:
            stream = stream if stream is not None else sys.stderr
            stream.write(text + "\n")
            stream.flush()

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


# --------------------------------------------------------------------------------------------
# The whole command-line behaviour of a batch


def report_plan(plan: Plan, *, json_output: bool = False, out: IO[str] | None = None) -> int:
    """Print a dry run: ``INPUT -> OUTPUT`` lines, or the plan as JSON; returns exit status 0.

    Folders not searched and ignored files are counted in a last line, with a hint.
    """
    out = out if out is not None else sys.stdout
    if json_output:
        out.write(json.dumps(plan.to_dict(), indent=2, ensure_ascii=False) + "\n")
        return 0
    for line in plan.lines():
        out.write(line + "\n")
    notes = [f"{plan.count('run')} to pool", f"{plan.count('skip')} to skip"]
    if plan.count("fail"):
        notes.append(f"{plan.count('fail')} failing")
    if plan.ignored:
        notes.append(f"{len(plan.ignored)} other files ignored")
    if plan.folders_not_searched:
        notes.append(f"{plan.folders_not_searched} subfolders not searched (use --recursive)")
    out.write(f"dry run: {', '.join(notes)}; nothing written.\n")
    return 0


def report_batch(
    run: Batch,
    *,
    json_output: bool = False,
    jsonl: bool = False,
    quiet: bool = False,
    progress: bool | None = None,
    out: IO[str] | None = None,
    err: IO[str] | None = None,
) -> int:
    """Run ``run`` and tell the user as it goes; returns the exit status (0, 1 or 130).

    * every failure at once on ``err`` as ``poolcli: error: PATH: reason``, and every warning
      as ``poolcli: warning: PATH: text``;
    * ``jsonl``: one JSON line per file on ``out`` as soon as it is finished;
    * a progress bar on ``err`` when it is a terminal (``progress=None``), never with
      ``quiet``, ``json_output`` or ``jsonl`` changing nothing about it;
    * at the end, unless ``quiet``: the summary table on ``err`` and the failures again;
    * ``json_output``: the :func:`json_document` on ``out`` at the end.

    Ctrl-C stops the run (workers stopped, no partial files), prints ``poolcli: interrupted.``
    and the summary of what was finished, and returns 130. Only the JSON goes to ``out``.
    """
    from rich.console import Console

    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    if progress is None:
        progress = err.isatty()
    show = Progress(
        run.summary.total,
        enabled=bool(progress) and not quiet,
        console=Console(file=err, highlight=False) if progress and not quiet else None,
    )
    results: list[FileResult] = []
    interrupted = False
    try:
        with run, show:
            for result in run:
                show.advance(result)
                if json_output:
                    results.append(result)
                if jsonl:
                    out.write(jsonl_line(result) + "\n")
                    out.flush()
                for warning in result.warnings:
                    where = display_path(result.input)
                    show.message(f"poolcli: warning: {where}: {warning}", err)
                if result.message:
                    show.message(result.message, err)
    except KeyboardInterrupt:
        interrupted = True
    except PoolError as error:  # the run itself broke (worker processes that cannot start)
        err.write(f"poolcli: error: {error}\n")
        err.flush()
        return 1
    summary = run.summary
    if interrupted:
        err.write("poolcli: interrupted.\n")
    if not quiet or interrupted:
        console = Console(file=err, highlight=False, markup=False, emoji=False)
        console.print(summary_table(summary))
        if summary.failures and summary.total > 1:
            err.write(f"{len(summary.failures)} failed:\n")
            for line in failure_lines(summary):
                err.write(f"  {line}\n")
    if json_output:
        doc = json_document(results, summary, run.plan.steps)
        out.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    err.flush()
    out.flush()
    return summary.exit_status
