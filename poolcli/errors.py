"""The one error type poolcli raises for problems a user can fix."""

from __future__ import annotations


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
