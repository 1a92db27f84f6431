"""Errors in the words of the Python API: ``kernel_size=`` where the command line says
``--kernel``.

The spellings come from the option table (:data:`poolcli.model.flags.FLAGS`): an option's
Python keyword is the :func:`~poolcli.model.steps.make_step` keyword it sets (``step_key``),
or its own name.

Pure Python: no Typer, numpy or torch.

>>> from poolcli.errors import UsageError
>>> str(in_keywords(UsageError("--kernel must be positive, got 0.", option="--kernel")))
'kernel_size must be positive, got 0.'
>>> str(in_keywords(UsageError("--kernel 5x5 is larger than the padded input 3x4.")))
'kernel_size=5x5 is larger than the padded input 3x4.'
"""

from __future__ import annotations

import re

from poolcli.errors import PoolError, UsageError
from poolcli.model.flags import FLAGS

#: The options :func:`poolcli.pool` takes, by their keyword.
API_KEYWORDS = (
    "kernel",
    "stride",
    "padding",
    "dilation",
    "ceil",
    "count_include_pad",
    "global_pool",
    "output_size",
    "layout",
    "norm_type",
    "seed",
    "expectation",
    "device",
    "dtype",
    "straight_alpha",
    "nan",
    "nodata",
    "mask",
    "linear_light",
    "srgb_max",
    "pool_axes",
    "blur",
    "fractional",
    "output_ratio",
    "spp",
    "index_style",
)


def _keywords() -> dict[str, str]:
    spellings = {}
    for name in API_KEYWORDS:
        flag = FLAGS[name]
        keyword = flag.step_key or flag.name
        for spelling in (*flag.flags, *((flag.negative,) if flag.negative else ())):
            spellings[spelling] = keyword
    spellings["--op"] = "reduction"
    spellings["--indices"] = "return_indices"
    return spellings


KEYWORDS = _keywords()
# A spelling alone ("--kernel must be"), or followed by its value ("--kernel 5x5").
_SPELLING = re.compile(
    r"(?<![\w-])(" + "|".join(sorted(map(re.escape, KEYWORDS), key=len, reverse=True)) + r")"
    r"(?![\w-])( (?=[\d'\"(\[.-]|same\b|valid\b|[A-Z]{1,5}\b)|(?=[.,;:)]))?"
)


def keyword_text(text: str) -> str:
    """``text`` with every command-line spelling of an API option replaced by its keyword."""

    def replace(match: re.Match) -> str:
        keyword = KEYWORDS[match.group(1)]
        return f"{keyword}=" if match.group(2) is not None else keyword

    return _SPELLING.sub(replace, text)


def in_keywords(error: PoolError) -> PoolError:
    """The same error, worded for Python callers (``kernel_size`` for ``--kernel``)."""
    error.message = keyword_text(error.message)
    error.args = (error.message,)
    if isinstance(error, UsageError) and error.option in KEYWORDS:
        error.option = KEYWORDS[error.option]
    return error
