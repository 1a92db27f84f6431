"""Which options apply where, so that no option is accepted and then ignored.

Read from the option table (:attr:`Flag.applies_if`, :attr:`Flag.batch_only`,
:attr:`Flag.formats`) and the reductions table
(:class:`~poolcli.model.reductions.ReductionInfo`): an option says in its declaration where
it means something, and every front end (a reduction command, a ``--then``
step, :func:`poolcli.pool`) refuses it elsewhere with one sentence saying why.

Pure Python: no Typer, numpy or torch.

>>> check_applies(Reduction.AVG, {"count_include_pad": True})
>>> try:
...     check_applies(Reduction.MAX, {"count_include_pad": True})
... except UsageError as error:
...     print(error)
--count-include-pad does not apply to max: only avg divides by a count of cells.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from poolcli.errors import UsageError
from poolcli.model.flag import ROUNDED_DTYPES
from poolcli.model.flags import FLAGS
from poolcli.model.reductions import Reduction

#: The options for some output formats only, with those formats (``Flag.formats``).
FORMAT_OPTIONS = {flag.name: flag.formats for flag in FLAGS.values() if flag.formats}


def check_applies(reduction: Reduction, values: Mapping[str, Any]) -> None:
    """Refuse an option of ``values`` (by name) given to a reduction it does not apply to."""
    info = reduction.info
    for name, value in values.items():
        flag = FLAGS.get(name)
        if flag is None or flag.applies_if is None or not flag.given(value):
            continue
        if not getattr(info, flag.applies_if):
            raise UsageError(
                f"{flag.long} does not apply to {reduction}: {flag.why_not}.", option=flag.long
            )
    check_rounded_dtype(reduction, values.get("dtype"))


def check_rounded_dtype(reduction: Reduction, dtype: Any) -> None:
    """Refuse an integer ``--dtype`` (:data:`ROUNDED_DTYPES`) anywhere but avg, the one
    reduction whose mean rounds back to its input's integers."""
    name = getattr(dtype, "value", dtype)
    if name in ROUNDED_DTYPES and reduction is not Reduction.AVG:
        raise UsageError(
            f"--dtype {name} applies only to avg, which rounds the mean to the input's own "
            f"integer type; {reduction} takes a float type only.",
            option="--dtype",
        )


def batch_only_given(values: Mapping[str, Any]) -> list[str]:
    """The spellings of the batch-only options given in ``values`` (by name)."""
    return [
        flag.long
        for flag in FLAGS.values()
        if flag.batch_only and flag.name in values and flag.given(values[flag.name])
    ]


def check_single(values: Mapping[str, Any], destination: str) -> None:
    """Refuse batch-only options in a call whose one result goes to ``destination`` (words
    such as ``-o x.png``), where nothing would read them."""
    given = batch_only_given(values)
    if given:
        raise UsageError(
            f"{given[0]} applies only to runs that write a folder of outputs (a folder, a glob "
            f"or several inputs with -o DIR/); here the result goes to {destination}.",
            option=given[0],
        )


def check_format_options(values: Mapping[str, Any], formats: tuple[str, ...] | None) -> None:
    """Refuse a format's own option (``--png-compression``, ``--quality``) when the outputs
    are of none of its formats. ``formats``: the lower-case formats written (``None``: not
    known before the inputs are read, as with ``--format same`` on a folder)."""
    for name, needs in FORMAT_OPTIONS.items():
        flag = FLAGS.get(name)
        if flag is None or not flag.given(values.get(name)):
            continue
        if formats is not None and not set(formats) & set(needs):
            kinds = " and ".join(n.upper() if n != "webp" else "WebP" for n in needs)
            written = ", ".join(formats) if formats else "nothing (no -o)"
            raise UsageError(
                f"{flag.long} applies only to {kinds} outputs; this call writes {written}.",
                option=flag.long,
            )
