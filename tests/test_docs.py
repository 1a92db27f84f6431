"""Every command is documented: help with examples that run, and a place in README.md.

As sqlite-utils' test_docs.py does: the list of commands comes from the app itself, so a new
command without help or README section fails here.
"""

import re
import shlex
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from poolcli.cli import app

README = Path(__file__).resolve().parent.parent / "README.md"
COMMANDS = typer.main.get_command(app).commands
REDUCTIONS = ["max", "avg", "min", "sum", "lp", "median", "stochastic", "mode"]
EXAMPLE = re.compile(r"^\s*(?:Example:\s*)?(poolcli \S.*?)\s*$", re.M)


def examples(name: str) -> list[str]:
    return EXAMPLE.findall(COMMANDS[name].help or "")


def readme() -> str:
    assert README.exists(), "README.md is missing"
    return README.read_text(encoding="utf-8")


def test_every_reduction_is_a_command():
    assert set(REDUCTIONS) <= set(COMMANDS)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command_has_help_with_examples(name):
    result = CliRunner().invoke(app, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.stdout
    found = examples(name)
    assert found, f"no 'poolcli {name} ...' example in its help"
    assert all(example.startswith(f"poolcli {name} ") for example in found)


@pytest.mark.parametrize(
    "example", [e for name in sorted(COMMANDS) for e in examples(name)], ids=lambda e: e
)
def test_help_examples_are_valid_calls(example, tmp_path, monkeypatch):
    # The example files do not exist here: a valid call then fails on the input (exit 1),
    # never on its options (exit 2).
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, shlex.split(example)[1:])
    assert result.exit_code in (0, 1), f"{example}\n{result.output}"
    assert "Usage:" not in result.stderr


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command_is_in_the_readme(name):
    assert re.search(rf"\bpoolcli {name}\b", readme()), f"README.md never shows poolcli {name}"


@pytest.mark.parametrize(
    "option",
    sorted(
        {
            opt
            for name in REDUCTIONS
            for param in COMMANDS[name].params
            for opt in param.opts + param.secondary_opts
            if opt.startswith("--") and opt != "--help"
        }
    ),
)
def test_option_is_in_the_readme(option):
    assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", readme()), (
        f"README.md never mentions {option}"
    )


def _anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def test_contents_lists_every_section():
    text = README.read_text(encoding="utf-8")
    contents = text[text.index("## Contents") : text.index("## Setup")]
    headings = re.findall(r"(?m)^## (.+)$", text)
    linked = re.findall(r"\]\(#([^)]+)\)", contents)
    assert [h for h in headings if h != "Contents"] == [
        h for h in headings if _anchor(h) in linked
    ], "a section is missing from Contents"
    anchors = {_anchor(h) for h in re.findall(r"(?m)^#{2,3} (.+)$", text)}
    assert set(linked) <= anchors, set(linked) - anchors
