"""The command line block by block: --max-memory, --scheduler, Zarr, TIFF, pyramid."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import zarr


@pytest.fixture
def big(tmp_path):
    x = np.random.default_rng(0).random((120, 90)).astype(np.float32)
    path = tmp_path / "x.npy"
    np.save(path, x)
    return path, x


def test_max_memory_gives_the_in_memory_bytes(cli, tmp_path, big):
    path, _ = big
    cli("median", path, "-k", "3", "-s", "2", "-p", "same", "-o", tmp_path / "whole.npy")
    result = cli(
        "median",
        path,
        "-k",
        "3",
        "-s",
        "2",
        "-p",
        "same",
        "--max-memory",
        "20KiB",
        "-o",
        tmp_path / "blocks.npy",
    )
    assert "blocks, written to" in result.stdout
    assert (tmp_path / "whole.npy").read_bytes() == (tmp_path / "blocks.npy").read_bytes()


def test_zarr_in_and_out_and_json(cli, tmp_path, big):
    path, x = big
    cli("max", path, "-k", "2", "-o", tmp_path / "a.zarr")
    result = cli("avg", tmp_path / "a.zarr", "-k", "3", "--json", "--max-memory", "8KiB")
    (entry,) = json.loads(result.stdout)["files"]
    assert entry["output_shape"] == [20, 15] and entry["input_stats"] is None
    assert entry["output_stats"]["max"] <= 1.0 and entry["values"] is None
    expected = x.reshape(60, 2, 45, 2).max(axis=(1, 3))
    np.testing.assert_array_equal(zarr.open_array(tmp_path / "a.zarr")[...], expected)


def test_clear_errors(cli, tmp_path, big):
    path, _ = big
    result = cli("max", path, "-k", "8", "--max-memory", "64", "-o", tmp_path / "o.npy", code=1)
    assert "--max-memory 64 B is too small" in result.stderr
    assert not (tmp_path / "o.npy").exists()
    result = cli("max", path, "-k", "2", "--max-memory", "big", code=2)
    assert "is not a size" in result.stderr
    result = cli("max", path, "-k", "2", "--scheduler", "fast", code=2)
    assert "is not a scheduler" in result.stderr
    result = cli("max", path, "-k", "2", "-o", tmp_path / "o.png", "--max-memory", "1MiB", code=1)
    assert "only as .npy, .zarr or .tif" in result.stderr


def test_scheduler_threads_and_processes_give_the_same_bytes(cli, tmp_path, big):
    path, _ = big
    cli("stochastic", path, "-k", "3", "-s", "2", "--seed", "5", "-o", tmp_path / "ref.npy")
    for scheduler in ("threads", "processes"):
        out = tmp_path / f"{scheduler}.npy"
        cli(
            "stochastic",
            path,
            "-k",
            "3",
            "-s",
            "2",
            "--seed",
            "5",
            "--max-memory",
            "16KiB",
            "--scheduler",
            scheduler,
            "-o",
            out,
        )
        assert out.read_bytes() == (tmp_path / "ref.npy").read_bytes()


def test_several_files_as_tasks(cli, tmp_path, big):
    path, _ = big
    other = tmp_path / "y.npy"
    np.save(other, np.arange(36, dtype=np.int32).reshape(6, 6))
    cli("sum", path, other, "-k", "2", "--scheduler", "threads", "-o", f"{tmp_path / 'out'}/")
    assert sorted(os.listdir(tmp_path / "out")) == ["x.npy", "y.npy"]
    assert np.load(tmp_path / "out" / "y.npy").dtype == np.int64


def test_pyramid_command(cli, tmp_path, big):
    path, _ = big
    result = cli("pyramid", path, "-o", tmp_path / "p.zarr", "--levels", "3")
    assert "4 levels (120×90, 60×45, 30×22, 15×11)" in result.stdout
    group = zarr.open_group(tmp_path / "p.zarr", mode="r")
    assert len(group.attrs["multiscales"][0]["datasets"]) == 4
    cli("pyramid", path, "-o", tmp_path / "p.zarr", "--levels", "9", code=1)
    document = json.loads(
        cli("pyramid", path, "-o", tmp_path / "q", "--levels", "2", "--json").stdout
    )
    assert [level["shape"] for level in document["levels"]] == [[60, 45], [30, 22]]
    assert [level["level"] for level in document["levels"]] == [1, 2]
    assert sorted(os.listdir(tmp_path / "q")) == ["1.npy", "2.npy"]


def test_jsonl_lines_are_the_in_memory_batch_lines(cli, tmp_path, big):
    """--jsonl under --max-memory and with Zarr: one line per file, the batch's schema."""
    from poolcli.render.documents import file_line_json

    path, _ = big
    cli("max", path, "-k", "2", "-o", tmp_path / "a.zarr")
    memory = cli("max", path, "-k", "2", "--jsonl", "-q").stdout.splitlines()
    result = cli(
        "max", path, tmp_path / "a.zarr", "-k", "2", "--max-memory", "8KiB", "--jsonl", "-q",
        "--format", "zarr", "-o", f"{tmp_path / 'out'}/",
    )  # fmt: skip
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["input"] for line in lines] == [str(path), str(tmp_path / "a.zarr")]
    keys = list(json.loads(memory[0]))
    assert all(list(line) == keys for line in lines)
    assert keys == list(file_line_json(_done()))
    assert [line["output_shape"] for line in lines] == [[60, 45], [30, 22]]
    assert all(line["status"] == "done" and line["bytes_out"] > 0 for line in lines)
    assert lines[0]["output"] == str(tmp_path / "out" / "x.zarr")
    alone = cli("max", path, "-k", "2", "--max-memory", "8KiB", "--jsonl", "-q").stdout
    (line,) = [json.loads(text) for text in alone.splitlines()]
    expected = json.loads(memory[0])
    for key in ("input", "output", "status", "layout", "input_shape", "output_shape"):
        assert line[key] == expected[key]


