"""The README's Recipes run as shown: each ``$ command`` of its console blocks is run with
bash, in a folder holding a copy of ``sample_data/``, and what it prints (standard output and
standard error, trailing spaces dropped) must be the lines below it. A line ``...`` stands
for any number of lines; ``...`` inside a line for any text.

The README's ``>>>`` examples are doctests (pytest's ``--doctest-glob``); these are the shell
examples.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import subprocess_env

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BLOCK = re.compile(r"```console\n(.*?)```", re.S)


def recipes_section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("\n## Recipes\n")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def commands(block: str) -> list[tuple[str, list[str]]]:
    """``(command, expected lines)`` of one console block."""
    found: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            found.append((line[2:], []))
        elif found:
            found[-1][1].append(line.rstrip())
    return found


def matches(expected: list[str], got: list[str]) -> bool:
    """Whether ``got`` fits ``expected``, where ``...`` is a wildcard (see the module)."""
    pattern = "".join(
        r"(?:.*\n)*?" if line == "..." else ".*".join(map(re.escape, line.split("..."))) + r"\n"
        for line in expected
    )
    return re.fullmatch(pattern, "".join(line + "\n" for line in got)) is not None


BLOCKS = BLOCK.findall(recipes_section())


def test_the_recipes_section_has_the_recipes_the_issue_asks_for():
    text = recipes_section().lower()
    for topic in ("shrink a photo", "median", "keras", "volumes", "global average", "folder"):
        assert topic in text
    assert "--format png" in text and "|" in text
    assert len(BLOCKS) >= 7


@pytest.mark.slow
def test_recipes_print_what_the_readme_shows(tmp_path):
    shutil.copytree(ROOT / "sample_data", tmp_path / "sample_data")
    env = subprocess_env()
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    for block in BLOCKS:
        for command, expected in commands(block):
            process = subprocess.run(
                ["bash", "-c", command],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            got = [line.rstrip() for line in (process.stderr + process.stdout).splitlines()]
            assert process.returncode == 0, f"$ {command}\n{process.stderr}"
            assert matches(expected, got), (
                f"$ {command}\n--- README\n" + "\n".join(expected) + "\n--- got\n" + "\n".join(got)
            )
