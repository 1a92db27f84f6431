"""A batch says what happened: why files were skipped, which sub-folders were left out, and
a dry run ends with the status the run would have."""

import json

import numpy as np
import pytest

from tests.conftest import SEED


@pytest.fixture
def folder(workdir):
    """``in/`` with three 4x4 arrays and a 1x1 one at the top, and one in ``in/sub/``."""
    (workdir / "in" / "sub").mkdir(parents=True)
    for name in ("a", "b", "c"):
        np.save(workdir / "in" / f"{name}.npy", SEED)
    np.save(workdir / "in" / "sub" / "d.npy", SEED)
    return workdir / "in"


def rows(stderr: str) -> dict[str, str]:
    """The summary table's rows, by label."""
    found = {}
    for line in stderr.splitlines():
        cells = [c.strip() for c in line.strip("│ ").split("│")]
        if len(cells) == 2 and cells[0]:
            found[cells[0]] = cells[1]
    return found


def test_a_rerun_says_why_it_skipped(cli, folder):
    cli("max", "in", "-k", "2", "-o", "out/", "-j", "1")
    again = cli("max", "in", "-k", "2", "-o", "out/", "-j", "1")
    assert rows(again.stderr)["skipped"] == "3 (outputs exist; --overwrite to replace)"
    assert rows(again.stderr)["processed"] == "0"


def test_sub_folders_left_out_are_said(cli, folder):
    result = cli("max", "in", "-k", "2", "-o", "out/", "-j", "1")
    assert rows(result.stderr)["not searched"] == "1 sub-folder; -r to descend"
    deep = cli("max", "in", "-k", "2", "-o", "deep/", "-j", "1", "-r")
    assert "not searched" not in rows(deep.stderr)


def test_the_jsonl_and_json_summaries_count_them_too(cli, folder):
    result = cli("max", "in", "-k", "2", "-o", "out/", "-j", "1", "--json")
    assert json.loads(result.stdout)["summary"]["folders_not_searched"] == 1


def test_dry_run_fails_what_the_run_would_fail(cli, folder):
    np.save(folder / "tiny.npy", np.zeros((1, 1)))
    (folder / "broken.npy").write_bytes(b"\x93NUMPY nonsense")
    dry = cli("max", "in", "-k", "2", "-o", "out/", "--dry-run", code=1)
    assert "in/tiny.npy -> out/tiny.npy  [error: --kernel 2x2 is larger than the padded " in (
        dry.stdout
    )
    assert "in/broken.npy -> out/broken.npy  [error: " in dry.stdout
    assert dry.stdout.splitlines()[-1] == (
        "dry run: 3 to pool, 0 to skip, 2 failing, 1 sub-folder not searched (-r to descend); "
        "nothing written."
    )
    real = cli("max", "in", "-k", "2", "-o", "out/", "-j", "1", code=1)
    assert "poolcli: error: in/tiny.npy: --kernel 2x2 is larger than the padded input 1x1." in (
        real.stderr
    )


def test_dry_run_of_good_inputs_exits_0(cli, folder):
    dry = cli("max", "in", "-k", "2", "-o", "out/", "--dry-run", "-r")
    assert dry.stdout.splitlines()[-1] == "dry run: 4 to pool, 0 to skip; nothing written."
