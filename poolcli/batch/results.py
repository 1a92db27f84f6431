"""What became of each input (:class:`FileResult`) and the counts of a run (:class:`Summary`).

Their JSON forms (``--jsonl`` lines, the ``--json`` document) are in the one schema,
:mod:`poolcli.render.documents`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from poolcli.errors import ExitStatus, error_line, interrupted_status

DONE, SKIPPED, FAILED = "done", "skipped", "failed"


@dataclass
class FileResult:
    """What became of one input.

    ``status`` is ``done``, ``skipped`` (``reason`` says why: the output exists, the file is
    unreadable) or ``failed`` (``error`` is ``"PATH: reason"``; :attr:`message` adds the
    ``poolcli: error:`` prefix). Shapes and dtypes are the chain's input and final output;
    ``seconds`` is the time spent on this file, ``bytes_in`` / ``bytes_out`` the file sizes;
    ``warnings`` are ``PATH: text`` lines. ``detail`` holds what the input became
    (:class:`poolcli.batch.task.Pooled`) when the run keeps it, for reports.
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
    detail: Any = field(default=None, repr=False, compare=False)

    @property
    def message(self) -> str | None:
        """``poolcli: error: PATH: reason`` for a failure, else ``None``."""
        return error_line(self.error) if self.error else None


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
    #: The exit status of the stop, once interrupted: 130 for Ctrl-C, 128 + the signal.
    interrupted_status: int = ExitStatus.INTERRUPTED
    stopped: bool = False
    failures: list[FileResult] = field(default_factory=list)
    #: How many inputs were skipped for each reason ("output exists ...").
    skip_reasons: dict[str, int] = field(default_factory=dict)
    #: Sub-folders of the input folders left out (no ``recursive``).
    folders_not_searched: int = 0

    @classmethod
    def of_plan(cls, plan) -> Summary:
        """The counts of a run of ``plan`` (a :class:`~poolcli.batch.plan.Plan`) before it
        starts: its inputs, the files ignored and the sub-folders not searched."""
        return cls(
            total=len(plan.tasks),
            ignored=len(plan.ignored),
            folders_not_searched=plan.folders_not_searched,
        )

    @property
    def not_started(self) -> int:
        return self.total - self.done - self.skipped - self.failed

    @property
    def files_per_second(self) -> float:
        return self.done / self.seconds if self.seconds > 0 else 0.0

    @property
    def exit_status(self) -> int:
        """130 after Ctrl-C (128 + the signal after SIGTERM or SIGHUP), else 1 when an input
        failed, else 0."""
        if self.interrupted:
            return self.interrupted_status
        return ExitStatus.ERROR if self.failed else ExitStatus.OK

    def interrupt(self, stop: KeyboardInterrupt) -> None:
        """Record that the run was stopped by Ctrl-C or a signal (see
        :class:`~poolcli.errors.Interrupted`)."""
        self.interrupted = True
        self.interrupted_status = interrupted_status(stop)

    def add(self, result: FileResult) -> None:
        if result.status == DONE:
            self.done += 1
        elif result.status == SKIPPED:
            self.skipped += 1
            reason = result.reason or "skipped"
            self.skip_reasons[reason] = self.skip_reasons.get(reason, 0) + 1
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
            "folders_not_searched": self.folders_not_searched,
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "seconds": round(self.seconds, 6),
            "files_per_second": round(self.files_per_second, 3),
            "interrupted": self.interrupted,
            "stopped_at_first_failure": self.stopped,
            "exit_status": self.exit_status,
        }
