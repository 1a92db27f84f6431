"""What grad, compare and invariance print, built from real results and rendered at a fixed
width: the heading, and that every line fits the console."""

import io

import numpy as np
import pytest
from rich.console import Console

from poolcli.engine import grad
from poolcli.learn import compare, invariance
from poolcli.model.window import WindowSpec
from poolcli.render.compare_report import compare_report
from poolcli.render.grad_report import grad_report, unpool_report
from poolcli.render.heading import Heading
from poolcli.render.invariance_report import invariance_report

SEED = np.array([[1, 3, 2, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]])
KERNEL_2 = WindowSpec.make(kernel_size=2)


def render(renderable, width: int) -> list[str]:
    console = Console(file=io.StringIO(), width=width, color_system=None, highlight=False)
    console.print(renderable)
    return console.file.getvalue().splitlines()


def reports(array, name: str) -> dict:
    """Every learning report of ``array``, with the 2x2 window."""
    comparison = compare.compare(array, ("max", "avg", "min", "median", "lp"), KERNEL_2)
    measured = invariance.measure(array, ("max", "avg"), KERNEL_2, shifts=(1,), noise=0.01)
    gradient = grad.gradient(array, "max", KERNEL_2)
    kept = grad.unpool(array, "max", KERNEL_2)
    return {
        "compare": compare_report(comparison, name, array),
        "invariance": invariance_report(measured, name, array, comparison.first),
        "grad": grad_report(array, gradient, name),
        "unpool": unpool_report(array, kept, name),
    }


def test_a_heading_breaks_between_its_parts_only_where_it_must():
    heading = Heading(("compare max on x.npy:", "4×4 int64, layout HW;", "kernel 2x2 → 2×2"))
    assert heading.lines(80) == ["compare max on x.npy: 4×4 int64, layout HW; kernel 2x2 → 2×2"]
    assert heading.lines(50) == [
        "compare max on x.npy: 4×4 int64, layout HW;",
        "kernel 2x2 → 2×2",
    ]
    assert heading.lines(25) == [
        "compare max on x.npy:",
        "4×4 int64, layout HW;",
        "kernel 2x2 → 2×2",
    ]
    # A part longer than the width is folded by rich, not lost.
    assert render(heading, 10)[0] == "compare "


def test_the_compare_heading_keeps_the_output_shape_with_the_window():
    comparison = compare.compare(SEED, ("max", "avg", "median"), KERNEL_2)
    lines = render(compare_report(comparison, "seed_4x4.npy", SEED), 100)
    # 102 characters on one line: the break falls between facts, never before "2×2" alone.
    assert lines[:2] == [
        "compare max, avg, median on seed_4x4.npy: 4×4 int64, layout HW (guessed);",
        "kernel 2x2, stride 2x2 → 2×2",
    ]


@pytest.mark.parametrize("kind", ["compare", "invariance", "grad", "unpool"])
def test_a_name_with_a_colon_is_shown_whole(kind):
    lines = render(reports(SEED, "a: b.npy")[kind], 200)
    assert "on a: b.npy: 4×4 int64" in lines[0] or "over a: b.npy: 4×4 int64" in lines[0]


@pytest.mark.parametrize("width", [60, 120])
@pytest.mark.parametrize("kind", ["compare", "invariance", "grad", "unpool"])
def test_every_line_fits_the_console(kind, width):
    photo = np.random.default_rng(0).integers(0, 256, (24, 32, 3)).astype(np.uint8)
    name = "sample_data/photo_with_a_long_name.png"
    lines = render(reports(photo, name)[kind], width)
    assert max(len(line.rstrip()) for line in lines) <= width
    assert name in " ".join(lines)


def test_the_grad_report_says_when_values_are_rounded_and_what_o_writes():
    spread = grad.gradient(SEED, "avg", WindowSpec.make(kernel_size=3, stride=1))
    text = "\n".join(render(grad_report(SEED, spread, "seed.npy"), 100))
    assert "  0.1111  0.2222  0.2222  0.1111" in text
    assert "Values are rounded to 4 decimals; -o FILE.npy writes the gradient." in text
    exact = grad.gradient(SEED, "max", KERNEL_2)
    assert "rounded" not in "\n".join(render(grad_report(SEED, exact, "seed.npy"), 100))


def test_large_arrays_show_corners_titled_as_the_reduction_report_does():
    photo = np.random.default_rng(0).integers(0, 256, (40, 40, 3)).astype(np.uint8)
    text = "\n".join(render(reports(photo, "photo.png")["unpool"], 100))
    assert "\nwindows won per cell, top-left corner · channel 0\n" in text
    assert "The arrays are too large to show in full; -o FILE writes what pooling kept." in text
    text = "\n".join(render(reports(photo, "photo.png")["grad"], 100))
    assert "\ngradient, top-left corner · channel 0\n" in text
    assert "too large to show in full; -o FILE.npy writes the gradient." in text
