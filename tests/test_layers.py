"""The shape of the house: layers that only point down, no cycles, small modules and functions.

The packages of poolcli, lowest first; a module may import from a lower layer or from its
own package, never from a higher layer or a sibling of its own layer::

    version, errors < model < io, engine < learn < render < blocks < batch < cli

``poolcli/__init__.py`` (the public API) and ``__main__.py`` sit on top. Imports under
``if TYPE_CHECKING:`` are annotations only and do not count. Every import counts otherwise,
including the ones inside functions that keep start-up cheap: they are still dependencies.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "poolcli"
LAYERS = {
    "version": 0,
    "errors": 0,
    "model": 1,
    "io": 2,
    "engine": 2,
    "learn": 3,
    "render": 4,
    "blocks": 5,
    "batch": 6,
    "cli": 7,
    "__init__": 8,
    "__main__": 8,
}
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def dotted(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> str:
    """``poolcli.engine.ops`` -> ``engine``; ``poolcli`` -> ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(path: Path, *, top_level_only: bool = False) -> list[tuple[int, str]]:
    """``(line, module)`` for every poolcli module ``path`` imports at run time
    (``from poolcli.cli import learn`` imports the module ``poolcli.cli.learn``)."""
    known = {dotted(p) for p in modules()}
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST, depth: int) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                continue
            inside = depth + isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if top_level_only and inside:
                continue
            if isinstance(child, ast.Import):
                found.extend((child.lineno, a.name) for a in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module and not child.level:
                for alias in child.names:
                    module = f"{child.module}.{alias.name}"
                    found.append((child.lineno, module if module in known else child.module))
            visit(child, inside)

    visit(ast.parse(path.read_text()), 0)
    return [(line, name) for line, name in found if name.split(".")[0] == "poolcli"]


def test_every_package_has_a_layer():
    packages = {layer_of(dotted(path)) for path in modules()}
    assert packages <= set(LAYERS), packages - set(LAYERS)


def test_imports_only_point_down():
    wrong = []
    for path in modules():
        here = layer_of(dotted(path))
        for line, module in imports(path):
            there = layer_of(module)
            if there not in LAYERS or there == here:
                continue
            if LAYERS[there] >= LAYERS[here]:
                wrong.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {module}")
    assert not wrong, "imports that do not point down:\n" + "\n".join(wrong)


def test_only_the_engine_imports_torch():
    wrong = []
    for path in modules():
        if layer_of(dotted(path)) == "engine":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(name.split(".")[0] == "torch" for name in names):
                wrong.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    assert not wrong, "torch imported outside the engine: " + ", ".join(wrong)


def test_no_import_cycles():
    # A module's own packages are imported before it by Python itself: not an edge.
    graph = {
        dotted(path): {
            module
            for _, module in imports(path, top_level_only=True)
            if not dotted(path).startswith(module + ".")
        }
        for path in modules()
    }
    cycles = []

    def walk(node, trail):
        if node in trail:
            cycles.append(" -> ".join([*trail[trail.index(node) :], node]))
            return
        for nxt in sorted(graph.get(node, ())):
            if nxt in graph and nxt != node:
                walk(nxt, [*trail, node])

    for start in graph:
        walk(start, [])
    assert not cycles, "import cycles:\n" + "\n".join(sorted(set(cycles)))


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_are_small(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{lines} lines: split it by concern"


def test_functions_are_short():
    long = []
    for path in modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    where = f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"
                    long.append(f"{where} {node.name} ({lines} lines)")
    assert not long, "functions over 60 lines:\n" + "\n".join(long)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("package", "absent"),
    [("model", ("torch", "numpy", "PIL", "typer")), ("io", ("torch",))],
)
def test_lower_layers_import_without_torch(package, absent):
    names = [dotted(p) for p in modules() if layer_of(dotted(p)) == package]
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}: importlib.import_module(name)\n"
        f"print([m for m in {absent!r} if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
