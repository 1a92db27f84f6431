"""Output names: the ``--format`` suffixes, the ``--name`` template and its fields, and
each output's path below the output folder, checked to stay inside it.
"""

from __future__ import annotations

import os
import posixpath
import string
from collections.abc import Sequence

from poolcli.batch.sources import Source
from poolcli.errors import UsageError
from poolcli.model.steps import Step, padding_text
from poolcli.model.window import format_axes

#: ``format`` -> output suffix; ``same`` keeps the input's suffix.
FORMATS = {"png": ".png", "tiff": ".tiff", "npy": ".npy", "zarr": ".zarr", "same": None}
DEFAULT_NAME = "{stem}{ext}"
#: Fields of the ``name`` template.
NAME_FIELDS = {
    "stem": "the input's name without its suffix (photo for photo.png)",
    "name": "the input's whole name (photo.png)",
    "in_ext": "the input's suffix with its dot (.png)",
    "ext": "the output's suffix with its dot, from --format (.png, .tiff, .npy, .zarr)",
    "op": "the reduction(s): max, or max-avg for a chain",
    "k": "the kernel: 2, 3x2; global for --global, o7x7 for --output-size",
    "s": "the stride (the kernel when not given)",
    "p": "the padding: 0, 1x2, 0:1x1:2, same, valid",
    "d": "the dilation",
}


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
    suffixes = (*OUTPUT_SUFFIXES, ".zarr")  # Zarr is written block by block
    if suffix not in suffixes:
        said = f"the suffix {suffix}" if suffix else "no suffix"
        raise UsageError(
            f"--name {template} gives {posixpath.basename(rel)} for {source.path}, with {said}; "
            f"end the template with {{ext}} or one of {', '.join(suffixes)}.",
            option="--name",
        )
    return rel
