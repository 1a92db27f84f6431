"""Help a newcomer can read at 80 columns, ``poolcli help CMD``, ``--json`` on every command
and shell completion."""

import json
import re

import pytest
import typer
from typer.testing import CliRunner

from poolcli.cli import app

COMMANDS = sorted(typer.main.get_command(app).commands)


def help_text(*args: str, columns: int = 80) -> str:
    result = CliRunner().invoke(app, [*args], env={"COLUMNS": str(columns), "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.parametrize("name", COMMANDS)
def test_help_has_one_default_style_and_no_type_metavars(name):
    text = help_text(name, "--help")
    assert "[default" not in text
    assert not re.search(r"<(str|int|float)>|\{INPUT\}|\{SIZE\}|\[x?[<>]=|<=x", text), text
    assert not re.search(r"<[a-z-]+\|", text), text  # choices go in the help, not the metavar


def test_max_help_fits_80_columns_in_under_125_lines():
    """Every option but the batch ones (``poolcli help batch``) at 80 columns: was 140 lines."""
    text = help_text("max", "--help")
    assert len(text.splitlines()) < 125
    assert "--recursive" not in text and "poolcli help batch" in text
    assert max(len(line) for line in text.splitlines()) <= 80
    # The description column is wide: the kernel's help fits on one or two lines.
    kernel = next(line for line in text.splitlines() if "--kernel" in line)
    assert "Window size: 3" in kernel


def test_reduction_options_have_their_own_panel():
    text = help_text("lp", "--help")
    panel = text[text.index("─ Reduction ") :]
    assert "--norm-type" in panel.split("╰")[0]
    text = help_text("stochastic", "--help")
    panel = text[text.index("─ Reduction ") :].split("╰")[0]
    assert "--seed" in panel and "--expectation" in panel


def test_top_level_help_has_reductions_and_learning_apart():
    text = help_text("--help")
    reductions = text[text.index("─ Reductions ") :].split("╰")[0]
    learning = text[text.index("─ Learning ") :].split("╰")[0]
    assert " max " in reductions and " explain " not in reductions
    assert " explain " in learning and " max " not in learning
    assert "--install-completion" in text and "poolcli help max" in text


@pytest.mark.parametrize("name", ["max", "explain", "shape"])
def test_help_command_is_the_command_help(name):
    assert help_text("help", name) == help_text(name, "--help")


def test_help_alone_is_the_top_level_help():
    assert help_text("help") == help_text("--help")


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_json(name):
    assert "--json" in help_text(name, "--help")


def test_explain_json_lists_every_window(cli, seed_npy):
    document = json.loads(cli("explain", seed_npy, "-k", "2", "--json").stdout)
    assert document["input_shape"] == [4, 4] and document["output_shape"] == [2, 2]
    windows = document["slices"][0]["windows"]
    assert [w["result"] for w in windows] == [6, 8, 14, 16]
    assert windows[0]["winner"] == [1, 1]


def test_grad_json_has_the_gradient(cli, seed_npy):
    document = json.loads(cli("grad", seed_npy, "--op", "max", "-k", "2", "--json").stdout)
    grad = document["grad"]["values"]
    assert grad[1][1] == 1 and sum(map(sum, grad)) == 4
    kept = json.loads(cli("grad", seed_npy, "--op", "max", "-k", "2", "--unpool", "--json").stdout)
    assert kept["kind"] == "unpool" and kept["kept_cells"] == 4


def test_bounds_are_checked_without_printing_ranges(cli, seed_npy):
    result = cli("max", seed_npy, "-k", "2", "-o", "x.jpg", "--quality", "0", code=2)
    assert "0 is not from 1 to 100." in result.stderr


def test_no_count_include_pad_still_works(cli, seed_npy):
    cli("avg", seed_npy, "-k", "3", "-p", "1", "--no-count-include-pad", "-o", "a.npy")
    cli("avg", seed_npy, "-k", "3", "-p", "1", "--then", "avg", "-k", "1", "--no-count-include-pad")


@pytest.mark.parametrize(
    "words, cword, want",
    [
        ("poolcli ma", 1, "max"),
        ("poolcli max x.npy --ker", 3, "--kernel"),
        ("poolcli ex", 1, "explain"),
    ],
)
def test_bash_completion_completes_commands_and_options(words, cword, want):
    env = {"_POOLCLI_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(cword)}
    result = CliRunner().invoke(app, [], env=env, prog_name="poolcli")
    assert want in result.stdout.split()


@pytest.mark.parametrize(
    "shell, marker",
    [("bash", "complete -o"), ("zsh", "#compdef poolcli"), ("fish", "complete --command poolcli")],
)
def test_completion_scripts_for_bash_zsh_and_fish(shell, marker):
    env = {"_POOLCLI_COMPLETE": f"source_{shell}"}
    result = CliRunner().invoke(app, [], env=env, prog_name="poolcli")
    assert marker in result.stdout


@pytest.mark.slow
def test_help_command_in_a_real_process(run):
    # main() builds only the named command; "help max" names max.
    process = run("help", "max")
    assert b"Usage: poolcli max [OPTIONS] [INPUT...]" in process.stdout


def test_help_batch_lists_the_batch_options(monkeypatch, capsys):
    from poolcli.cli.app import main
    from poolcli.model.batch_flags import BATCH_FLAGS
    from poolcli.model.flag import BATCH

    monkeypatch.setattr("sys.argv", ["poolcli", "help", "batch"])
    monkeypatch.setenv("COLUMNS", "80")
    with pytest.raises(SystemExit) as stop:
        main()
    assert stop.value.code == 0
    text = capsys.readouterr().out
    for flag in BATCH_FLAGS:
        assert (flag.flags[-1] in text) == (flag.panel == BATCH), flag.name
    assert max(len(line) for line in text.splitlines()) <= 80
