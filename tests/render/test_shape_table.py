"""What shape prints, rendered at fixed widths: a table where it fits, else blocks."""

import io

from rich.console import Console

from poolcli.learn import shapes
from poolcli.render.shape_table import ShapeTable

LENET = ("conv:k=5,c=6", "max:k=2", "conv:k=5,c=16", "max:k=2")


def render(renderable, width: int) -> list[str]:
    console = Console(file=io.StringIO(), width=width, color_system=None, highlight=False)
    console.print(renderable)
    return console.file.getvalue().splitlines()


def table(size, *steps, channels=None) -> ShapeTable:
    return ShapeTable(size, shapes.stack(size, [shapes.parse_layer(s) for s in steps], channels))


def test_the_table_is_printed_exactly_where_it_fits():
    lenet = table((28, 28), *LENET, channels=1)
    wide = render(lenet, 200)
    assert wide[0].split() == ["#", "step", "size", "output-size", "formula"]
    needed = len(wide[0])
    assert render(lenet, needed)[:-1] == wide[:-1]
    narrow = render(lenet, needed - 1)
    assert narrow[:2] == ["1. conv:k=5,c=6   28x28 → 24x24   C 1 → 6", "   k=5 s=1 p=0 d=1"]
    assert narrow[-1] == "28x28 → 4x4 after 4 steps; flattened: 16×4×4 = 256 values"


def test_blocks_wrap_long_formulas_inside_their_indent():
    lines = render(table((224, 224), "conv:k=7,s=2,p=3", "adaptive:o=7"), 60)
    assert lines[:4] == [
        "1. conv:k=7,s=2,p=3   224x224 → 112x112",
        "   k=7 s=2 p=3 d=1",
        "   H: floor((224 + 3 + 3 − 7) / 2) + 1 = 112",
        "   W: floor((224 + 3 + 3 − 7) / 2) + 1 = 112",
    ]
    assert lines[6:8] == [
        "   H: adaptive: 112 cells into 7 bins: [0,16) [16,32)",
        "   [32,48) [48,64) [64,80) [80,96) [96,112)",
    ]
    assert all(len(line) <= 60 and line == line.rstrip() for line in lines)