def _done():
    from poolcli.batch.results import FileResult

    return FileResult("x", None, "done")


def test_jsonl_tells_failures_and_exits_1(cli, tmp_path, big):
    path, _ = big
    result = cli("max", path, tmp_path / "none.npy", "-k", "2", "--max-memory", "8KiB",
                 "--jsonl", "-o", f"{tmp_path / 'out'}/", code=1)  # fmt: skip
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["status"] for line in lines] == ["done", "failed"]
    assert "none.npy" in lines[1]["error"] and lines[1]["output_shape"] is None
    assert "processed" in result.stderr  # the batch summary, on standard error


@pytest.fixture
def broken(tmp_path):
    """A Zarr v2 with a cut .zarray, a Zarr v3 with a wrong zarr.json, a TIFF cut in half."""
    import tifffile

    x = np.random.default_rng(3).random((64, 64)).astype(np.float32)
    for name, fmt in (("v2.zarr", 2), ("v3.zarr", 3)):
        zarr.create_array(tmp_path / name, shape=x.shape, chunks=(32, 32), dtype="f4",
                          zarr_format=fmt)[...] = x  # fmt: skip
    (tmp_path / "v2.zarr" / ".zarray").write_text('{"shape": [64, 64], "chunks": ')
    meta = json.loads((tmp_path / "v3.zarr" / "zarr.json").read_text())
    meta["data_type"] = "float99"
    (tmp_path / "v3.zarr" / "zarr.json").write_text(json.dumps(meta))
    tifffile.imwrite(tmp_path / "whole.tif", x, tile=(32, 32))
    data = (tmp_path / "whole.tif").read_bytes()
    (tmp_path / "cut.tif").write_bytes(data[: len(data) // 2])
    return tmp_path


@pytest.mark.parametrize("name", ["v2.zarr", "v3.zarr", "cut.tif"])
def test_dry_run_names_an_input_that_cannot_be_opened(cli, broken, name):
    good = broken / "whole.tif"
    result = cli("max", good, broken / name, "-k", "2", "--max-memory", "1MiB", "--dry-run",
                 "-o", f"{broken / 'out'}/", code=1)  # fmt: skip
    failing = [line for line in result.stdout.splitlines() if "[error:" in line]
    assert len(failing) == 1 and failing[0].startswith(str(broken / name))
    assert "1 to pool" in result.stdout and "1 failing" in result.stdout
    assert not (broken / "out").exists()
    # The real run fails the same input with the same reason, and no traceback.
    real = cli("max", broken / name, "-k", "2", "--max-memory", "1MiB", "-o",
               broken / f"o{name}", code=1)  # fmt: skip
    assert failing[0].split("[error: ")[1].rstrip("]") in real.stderr


def test_dry_run_block_by_block_passes_good_inputs(cli, broken):
    result = cli("max", broken / "whole.tif", "-k", "2", "--max-memory", "1MiB", "--dry-run")
    assert "1 to pool" in result.stdout and "failing" not in result.stdout
    result = cli("max", broken / "whole.tif", "-k", "99", "--max-memory", "1MiB", "--dry-run",
                 code=1)  # fmt: skip
    assert "1 failing" in result.stdout


def test_a_blockwise_batch_ends_with_the_batch_summary(cli, tmp_path, big):
    """Done, skipped (the output exists) and failed, counted and told as a batch in memory
    tells them; -q leaves the summary out; --json is the batch document."""
    path, _ = big
    (tmp_path / "out").mkdir()
    np.save(tmp_path / "y.npy", np.ones((4, 4), np.float32))
    np.save(tmp_path / "out" / "y.npy", np.zeros((2, 2), np.float32))  # exists: skipped
    (tmp_path / "bad.npy").write_text("not an array")
    args = ("max", path, tmp_path / "y.npy", tmp_path / "bad.npy", "-k", "2",
            "--max-memory", "8KiB", "-o", f"{tmp_path / 'out'}/")  # fmt: skip
    result = cli(*args, code=1)
    rows = _summary_rows(result.stderr)
    assert rows["processed"] == "1" and rows["failed"] == "1"
    assert rows["skipped"] == "1 (outputs exist; --overwrite to replace)"
    assert "1 failed:" in result.stderr and result.stderr.count("bad.npy: is a corrupt") == 2
    assert not np.load(tmp_path / "out" / "y.npy").any()  # the existing output is kept
    assert "processed" not in cli(*args, "-q", code=1).stderr
    document = json.loads(cli(*args, "--json", "-q", code=1).stdout)
    assert list(document) == ["poolcli", "chain", "steps", "files", "summary"]
    assert [f["status"] for f in document["files"]] == ["skipped", "skipped", "failed"]
    summary = document["summary"]
    assert (summary["processed"], summary["skipped"], summary["failed"]) == (0, 2, 1)
    assert summary["exit_status"] == 1


def _summary_rows(text: str) -> dict[str, str]:
    """The rows of the summary table printed in ``text``: ``{label: value}``."""
    rows = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip("│|").split("│")]
        if len(cells) == 2 and cells[0]:
            rows[cells[0]] = cells[1]
    return rows


@pytest.mark.parametrize("written", [False, True])
def test_one_input_json_is_the_in_memory_document(cli, tmp_path, written):
    """The same small input, pooled in memory and block by block: the same keys, and the same
    values but for the input's statistics (null block by block)."""
    x = np.arange(480, dtype=np.float32).reshape(24, 20) / 7
    x[1, 1], x[4, 5] = np.nan, np.inf
    np.save(tmp_path / "s.npy", x)
    output = ["-o", tmp_path / "o.npy"] if written else []
    args = ("avg", tmp_path / "s.npy", "-k", "2", "--json", *output)
    memory = json.loads(cli(*args).stdout)
    blocks = json.loads(cli(*args, "--max-memory", "1KiB").stdout)
    assert list(blocks) == list(memory)
    (entry,), (expected,) = blocks.pop("files"), memory.pop("files")
    assert blocks == memory
    assert list(entry) == list(expected)
    assert entry.pop("input_stats") is None and expected.pop("input_stats") is not None
    assert entry == expected
    assert entry["nonfinite"] == {"values": {"nan": [[0, 0]], "inf": [[2, 2]]}}
    line = cli(*args[: -1 - len(output)], "--max-memory", "1KiB").stdout
    assert "(HW) -> 12×10 float32 in " in line and " in 1 block" not in line


def test_one_failed_input_json_has_the_in_memory_fields(cli, tmp_path):
    (tmp_path / "j.npy").write_text("not an array")
    args = ("max", tmp_path / "j.npy", "-k", "2", "--json")
    memory = json.loads(cli(*args, code=1).stdout)
    blocks = json.loads(cli(*args, "--max-memory", "1MiB", code=1).stdout)
    (entry,), (expected,) = blocks.pop("files"), memory.pop("files")
    assert blocks == memory and list(entry) == list(expected)
    assert entry["status"] == "failed" and entry["exit_status"] == 1
    assert entry["error"].startswith(f"{tmp_path / 'j.npy'}: ")


@pytest.mark.parametrize("extra", [[], ["--max-memory", "1MiB"]])
def test_a_missing_input_reads_the_same_block_by_block(cli, tmp_path, extra):
    missing = tmp_path / "nothere.npy"
    result = cli("max", missing, "-k", "2", *extra, code=1)
    assert result.stderr == f"poolcli: error: {missing}: No such file.\n"
