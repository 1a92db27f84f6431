"""Running the inputs of a call one at a time, and printing what became of each."""

import errno
import os
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import typer

from poolcli.cli.call import Call
from poolcli.cli.edge import worst
from poolcli.errors import STDIN, ExitStatus, PoolError, display_path, error_line
from poolcli.model.display import format_shape
from poolcli.version import __version__

# --------------------------------------------------------------------------------------------
# Running: one input at a time.


@dataclass
class Outcome:
    """What became of one input: a result, or an error with its exit status."""

    path: str
    name: str
    loaded: Any = None
    result: Any = None
    written: str | None = None
    #: The dtype of the values written (an image holds uint8 where the result is float32).
    written_dtype: str | None = None
    input_stats: Any = None
    steps: list = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    status: ExitStatus = ExitStatus.OK


class _Stream:
    """A binary stream seen as a plain object, so that numpy writes to it with ``write()``.

    For real files numpy takes a fast path whose failure says only "N requested and M
    written". Here every byte is written or an error raised: a buffered stream may accept
    part of the data when its pipe closes, and only the next write raises BrokenPipeError,
    which ends the run quietly.
    """

    def __init__(self, raw):
        self.raw = raw

    def write(self, data) -> int:
        view = memoryview(data).cast("B")
        total = len(view)
        while view:
            written = self.raw.write(view)
            if not written:
                raise BrokenPipeError(errno.EPIPE, "standard output accepts no more data")
            view = view[written:]
        return total

    def flush(self) -> None:
        self.raw.flush()


def process_input(path: str, call: Call, device: str) -> Outcome:
    """Read, pool and (with -o) write one input, as a batch of one: through
    :func:`poolcli.batch.task.process_task`, the per-input function every run shares.
    Errors come back in the Outcome."""
    from poolcli.batch.plan import named_task
    from poolcli.batch.task import DEFAULT_PNG_COMPRESSION, FAILED, Job, process_task

    job = Job(
        steps=tuple(call.steps(device)),
        layout=str(call.layout) if call.layout is not None else None,
        device=device,
        overwrite=True,  # a file named with -o or --viz is replaced
        png_compression=_or_default(call.batch["png_compression"], DEFAULT_PNG_COMPRESSION),
        debug=call.debug,
        keep=True,
        viz_scale=call.viz_scale,
        viz_channels=call.channels,
        quality=call.quality,
        normalize=call.normalize,
        indices=call.indices,
        index_style=call.index_style,
    )
    output = None if call.output == STDIN else call.output
    _clean_leftovers(output, call.viz, call.indices)
    with _image_for_stdout(call) as piped:
        result = process_task(named_task(0, path, output or piped, call.viz), job)
        outcome = Outcome(path=path, name=display_path(path), warnings=list(result.warnings))
        if result.status == FAILED:
            outcome.error, outcome.status = result.error, ExitStatus.ERROR
            return _named_stdout(outcome, piped)
        outcome.loaded, chain = result.detail.loaded, result.detail.chain
        outcome.steps, outcome.result, outcome.written = chain.results, chain.final, output
        outcome.written_dtype = result.output_dtype
        if call.json or call.output is None:
            from poolcli.render.report import array_stats

            outcome.input_stats = array_stats(outcome.loaded.array)
        if call.output == STDIN:
            _write_stdout(outcome, piped)
    return _named_stdout(outcome, piped)


def _named_stdout(outcome: Outcome, piped: str | None) -> Outcome:
    """The outcome's messages, naming standard output instead of the temporary file."""
    if piped is not None:
        name = display_path(piped)
        outcome.warnings = [w.replace(name, STDOUT_NAME) for w in outcome.warnings]
        if outcome.error:
            outcome.error = outcome.error.replace(name, STDOUT_NAME)
    return outcome


STDOUT_NAME = "<stdout>"


def _or_default(value, default):
    return default if value is None else value


@contextmanager
def _image_for_stdout(call: Call):
    """``-o - --format png|tiff``: a temporary file the image is written to, as ``-o FILE``
    writes it, before it is copied to standard output (``None`` for .npy bytes)."""
    if call.output != STDIN or call.stdout_format == "npy":
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="poolcli-") as folder:
        yield os.path.join(folder, f"stdout.{call.stdout_format}")


def _clean_leftovers(*paths: str | None) -> None:
    """Remove what killed runs left beside the files this call writes, as batches do."""
    from poolcli.io import clean_stale_temps

    for folder in {os.path.dirname(path) or os.curdir for path in paths if path is not None}:
        clean_stale_temps(folder)


def _write_stdout(outcome: Outcome, image: str | None = None) -> None:
    """``-o -``: the output as .npy bytes on standard output, or the bytes of ``image``."""
    from poolcli import io

    try:
        if image is not None:
            with open(image, "rb") as f:
                _Stream(sys.stdout.buffer).write(f.read())
            sys.stdout.buffer.flush()
        else:
            io.write_npy_stream(_Stream(sys.stdout.buffer), outcome.result.output)
    except BrokenPipeError:
        raise
    except PoolError as error:  # a full device: io names standard output
        outcome.error, outcome.status = str(error), ExitStatus.ERROR
        return
    outcome.written = STDIN


