"""Finding a batch's inputs: files, folders, glob patterns and lists of paths, as
:class:`Source` entries; files in folders that are not inputs are counted, not taken.
"""

from __future__ import annotations

import fnmatch
import glob
import os
import posixpath
import stat
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO

from poolcli.errors import UsageError
from poolcli.io.formats import IMAGE_SUFFIXES, is_zarr_store

#: Suffixes of the files taken from folders and glob matches (case does not matter).
INPUT_SUFFIXES = (".npy", *IMAGE_SUFFIXES)


@dataclass(frozen=True)
class Source:
    """One input file (or Zarr store) of a batch.

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
            why = self._why_not(rel, is_zarr_store(path))
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

    def _why_not(self, rel: str, store: bool = False) -> str | None:
        name = posixpath.basename(rel)
        if name.startswith("."):
            return "hidden"
        if not store and os.path.splitext(name)[1].lower() not in INPUT_SUFFIXES:
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
            if not is_dir or is_zarr_store(entry.path):  # a Zarr store is one input
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
    if stat.S_ISDIR(info.st_mode) and is_zarr_store(path):
        return None if os.access(path, os.R_OK | os.X_OK) else "Permission denied."
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
        Zarr stores (a ``.zarr`` folder, or one holding Zarr metadata: one input each, never
        searched), folders (their supported files and Zarr stores; subfolders too with
        ``recursive``; hidden files and folders and symbolic links to folders are left out)
        and glob patterns (``*``, ``?``, ``[ab]``, ``**`` for any depth), used when no file
        has that exact name.
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
            _expand_list_entry(c, path)
    return c.out


def _expand_list_entry(c: _Collector, path: str) -> None:
    if is_zarr_store(path):
        c.add(path, _list_rel(path.rstrip("/" + os.sep)), "list")
    elif os.path.isdir(path):
        if c.recursive:
            c.walk(path, _list_rel(path))
        else:
            c.out.folders_not_searched += 1
    elif os.path.lexists(path):
        c.add(path, _list_rel(path), "list")
    else:
        c.out.missing.append((path, "No such file."))


def _expand_item(c: _Collector, item: str) -> None:
    if is_zarr_store(item):
        c.add(item, os.path.basename(item.rstrip("/" + os.sep)), "file")
    elif os.path.isdir(item):
        c.walk(item)
    elif os.path.lexists(item):
        c.add(item, os.path.basename(item), "file")
    elif glob.has_magic(item):
        matches = sorted(glob.glob(item, recursive=True))
        if not matches:
            c.out.missing.append((item, "matches no files."))
        base = _glob_base(item)
        stores: list[str] = []
        for match in matches:
            rel = posixpath.relpath(match.replace(os.sep, "/"), base or ".")
            if any(match.startswith(store + os.sep) for store in stores):
                continue  # ** also lists what is inside a Zarr store
            if is_zarr_store(match):
                stores.append(match.rstrip(os.sep))
                c.add(match, rel, "glob")
            elif os.path.isdir(match):
                if "**" not in item:  # ** already lists what is below
                    c.walk(match, rel)
            else:
                c.add(match, rel, "glob")
    else:
        c.out.missing.append((item, "No such file."))
