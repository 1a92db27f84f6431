"""How poolcli fails: the error types, the exit statuses, and the one wording of a failure.

Everything that can go wrong for a user is a :class:`PoolError` (a :class:`UsageError` when
the call itself is wrong, whatever the inputs). :func:`failure` words any exception met while
handling one input, as every front end prints it; only the command line's edge
(``poolcli.cli``) decides the process's exit status.
"""

from __future__ import annotations

import os
from enum import IntEnum

STDIN = "-"
STDIN_NAME = "<stdin>"


class ExitStatus(IntEnum):
    """The process's exit status (see the contract's "Exit status" sections)."""

    OK = 0
    #: At least one input failed; the others were still processed.
    ERROR = 1
    #: The call is wrong whatever the inputs (an unknown option, an invalid kernel).
    USAGE = 2
    #: Ctrl-C (SIGINT); SIGTERM and SIGHUP give 128 + their number.
    INTERRUPTED = 130


class PoolError(Exception):
    """A problem with an input or a parameter, worded for the person running poolcli.

    ``path`` names the file the problem belongs to, when there is one; the command line
    puts it first (``image.png: --kernel 5x5 is larger than the padded input 3x4.``).
    """

    def __init__(self, message: str, path: str | None = None):
        super().__init__(message)
        self.message = message
        self.path = path

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message

    def with_path(self, path: str) -> PoolError:
        """The same error, naming ``path`` unless it already names a file."""
        if self.path is None:
            self.path = path
        return self


class UsageError(PoolError):
    """The call itself is wrong (a bad option value, options that conflict): exit status 2.

    ``option`` names the command-line option at fault, for the usage message.
    """

    def __init__(self, message: str, path: str | None = None, option: str | None = None):
        super().__init__(message, path)
        self.option = option


class NotAnArrayError(PoolError, TypeError):
    """What :func:`poolcli.pool` was given is not an array, tensor, image or list of numbers:
    a TypeError, and a PoolError like every problem poolcli reports."""


class LayoutGuessWarning(UserWarning):
    """The layout of an array was guessed from its shape (no ``layout=`` / ``--layout``).

    Raised as a warning by :func:`poolcli.pool` for 3-D and 4-D arrays, whose shapes more
    than one layout fits; pass ``layout=`` to say which, or filter it with
    ``warnings.simplefilter("ignore", poolcli.LayoutGuessWarning)``.
    """


def display_path(path: str | os.PathLike) -> str:
    """A path as every message and report shows it: ``<stdin>`` for ``-``, control characters
    escaped, undecodable bytes replaced."""
    if path == STDIN:
        return STDIN_NAME
    text = os.fsdecode(path).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)


class Interrupted(KeyboardInterrupt):
    """A stop asked for by a signal (SIGTERM, SIGHUP), handled as Ctrl-C is: the files being
    written are removed, finished work is summarised, and the exit status is 128 + the signal.
    """

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def interrupted_status(error: KeyboardInterrupt) -> int:
    """The exit status of a stop: 130 for Ctrl-C, 128 + the signal for :class:`Interrupted`."""
    return 128 + error.signum if isinstance(error, Interrupted) else ExitStatus.INTERRUPTED


_STOPS = ("SIGINT", "SIGTERM", "SIGHUP")
_stopping_early = False


def stop_on_signals() -> None:
    """Until :func:`raise_on_signals`, end the process at once on Ctrl-C, SIGTERM or SIGHUP:
    nothing has been written yet, and the option parser would swallow an exception."""
    import signal

    global _stopping_early
    _stopping_early = True
    for name in _STOPS:
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _exit_now)


def _exit_now(signum, frame):
    os.write(2, b"poolcli: interrupted.\n")
    os._exit(128 + signum)


def raise_on_signals() -> None:
    """From here on (a command's body), Ctrl-C raises KeyboardInterrupt and SIGTERM or SIGHUP
    raise :class:`Interrupted`, so that every stop cleans up as Ctrl-C does. Only after
    :func:`stop_on_signals`: a library caller's own handlers are left alone."""
    import signal

    if not _stopping_early:
        return
    signal.signal(signal.SIGINT, signal.default_int_handler)

    def stop(signum, frame):
        raise Interrupted(signum)

    for name in _STOPS[1:]:
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), stop)


def error_line(message: str) -> str:
    """How every error reaches standard error: ``poolcli: error: FILE: reason``."""
    return f"poolcli: error: {message}"


def internal_error(name: str | None, error: BaseException) -> str:
    """The message for an exception poolcli did not expect: a bug, and how to see more."""
    where = f"{name}: " if name else ""
    detail = f"{type(error).__name__}: {error}".strip().rstrip(":")
    return (
        f"{where}unexpected error ({detail}). This is a bug in poolcli; run again with --debug "
        "to see the traceback."
    )


def failure(error: Exception, name: str) -> str:
    """What handling the input ``name`` raised, worded for the user: ``FILE: reason``.

    Whatever it is, it fails that input alone (exit status 1, the other inputs go on): a
    problem found once an input is read depends on the input. Anything that is not a
    PoolError, MemoryError or OSError is a bug in poolcli; callers that run with ``--debug``
    re-raise it instead.
    """
    if isinstance(error, PoolError):
        if error.path in (None, name):
            error.path = name
        return str(error)
    if isinstance(error, MemoryError):
        return f"{name}: not enough memory to pool this input."
    if isinstance(error, OSError):
        where = display_path(error.filename) if error.filename else name
        return f"{where}: {error.strerror or error}."
    return internal_error(name, error)