# --------------------------------------------------------------------------------------------
# Printing


class Printer:
    """The two consoles (results to stdout, messages to stderr), made when a command runs."""

    def __init__(self) -> None:
        from rich.console import Console

        self.out = Console(highlight=False, emoji=False, markup=False)
        self.err = Console(highlight=False, emoji=False, markup=False, stderr=True)
        self.count = 0

    @staticmethod
    def message(text: str) -> None:
        typer.echo(f"poolcli: {text}", err=True)

    def error(self, text: str) -> None:
        typer.echo(error_line(text), err=True)

    def warning(self, text: str) -> None:
        self.message(f"warning: {text}")

    def report(self, renderable) -> None:
        if self.count:
            self.out.print()
        self.out.print(renderable)
        self.count += 1


CHANNEL_NAMES = {1: ("L",), 2: ("L", "A"), 3: ("R", "G", "B"), 4: ("R", "G", "B", "A")}


def _image_facts(loaded) -> tuple[str | None, tuple[str, ...] | None]:
    """A one-line description of an image input (``PNG, 8-bit RGBA``) and its channel names."""
    image = getattr(loaded, "image", None)
    if image is None:
        return None, None
    depth = f"{image.bits}-bit" + (" float" if image.floating else "")
    text = f"{image.format}, {depth} {image.mode}"
    if image.icc_profile:
        text += ", ICC profile"
    return text, CHANNEL_NAMES.get(image.channels)


def show_outcome(printer: Printer, call: Call, outcome: Outcome) -> None:
    """Print the error, warnings, note or report of one input."""
    from poolcli.render import report

    if outcome.error:
        for warning in outcome.warnings:
            printer.warning(warning)
        printer.error(outcome.error)
        return
    for warning in outcome.warnings:
        printer.warning(warning)
    if call.viz is not None and not call.quiet:
        printer.message(f"wrote {display_path(call.viz)}")
    result = outcome.result
    if call.json or outcome.written is None:
        _indices_line(printer, call, outcome)
    if call.json:
        return
    if call.explain:
        from poolcli.render.explanation import render_explanation

        # With -o -, standard output carries the .npy bytes.
        console = printer.err if call.output == STDIN else printer.out
        console.print(render_explanation(outcome.loaded.array, result), soft_wrap=True)
    if outcome.written is not None:
        if not call.quiet:
            target = (
                "standard output" if outcome.written == STDIN else display_path(outcome.written)
            )
            first = outcome.steps[0]
            layout = f"layout {first.layout}" + (" (guessed)" if first.layout_guessed else "")
            ops = " then ".join(str(step.reduction) for step in outcome.steps)
            printer.message(
                f"wrote {target}: {ops} of {outcome.name}, "
                f"{format_shape(first.input_shape)} {first.input_dtype} → "
                f"{format_shape(result.output.shape)} {outcome.written_dtype}, {layout}"
            )
        _indices_line(printer, call, outcome)
        return
    source, channels = _image_facts(outcome.loaded)
    input_stats = outcome.input_stats
    for number, step in enumerate(outcome.steps, 1):
        name = outcome.name
        if len(outcome.steps) > 1:
            name = f"{outcome.name} (step {number} of {len(outcome.steps)}: {step.reduction})"
        printer.report(
            report.build_report(
                step,
                name,
                input_stats=input_stats,
                source=source if number == 1 else None,
                layout_reason=report.layout_reason(step.input_shape, step.layout)
                if step.layout_guessed and number == 1
                else None,
                channel_names=channels,
            )
        )
        input_stats = report.array_stats(step.output)


def _indices_line(printer: Printer, call: Call, outcome: Outcome) -> None:
    """``--indices FILE.npy``: say what was written there."""
    if call.indices is None or call.quiet:
        return
    shape = format_shape(outcome.result.output.shape)
    printer.message(
        f"wrote {display_path(call.indices)}: {call.index_style} indices of the "
        f"{outcome.result.reduction} winners, {shape} int64"
    )


def execute(call: Call, device: str) -> ExitStatus:
    """Process every input, print as it goes, and return the exit status."""
    from poolcli.render import report

    printer = Printer()
    entries = []
    status = ExitStatus.OK
    for path in call.inputs:
        outcome = process_input(path, call, device)
        show_outcome(printer, call, outcome)
        if call.json:
            if outcome.error:
                entries.append(report.json_error(outcome.name, outcome.error, int(outcome.status)))
            else:
                entries.append(
                    report.json_entry(
                        outcome.result,
                        outcome.name,
                        input_stats=outcome.input_stats,
                        output_path=outcome.written,
                        written_dtype=outcome.written_dtype,
                        first=outcome.steps[0],
                    )
                )
        status = worst((status, outcome.status))
    if call.json:
        document = report.json_document(
            call.steps(device), entries, device=device, version=__version__
        )
        typer.echo(report.dumps(document))
    return status
