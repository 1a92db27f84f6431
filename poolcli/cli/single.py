"""Running the inputs of a call one at a time, and printing what became of each."""

import errno
import sys
import warnings
from dataclasses import dataclass, field
from typing import Any

import typer

from poolcli import __version__
from poolcli.cli.call import Call
from poolcli.cli.edge import worst
from poolcli.errors import (
    STDIN,
    ExitStatus,
    PoolError,
    UsageError,
    display_path,
    failure,
)

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
    """Read, pool and (with -o) write one input. Errors come back in the Outcome.

    Python warnings raised on the way (numpy, torch, Pillow) become the outcome's warnings, so
    they print as one ``poolcli: warning: FILE: ...`` line each, not as source locations.
    """
    name = display_path(path)
    outcome = Outcome(path=path, name=name)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        try:
            _process(path, call, device, outcome)
        finally:
            seen = set()
            for warning in caught:
                text = str(warning.message).strip().splitlines()[0] if str(warning.message) else ""
                if text and text not in seen:
                    seen.add(text)
                    outcome.warnings.append(f"{name}: {text}")
    return outcome


def _process(path: str, call: Call, device: str, outcome: Outcome) -> None:
    from poolcli import io
    from poolcli.engine import core

    name = outcome.name
    try:
        stdin = sys.stdin.buffer if path == STDIN else None
        loaded = io.read_input(path, stdin=stdin)
        outcome.loaded = loaded
        outcome.warnings += [f"{name}: {warning}" for warning in loaded.warnings]
        layout = call.layout
        image_layout = loaded.layout
        if image_layout is not None:
            if layout is not None and str(layout) != str(image_layout):
                raise UsageError(
                    f"--layout {layout} does not apply: images are always read as "
                    f"{image_layout}. Leave out --layout.",
                    option="--layout",
                )
            layout = image_layout
        if call.then:
            from poolcli.engine.chain import run_chain

            chain = run_chain(
                loaded.array, call.steps(device), layout, device=device, alpha=loaded.has_alpha
            )
            outcome.steps = chain.results
            outcome.result = chain.final
        else:
            outcome.result = core.run(
                loaded.array,
                call.reduction,
                call.spec,
                layout,
                call.pool_options(device),
                alpha=loaded.has_alpha,
            )
            outcome.steps = [outcome.result]
        if call.json or call.output is None:
            from poolcli.render.report import array_stats

            outcome.input_stats = array_stats(loaded.array)
        if call.output == STDIN:
            io.write_npy_stream(_Stream(sys.stdout.buffer), outcome.result.output)
            outcome.written = STDIN
        elif call.output is not None:
            notes = io.write_output(
                call.output, outcome.result.output, loaded, layout=str(outcome.result.layout)
            ).warnings
            outcome.warnings += [f"{display_path(call.output)}: {note}" for note in notes]
            outcome.written = call.output
        if call.viz is not None:
            from poolcli.render import pictures as visualize

            visualize.write_viz(call.viz, loaded, outcome.result)
    except (KeyboardInterrupt, BrokenPipeError, typer.Exit):
        raise
    except Exception as error:
        if call.debug and not isinstance(error, (PoolError, MemoryError, OSError)):
            raise
        failed = failure(error, name)
        outcome.error, outcome.status = failed.message, failed.status


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
        self.message(f"error: {text}")

    def warning(self, text: str) -> None:
        self.message(f"warning: {text}")

    def report(self, renderable) -> None:
        if self.count:
            self.out.print()
        self.out.print(renderable)
        self.count += 1


def _shape(shape) -> str:
    return "×".join(map(str, shape))


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
    result = outcome.result
    if call.json:
        return
    if call.explain:
        from poolcli.learn.explain import render_explanation

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
                f"{_shape(first.input_shape)} {first.input_dtype} → "
                f"{_shape(result.output.shape)} {result.output.dtype}, {layout}"
            )
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
                    )
                )
        status = worst((status, outcome.status))
    if call.json:
        parameters = report.json_parameters(call.spec, call.pool_options(device))
        document = report.json_document(
            call.reduction, parameters, entries, device=device, version=__version__
        )
        typer.echo(report.dumps(document))
    return status
